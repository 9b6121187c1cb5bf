{#
    One row per person (customer_key). Profile tags are derived only for people who consent to
    profiling (silver.customers.profiling_consent); for the others they are null:

    - price_sensitivity: discount_share >= 0.20 high, >= 0.05 medium, otherwise low;
    - channel_preference: online_order_share >= 0.70 online, <= 0.30 store, otherwise omnichannel;
    - content_interest: the product category they looked at most on the web and in the app.
#}
with

customers as (

    select * from {{ ref('stg_silver__customers') }}

),

sales_summary as (

    select * from {{ ref('int_customer_sales_summary') }}

),

home_stores as (

    select * from {{ ref('int_customer_home_store') }}

),

preferred_categories as (

    select * from {{ ref('int_customer_preferred_category') }}

),

behaviour as (

    select * from {{ ref('int_customer_behaviour') }}

),

touchpoints as (

    select * from {{ ref('int_customer_touchpoints') }}

),

joined as (

    select
        customers.customer_key,
        customers.is_member,
        customers.tier,
        customers.signup_date,
        customers.email_opt_in,
        customers.sms_opt_in,
        customers.profiling_consent,

        case
            when sales_summary.first_sales_line_at is null then behaviour.first_event_at
            when behaviour.first_event_at is null then sales_summary.first_sales_line_at
            when sales_summary.first_sales_line_at < behaviour.first_event_at then sales_summary.first_sales_line_at
            else behaviour.first_event_at
        end as first_seen_at,
        case
            when sales_summary.last_sales_line_at is null then behaviour.last_event_at
            when behaviour.last_event_at is null then sales_summary.last_sales_line_at
            when sales_summary.last_sales_line_at > behaviour.last_event_at then sales_summary.last_sales_line_at
            else behaviour.last_event_at
        end as last_seen_at,

        touchpoints.channels_used,
        coalesce(touchpoints.channel_count, 0) as channel_count,
        home_stores.home_store_id,

        coalesce(sales_summary.online_orders, 0) as online_orders,
        coalesce(sales_summary.online_revenue, 0) as online_revenue,
        coalesce(sales_summary.store_orders, 0) as store_orders,
        coalesce(sales_summary.store_revenue, 0) as store_revenue,
        sales_summary.first_purchase_at,
        sales_summary.last_purchase_at,
        preferred_categories.preferred_category,

        sales_summary.discount_share,
        sales_summary.online_order_share,
        coalesce(behaviour.sessions, 0) as sessions,
        behaviour.content_interest as most_viewed_category

    from customers
    left join sales_summary
        on customers.customer_key = sales_summary.customer_key
    left join home_stores
        on customers.customer_key = home_stores.customer_key
    left join preferred_categories
        on customers.customer_key = preferred_categories.customer_key
    left join behaviour
        on customers.customer_key = behaviour.customer_key
    left join touchpoints
        on customers.customer_key = touchpoints.customer_key

),

tagged as (

    select
        *,
        case
            when not profiling_consent or discount_share is null then null
            when discount_share >= 0.20 then 'high'
            when discount_share >= 0.05 then 'medium'
            else 'low'
        end as price_sensitivity,
        case
            when not profiling_consent or online_order_share is null then null
            when online_order_share >= 0.70 then 'online'
            when online_order_share <= 0.30 then 'store'
            else 'omnichannel'
        end as channel_preference,
        case
            when profiling_consent then most_viewed_category
        end as content_interest
    from joined

),

final as (

    select
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(first_seen_at as timestamp) as first_seen_at,
        cast(last_seen_at as timestamp) as last_seen_at,
        cast(channels_used as {{ dbt.type_string() }}) as channels_used,
        cast(channel_count as int) as channel_count,
        cast(home_store_id as {{ dbt.type_string() }}) as home_store_id,
        cast(is_member as boolean) as is_member,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(signup_date as date) as signup_date,
        cast(email_opt_in as boolean) as email_opt_in,
        cast(sms_opt_in as boolean) as sms_opt_in,
        cast(profiling_consent as boolean) as profiling_consent,
        cast(online_orders as bigint) as online_orders,
        cast(online_revenue as decimal(14, 2)) as online_revenue,
        cast(store_orders as bigint) as store_orders,
        cast(store_revenue as decimal(14, 2)) as store_revenue,
        cast(first_purchase_at as timestamp) as first_purchase_at,
        cast(last_purchase_at as timestamp) as last_purchase_at,
        cast(preferred_category as {{ dbt.type_string() }}) as preferred_category,
        cast(round(discount_share, 4) as double) as discount_share,
        cast(price_sensitivity as {{ dbt.type_string() }}) as price_sensitivity,
        cast(channel_preference as {{ dbt.type_string() }}) as channel_preference,
        cast(content_interest as {{ dbt.type_string() }}) as content_interest
    from tagged

)

select * from final
