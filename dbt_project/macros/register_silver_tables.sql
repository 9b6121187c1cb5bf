{#
    Spark only: register every silver source as a table over its Delta location, so that
    source('silver', 'orders') resolves to silver.orders on the cluster (DuckDB reads the same
    Delta paths through the delta plugin instead).

        dbt run-operation register_silver_tables --target spark
#}
{% macro register_silver_tables() %}
    {% if target.type != 'spark' %}
        {{ exceptions.raise_compiler_error("register_silver_tables is for the spark target; DuckDB reads silver through the delta plugin") }}
    {% endif %}
    {% do run_query('create schema if not exists silver') %}
    {% for source in graph.sources.values() if source.source_name == 'silver' %}
        {% set path = source.meta.get('delta_table_path') or source.config.meta.get('delta_table_path') %}
        {#- relative to the lake root, read here at execution (a parse-time env_var would tie the parse to the lake) -#}
        {% set location = path if ('://' in path or path.startswith('/')) else env_var('OMNILAKE_HOME', '.omnilake') ~ '/' ~ path %}
        {% do run_query("create table if not exists silver." ~ source.name ~ " using delta location '" ~ location ~ "'") %}
        {{ log("registered silver." ~ source.name ~ " at " ~ location, info=true) }}
    {% endfor %}
{% endmacro %}
