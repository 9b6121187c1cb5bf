{#
    One row per sales unit of fct_sales (an online order, or a store basket <store_id>|<transaction_id>)
    with a digest of every silver row its sales lines and their versions are computed from
    (int_sales_line_versions): the online order's row, its lines and its status history; the
    basket's till lines; each with the buyer through the identity merges known now
    (int_customer_key_map), so a merge changes the digest of the units it re-keys. Two builds see
    the same digest for a unit exactly when its lines come out the same (up to a 64-bit hash).
#}
with

orders as (

    select * from {{ ref('stg_silver__orders') }}

),

order_lines as (

    select * from {{ ref('stg_silver__order_lines') }}

),

status_history as (

    select * from {{ ref('stg_silver__order_status_history') }}

),

pos_lines as (

    select * from {{ ref('stg_silver__pos_lines') }}

),

customer_key_map as (

    select * from {{ ref('int_customer_key_map') }}

),

hashed_rows as (

    select
        'online' as channel,
        orders.order_id,
        {{ row_digest([
            "'order'", "coalesce(customer_key_map.surviving_key, orders.customer_key)", "orders.customer_key",
            "orders.channel_source", "orders.location_id", "orders.business_date", "orders.created_at"
        ]) }} as row_hash
    from orders
    left join customer_key_map
        on orders.customer_key = customer_key_map.merged_key

    union all

    select
        'online' as channel,
        order_id,
        {{ row_digest([
            "'line'", "line_id", "sku", "quantity", "refunded_quantity", "unit_price", "discount_amount",
            "net_amount"
        ]) }} as row_hash
    from order_lines

    union all

    select
        'online' as channel,
        order_id,
        {{ row_digest(["'status'", "changed_at", "order_status", "received_on"]) }} as row_hash
    from status_history

    union all

    select
        'store' as channel,
        {{ dbt.concat(["pos_lines.store_id", "'|'", "pos_lines.transaction_id"]) }} as order_id,
        {{ row_digest([
            "'till'", "pos_lines.register_id", "pos_lines.line_no", "pos_lines.line_type",
            "coalesce(customer_key_map.surviving_key, pos_lines.customer_key)", "pos_lines.customer_key",
            "pos_lines.sku", "pos_lines.quantity", "pos_lines.unit_price", "pos_lines.discount_amount",
            "pos_lines.net_amount", "pos_lines.business_date", "pos_lines.transaction_at", "pos_lines.received_on"
        ]) }} as row_hash
    from pos_lines
    left join customer_key_map
        on pos_lines.customer_key = customer_key_map.merged_key

),

digests as (

    select
        channel,
        order_id,
        {{ digest_of_rows('row_hash') }} as source_digest
    from hashed_rows
    group by channel, order_id

)

select * from digests
