{#
    One row per behaviour session: the day it started, its channel and device (those of its first
    event), and the deepest journey stage it reached (1 awareness .. 5 loyalty; null when no event
    of the session had a stage). A session that reached a stage passed through the earlier ones.
#}
with

events as (

    select * from {{ ref('stg_silver__events') }}

),

ordered_events as (

    select
        session_id,
        event_date,
        channel,
        coalesce(device_type, 'unknown') as device_type,
        {{ journey_stage_rank('journey_stage') }} as stage_rank,
        row_number() over (partition by session_id order by event_at, event_id) as event_order
    from events

),

first_events as (

    select
        session_id,
        event_date as session_date,
        channel,
        device_type
    from ordered_events
    where event_order = 1

),

deepest_stages as (

    select
        session_id,
        max(stage_rank) as deepest_stage_rank
    from ordered_events
    group by session_id

),

sessions as (

    select
        first_events.session_id,
        first_events.session_date,
        first_events.channel,
        first_events.device_type,
        deepest_stages.deepest_stage_rank
    from first_events
    inner join deepest_stages
        on first_events.session_id = deepest_stages.session_id

)

select * from sessions
