{#
    Staging and intermediate relations exist only for the build that computes them. On DuckDB a
    model configured with `+database: transient` (dbt_project.yml) is built in `transient`, the
    in-memory database the profile attaches (profiles.yml): evaluated once per build as a table,
    read and tested there, and gone when the dbt process ends, so none of its rows (silver-derived,
    possibly since erased) and none of its blocks reach the published warehouse file.

    Only a model rebuilt whole by every run belongs there: an incremental model must find its
    previous rows, so it stays in the target database whatever its folder says. Other adapters
    (the spark target) keep their own rule.
#}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
    {%- set transient = (custom_database_name or '') | trim == 'transient' -%}
    {%- if transient and target.type == 'duckdb' and node is not none
        and node.config.materialized in ('table', 'view') -%}
        transient
    {%- else -%}
        {{ return(adapter.dispatch('generate_database_name', 'dbt')(
            none if transient else custom_database_name, node)) }}
    {%- endif -%}
{%- endmacro %}
