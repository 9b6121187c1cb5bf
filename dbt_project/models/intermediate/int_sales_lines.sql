{#
    Every counted sales line of both channels as known now, one shape (the grain of fct_sales):
    the current versions of int_sales_line_versions (known_to null), which defines the lines,
    with retired customer keys replaced by the surviving key (int_customer_key_map).
#}
with

sales_line_versions as (

    select * from {{ ref('int_sales_line_versions') }}

),

customer_key_map as (

    select * from {{ ref('int_customer_key_map') }}

),

current_lines as (

    select
        sales_line_versions.sales_line_id,
        sales_line_versions.channel,
        sales_line_versions.line_type,
        sales_line_versions.order_id,
        coalesce(customer_key_map.surviving_key, sales_line_versions.customer_key) as customer_key,
        sales_line_versions.storefront,
        sales_line_versions.sku,
        sales_line_versions.location_id,
        sales_line_versions.quantity,
        sales_line_versions.unit_price,
        sales_line_versions.discount_amount,
        sales_line_versions.net_amount,
        sales_line_versions.business_date,
        sales_line_versions.transacted_at
    from sales_line_versions
    left join customer_key_map
        on sales_line_versions.customer_key = customer_key_map.merged_key
    where sales_line_versions.known_to is null

)

select * from current_lines
