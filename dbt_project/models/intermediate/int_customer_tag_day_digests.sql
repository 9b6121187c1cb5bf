{#
    One row per person and input date with a digest of every input row their mart_customer_tags
    rows are computed from, dated as it counts: their sales lines (fct_sales) on their business
    date, their behaviour events on their event date, and their dim_customer row (first seen,
    signup, profiling consent) and any undated row at no date (null: it counts at every snapshot);
    and, on every row, one digest of the reference rows every person's tags read (the products'
    category and list price, the stores' region). A person's tags at a snapshot are computed from
    the rows dated on or before it and the undated ones, so two builds see the same digests for a
    person up to a date exactly when their tags at every snapshot before it come out the same,
    given the same RFM snapshot (up to a 64-bit hash): the earliest date whose digest differs is
    the first snapshot a run has to recompute (int_customer_tag_changed_customers).
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
        business_date as digest_date,
        {{ row_digest([
            "'line'", "sales_line_id", "order_id", "channel", "line_type", "sku", "location_id", "quantity",
            "unit_price", "discount_amount", "net_amount", "business_date", "transacted_at"
        ]) }} as row_hash
    from sales

    union all

    select
        customer_key,
        event_date as digest_date,
        {{ row_digest([
            "'event'", "event_id", "event_date", "event_name", "journey_stage", "session_id"
        ]) }} as row_hash
    from events

    union all

    select
        customer_key,
        cast(null as date) as digest_date,
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
        digest_date,
        {{ digest_of_rows('row_hash') }} as input_digest
    from hashed_rows
    group by customer_key, digest_date

),

final as (

    select
        customer_digests.customer_key,
        customer_digests.digest_date,
        customer_digests.input_digest,
        reference_digest.reference_digest
    from customer_digests
    cross join reference_digest

)

select * from final
