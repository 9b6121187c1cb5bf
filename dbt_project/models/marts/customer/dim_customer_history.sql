{#
    Customer history, SCD type 2: one row per person and period in which their RFM segment,
    membership, tier, consent and home store all stayed the same, valid from valid_from up to
    valid_to (exclusive; null for the current row). Dates are the RFM snapshot dates and the
    landing dates observed: the segment is that of the snapshot (its latest revision, so late data
    restates the history too), the other attributes those of the latest observation on or before
    the date (dim_customer_observations). An attribute not known yet on a date is null (no
    purchase yet: no segment; before the first observation: no tier or consent).
#}
with

rfm as (

    select * from {{ ref('mart_customer_rfm') }}

),

observations as (

    select * from {{ ref('dim_customer_observations') }}

),

dates as (

    select snapshot_date as on_date from rfm
    union
    select observed_on as on_date from observations

),

first_seen as (

    select customer_key, min(on_date) as first_date
    from (
        select customer_key, snapshot_date as on_date from rfm
        union all
        select customer_key, observed_on as on_date from observations
    ) as appearances
    group by customer_key

),

customer_dates as (

    select
        first_seen.customer_key,
        dates.on_date
    from first_seen
    inner join dates
        on dates.on_date >= first_seen.first_date

),

-- The observation in force on each date: the latest observed on or before it. Every observation
-- date is one of the dates, so a running max over the person's dates finds it.
observation_dates as (

    select
        customer_dates.customer_key,
        customer_dates.on_date,
        max(observations.observed_on) over (
            partition by customer_dates.customer_key
            order by customer_dates.on_date
            rows unbounded preceding
        ) as observed_on
    from customer_dates
    left join observations
        on customer_dates.customer_key = observations.customer_key
        and customer_dates.on_date = observations.observed_on

),

states as (

    select
        observation_dates.customer_key,
        observation_dates.on_date,
        rfm.segment,
        observations.is_member,
        observations.tier,
        observations.email_opt_in,
        observations.sms_opt_in,
        observations.profiling_consent,
        observations.home_store_id
    from observation_dates
    left join rfm
        on observation_dates.customer_key = rfm.customer_key
        and observation_dates.on_date = rfm.snapshot_date
    left join observations
        on observation_dates.customer_key = observations.customer_key
        and observation_dates.observed_on = observations.observed_on

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

periods as (

    select
        *,
        sum(is_change) over (partition by customer_key order by on_date rows unbounded preceding) as period_number
    from changes

),

collapsed as (

    select
        customer_key,
        period_number,
        min(on_date) as valid_from,
        -- within a period every attribute has one value; max() takes it (null if unknown)
        max(segment) as segment,
        max(tier) as tier,
        max(home_store_id) as home_store_id,
        cast(max(cast(is_member as int)) as boolean) as is_member,
        cast(max(cast(email_opt_in as int)) as boolean) as email_opt_in,
        cast(max(cast(sms_opt_in as int)) as boolean) as sms_opt_in,
        cast(max(cast(profiling_consent as int)) as boolean) as profiling_consent
    from periods
    group by customer_key, period_number

),

final as (

    select
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(valid_from as date) as valid_from,
        cast(lead(valid_from) over (partition by customer_key order by valid_from) as date) as valid_to,
        lead(valid_from) over (partition by customer_key order by valid_from) is null as is_current,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(is_member as boolean) as is_member,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(email_opt_in as boolean) as email_opt_in,
        cast(sms_opt_in as boolean) as sms_opt_in,
        cast(profiling_consent as boolean) as profiling_consent,
        cast(home_store_id as {{ dbt.type_string() }}) as home_store_id
    from collapsed

)

select * from final
