{#
    Every revision of every day's funnel: a run for landing date L writes, known at L, the funnel
    of each session date of its lateness window (restatement_days() dates before L, and later)
    and of any older date with a session that received an event on L (macro is_revised), from
    the events delivered by L (int_session_journeys holds the sessions of exactly those dates).
    Revisions accumulate (delete+insert on known_at); mart_journey_funnel is each day's latest
    revision.

    Sessions per day x channel x device reaching each journey stage, and stage-to-stage
    conversion. A session reaches a stage when its deepest stage is that stage or a later one
    (int_session_journeys), so the funnel never widens: each rate is between 0 and 1, null when
    no session reached the earlier stage.
#}
with

sessions as (

    select * from {{ ref('int_session_journeys') }}

),

counted as (

    select
        sessions.session_date,
        sessions.known_at,
        channel,
        device_type,
        count(*) as sessions,
        sum(case when deepest_stage_rank >= 1 then 1 else 0 end) as awareness_sessions,
        sum(case when deepest_stage_rank >= 2 then 1 else 0 end) as interest_sessions,
        sum(case when deepest_stage_rank >= 3 then 1 else 0 end) as decision_sessions,
        sum(case when deepest_stage_rank >= 4 then 1 else 0 end) as purchase_sessions,
        sum(case when deepest_stage_rank >= 5 then 1 else 0 end) as loyalty_sessions
    from sessions
    group by sessions.session_date, sessions.known_at, channel, device_type

),

converted as (

    select
        *,
        {{ safe_divide('interest_sessions', 'awareness_sessions') }} as awareness_to_interest_rate,
        {{ safe_divide('decision_sessions', 'interest_sessions') }} as interest_to_decision_rate,
        {{ safe_divide('purchase_sessions', 'decision_sessions') }} as decision_to_purchase_rate,
        {{ safe_divide('loyalty_sessions', 'purchase_sessions') }} as purchase_to_loyalty_rate,
        {{ safe_divide('purchase_sessions', 'sessions') }} as session_conversion_rate
    from counted

),

final as (

    select
        cast(session_date as date) as session_date,
        cast(known_at as date) as known_at,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(device_type as {{ dbt.type_string() }}) as device_type,
        cast(sessions as bigint) as sessions,
        cast(awareness_sessions as bigint) as awareness_sessions,
        cast(interest_sessions as bigint) as interest_sessions,
        cast(decision_sessions as bigint) as decision_sessions,
        cast(purchase_sessions as bigint) as purchase_sessions,
        cast(loyalty_sessions as bigint) as loyalty_sessions,
        cast(round(awareness_to_interest_rate, 4) as double) as awareness_to_interest_rate,
        cast(round(interest_to_decision_rate, 4) as double) as interest_to_decision_rate,
        cast(round(decision_to_purchase_rate, 4) as double) as decision_to_purchase_rate,
        cast(round(purchase_to_loyalty_rate, 4) as double) as purchase_to_loyalty_rate,
        cast(round(session_conversion_rate, 4) as double) as session_conversion_rate
    from converted

)

select * from final
where {{ unrecorded('final.known_at') }}
