with

source as (

    select * from {{ source('silver', 'event_attribution') }}

),

renamed as (

    select

        -- ids
        message_id as event_id,
        customer_key,

        -- strings
        journey_stage

    from source

)

select * from renamed
