{#
    One row per person with a digest of every input row their mart_customer_tags rows are computed
    from: their sales lines (fct_sales), their behaviour events and their dim_customer row (first
    seen, signup, profiling consent); and, on every row, one digest of the reference rows every
    person's tags read (the products' category and list price, the stores' region). Two builds see
    the same digests for a person exactly when their tags at every snapshot come out the same,
    given the same RFM snapshot (up to a 64-bit hash).
#}
with

sales as (

    select * from {{ ref('fct_sales') }}
    where customer_key is not null

),

events as (

    select * from {{ ref('stg_silver__events') }}
    where customer_key is not null

),

customers as (

    select * from {{ ref('dim_customer') }}

),

products as (

    select * from {{ ref('stg_silver__products') }}

),

locations as (

    select * from {{ ref('stg_silver__locations') }}

),

hashed_rows as (

    select
        customer_key,
        {{ row_digest([
            "'line'", "sales_line_id", "order_id", "channel", "line_type", "sku", "location_id", "quantity",
            "unit_price", "discount_amount", "net_amount", "business_date", "transacted_at"
        ]) }} as row_hash
    from sales

    union all

    select
        customer_key,
        {{ row_digest([
            "'event'", "event_id", "event_date", "event_name", "journey_stage", "session_id"
        ]) }} as row_hash
    from events

    union all

    select
        customer_key,
        {{ row_digest(["'customer'", "first_seen_at", "signup_date", "profiling_consent"]) }} as row_hash
    from customers

),

reference_rows as (

    select {{ row_digest(["'product'", "sku", "category", "list_price"]) }} as row_hash
    from products

    union all

    select {{ row_digest(["'location'", "location_id", "state"]) }} as row_hash
    from locations

),

reference_digest as (

    select {{ digest_of_rows('row_hash') }} as reference_digest
    from reference_rows

),

customer_digests as (

    select
        customer_key,
        {{ digest_of_rows('row_hash') }} as input_digest
    from hashed_rows
    group by customer_key

),

final as (

    select
        customer_digests.customer_key,
        customer_digests.input_digest,
        reference_digest.reference_digest
    from customer_digests
    cross join reference_digest

)

select * from final
