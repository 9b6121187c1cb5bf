{#
    The sales units (fct_sales order_id: an online order or a store basket) whose silver rows
    changed since the last build recorded their digests (sales_source_digests): new units, units
    whose digest differs, and units gone from silver (erased). An incremental run of fct_sales,
    fct_sales_revisions and sales_source_digests rebuilds exactly these, by order_id. Every unit
    without a recorded digest (a first build) counts as changed.

    A table, computed once per build before its readers: they all see the digests recorded by the
    previous build, and a unit list is not recomputed from all of silver for every data test that
    checks the rows of those units (meta run_rows_in). Read only by models sales_source_digests
    depends on.
#}
{{ config(materialized='table') }}
{%- set recorded_relation = recorded_digests('sales_source_digests') %}
with

current_digests as (

    select * from {{ ref('int_sales_source_digests') }}

),

{% if recorded_relation is not none %}
recorded_digests as (

    select * from {{ recorded_relation }}

),

changed as (

    select coalesce(current_digests.order_id, recorded_digests.order_id) as order_id
    from current_digests
    full outer join recorded_digests
        on current_digests.channel = recorded_digests.channel
        and current_digests.order_id = recorded_digests.order_id
    where current_digests.order_id is null
        or recorded_digests.order_id is null
        or current_digests.source_digest != recorded_digests.source_digest

),
{% else %}
changed as (

    select order_id
    from current_digests

),
{% endif %}

units as (

    select distinct order_id
    from changed

)

select * from units
