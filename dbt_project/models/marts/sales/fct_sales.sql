{#
    Every counted sales line as known now (int_sales_lines; see its YAML). Rebuilt unit by unit
    like fct_sales_revisions: an incremental run replaces the lines of the online orders and store
    baskets whose silver rows changed since the last build (int_sales_changed_units), so it equals
    a whole recompute; on Spark it is recomputed whole. Its tests check the rows the run wrote.
#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ replace_changed_units(ref('int_sales_changed_units'), 'order_id') }}",
    meta={'run_rows': 'order_id', 'run_rows_in': 'int_sales_changed_units'},
) }}
with

sales_lines as (

    select * from {{ ref('int_sales_lines') }}
    {% if revised_only() %}
    where order_id in (select changed.order_id from {{ ref('int_sales_changed_units') }} as changed)
    {% endif %}

),

final as (

    select
        cast(sales_line_id as {{ dbt.type_string() }}) as sales_line_id,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(line_type as {{ dbt.type_string() }}) as line_type,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(storefront as {{ dbt.type_string() }}) as storefront,
        cast(sku as {{ dbt.type_string() }}) as sku,
        cast(location_id as {{ dbt.type_string() }}) as location_id,
        cast(quantity as int) as quantity,
        cast(unit_price as decimal(12, 2)) as unit_price,
        cast(discount_amount as decimal(12, 2)) as discount_amount,
        cast(net_amount as decimal(12, 2)) as net_amount,
        cast(business_date as date) as business_date,
        cast(transacted_at as timestamp) as transacted_at
    from sales_lines

)

select * from final
