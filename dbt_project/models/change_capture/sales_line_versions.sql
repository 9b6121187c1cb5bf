{#
    Every sales line version (int_sales_line_versions) as of the last build, kept unit by unit:
    the next build takes the versions of the units whose silver rows did not change from here and
    computes only the changed units' from silver (int_sales_changed_units), so it does not redo the
    status-history windows of all of history every day. A unit's versions follow from that unit's
    silver rows alone (its order, lines and status history; its till lines), which its digest
    covers, so reused versions are those a whole recompute gives. Written with sales_source_digests
    (the same changed units, the same build), in schema change_capture of the warehouse.
#}
{{ config(
    schema='change_capture',
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_changed_units(ref('int_sales_changed_units'), 'order_id') }}",
) }}
with

versions as (

    select * from {{ ref('int_sales_line_versions') }}
    {% if revised_only() %}
    where order_id in (select changed.order_id from {{ ref('int_sales_changed_units') }} as changed)
    {% endif %}

)

select * from versions
