{#
    The 360-degree tag table: one row per customer and RFM snapshot date, the customer's tags as
    of that date (sales lines and behaviour events on or before it). Every rule is in the model
    YAML. Profiling tags are filled only for customers whose profiling consent (dim_customer, the
    latest CRM flag) allows it; the consent-free tags, which describe the purchase relationship
    itself, are filled for everyone.

    Incremental by change capture: a run writes the rows of the people whose inputs changed since
    the last build (int_customer_tag_changed_customers) at the snapshots from the earliest date of
    a changed input on (every snapshot when their dim_customer row or the reference rows changed),
    and the rows of every person at the snapshots it revised (mart_customer_rfm_revisions known at
    its landing date); a row at a snapshot depends only on the inputs dated on or before it, so
    every other row depends only on inputs that did not change and the table equals a whole
    recompute. At a revised snapshot, a person whose inputs did not change up to it is carried
    forward from the last build's row (int_customer_tag_carried_rows: the same row but the RFM
    columns and the 30-day measures) instead of computed; only the people computed are read from
    the inputs, so a day costs what changed, not the whole history of everyone. On Spark, on a
    recompute and while no digest is recorded, it is computed whole.
#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_changed_units_and_snapshots(ref('int_customer_tag_changed_customers'), 'customer_key',"
        ~ " 'changed_from', ref('mart_customer_rfm_revisions'), 'snapshot_date', 'customer_tag_day_digests') }}",
) }}
{%- set changed_only = changes_recorded('customer_tag_day_digests') %}
{#- the ref at parse time (the dependency) and where it is read: a unit test gives only what it reads #}
{%- if changed_only or not execute %}{% set carried_rows = ref('int_customer_tag_carried_rows') %}{% endif %}
{#-
    In an incremental run, a person is computed at the snapshots from their changed_from on when
    their inputs changed, and at the revised snapshots they are not carried at: every snapshot
    computed is after their opening date, the day before the earliest of them (person_openings;
    none when every snapshot is written).
    What their inputs add up to by the opening date goes into the running totals as one opening
    row dated then (macro-like template `opening`: a dated delta row's date, or the person's
    opening date for a row dated on or before it): sums and maxima over one row are those over the
    rows it stands for, so every running total at the snapshots written is what the whole timeline
    gives, from far fewer rows. The people computed at no snapshot are left out.
-#}
{%- set opening -%}
    case
        when person_openings.opening_date is not null and @date <= person_openings.opening_date
        then person_openings.opening_date
        else @date
    end
{%- endset %}
with

rfm as (

    select * from {{ ref('mart_customer_rfm') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

snapshots as (

    select distinct snapshot_date
    from rfm

),

{% if changed_only %}
changed_customers as (

    select * from {{ ref('int_customer_tag_changed_customers') }}

),

revised_snapshots as (

    select distinct snapshot_date
    from {{ ref('mart_customer_rfm_revisions') }}
    where known_at = {{ run_known_at(ref('mart_customer_rfm_revisions'), 'known_at') }}

),

-- the rows at revised snapshots carried forward from the last build (int_customer_tag_carried_rows)
carried as (

    select * from {{ carried_rows }}

),

opening as (

    -- the latest snapshot: what is dated after it (the 30-day measures' take-offs) counts at none
    select max(snapshots.snapshot_date) as closing_date
    from snapshots

),
{% endif %}

-- A customer is tagged at a snapshot once known: seen (bought or browsed) or signed up by then.
-- An incremental run computes the rows it replaces and does not carry forward only (see above).
customer_snapshots as (

    select
        snapshots.snapshot_date,
        customers.customer_key,
        customers.profiling_consent
    from customers
    cross join snapshots
    {% if changed_only %}
    left join changed_customers
        on customers.customer_key = changed_customers.customer_key
    {% endif %}
    where (
        cast(customers.first_seen_at as date) <= snapshots.snapshot_date
        or customers.signup_date <= snapshots.snapshot_date
    )
    {% if changed_only %}
        and (
            (changed_customers.customer_key is not null
                and (changed_customers.changed_from is null
                    or snapshots.snapshot_date >= changed_customers.changed_from))
            or (snapshots.snapshot_date in (select revised_snapshots.snapshot_date from revised_snapshots)
                and not exists (
                    select 1
                    from carried
                    where carried.customer_key = customers.customer_key
                        and carried.snapshot_date = snapshots.snapshot_date
                ))
        )
    {% endif %}

),

{% if changed_only %}
-- every person computed, with the day before their first snapshot computed (none, the whole
-- timeline, when an undated input of theirs changed)
person_openings as (

    select
        customer_snapshots.customer_key,
        case
            when max(case when changed_customers.customer_key is not null and changed_customers.changed_from is null then 1 else 0 end) = 1
            then null
            else cast({{ dbt.dateadd('day', -1, 'min(customer_snapshots.snapshot_date)') }} as date)
        end as opening_date
    from customer_snapshots
    left join changed_customers
        on customer_snapshots.customer_key = changed_customers.customer_key
    group by customer_snapshots.customer_key

),
{% endif %}

-- the inputs of the people computed only: every measure is per person
sales as (

    select * from {{ ref('fct_sales') }}
    where customer_key is not null
    {% if changed_only %}
        and customer_key in (select person_openings.customer_key from person_openings)
    {% endif %}

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
    {% if changed_only %}
        and customer_key in (select person_openings.customer_key from person_openings)
    {% endif %}

),

{#-
    Every measure below is a running aggregate over dated changes, not a join of every line and
    event to every snapshot: each input contributes, on its own date, what it adds to (or takes
    from) the customer's measures, and a snapshot reads the running totals up to its date
    (delta rows sort before the snapshot rows of the same date). The cost is that of the inputs
    plus the rows written, linear in history.
-#}
sale_lines as (

    select
        sales.customer_key,
        sales.order_id,
        sales.channel,
        sales.location_id,
        sales.quantity,
        sales.discount_amount,
        sales.unit_price,
        sales.business_date,
        sales.transacted_at,
        products.list_price
    from sales
    left join products
        on sales.sku = products.sku
    where sales.line_type = 'sale'
        and sales.business_date is not null

),

-- A basket (customer, order) as of a snapshot holds its sale lines dated on or before it: its
-- state changes only on the business dates of its lines. One version per such date, each the
-- basket as of that date (running over the dates; almost every basket has a single date).
basket_days as (

    select
        customer_key,
        order_id,
        business_date,
        max(channel) as channel,
        max(location_id) as location_id,
        min(transacted_at) as transacted_at,
        sum(quantity) as units,
        max(case when discount_amount > 0 then 1 else 0 end) as has_discount
    from sale_lines
    group by customer_key, order_id, business_date

),

basket_versions as (

    select
        customer_key,
        order_id,
        business_date as valid_from,
        lead(business_date) over (
            partition by customer_key, order_id order by business_date
        ) as valid_to,
        row_number() over (partition by customer_key, order_id order by business_date) as version_number,
        units,
        min(business_date) over (
            partition by customer_key, order_id order by business_date rows unbounded preceding
        ) as first_business_date,
        max(channel) over (
            partition by customer_key, order_id order by business_date rows unbounded preceding
        ) as channel,
        max(location_id) over (
            partition by customer_key, order_id order by business_date rows unbounded preceding
        ) as location_id,
        min(transacted_at) over (
            partition by customer_key, order_id order by business_date rows unbounded preceding
        ) as transacted_at,
        max(has_discount) over (
            partition by customer_key, order_id order by business_date rows unbounded preceding
        ) as has_discount
    from basket_days

),

basket_indicators as (

    select
        *,
        case when channel = 'online' then 1 else 0 end as is_online,
        case when {{ part_of_day('transacted_at') }} = 'night' then 1 else 0 end as is_night,
        case when {{ part_of_day('transacted_at') }} = 'morning' then 1 else 0 end as is_morning,
        case when {{ part_of_day('transacted_at') }} = 'afternoon' then 1 else 0 end as is_afternoon,
        case when {{ part_of_day('transacted_at') }} = 'evening' then 1 else 0 end as is_evening
    from basket_versions

),

-- what each basket version changes in the customer's basket counts
basket_changes as (

    select
        customer_key,
        valid_from as on_date,
        case when version_number = 1 then 1 else 0 end as baskets,
        units,
        has_discount - coalesce(lag(has_discount) over by_basket, 0) as discounted_baskets,
        is_online - coalesce(lag(is_online) over by_basket, 0) as online_baskets,
        case when version_number = 1 and {{ is_weekend('first_business_date') }} then 1 else 0 end as weekend_baskets,
        is_night - coalesce(lag(is_night) over by_basket, 0) as night_baskets,
        is_morning - coalesce(lag(is_morning) over by_basket, 0) as morning_baskets,
        is_afternoon - coalesce(lag(is_afternoon) over by_basket, 0) as afternoon_baskets,
        is_evening - coalesce(lag(is_evening) over by_basket, 0) as evening_baskets
    from basket_indicators
    window by_basket as (partition by customer_key, order_id order by valid_from)

),

unit_changes as (

    select
        customer_key,
        business_date as on_date,
        sum(quantity) as sale_units,
        sum(
            case when discount_amount > 0 or unit_price < list_price then quantity else 0 end
        ) as below_list_units
    from sale_lines
    group by customer_key, business_date

),

-- events per person and day: the deepest stage, and the views and cart adds, which count in the
-- 30 days from their day (added on it, taken off 30 days later)
event_days as (

    select
        customer_key,
        event_date,
        max({{ journey_stage_rank('journey_stage') }}) as stage_rank,
        sum(case when event_name = 'Product Viewed' then 1 else 0 end) as product_views,
        sum(case when event_name = 'Product Added' then 1 else 0 end) as cart_adds
    from events
    where event_date is not null
    group by customer_key, event_date

),

-- A session counts in the 30 days from each of its days: the union of those windows, as the
-- dates it starts and stops counting (a window that overlaps the next one does not stop).
session_days as (

    select distinct
        events.customer_key,
        events.session_id,
        events.event_date
    from events
    {% if changed_only %}
    inner join person_openings
        on events.customer_key = person_openings.customer_key
    {% endif %}
    where events.event_date is not null
        and events.session_id is not null
    {% if changed_only %}
        -- a day more than 30 days before a person's first snapshot written counts at none of them
        -- (its window ends by the opening date)
        and (
            person_openings.opening_date is null
            or events.event_date > cast({{ dbt.dateadd('day', -30, 'person_openings.opening_date') }} as date)
        )
    {% endif %}

),

session_windows as (

    select
        customer_key,
        event_date,
        cast({{ dbt.dateadd('day', 30, 'event_date') }} as date) as window_end,
        lag(event_date) over by_session as previous_day,
        lead(event_date) over by_session as next_day
    from session_days
    window by_session as (partition by customer_key, session_id order by event_date)

),

session_changes as (

    select customer_key, event_date as on_date, 1 as sessions
    from session_windows
    where previous_day is null or event_date >= cast({{ dbt.dateadd('day', 30, 'previous_day') }} as date)

    union all

    select customer_key, window_end as on_date, -1 as sessions
    from session_windows
    where next_day is null or next_day >= window_end

),

customer_changes as (

    select
        customer_key, on_date, baskets, units, discounted_baskets, online_baskets, weekend_baskets,
        night_baskets, morning_baskets, afternoon_baskets, evening_baskets,
        cast(null as bigint) as sale_units, cast(null as bigint) as below_list_units,
        cast(null as int) as stage_rank, 0 as sessions, 0 as product_views, 0 as cart_adds
    from basket_changes

    union all

    select
        customer_key, on_date, 0, null, 0, 0, 0, 0, 0, 0, 0,
        sale_units, below_list_units,
        null, 0, 0, 0
    from unit_changes

    union all

    select
        customer_key, event_date, 0, null, 0, 0, 0, 0, 0, 0, 0, null, null,
        stage_rank, 0, product_views, cart_adds
    from event_days

    union all

    select
        customer_key, cast({{ dbt.dateadd('day', 30, 'event_date') }} as date), 0, null, 0, 0, 0, 0, 0, 0, 0,
        null, null, null, 0, -product_views, -cart_adds
    from event_days

    union all

    select customer_key, on_date, 0, null, 0, 0, 0, 0, 0, 0, 0, null, null, null, sessions, 0, 0
    from session_changes

),

customer_day_changes as (

    select
        customer_changes.customer_key,
        {{ opening | replace('@date', 'customer_changes.on_date') if changed_only else 'on_date' }} as on_date,
        0 as is_snapshot,
        sum(baskets) as baskets,
        sum(units) as units,
        sum(discounted_baskets) as discounted_baskets,
        sum(online_baskets) as online_baskets,
        sum(weekend_baskets) as weekend_baskets,
        sum(night_baskets) as night_baskets,
        sum(morning_baskets) as morning_baskets,
        sum(afternoon_baskets) as afternoon_baskets,
        sum(evening_baskets) as evening_baskets,
        sum(sale_units) as sale_units,
        sum(below_list_units) as below_list_units,
        max(stage_rank) as stage_rank,
        sum(sessions) as sessions,
        sum(product_views) as product_views,
        sum(cart_adds) as cart_adds
    from customer_changes
    {% if changed_only %}
    inner join person_openings
        on customer_changes.customer_key = person_openings.customer_key
    cross join opening
    where opening.closing_date is null or customer_changes.on_date <= opening.closing_date
    {% endif %}
    group by 1, 2

),

customer_timeline as (

    select * from customer_day_changes

    union all

    select
        customer_key, snapshot_date, 1, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null
    from customer_snapshots

),

customer_running as (

    select
        customer_key,
        on_date as snapshot_date,
        is_snapshot,
        sum(baskets) over running as baskets,
        sum(units) over running as units,
        sum(discounted_baskets) over running as discounted_baskets,
        sum(online_baskets) over running as online_baskets,
        sum(weekend_baskets) over running as weekend_baskets,
        sum(night_baskets) over running as night_baskets,
        sum(morning_baskets) over running as morning_baskets,
        sum(afternoon_baskets) over running as afternoon_baskets,
        sum(evening_baskets) over running as evening_baskets,
        sum(sale_units) over running as sale_units,
        sum(below_list_units) over running as below_list_units,
        max(stage_rank) over running as deepest_stage_rank,
        sum(sessions) over running as sessions_30d,
        sum(product_views) over running as product_views_30d,
        sum(cart_adds) over running as cart_adds_30d
    from customer_timeline
    window running as (
        partition by customer_key order by on_date, is_snapshot rows between unbounded preceding and current row
    )

),

customer_measures as (

    select
        *,
        greatest(
            coalesce(night_baskets, 0), coalesce(morning_baskets, 0),
            coalesce(afternoon_baskets, 0), coalesce(evening_baskets, 0)
        ) as part_of_day_baskets
    from customer_running
    where is_snapshot = 1

),

-- Net spend per category (all lines, returns deducted), running per customer and category; the
-- snapshot rows of a pair start on its first line's date.
category_day_spend as (

    select
        sales.customer_key,
        products.category,
        {{ opening | replace('@date', 'sales.business_date') if changed_only else 'sales.business_date' }} as on_date,
        sum(sales.net_amount) as net_spend
    from sales
    inner join products
        on sales.sku = products.sku
    {% if changed_only %}
    inner join person_openings
        on sales.customer_key = person_openings.customer_key
    {% endif %}
    where products.category is not null
        and sales.business_date is not null
    group by 1, 2, 3

),

category_firsts as (

    select customer_key, category, min(on_date) as first_date
    from category_day_spend
    group by customer_key, category

),

category_timeline as (

    select customer_key, category, on_date, 0 as is_snapshot, net_spend
    from category_day_spend

    union all

    select
        customer_snapshots.customer_key,
        category_firsts.category,
        customer_snapshots.snapshot_date,
        1,
        null
    from customer_snapshots
    inner join category_firsts
        on customer_snapshots.customer_key = category_firsts.customer_key
        and customer_snapshots.snapshot_date >= category_firsts.first_date

),

category_spend as (

    select
        customer_key,
        category,
        on_date as snapshot_date,
        is_snapshot,
        sum(net_spend) over (
            partition by customer_key, category
            order by on_date, is_snapshot rows between unbounded preceding and current row
        ) as net_spend
    from category_timeline

),

ranked_categories as (

    select
        *,
        row_number() over (
            partition by snapshot_date, customer_key
            order by net_spend desc, category
        ) as category_rank
    from category_spend
    where is_snapshot = 1
        and net_spend > 0

),

top_categories as (

    select
        snapshot_date,
        customer_key,
        max(case when category_rank = 1 then category end) as top_category,
        max(case when category_rank = 2 then category end) as second_category
    from ranked_categories
    where category_rank <= 2
    group by snapshot_date, customer_key

),

-- Store visits per customer and store: the baskets there (a version moves its basket when its
-- channel or store changes) and the latest visit. A basket's visit time is that of its current
-- version, so the latest visit is a running max over final versions plus, on the snapshots a
-- superseded version was current, that version's time.
store_changes as (

    select
        customer_key,
        location_id as store_id,
        valid_from as on_date,
        1 as baskets,
        case when valid_to is null then transacted_at end as final_visit_at
    from basket_versions
    where channel = 'store'

    union all

    select
        customer_key,
        lag(location_id) over by_basket as store_id,
        valid_from as on_date,
        case when lag(channel) over by_basket = 'store' then -1 else 0 end as baskets,
        cast(null as timestamp) as final_visit_at
    from basket_versions
    window by_basket as (partition by customer_key, order_id order by valid_from)

),

store_day_changes as (

    select
        store_changes.customer_key,
        store_changes.store_id,
        {{ opening | replace('@date', 'store_changes.on_date') if changed_only else 'on_date' }} as on_date,
        0 as is_snapshot,
        sum(store_changes.baskets) as baskets,
        max(store_changes.final_visit_at) as final_visit_at
    from store_changes
    {% if changed_only %}
    inner join person_openings
        on store_changes.customer_key = person_openings.customer_key
    {% endif %}
    where baskets != 0 or final_visit_at is not null
    group by 1, 2, 3, 4

),

store_firsts as (

    select customer_key, store_id, min(on_date) as first_date
    from store_day_changes
    group by customer_key, store_id

),

store_timeline as (

    select * from store_day_changes

    union all

    select
        customer_snapshots.customer_key,
        store_firsts.store_id,
        customer_snapshots.snapshot_date,
        1,
        null,
        null
    from customer_snapshots
    inner join store_firsts
        on customer_snapshots.customer_key = store_firsts.customer_key
        and customer_snapshots.snapshot_date >= store_firsts.first_date

),

store_running as (

    select
        customer_key,
        store_id,
        on_date as snapshot_date,
        is_snapshot,
        sum(baskets) over running as baskets,
        max(final_visit_at) over running as final_visit_at
    from store_timeline
    window running as (
        partition by customer_key, store_id order by on_date, is_snapshot
        rows between unbounded preceding and current row
    )

),

superseded_visits as (

    select
        basket_versions.customer_key,
        basket_versions.location_id as store_id,
        snapshots.snapshot_date,
        max(basket_versions.transacted_at) as visit_at
    from basket_versions
    inner join snapshots
        on snapshots.snapshot_date >= basket_versions.valid_from
        and snapshots.snapshot_date < basket_versions.valid_to
    where basket_versions.channel = 'store'
    group by basket_versions.customer_key, basket_versions.location_id, snapshots.snapshot_date

),

store_visits as (

    select
        store_running.snapshot_date,
        store_running.customer_key,
        store_running.store_id,
        store_running.baskets,
        case
            when superseded_visits.visit_at is null then store_running.final_visit_at
            when store_running.final_visit_at is null then superseded_visits.visit_at
            when superseded_visits.visit_at > store_running.final_visit_at then superseded_visits.visit_at
            else store_running.final_visit_at
        end as last_visit_at
    from store_running
    left join superseded_visits
        on store_running.customer_key = superseded_visits.customer_key
        and store_running.store_id is not distinct from superseded_visits.store_id
        and store_running.snapshot_date = superseded_visits.snapshot_date
    where store_running.is_snapshot = 1
        and store_running.baskets > 0

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
        {{ safe_divide('customer_measures.units', 'customer_measures.baskets') }} as avg_basket_units,
        {{ safe_divide('customer_measures.below_list_units', 'customer_measures.sale_units') }} as discounted_unit_share,
        {{ safe_divide('customer_measures.discounted_baskets', 'customer_measures.baskets') }} as promo_basket_share,
        {{ safe_divide('customer_measures.online_baskets', 'customer_measures.baskets') }} as online_basket_share,
        {{ safe_divide('customer_measures.weekend_baskets', 'customer_measures.baskets') }} as weekend_basket_share,
        -- the part of the day with the most baskets (ties - night, morning, afternoon, evening)
        case
            when coalesce(customer_measures.part_of_day_baskets, 0) = 0 then null
            when customer_measures.night_baskets = customer_measures.part_of_day_baskets then 'night'
            when customer_measures.morning_baskets = customer_measures.part_of_day_baskets then 'morning'
            when customer_measures.afternoon_baskets = customer_measures.part_of_day_baskets then 'afternoon'
            else 'evening'
        end as part_of_day,
        top_categories.top_category,
        top_categories.second_category,
        home_stores.home_store_id,
        home_stores.home_region,
        coalesce(customer_measures.sessions_30d, 0) as sessions_30d,
        coalesce(customer_measures.product_views_30d, 0) as product_views_30d,
        coalesce(customer_measures.cart_adds_30d, 0) as cart_adds_30d,
        coalesce(customer_measures.deepest_stage_rank, 0) as deepest_stage_rank
    from customer_snapshots
    left join rfm
        on customer_snapshots.snapshot_date = rfm.snapshot_date
        and customer_snapshots.customer_key = rfm.customer_key
    left join customer_measures
        on customer_snapshots.snapshot_date = customer_measures.snapshot_date
        and customer_snapshots.customer_key = customer_measures.customer_key
    left join top_categories
        on customer_snapshots.snapshot_date = top_categories.snapshot_date
        and customer_snapshots.customer_key = top_categories.customer_key
    left join home_stores
        on customer_snapshots.snapshot_date = home_stores.snapshot_date
        and customer_snapshots.customer_key = home_stores.customer_key

),

tagged as (

    select
        *,

        -- consent-free: the purchase relationship
        {{ customer_tag_purchase_frequency('f_score') }} as purchase_frequency,
        {{ customer_tag_recency_band('recency_days') }} as recency_band,
        {{ customer_tag_value_tier('m_score') }} as value_tier,
        case
            when avg_basket_units is null then null
            when avg_basket_units <= 1 then 'single_item'
            when avg_basket_units < 3 then 'small'
            else 'large'
        end as basket_size,
        {{ customer_tag_purchase_stage_rank('orders') }} as purchase_stage_rank,
        {{ customer_tag_is_churn_risk('rfm_segment') }} as is_churn_risk,

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
        {{ customer_tag_engagement_level('sessions_30d') }} as engagement_level
    from joined

),

staged as (

    select
        *,
        {{ customer_tag_lifecycle_stage_rank('profiling_consent', 'deepest_stage_rank', 'purchase_stage_rank') }}
            as lifecycle_stage_rank
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
        cast({{ customer_tag_lifecycle_stage('lifecycle_stage_rank') }} as {{ dbt.type_string() }}) as lifecycle_stage,
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

{%- if changed_only %}
,

-- The rows carried forward: everything but the RFM snapshot's columns as the last build computed
-- it (int_customer_tag_carried_rows), the RFM columns and what follows from them as the model's
-- own rows have them.
carried_final as (

    select
        cast(carried.snapshot_date as date) as snapshot_date,
        cast(carried.customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(carried.profiling_consent as boolean) as profiling_consent,
        cast(coalesce(rfm.frequency, 0) as bigint) as orders,
        cast({{ customer_tag_purchase_frequency('rfm.f_score') }} as {{ dbt.type_string() }}) as purchase_frequency,
        cast(rfm.recency_days as int) as recency_days,
        cast({{ customer_tag_recency_band('rfm.recency_days') }} as {{ dbt.type_string() }}) as recency_band,
        cast(rfm.segment as {{ dbt.type_string() }}) as rfm_segment,
        cast({{ customer_tag_value_tier('rfm.m_score') }} as {{ dbt.type_string() }}) as value_tier,
        cast(carried.avg_basket_units as double) as avg_basket_units,
        cast(carried.basket_size as {{ dbt.type_string() }}) as basket_size,
        cast({{ customer_tag_lifecycle_stage(customer_tag_lifecycle_stage_rank(
            'carried.profiling_consent', 'carried.deepest_stage_rank',
            customer_tag_purchase_stage_rank('coalesce(rfm.frequency, 0)'))) }} as {{ dbt.type_string() }}) as lifecycle_stage,
        cast({{ customer_tag_is_churn_risk('rfm.segment') }} as boolean) as is_churn_risk,
        cast(carried.discounted_unit_share as double) as discounted_unit_share,
        cast(carried.price_sensitivity as {{ dbt.type_string() }}) as price_sensitivity,
        cast(carried.promo_basket_share as double) as promo_basket_share,
        cast(carried.promotion_response as {{ dbt.type_string() }}) as promotion_response,
        cast(carried.top_category as {{ dbt.type_string() }}) as top_category,
        cast(carried.second_category as {{ dbt.type_string() }}) as second_category,
        cast(carried.online_basket_share as double) as online_basket_share,
        cast(carried.channel_preference as {{ dbt.type_string() }}) as channel_preference,
        cast(carried.home_store_id as {{ dbt.type_string() }}) as home_store_id,
        cast(carried.home_region as {{ dbt.type_string() }}) as home_region,
        cast(carried.weekend_basket_share as double) as weekend_basket_share,
        cast(carried.shopping_days as {{ dbt.type_string() }}) as shopping_days,
        cast(carried.time_of_day as {{ dbt.type_string() }}) as time_of_day,
        cast(carried.sessions_30d as bigint) as sessions_30d,
        cast(carried.product_views_30d as bigint) as product_views_30d,
        cast(carried.cart_adds_30d as bigint) as cart_adds_30d,
        cast(case when carried.profiling_consent then {{ customer_tag_engagement_level('carried.sessions_30d') }} end
            as {{ dbt.type_string() }}) as engagement_level
    from carried
    left join rfm
        on carried.snapshot_date = rfm.snapshot_date
        and carried.customer_key = rfm.customer_key

)

select * from final
union all
select * from carried_final
{%- else %}

select * from final
{%- endif %}
