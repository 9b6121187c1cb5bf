with

source as (

    select * from {{ source('silver', 'events') }}

),

-- who each event is attributed to and its stage: kept in its own silver table, because it changes
-- after the event is written (silver.event_attribution); every reader of events sees it here
attribution as (

    select * from {{ ref('stg_silver__event_attribution') }}

),

-- only the columns gold reads (silver's event_type, page_path and revenue are read by no model):
-- this table is a copy of every event, each build, so a column nobody reads is paid for in every
-- build's scan and in the transient database's memory
renamed as (

    select

        -- ids
        source.message_id as event_id,
        source.session_id,
        attribution.customer_key,
        source.product_sku as sku,
        source.order_id,

        -- strings
        source.event_name,
        attribution.journey_stage,
        source.channel,
        source.device_type,

        -- dates
        cast(source.event_date as date) as event_date,
        cast(coalesce(source.received_on, source.event_date) as date) as received_on,

        -- timestamps
        cast(source.event_at as timestamp) as event_at

    from source
    left join attribution on source.message_id = attribution.event_id

)

select * from renamed
