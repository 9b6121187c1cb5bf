with

source as (

    select * from {{ silver_source('customer_key_merges') }}

),

renamed as (

    select

        -- ids
        merged_key,
        surviving_key,

        -- strings
        evidence,

        -- dates
        cast(coalesce(merged_on, cast(merged_at as date)) as date) as merged_on,

        -- timestamps
        cast(merged_at as timestamp) as merged_at

    from source

)

select * from renamed
