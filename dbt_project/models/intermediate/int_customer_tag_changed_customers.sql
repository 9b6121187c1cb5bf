{#
    The people whose mart_customer_tags inputs changed since the last build recorded their digests
    (change_capture.customer_tag_day_digests), each with the first snapshot date a run has to
    recompute for them (changed_from): the earliest input date whose digest differs (new, changed
    or gone rows on it). Null, every snapshot, when an undated row differs: the dim_customer row
    (first seen, signup, consent), hence a new person or one gone (erased); and for everyone when
    the reference rows (products, stores) changed or no digest is recorded (a first build). An
    incremental run of mart_customer_tags recomputes these people's snapshots from changed_from on
    (and the snapshots the run revised, for everyone); what is dated before changed_from is as the
    last build saw it.

    A table, computed once per build before its readers, which all see the digests recorded by the
    previous build.
#}
{{ config(materialized='table') }}
{%- set recorded_relation = recorded_digests('customer_tag_day_digests') %}
with

current_digests as (

    select * from {{ ref('int_customer_tag_day_digests') }}

),

{% if recorded_relation is not none %}
recorded_digests as (

    select * from {{ recorded_relation }}

),

-- every row of either build when the reference digest changed (one value per build)
reference_changed as (

    select count(*) > 0 as changed
    from (select distinct reference_digest from current_digests) as current_reference
    full outer join (select distinct reference_digest from recorded_digests) as recorded_reference
        on current_reference.reference_digest = recorded_reference.reference_digest
    where current_reference.reference_digest is null or recorded_reference.reference_digest is null

),

changed as (

    select
        coalesce(current_digests.customer_key, recorded_digests.customer_key) as customer_key,
        coalesce(current_digests.digest_date, recorded_digests.digest_date) as digest_date
    from current_digests
    full outer join recorded_digests
        on current_digests.customer_key = recorded_digests.customer_key
        and current_digests.digest_date is not distinct from recorded_digests.digest_date
    cross join reference_changed
    where reference_changed.changed
        or current_digests.customer_key is null
        or recorded_digests.customer_key is null
        or current_digests.input_digest != recorded_digests.input_digest

),
{% else %}
changed as (

    select customer_key, cast(null as date) as digest_date
    from current_digests

),
{% endif %}

people as (

    select
        customer_key,
        -- the earliest changed date, none (every snapshot) when an undated row changed
        case when count(*) = count(digest_date) then min(digest_date) end as changed_from
    from changed
    group by customer_key

)

select * from people
