{#
    A folder's `+schema` is used as it is (staging, intermediate) instead of dbt's default
    `<target schema>_<custom schema>`; marts land in the target schema (DuckDB: main).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
