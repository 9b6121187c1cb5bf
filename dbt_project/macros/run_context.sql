{#
    Run parameters: what one run of the pipeline tells the models (the landing date, the lateness window).

    They are not dbt `--vars`: dbt hashes the CLI vars and re-parses the whole project whenever they
    change, so a parameter that changes every run would cost a full parse every run. The pipeline
    sets them as environment variables `OMNILAKE_RUN_<NAME>` (omnilake.publish.run_parameter_env),
    and this macro reads them only while dbt executes, never while it parses: dbt records the
    environment variables a file reads at parse time and re-parses the file when one changes.

    A `--vars` value of the same name wins, so a bare `dbt build --vars '{landing_date: ...}'`
    still works (at the price of a parse). A new run parameter is a macro here returning
    `run_parameter('<name>', <default>)`, and a key in the `parameters` the pipeline passes.
#}
{% macro run_parameter(name, default=none) -%}
    {%- set from_vars = var(name, none) -%}
    {%- if from_vars is not none -%}
        {{ return(from_vars) }}
    {%- elif execute -%}
        {{ return(env_var('OMNILAKE_RUN_' ~ (name | upper), '') or default) }}
    {%- else -%}
        {{ return(default) }}
    {%- endif -%}
{%- endmacro %}


{#
    run_landing_date(): the landing date L the run is for (YYYY-MM-DD), or none for a bare
    `dbt build` (and while dbt parses). Dated marts read only what was delivered on or before L,
    so rerunning L at any later time reproduces what L produced.

    restatement_days(): the lateness window N. A run for L also writes a new revision of the
    snapshots of the N business dates before L, with what it learnt by L.
#}
{% macro run_landing_date() -%}
    {{ return(run_parameter('landing_date')) }}
{%- endmacro %}


{% macro restatement_days() -%}
    {%- set days = run_parameter('restatement_days', 3) | int -%}
    {%- if days < 0 -%}
        {{ exceptions.raise_compiler_error("restatement_days must be 0 or more, got " ~ days) }}
    {%- endif -%}
    {{ return(days) }}
{%- endmacro %}
