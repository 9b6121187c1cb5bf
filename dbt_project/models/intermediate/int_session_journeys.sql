{#
    One row per behaviour session: the day it started, its channel and device (those of its first
    event), and the deepest journey stage it reached (1 awareness .. 5 loyalty; null when no event
    of the session had a stage). A session that reached a stage passed through the earlier ones.

    As known at the run's landing date L (known_at): only the events delivered by L count
    (received_on), so rerunning L at any later time finds the same sessions, unless silver has
    since re-sessionised or re-staged them (a late event that joins two sessions, an earlier order
    that turns a purchase into a repeat one): session ids and stages are as silver holds them now.
    has_news: an event of the session was delivered on L itself.
#}
with

events as (

    select * from {{ ref('stg_silver__events') }}

),

known_at as (

    select {{ run_known_at(ref('stg_silver__events'), 'received_on') }} as known_at

),

events_known as (

    select
        events.*,
        known_at.known_at
    from events
    cross join known_at
    where {{ known_by('events.received_on', 'known_at.known_at') }}

),

ordered_events as (

    select
        session_id,
        known_at,
        received_on = known_at as is_news,
        event_date,
        channel,
        coalesce(device_type, 'unknown') as device_type,
        {{ journey_stage_rank('journey_stage') }} as stage_rank,
        row_number() over (partition by session_id order by event_at, event_id) as event_order
    from events_known

),

first_events as (

    select
        session_id,
        known_at,
        event_date as session_date,
        channel,
        device_type
    from ordered_events
    where event_order = 1

),

deepest_stages as (

    select
        session_id,
        max(stage_rank) as deepest_stage_rank,
        max(case when is_news then 1 else 0 end) = 1 as has_news
    from ordered_events
    group by session_id

),

sessions as (

    select
        first_events.session_id,
        first_events.known_at,
        first_events.session_date,
        first_events.channel,
        first_events.device_type,
        deepest_stages.deepest_stage_rank,
        deepest_stages.has_news
    from first_events
    inner join deepest_stages
        on first_events.session_id = deepest_stages.session_id

)

select * from sessions
