{#
    The mart_customer_tags rows an incremental run carries forward from the last build instead of
    computing them from the person's whole history: at each snapshot the run revises (the new one
    and the restated ones), every person whose inputs did not change up to it. Their tags at a
    snapshot S depend on the RFM snapshot and on their inputs dated on or before S and undated;
    when no input of theirs dated after the latest snapshot P <= S the last build wrote (P = S for
    a restated snapshot) is recorded now and nothing before S changed (changed_from after S), every
    column but the RFM ones is the one the last build wrote at P - but the 30-day measures, which
    move without new inputs and are counted here from the events of the 30 days up to S. The
    lifecycle stage needs the deepest browsing stage, which the mart does not keep: it is the
    stored stage when that is above what purchases alone give, else at most that; a person whose
    purchases now give less (fewer orders at S than at P) is left to be computed.

    Read before mart_customer_tags replaces its rows (the mart refs this model; this one reads the
    mart's table as the last build left it, like the recorded digests). Empty on a first build, a
    recompute, a full refresh, while no digest is recorded, and on Spark, where the mart is
    computed whole.
#}
{{ config(materialized='table') }}
{%- set revisions = ref('mart_customer_rfm_revisions') %}
{%- set rfm_relation = ref('mart_customer_rfm') %}
{%- set customers_relation = ref('dim_customer') %}
{%- set changed_relation = ref('int_customer_tag_changed_customers') %}
{%- set digests_relation = ref('int_customer_tag_day_digests') %}
{%- set events_relation = ref('stg_silver__events') %}
{%- set stored = recorded_digests('mart_customer_tags') %}
{%- set carry = execute and target.type != 'spark' and stored is not none and not flags.FULL_REFRESH
    and not (run_parameter('recompute', '') | string | lower in ['1', 'true'])
    and recorded_digests('customer_tag_day_digests') is not none %}
{%- set stored_columns = [
    ('avg_basket_units', 'double'), ('basket_size', dbt.type_string()),
    ('discounted_unit_share', 'double'), ('price_sensitivity', dbt.type_string()),
    ('promo_basket_share', 'double'), ('promotion_response', dbt.type_string()),
    ('top_category', dbt.type_string()), ('second_category', dbt.type_string()),
    ('online_basket_share', 'double'), ('channel_preference', dbt.type_string()),
    ('home_store_id', dbt.type_string()), ('home_region', dbt.type_string()),
    ('weekend_basket_share', 'double'), ('shopping_days', dbt.type_string()),
    ('time_of_day', dbt.type_string()),
] %}
{% if carry %}
with

revised_snapshots as (

    select distinct snapshot_date
    from {{ revisions }}
    where known_at = {{ run_known_at(revisions, 'known_at') }}

),

stored_snapshots as (

    select distinct snapshot_date
    from {{ stored }}

),

-- each revised snapshot and the latest snapshot the last build wrote on or before it
sources as (

    select
        revised_snapshots.snapshot_date,
        max(stored_snapshots.snapshot_date) as source_date
    from revised_snapshots
    inner join stored_snapshots
        on stored_snapshots.snapshot_date <= revised_snapshots.snapshot_date
    group by revised_snapshots.snapshot_date

),

-- the people whose inputs did not change before each snapshot, with their row at its source
candidates as (

    select
        sources.snapshot_date,
        sources.source_date,
        stored.*
    from sources
    inner join {{ stored }} as stored
        on stored.snapshot_date = sources.source_date
    inner join {{ customers_relation }} as customers
        on stored.customer_key = customers.customer_key
    left join {{ changed_relation }} as changed
        on stored.customer_key = changed.customer_key
    where changed.customer_key is null
        or (changed.changed_from is not null and sources.snapshot_date < changed.changed_from)

),

carried as (

    select
        candidates.*,
        {{ customer_tag_purchase_stage_rank('candidates.orders') }} as source_purchase_rank,
        coalesce({{ journey_stage_rank('candidates.lifecycle_stage') }}, 0) as source_stage_rank,
        {{ customer_tag_purchase_stage_rank('coalesce(rfm.frequency, 0)') }} as purchase_rank
    from candidates
    left join {{ rfm_relation }} as rfm
        on candidates.snapshot_date = rfm.snapshot_date
        and candidates.customer_key = rfm.customer_key
    -- nothing of theirs dated after the source and up to the snapshot
    where not exists (
        select 1
        from {{ digests_relation }} as digests
        where digests.customer_key = candidates.customer_key
            and digests.digest_date > candidates.source_date
            and digests.digest_date <= candidates.snapshot_date
    )

),

kept as (

    select
        *,
        -- the deepest browsing stage where it decides the lifecycle stage, else 0 (at most the
        -- purchase stage, which then decides)
        case when source_stage_rank > source_purchase_rank then source_stage_rank else 0 end as deepest_stage_rank
    from carried
    where not profiling_consent
        or source_stage_rank > source_purchase_rank
        or purchase_rank >= source_purchase_rank

),

recent_events as (

    select events.customer_key, events.session_id, events.event_name, events.event_date
    from {{ events_relation }} as events
    where events.customer_key is not null
        and events.event_date > cast({{ dbt.dateadd('day', -30, '(select min(sources.snapshot_date) from sources)') }} as date)
        and events.event_date <= (select max(sources.snapshot_date) from sources)

),

-- the 30-day measures at the snapshot: sessions with a day, and views and cart adds, in the 30
-- days up to it
recent_measures as (

    select
        kept.snapshot_date,
        kept.customer_key,
        count(distinct recent_events.session_id) as sessions,
        sum(case when recent_events.event_name = 'Product Viewed' then 1 else 0 end) as product_views,
        sum(case when recent_events.event_name = 'Product Added' then 1 else 0 end) as cart_adds
    from kept
    inner join recent_events
        on kept.customer_key = recent_events.customer_key
        and recent_events.event_date > cast({{ dbt.dateadd('day', -30, 'kept.snapshot_date') }} as date)
        and recent_events.event_date <= kept.snapshot_date
    where kept.profiling_consent
    group by kept.snapshot_date, kept.customer_key

),

final as (

    select
        cast(kept.snapshot_date as date) as snapshot_date,
        cast(kept.customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(kept.source_date as date) as source_date,
        cast(kept.profiling_consent as boolean) as profiling_consent,
        cast(kept.deepest_stage_rank as int) as deepest_stage_rank,
        {%- for name, data_type in stored_columns %}
        cast(kept.{{ name }} as {{ data_type }}) as {{ name }},
        {%- endfor %}
        cast(case when kept.profiling_consent then coalesce(recent_measures.sessions, 0) end as bigint) as sessions_30d,
        cast(case when kept.profiling_consent then coalesce(recent_measures.product_views, 0) end as bigint) as product_views_30d,
        cast(case when kept.profiling_consent then coalesce(recent_measures.cart_adds, 0) end as bigint) as cart_adds_30d
    from kept
    left join recent_measures
        on kept.snapshot_date = recent_measures.snapshot_date
        and kept.customer_key = recent_measures.customer_key

)

select * from final
{% else %}
-- nothing carried: the mart computes every row it writes
select
    cast(null as date) as snapshot_date,
    cast(null as {{ dbt.type_string() }}) as customer_key,
    cast(null as date) as source_date,
    cast(null as boolean) as profiling_consent,
    cast(null as int) as deepest_stage_rank,
    {%- for name, data_type in stored_columns %}
    cast(null as {{ data_type }}) as {{ name }},
    {%- endfor %}
    cast(null as bigint) as sessions_30d,
    cast(null as bigint) as product_views_30d,
    cast(null as bigint) as cart_adds_30d
from {{ customers_relation }}
where 1 = 0
{% endif %}
