{#
    Store basket lines as sales lines: sales and returns (negative lines) as the till recorded
    them; voided lines never count as a sale and are left out.
#}
with

pos_lines as (

    select * from {{ ref('stg_silver__pos_lines') }}

),

customer_key_map as (

    select * from {{ ref('int_customer_key_map') }}

),

counted_lines as (

    select
        {{ dbt.concat([
            "'store|'", "pos_lines.store_id", "'|'", "pos_lines.register_id", "'|'",
            "pos_lines.transaction_id", "'|'", "cast(pos_lines.line_no as " ~ dbt.type_string() ~ ")"
        ]) }} as sales_line_id,
        'store' as channel,
        pos_lines.line_type,
        {{ dbt.concat(["pos_lines.store_id", "'|'", "pos_lines.transaction_id"]) }} as order_id,
        coalesce(customer_key_map.surviving_key, pos_lines.customer_key) as customer_key,
        'store' as storefront,
        pos_lines.sku,
        pos_lines.store_id as location_id,
        pos_lines.quantity,
        pos_lines.unit_price,
        coalesce(pos_lines.discount_amount, 0) as discount_amount,
        pos_lines.net_amount,
        pos_lines.business_date,
        pos_lines.transaction_at as transacted_at
    from pos_lines
    left join customer_key_map
        on pos_lines.customer_key = customer_key_map.merged_key
    where pos_lines.line_type != 'void'

)

select * from counted_lines
