{#
    Online order lines as sales lines: one sale line per order line of every order that was not
    cancelled, plus one return line per line with refunded units (negative quantity and amounts,
    dated on the day the order first became (partially) refunded).
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

customer_key_map as (

    select * from {{ ref('int_customer_key_map') }}

),

refunds as (

    select
        order_id,
        min(changed_at) as refunded_at
    from status_history
    where order_status in ('partially_refunded', 'refunded')
    group by order_id

),

kept_orders as (

    select
        orders.order_id,
        coalesce(customer_key_map.surviving_key, orders.customer_key) as customer_key,
        coalesce(orders.channel_source, 'web') as storefront,
        orders.location_id,
        orders.business_date,
        orders.created_at
    from orders
    left join customer_key_map
        on orders.customer_key = customer_key_map.merged_key
    where orders.order_status != 'cancelled'

),

lines_of_kept_orders as (

    select
        order_lines.order_id,
        order_lines.line_id,
        kept_orders.customer_key,
        kept_orders.storefront,
        kept_orders.location_id,
        order_lines.sku,
        order_lines.quantity,
        order_lines.refunded_quantity,
        order_lines.unit_price,
        coalesce(order_lines.discount_amount, 0) as discount_amount,
        order_lines.net_amount,
        kept_orders.business_date,
        kept_orders.created_at,
        refunds.refunded_at
    from order_lines
    inner join kept_orders
        on order_lines.order_id = kept_orders.order_id
    left join refunds
        on order_lines.order_id = refunds.order_id

),

sale_lines as (

    select
        {{ dbt.concat(["'online|'", "order_id", "'|'", "line_id"]) }} as sales_line_id,
        'online' as channel,
        'sale' as line_type,
        order_id,
        customer_key,
        storefront,
        sku,
        location_id,
        quantity,
        unit_price,
        discount_amount,
        net_amount,
        business_date,
        created_at as transacted_at
    from lines_of_kept_orders

),

return_lines as (

    select
        {{ dbt.concat(["'online|'", "order_id", "'|'", "line_id", "'|return'"]) }} as sales_line_id,
        'online' as channel,
        'return' as line_type,
        order_id,
        customer_key,
        storefront,
        sku,
        location_id,
        -refunded_quantity as quantity,
        unit_price,
        -cast(round(discount_amount * refunded_quantity / quantity, 2) as decimal(12, 2)) as discount_amount,
        -cast(round(net_amount * refunded_quantity / quantity, 2) as decimal(12, 2)) as net_amount,
        coalesce(cast(refunded_at as date), business_date) as business_date,
        coalesce(refunded_at, created_at) as transacted_at
    from lines_of_kept_orders
    where refunded_quantity > 0

),

unioned as (

    select * from sale_lines
    union all
    select * from return_lines

)

select * from unioned
