{#
    A model's column-level checks in one test: one scan of the model and one dbt node instead of
    one of each per column and check (dbt's per-node overhead, not the query, is what most column
    tests cost). Each argument lists columns:

    - not_null: [columns]: the column is never null;
    - unique: [columns]: no non-null value repeats (nulls pass, as dbt's `unique`);
    - non_negative: [columns]: the column is never below 0 (nulls pass);
    - accepted_values: {column: [values]}: the column is one of the values (nulls pass, as dbt's
      `accepted_values`); strings are quoted, numbers and booleans are not.

    Fails with one row per broken check, naming the check and the column, with the number of rows
    breaking it (`failing_rows`); dbt's failure count is the sum of those. On an incremental model
    that declares `meta.run_rows`, `model` is the rows the run wrote (macros/run_rows.sql).
#}
{% test column_values(model, not_null=[], unique=[], non_negative=[], accepted_values={}) %}

{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}

{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append(('not_null', column,
        'sum(case when ' ~ column ~ ' is null then 1 else 0 end)')) -%}
{%- endfor -%}
{%- for column in unique -%}
    {%- do checks.append(('unique', column,
        'count(' ~ column ~ ') - count(distinct ' ~ column ~ ')')) -%}
{%- endfor -%}
{%- for column in non_negative -%}
    {%- do checks.append(('non_negative', column,
        'sum(case when ' ~ column ~ ' < 0 then 1 else 0 end)')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append("'" ~ (value | replace("'", "''")) ~ "'" if value is string else value | string) -%}
    {%- endfor -%}
    {%- do checks.append(('accepted_values', column,
        'sum(case when ' ~ column ~ ' not in (' ~ literals | join(', ') ~ ') then 1 else 0 end)')) -%}
{%- endfor -%}
{%- if not checks -%}
    {{ exceptions.raise_compiler_error("column_values: no columns to check") }}
{%- endif %}

with

failing_counts as (

    select
        {%- for check in checks %}
        {{ check[2] }} as failing_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

),

checks as (

    {%- for check in checks %}
    select '{{ check[0] }}' as failed_check, '{{ check[1] }}' as column_name, failing_{{ loop.index }} as failing_rows
    from failing_counts
    {{ 'union all' if not loop.last }}
    {%- endfor %}

)

select failed_check, column_name, failing_rows
from checks
where failing_rows > 0

{% endtest %}
