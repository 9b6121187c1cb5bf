{#
    The run's parameters, the only way models read them (publish passes them with --vars for now;
    the bodies may change, the calls must not).

    run_landing_date(): the landing date L the run is for (YYYY-MM-DD), or none for a bare
    `dbt build`. Dated marts read only what was delivered on or before L, so rerunning L at any
    later time reproduces what L produced.

    restatement_days(): the lateness window N. A run for L also writes a new revision of the
    snapshots of the N business dates before L, with what it learnt by L.
#}
{% macro run_landing_date() -%}
    {{ return(var('landing_date', none)) }}
{%- endmacro %}


{% macro restatement_days() -%}
    {%- set days = var('restatement_days', 3) | int -%}
    {%- if days < 0 -%}
        {{ exceptions.raise_compiler_error("restatement_days must be 0 or more, got " ~ days) }}
    {%- endif -%}
    {{ return(days) }}
{%- endmacro %}
