{#
    The people whose mart_customer_tags inputs changed since the last build recorded their digests
    (change_capture.customer_tag_input_digests): new people, people whose digest differs, people
    gone (erased), and everyone when the reference rows (products, stores) changed. An incremental
    run of mart_customer_tags recomputes every snapshot of these people (and the snapshots the run
    revised, for everyone). Every person counts as changed when no digest is recorded (a first
    build).

    A table, computed once per build before its readers, which all see the digests recorded by the
    previous build.
#}
{{ config(materialized='table') }}
{%- set recorded_relation = recorded_digests('customer_tag_input_digests') %}
with

current_digests as (

    select * from {{ ref('int_customer_tag_input_digests') }}

),

{% if recorded_relation is not none %}
recorded_digests as (

    select * from {{ recorded_relation }}

),

changed as (

    select coalesce(current_digests.customer_key, recorded_digests.customer_key) as customer_key
    from current_digests
    full outer join recorded_digests
        on current_digests.customer_key = recorded_digests.customer_key
    where current_digests.customer_key is null
        or recorded_digests.customer_key is null
        or current_digests.input_digest != recorded_digests.input_digest
        or current_digests.reference_digest != recorded_digests.reference_digest

),
{% else %}
changed as (

    select customer_key
    from current_digests

),
{% endif %}

people as (

    select distinct customer_key
    from changed

)

select * from people
