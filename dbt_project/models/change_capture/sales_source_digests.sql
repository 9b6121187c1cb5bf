{#
    The digest of every sales unit's silver rows (int_sales_source_digests) as of the last build:
    what the next build compares silver with to find the units to rebuild (int_sales_changed_units).
    Written after the marts rebuilt from the comparison (the depends_on below), so they all read
    the digests of the previous build; an incremental run replaces the changed units' rows only.
    Bookkeeping of the build, not a mart: it lives in schema change_capture, beside the marts in
    the warehouse file (so it is published, and discarded with a failed build, together with them).
#}
-- depends_on: {{ ref('fct_sales') }}
-- depends_on: {{ ref('fct_sales_revisions') }}
{{ config(
    schema='change_capture',
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_changed_units(ref('int_sales_changed_units'), 'order_id') }}",
) }}
with

current_digests as (

    select * from {{ ref('int_sales_source_digests') }}

),

changed_units as (

    select * from {{ ref('int_sales_changed_units') }}

),

final as (

    select
        cast(current_digests.channel as {{ dbt.type_string() }}) as channel,
        cast(current_digests.order_id as {{ dbt.type_string() }}) as order_id,
        cast(current_digests.source_digest as {{ dbt.type_string() }}) as source_digest
    from current_digests
    {% if revised_only() %}
    where current_digests.order_id in (select changed_units.order_id from changed_units)
    {% endif %}

)

select * from final
