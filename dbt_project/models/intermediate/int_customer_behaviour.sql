{#
    What each identified person did on the web and in the app: first and last event, and their
    content interest, the product category of the products they looked at most (product events of
    any journey stage; a tie goes to the category name first in alphabetical order).
#}
with

events as (

    select * from {{ ref('stg_silver__events') }}
    where customer_key is not null

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

activity as (

    select
        customer_key,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        count(distinct session_id) as sessions
    from events
    group by customer_key

),

category_views as (

    select
        events.customer_key,
        products.category,
        count(*) as product_events
    from events
    inner join products
        on events.sku = products.sku
    group by events.customer_key, products.category

),

ranked_categories as (

    select
        *,
        row_number() over (partition by customer_key order by product_events desc, category) as category_rank
    from category_views

),

joined as (

    select
        activity.customer_key,
        activity.first_event_at,
        activity.last_event_at,
        activity.sessions,
        ranked_categories.category as content_interest
    from activity
    left join ranked_categories
        on activity.customer_key = ranked_categories.customer_key
        and ranked_categories.category_rank = 1

)

select * from joined
