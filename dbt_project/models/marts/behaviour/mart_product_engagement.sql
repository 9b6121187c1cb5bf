{#
    Per product, how often a look turns into a cart add and a purchase, from the behaviour
    events. The unit is the session: a viewing session has a Product Viewed event of the sku;
    of those, a carting session also has a Product Added of the sku, and a buying session also
    has an Order Completed whose order (fct_sales) holds a sale line of the sku. So both rates
    are between 0 and 1:

        view_to_cart_rate = carting sessions / viewing sessions
        view_to_buy_rate  = buying sessions / viewing sessions
#}
with

events as (

    select * from {{ ref('stg_silver__events') }}

),

sales as (

    select * from {{ ref('fct_sales') }}
    where line_type = 'sale'
        and channel = 'online'

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

-- One read of the events: the sku of each look and cart add, and of each purchase the skus of
-- its order's sale lines, with the session it happened in.
sku_events as (

    select
        case when events.event_name = 'Order Completed' then sales.sku else events.sku end as sku,
        events.session_id,
        events.event_name
    from events
    left join sales
        on events.event_name = 'Order Completed'
        and events.order_id = sales.order_id
    where events.event_name in ('Product Viewed', 'Product Added', 'Order Completed')
        and case when events.event_name = 'Order Completed' then sales.sku else events.sku end is not null

),

-- A session without an id is viewing on its own: it matches no cart add or purchase.
sessions as (

    select
        sku,
        session_id,
        sum(case when event_name = 'Product Viewed' then 1 else 0 end) as product_views,
        max(case when event_name = 'Product Added' and session_id is not null then 1 else 0 end) as carted,
        max(case when event_name = 'Order Completed' and session_id is not null then 1 else 0 end) as bought
    from sku_events
    group by sku, session_id
    having sum(case when event_name = 'Product Viewed' then 1 else 0 end) > 0

),

per_product as (

    select
        sku,
        sum(product_views) as product_views,
        count(*) as viewing_sessions,
        sum(carted) as carting_sessions,
        sum(bought) as buying_sessions
    from sessions
    group by sku

),

final as (

    select
        cast(per_product.sku as {{ dbt.type_string() }}) as sku,
        cast(products.product_name as {{ dbt.type_string() }}) as product_name,
        cast(products.category as {{ dbt.type_string() }}) as category,
        cast(per_product.product_views as bigint) as product_views,
        cast(per_product.viewing_sessions as bigint) as viewing_sessions,
        cast(per_product.carting_sessions as bigint) as carting_sessions,
        cast(per_product.buying_sessions as bigint) as buying_sessions,
        cast(round({{ safe_divide('per_product.carting_sessions', 'per_product.viewing_sessions') }}, 4) as double) as view_to_cart_rate,
        cast(round({{ safe_divide('per_product.buying_sessions', 'per_product.viewing_sessions') }}, 4) as double) as view_to_buy_rate
    from per_product
    left join products
        on per_product.sku = products.sku

)

select * from final
