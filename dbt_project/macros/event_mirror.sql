{#
    The event mirror (DuckDB only): silver's attributed events as one DuckDB table, which the
    pipeline brings up to date from the Delta logs before each build (omnilake.gold.event_mirror)
    and names in the run parameter `event_mirror` (its file). stg_silver__events reads it instead
    of joining silver.events with silver.event_attribution, which would read all of history.

    event_mirror(table): the mirror's `table` (attributed_events, or attribution: the current
    attribution), or none when the run names no mirror (a bare `dbt build`, Spark, a lake whose
    events the mirror cannot follow): the staging models then read the silver tables, and the
    on-run-start hook loads them (load_silver_sources; it skips them when the mirror is read).
    attach_event_mirror(): run by the on-run-start hook; attaches the file read-only.
#}
{% macro event_mirror(table='attributed_events') -%}
    {%- if execute and target.type == 'duckdb' and run_parameter('event_mirror', '') -%}
        {{ return('event_mirror.main.' ~ table) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{% macro attach_event_mirror() -%}
    {%- set path = run_parameter('event_mirror', '') if execute and target.type == 'duckdb' else '' -%}
    {%- if path -%}
        {% do run_query("attach if not exists '" ~ (path | replace("'", "''")) ~ "' as event_mirror (read_only)") %}
    {%- endif -%}
    select 1
{%- endmacro %}
