{#
    Every version of every sales line (int_sales_line_versions): the line as it was known between
    two landing dates, known_from (inclusive) and known_to (exclusive; null while current). A sales
    fact is not a snapshot: silver records when each change arrived (the order status history's
    received_on, the till file's landing date), so the versions follow from silver alone and need
    no accumulation run by run. "As known at L" (sales_as_known_at(L)) is
    known_from <= L < coalesce(known_to, infinity), what the run for L read; fct_sales is the
    versions with a null known_to. Customer keys go through the identity merges known now, as in
    fct_sales.

    Rebuilt unit by unit (an online order, a store basket): an incremental run replaces the rows of
    the units whose silver rows changed since the last build (int_sales_changed_units: a status
    change, rewritten lines, a new till file, an identity merge re-keying the buyer, an erasure),
    so it equals a whole recompute; on Spark it is recomputed whole. Its tests check the rows the
    run wrote (meta run_rows, macros/run_rows.sql).
#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_changed_units(ref('int_sales_changed_units'), 'order_id') }}",
    meta={'run_rows': 'order_id', 'run_rows_in': 'int_sales_changed_units'},
) }}
with

sales_line_versions as (

    select * from {{ ref('int_sales_line_versions') }}
    {% if revised_only() %}
    where order_id in (select changed.order_id from {{ ref('int_sales_changed_units') }} as changed)
    {% endif %}

),

customer_key_map as (

    select * from {{ ref('int_customer_key_map') }}

),

final as (

    select
        cast(sales_line_versions.sales_line_id as {{ dbt.type_string() }}) as sales_line_id,
        cast(sales_line_versions.known_from as date) as known_from,
        cast(sales_line_versions.known_to as date) as known_to,
        cast(sales_line_versions.channel as {{ dbt.type_string() }}) as channel,
        cast(sales_line_versions.line_type as {{ dbt.type_string() }}) as line_type,
        cast(sales_line_versions.order_id as {{ dbt.type_string() }}) as order_id,
        cast(
            coalesce(customer_key_map.surviving_key, sales_line_versions.customer_key) as {{ dbt.type_string() }}
        ) as customer_key,
        cast(sales_line_versions.storefront as {{ dbt.type_string() }}) as storefront,
        cast(sales_line_versions.sku as {{ dbt.type_string() }}) as sku,
        cast(sales_line_versions.location_id as {{ dbt.type_string() }}) as location_id,
        cast(sales_line_versions.quantity as int) as quantity,
        cast(sales_line_versions.unit_price as decimal(12, 2)) as unit_price,
        cast(sales_line_versions.discount_amount as decimal(12, 2)) as discount_amount,
        cast(sales_line_versions.net_amount as decimal(12, 2)) as net_amount,
        cast(sales_line_versions.business_date as date) as business_date,
        cast(sales_line_versions.transacted_at as timestamp) as transacted_at
    from sales_line_versions
    left join customer_key_map
        on sales_line_versions.customer_key = customer_key_map.merged_key

)

select * from final
