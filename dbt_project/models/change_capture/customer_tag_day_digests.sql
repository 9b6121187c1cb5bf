{#
    The digests of every person's mart_customer_tags inputs per input date
    (int_customer_tag_day_digests) as of the last build: what the next build compares with to find
    the people whose tags it recomputes and from which snapshot (int_customer_tag_changed_customers).
    Written after mart_customer_tags (the depends_on below), so the mart reads the digests of the
    previous build; an incremental run replaces the changed people's rows only. Bookkeeping of the
    build, in schema change_capture (see sales_source_digests). Its pre-hook drops the one digest
    per person that builds before dated digests recorded (customer_tag_input_digests): nothing
    reads it any more and an erasure would no longer clean it.
#}
-- depends_on: {{ ref('mart_customer_tags') }}
{{ config(
    schema='change_capture',
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "drop table if exists {{ this.schema }}.customer_tag_input_digests",
        "{{ replace_changed_units(ref('int_customer_tag_changed_customers'), 'customer_key') }}",
    ],
) }}
with

current_digests as (

    select * from {{ ref('int_customer_tag_day_digests') }}

),

changed_customers as (

    select * from {{ ref('int_customer_tag_changed_customers') }}

),

final as (

    select
        cast(current_digests.customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(current_digests.digest_date as date) as digest_date,
        cast(current_digests.input_digest as {{ dbt.type_string() }}) as input_digest,
        cast(current_digests.reference_digest as {{ dbt.type_string() }}) as reference_digest
    from current_digests
    {% if revised_only() %}
    where current_digests.customer_key in (select changed_customers.customer_key from changed_customers)
    {% endif %}

)

select * from final
