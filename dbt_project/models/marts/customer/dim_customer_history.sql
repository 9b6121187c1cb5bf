{#
    Customer history, SCD type 2: one row per person and period in which their RFM segment,
    membership, tier, consent and home store all stayed the same, valid from valid_from up to
    valid_to (exclusive; null for the current row). Dates are the RFM snapshot dates and the
    landing dates observed: the segment is that of the snapshot (its latest revision, so late data
    restates the history too), the other attributes those of the latest observation on or before
    the date (dim_customer_observations). An attribute not known yet on a date is null (no
    purchase yet: no segment; before the first observation: no tier or consent; on a date the
    person has no snapshot row: no segment).

    The state is compared only on the dates it can change (a person's segment runs start where
    the segment differs from the person's state on the date before; an observation only where an
    attribute differs from the person's observation before): a person's days of unchanged state
    cost nothing past the two scans of the inputs. Collapsing those dates gives the same periods
    as comparing every date.
#}
with

rfm as (

    select customer_key, snapshot_date, segment from {{ ref('mart_customer_rfm') }}

),

observations as (

    select * from {{ ref('dim_customer_observations') }}

),

dates as (

    select snapshot_date as on_date from rfm
    union
    select observed_on as on_date from observations

),

-- Each date with the dates before and after it.
date_steps as (

    select
        on_date,
        lag(on_date) over (order by on_date) as previous_date,
        lead(on_date) over (order by on_date) as next_date
    from dates

),

-- Where the person's state can change: a snapshot row unless the person had the same segment on
-- the date before; the date after a snapshot row when the person has no snapshot row then (the
-- segment is null from it); an observation unless the person's observation on the date before
-- holds the same attributes. Of several dates in a row with one state only the first is kept;
-- a date kept in excess is merged again below. Every other date has the state of the date
-- before.
rfm_steps as (

    select
        rfm.customer_key,
        rfm.snapshot_date,
        rfm.segment,
        date_steps.previous_date,
        date_steps.next_date
    from rfm
    inner join date_steps
        on rfm.snapshot_date = date_steps.on_date

),

segment_dates as (

    select rfm_steps.customer_key, rfm_steps.snapshot_date as on_date
    from rfm_steps
    left join rfm as before
        on rfm_steps.customer_key = before.customer_key
        and rfm_steps.previous_date = before.snapshot_date
        and rfm_steps.segment is not distinct from before.segment
    where before.customer_key is null
    union all
    select rfm_steps.customer_key, rfm_steps.next_date as on_date
    from rfm_steps
    left join rfm as after
        on rfm_steps.customer_key = after.customer_key
        and rfm_steps.next_date = after.snapshot_date
    where rfm_steps.next_date is not null
        and after.customer_key is null

),

observation_changes as (

    select observations.*
    from observations
    inner join date_steps
        on observations.observed_on = date_steps.on_date
    left join observations as before
        on observations.customer_key = before.customer_key
        and date_steps.previous_date = before.observed_on
        and observations.is_member is not distinct from before.is_member
        and observations.tier is not distinct from before.tier
        and observations.email_opt_in is not distinct from before.email_opt_in
        and observations.sms_opt_in is not distinct from before.sms_opt_in
        and observations.profiling_consent is not distinct from before.profiling_consent
        and observations.home_store_id is not distinct from before.home_store_id
    where before.customer_key is null

),

-- Every date a person's state can change on; the person's first date is among them (their first
-- snapshot row or first observation).
customer_dates as (

    select customer_key, on_date from segment_dates
    union
    select customer_key, observed_on as on_date from observation_changes

),

-- The attributes in force on each date: the latest changed observation on or before it. Every
-- changed observation date is one of the person's dates, so a running max finds it.
observation_dates as (

    select
        customer_dates.customer_key,
        customer_dates.on_date,
        max(observation_changes.observed_on) over (
            partition by customer_dates.customer_key
            order by customer_dates.on_date
            rows unbounded preceding
        ) as observed_on
    from customer_dates
    left join observation_changes
        on customer_dates.customer_key = observation_changes.customer_key
        and customer_dates.on_date = observation_changes.observed_on

),

states as (

    select
        observation_dates.customer_key,
        observation_dates.on_date,
        rfm.segment,
        observation_changes.is_member,
        observation_changes.tier,
        observation_changes.email_opt_in,
        observation_changes.sms_opt_in,
        observation_changes.profiling_consent,
        observation_changes.home_store_id
    from observation_dates
    left join rfm
        on observation_dates.customer_key = rfm.customer_key
        and observation_dates.on_date = rfm.snapshot_date
    left join observation_changes
        on observation_dates.customer_key = observation_changes.customer_key
        and observation_dates.observed_on = observation_changes.observed_on

),

changes as (

    select
        *,
        case
            when lag(on_date) over (partition by customer_key order by on_date) is null then 1
            when lag(segment) over (partition by customer_key order by on_date) is distinct from segment then 1
            when lag(is_member) over (partition by customer_key order by on_date) is distinct from is_member then 1
            when lag(tier) over (partition by customer_key order by on_date) is distinct from tier then 1
            when lag(email_opt_in) over (partition by customer_key order by on_date) is distinct from email_opt_in then 1
            when lag(sms_opt_in) over (partition by customer_key order by on_date) is distinct from sms_opt_in then 1
            when lag(profiling_consent) over (partition by customer_key order by on_date)
                is distinct from profiling_consent then 1
            when lag(home_store_id) over (partition by customer_key order by on_date) is distinct from home_store_id then 1
            else 0
        end as is_change
    from states

),

final as (

    select
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(on_date as date) as valid_from,
        cast(lead(on_date) over (partition by customer_key order by on_date) as date) as valid_to,
        lead(on_date) over (partition by customer_key order by on_date) is null as is_current,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(is_member as boolean) as is_member,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(email_opt_in as boolean) as email_opt_in,
        cast(sms_opt_in as boolean) as sms_opt_in,
        cast(profiling_consent as boolean) as profiling_consent,
        cast(home_store_id as {{ dbt.type_string() }}) as home_store_id
    from changes
    where is_change = 1

)

select * from final
