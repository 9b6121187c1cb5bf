{#
    One row per behaviour session of a session date the run revises (macro is_revised: a date of
    the lateness window, or an older one with a session that received an event on the run's
    landing date L): the day it started, its channel and device (those of its first event), and
    the deepest journey stage it reached (1 awareness .. 5 loyalty; null when no event of the
    session had a stage). A session that reached a stage passed through the earlier ones.

    Only those dates, because its one reader (mart_journey_funnel_revisions) writes only those:
    a session starting on a date has an event on that date (its first), so the sessions of the
    revised dates are found from the events of those dates and of the sessions delivered news,
    without ordering every event of history.

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

news_sessions as (

    select distinct session_id
    from events_known
    where received_on = known_at

),

news_first_events as (

    select
        events_known.session_id,
        events_known.event_date,
        row_number() over (
            partition by events_known.session_id order by events_known.event_at, events_known.event_id
        ) as event_order
    from events_known
    inner join news_sessions
        on events_known.session_id = news_sessions.session_id

),

-- the start dates of the sessions delivered news: older dates the run revises
news_dates as (

    select distinct event_date as session_date
    from news_first_events
    where event_order = 1

),

candidate_sessions as (

    select distinct events_known.session_id
    from events_known
    left join news_dates
        on events_known.event_date = news_dates.session_date
    where {{ is_revised('events_known.event_date', 'events_known.known_at', 'news_dates.session_date is not null') }}

),

ordered_events as (

    select
        events_known.session_id,
        events_known.known_at,
        events_known.received_on = events_known.known_at as is_news,
        events_known.event_date,
        events_known.channel,
        coalesce(events_known.device_type, 'unknown') as device_type,
        {{ journey_stage_rank('events_known.journey_stage') }} as stage_rank,
        row_number() over (
            partition by events_known.session_id order by events_known.event_at, events_known.event_id
        ) as event_order
    from events_known
    inner join candidate_sessions
        on events_known.session_id = candidate_sessions.session_id

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
    left join news_dates
        on first_events.session_date = news_dates.session_date
    where {{ is_revised('first_events.session_date', 'first_events.known_at', 'news_dates.session_date is not null') }}

)

select * from sessions
