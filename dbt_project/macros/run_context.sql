{#
    Run parameters: what one run of the pipeline tells the models (the RFM snapshot date...).

    They are not dbt `--vars`: dbt hashes the CLI vars and re-parses the whole project whenever they
    change, so a parameter that changes every run would cost a full parse every run. The pipeline
    sets them as environment variables `OMNILAKE_RUN_<NAME>` (omnilake.publish.run_parameter_env),
    and this macro reads them only while dbt executes, never while it parses: dbt records the
    environment variables a file reads at parse time and re-parses the file when one changes.

    A `--vars` value of the same name wins, so a bare `dbt build --vars '{snapshot_date: ...}'`
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
