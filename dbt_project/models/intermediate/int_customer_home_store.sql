{#
    Each customer's home store: the store where they made the most purchase baskets; a tie goes to
    the store visited most recently, then to the lowest store id.
#}
with

sales_lines as (

    select * from {{ ref('int_sales_lines') }}
    where customer_key is not null
        and channel = 'store'
        and line_type = 'sale'

),

store_visits as (

    select
        customer_key,
        location_id as store_id,
        count(distinct order_id) as baskets,
        max(transacted_at) as last_visit_at
    from sales_lines
    group by customer_key, location_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_key
            order by baskets desc, last_visit_at desc, store_id
        ) as store_rank
    from store_visits

),

home_store as (

    select
        customer_key,
        store_id as home_store_id,
        baskets as home_store_baskets
    from ranked
    where store_rank = 1

)

select * from home_store
