with

source as (

    select * from {{ silver_source('customers') }}

),

renamed as (

    select

        -- ids
        customer_key,
        signup_store_id,

        -- strings
        tier,

        -- booleans
        is_member,
        email_opt_in,
        sms_opt_in,
        profiling_consent,

        -- dates
        cast(signup_date as date) as signup_date

    from source

)

select * from renamed
