{%- set mirror = event_mirror() %}
with

{% if mirror %}
-- the pipeline's copy of the join below, kept in step with silver (macros/event_mirror.sql)
attributed as (

    select * from {{ mirror }}

),
{% else %}
source as (

    select * from {{ source('silver', 'events') }}

),

-- who each event is attributed to and its stage: kept in its own silver table, because it changes
-- after the event is written (silver.event_attribution); every reader of events sees it here
attribution as (

    select * from {{ ref('stg_silver__event_attribution') }}

),

attributed as (

    select
        source.*,
        attribution.customer_key,
        attribution.journey_stage
    from source
    left join attribution on source.message_id = attribution.event_id

),
{% endif %}

-- only the columns gold reads (silver's event_type, page_path and revenue are read by no model):
-- this table is a copy of every event, each build, so a column nobody reads is paid for in every
-- build's scan and in the transient database's memory
renamed as (

    select

        -- ids
        message_id as event_id,
        session_id,
        customer_key,
        product_sku as sku,
        order_id,

        -- strings
        event_name,
        journey_stage,
        channel,
        device_type,

        -- dates
        cast(event_date as date) as event_date,
        cast(coalesce(received_on, event_date) as date) as received_on,

        -- timestamps
        cast(event_at as timestamp) as event_at

    from attributed

)

select * from renamed
