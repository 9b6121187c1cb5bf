with

source as (

    select * from {{ silver_source('locations') }}

),

renamed as (

    select

        -- ids
        location_id,

        -- strings
        location_type,
        location_name,
        city,
        state,
        time_zone,
        utc_offset,

        -- numerics
        latitude,
        longitude

    from source

)

select * from renamed
