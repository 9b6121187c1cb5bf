with

source as (

    select * from {{ source('silver', 'event_attribution') }}

),

-- the table keeps revisions (each run appends the rows it re-attributes): an event's attribution
-- is its row of the highest revision
ranked as (

    select
        message_id,
        customer_key,
        journey_stage,
        row_number() over (partition by message_id order by revision desc) as revision_rank

    from source

),

current_revision as (

    select * from ranked where revision_rank = 1

),

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
