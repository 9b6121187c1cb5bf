{#
    The 360-degree tag table: one row per customer and RFM snapshot date, the customer's tags as
    of that date (sales lines and behaviour events on or before it). Every rule is in the model
    YAML. Profiling tags are filled only for customers whose profiling consent (dim_customer, the
    latest CRM flag) allows it; the consent-free tags, which describe the purchase relationship
    itself, are filled for everyone.
#}
with

rfm as (

    select * from {{ ref('mart_customer_rfm') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

sales as (

    select * from {{ ref('fct_sales') }}
    where customer_key is not null

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

events as (

    select * from {{ ref('stg_silver__events') }}
    where customer_key is not null

),

snapshots as (

    select distinct snapshot_date
    from rfm

),

-- A customer is tagged at a snapshot once known: seen (bought or browsed) or signed up by then.
customer_snapshots as (

    select
        snapshots.snapshot_date,
        customers.customer_key,
        customers.profiling_consent
    from customers
    cross join snapshots
    where cast(customers.first_seen_at as date) <= snapshots.snapshot_date
        or customers.signup_date <= snapshots.snapshot_date

),

snapshot_lines as (

    select
        snapshots.snapshot_date,
        sales.customer_key,
        sales.order_id,
        sales.channel,
        sales.line_type,
        sales.sku,
        sales.location_id,
        sales.quantity,
        sales.unit_price,
        sales.discount_amount,
        sales.net_amount,
        sales.business_date,
        sales.transacted_at,
        products.category,
        products.list_price
    from sales
    inner join snapshots
        on sales.business_date <= snapshots.snapshot_date
    left join products
        on sales.sku = products.sku

),

baskets as (

    select
        snapshot_date,
        customer_key,
        order_id,
        max(channel) as channel,
        max(location_id) as location_id,
        min(business_date) as business_date,
        min(transacted_at) as transacted_at,
        sum(quantity) as units,
        max(case when discount_amount > 0 then 1 else 0 end) as has_discount
    from snapshot_lines
    where line_type = 'sale'
    group by snapshot_date, customer_key, order_id

),

basket_summary as (

    select
        snapshot_date,
        customer_key,
        count(*) as baskets,
        sum(units) as units,
        sum(has_discount) as discounted_baskets,
        sum(case when channel = 'online' then 1 else 0 end) as online_baskets,
        sum(case when {{ is_weekend('business_date') }} then 1 else 0 end) as weekend_baskets
    from baskets
    group by snapshot_date, customer_key

),

below_list_units as (

    select
        snapshot_date,
        customer_key,
        sum(quantity) as sale_units,
        sum(
            case when discount_amount > 0 or unit_price < list_price then quantity else 0 end
        ) as below_list_units
    from snapshot_lines
    where line_type = 'sale'
    group by snapshot_date, customer_key

),

parts_of_day as (

    select
        snapshot_date,
        customer_key,
        {{ part_of_day('transacted_at') }} as part_of_day,
        count(*) as baskets
    from baskets
    group by snapshot_date, customer_key, {{ part_of_day('transacted_at') }}

),

ranked_parts_of_day as (

    select
        *,
        row_number() over (
            partition by snapshot_date, customer_key
            order by
                baskets desc,
                case part_of_day when 'night' then 1 when 'morning' then 2 when 'afternoon' then 3 else 4 end
        ) as part_rank
    from parts_of_day

),

category_spend as (

    select
        snapshot_date,
        customer_key,
        category,
        sum(net_amount) as net_spend
    from snapshot_lines
    where category is not null
    group by snapshot_date, customer_key, category

),

ranked_categories as (

    select
        *,
        row_number() over (
            partition by snapshot_date, customer_key
            order by net_spend desc, category
        ) as category_rank
    from category_spend
    where net_spend > 0

),

top_categories as (

    select
        snapshot_date,
        customer_key,
        max(case when category_rank = 1 then category end) as top_category,
        max(case when category_rank = 2 then category end) as second_category
    from ranked_categories
    group by snapshot_date, customer_key

),

store_visits as (

    select
        snapshot_date,
        customer_key,
        location_id as store_id,
        count(*) as baskets,
        max(transacted_at) as last_visit_at
    from baskets
    where channel = 'store'
    group by snapshot_date, customer_key, location_id

),

ranked_stores as (

    select
        *,
        row_number() over (
            partition by snapshot_date, customer_key
            order by baskets desc, last_visit_at desc, store_id
        ) as store_rank
    from store_visits

),

home_stores as (

    select
        ranked_stores.snapshot_date,
        ranked_stores.customer_key,
        ranked_stores.store_id as home_store_id,
        locations.state as home_region
    from ranked_stores
    left join locations
        on ranked_stores.store_id = locations.location_id
    where ranked_stores.store_rank = 1

),

snapshot_events as (

    select
        snapshots.snapshot_date,
        events.customer_key,
        events.session_id,
        events.event_name,
        events.event_date,
        {{ journey_stage_rank('events.journey_stage') }} as stage_rank
    from events
    inner join snapshots
        on events.event_date <= snapshots.snapshot_date

),

engagement as (

    select
        snapshot_date,
        customer_key,
        max(stage_rank) as deepest_stage_rank,
        count(distinct case
            when event_date > {{ dbt.dateadd('day', -30, 'snapshot_date') }} then session_id
        end) as sessions_30d,
        sum(case
            when event_date > {{ dbt.dateadd('day', -30, 'snapshot_date') }}
                and event_name = 'Product Viewed' then 1 else 0
        end) as product_views_30d,
        sum(case
            when event_date > {{ dbt.dateadd('day', -30, 'snapshot_date') }}
                and event_name = 'Product Added' then 1 else 0
        end) as cart_adds_30d
    from snapshot_events
    group by snapshot_date, customer_key

),

joined as (

    select
        customer_snapshots.snapshot_date,
        customer_snapshots.customer_key,
        customer_snapshots.profiling_consent,
        coalesce(rfm.frequency, 0) as orders,
        rfm.f_score,
        rfm.recency_days,
        rfm.m_score,
        rfm.segment as rfm_segment,
        {{ safe_divide('basket_summary.units', 'basket_summary.baskets') }} as avg_basket_units,
        {{ safe_divide('below_list_units.below_list_units', 'below_list_units.sale_units') }} as discounted_unit_share,
        {{ safe_divide('basket_summary.discounted_baskets', 'basket_summary.baskets') }} as promo_basket_share,
        {{ safe_divide('basket_summary.online_baskets', 'basket_summary.baskets') }} as online_basket_share,
        {{ safe_divide('basket_summary.weekend_baskets', 'basket_summary.baskets') }} as weekend_basket_share,
        ranked_parts_of_day.part_of_day,
        top_categories.top_category,
        top_categories.second_category,
        home_stores.home_store_id,
        home_stores.home_region,
        coalesce(engagement.sessions_30d, 0) as sessions_30d,
        coalesce(engagement.product_views_30d, 0) as product_views_30d,
        coalesce(engagement.cart_adds_30d, 0) as cart_adds_30d,
        coalesce(engagement.deepest_stage_rank, 0) as deepest_stage_rank
    from customer_snapshots
    left join rfm
        on customer_snapshots.snapshot_date = rfm.snapshot_date
        and customer_snapshots.customer_key = rfm.customer_key
    left join basket_summary
        on customer_snapshots.snapshot_date = basket_summary.snapshot_date
        and customer_snapshots.customer_key = basket_summary.customer_key
    left join below_list_units
        on customer_snapshots.snapshot_date = below_list_units.snapshot_date
        and customer_snapshots.customer_key = below_list_units.customer_key
    left join ranked_parts_of_day
        on customer_snapshots.snapshot_date = ranked_parts_of_day.snapshot_date
        and customer_snapshots.customer_key = ranked_parts_of_day.customer_key
        and ranked_parts_of_day.part_rank = 1
    left join top_categories
        on customer_snapshots.snapshot_date = top_categories.snapshot_date
        and customer_snapshots.customer_key = top_categories.customer_key
    left join home_stores
        on customer_snapshots.snapshot_date = home_stores.snapshot_date
        and customer_snapshots.customer_key = home_stores.customer_key
    left join engagement
        on customer_snapshots.snapshot_date = engagement.snapshot_date
        and customer_snapshots.customer_key = engagement.customer_key

),

tagged as (

    select
        *,

        -- consent-free: the purchase relationship
        case
            when f_score is null then 'none'
            when f_score >= 4 then 'frequent'
            when f_score >= 2 then 'repeat'
            else 'one_time'
        end as purchase_frequency,
        case
            when recency_days is null then null
            when recency_days <= 30 then 'active'
            when recency_days <= 90 then 'cooling'
            when recency_days <= 180 then 'lapsing'
            else 'lapsed'
        end as recency_band,
        case
            when m_score is null then null
            when m_score = 5 then 'top'
            when m_score = 4 then 'high'
            when m_score = 3 then 'medium'
            else 'low'
        end as value_tier,
        case
            when avg_basket_units is null then null
            when avg_basket_units <= 1 then 'single_item'
            when avg_basket_units < 3 then 'small'
            else 'large'
        end as basket_size,
        case
            when orders >= 2 then 5
            when orders = 1 then 4
            else 0
        end as purchase_stage_rank,
        coalesce(rfm_segment in ('At Risk', 'Cannot Lose Them', 'About To Sleep'), false) as is_churn_risk,

        -- profiling
        case
            when discounted_unit_share is null then null
            when discounted_unit_share >= 0.5 then 'high'
            when discounted_unit_share >= 0.2 then 'medium'
            else 'low'
        end as price_sensitivity,
        case
            when promo_basket_share is null then null
            when promo_basket_share >= 0.5 then 'responsive'
            when promo_basket_share > 0 then 'occasional'
            else 'unresponsive'
        end as promotion_response,
        case
            when online_basket_share is null then null
            when online_basket_share >= 0.7 then 'online'
            when online_basket_share <= 0.3 then 'store'
            else 'omnichannel'
        end as channel_preference,
        case
            when weekend_basket_share is null then null
            when weekend_basket_share >= 0.5 then 'weekend'
            else 'weekday'
        end as shopping_days,
        case
            when sessions_30d >= 4 then 'high'
            when sessions_30d >= 2 then 'medium'
            when sessions_30d = 1 then 'low'
            else 'none'
        end as engagement_level
    from joined

),

staged as (

    select
        *,
        -- Purchases place everyone on the journey; the browsing stages need profiling consent.
        case
            when profiling_consent and deepest_stage_rank > purchase_stage_rank then deepest_stage_rank
            else purchase_stage_rank
        end as lifecycle_stage_rank
    from tagged

),

final as (

    select
        cast(snapshot_date as date) as snapshot_date,
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(profiling_consent as boolean) as profiling_consent,
        cast(orders as bigint) as orders,
        cast(purchase_frequency as {{ dbt.type_string() }}) as purchase_frequency,
        cast(recency_days as int) as recency_days,
        cast(recency_band as {{ dbt.type_string() }}) as recency_band,
        cast(rfm_segment as {{ dbt.type_string() }}) as rfm_segment,
        cast(value_tier as {{ dbt.type_string() }}) as value_tier,
        cast(round(avg_basket_units, 2) as double) as avg_basket_units,
        cast(basket_size as {{ dbt.type_string() }}) as basket_size,
        cast(case lifecycle_stage_rank
            when 1 then 'awareness'
            when 2 then 'interest'
            when 3 then 'decision'
            when 4 then 'purchase'
            when 5 then 'loyalty'
        end as {{ dbt.type_string() }}) as lifecycle_stage,
        cast(is_churn_risk as boolean) as is_churn_risk,
        {%- set profiling = [
            ('round(discounted_unit_share, 4)', 'double', 'discounted_unit_share'),
            ('price_sensitivity', dbt.type_string(), 'price_sensitivity'),
            ('round(promo_basket_share, 4)', 'double', 'promo_basket_share'),
            ('promotion_response', dbt.type_string(), 'promotion_response'),
            ('top_category', dbt.type_string(), 'top_category'),
            ('second_category', dbt.type_string(), 'second_category'),
            ('round(online_basket_share, 4)', 'double', 'online_basket_share'),
            ('channel_preference', dbt.type_string(), 'channel_preference'),
            ('home_store_id', dbt.type_string(), 'home_store_id'),
            ('home_region', dbt.type_string(), 'home_region'),
            ('round(weekend_basket_share, 4)', 'double', 'weekend_basket_share'),
            ('shopping_days', dbt.type_string(), 'shopping_days'),
            ('part_of_day', dbt.type_string(), 'time_of_day'),
            ('sessions_30d', 'bigint', 'sessions_30d'),
            ('product_views_30d', 'bigint', 'product_views_30d'),
            ('cart_adds_30d', 'bigint', 'cart_adds_30d'),
            ('engagement_level', dbt.type_string(), 'engagement_level'),
        ] %}
        {%- for expression, data_type, name in profiling %}
        cast(case when profiling_consent then {{ expression }} end as {{ data_type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from staged

)

select * from final
