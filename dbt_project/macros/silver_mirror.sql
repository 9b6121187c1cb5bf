{#
    The silver mirror (DuckDB only): silver's plain tables as DuckDB tables, which the pipeline
    brings up to date from the Delta logs before each build (omnilake.gold.silver_mirror) and names
    in the run parameters `silver_mirror` (its file) and `silver_mirrored` (the tables it holds,
    comma-separated). A staging model reads its silver table through silver_source(name): the
    mirror's table when the run names it, else the source, loaded from Delta by the on-run-start
    hook (load_silver_sources skips the mirrored ones). Loading a source from Delta reads all of
    history each build; the mirror gained only the day's files.

    While dbt parses (execute is false) silver_source always names the source, so every staging
    model depends on its silver table whatever a run then reads.
#}
{% macro silver_mirrored() -%}
    {%- if execute and target.type == 'duckdb' and run_parameter('silver_mirror', '') -%}
        {{ return((run_parameter('silver_mirrored', '') or '').split(',')) }}
    {%- endif -%}
    {{ return([]) }}
{%- endmacro %}


{% macro silver_source(name) -%}
    {%- if name in silver_mirrored() -%}
        {{ return('silver_mirror.main."' ~ name ~ '"') }}
    {%- endif -%}
    {{ return(source('silver', name)) }}
{%- endmacro %}


{% macro attach_silver_mirror() -%}
    {%- set path = run_parameter('silver_mirror', '') if execute and target.type == 'duckdb' else '' -%}
    {%- if path -%}
        {% do run_query("attach if not exists '" ~ (path | replace("'", "''")) ~ "' as silver_mirror (read_only)") %}
    {%- endif -%}
    select 1
{%- endmacro %}
