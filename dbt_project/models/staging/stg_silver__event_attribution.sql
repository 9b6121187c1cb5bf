{%- set mirror = event_mirror('attribution') %}
with

{% if mirror %}
-- the current attribution as the pipeline keeps it in step with silver (macros/event_mirror.sql)
current_revision as (

    select
        message_id,
        customer_key,
        journey_stage

    from {{ mirror }}

),
{% else %}
source as (

    select * from {{ source('silver', 'event_attribution') }}

),

-- the table keeps revisions (each run appends the rows it re-attributes): an event's attribution
-- is its row of the highest revision. A row that replaced an earlier one is marked, and every later
-- row of that event is too, so the rows below an event's highest marked revision are superseded:
-- one join against the few marked rows, not a ranking of every row
replaced as (

    select
        message_id,
        max(revision) as replaced_below

    from source
    where replaces_earlier
    group by message_id

),

current_revision as (

    select
        source.message_id,
        source.customer_key,
        source.journey_stage

    from source
    left join replaced on source.message_id = replaced.message_id
    where replaced.replaced_below is null or source.revision >= replaced.replaced_below

),
{% endif %}

renamed as (

    select

        -- ids
        message_id as event_id,
        customer_key,

        -- strings
        journey_stage

    from current_revision

)

select * from renamed
