{#
    Tests of accumulating marts check what the run wrote, not all of history.

    An incremental mart that accumulates history (revisions known at each landing date, one
    observation per date, the latest revision of each snapshot) changes in a run only in the rows
    the run wrote: the rows known at the run's landing date L, or the snapshots revised at L. Its
    model declares them in `meta` (dbt_project.yml):

    - `run_rows: <column>`: the rows with <column> = L;
    - with `run_rows_from: <revisions model>`: the rows whose <column> (a snapshot date) is one of
      the snapshots that model holds a revision of known at L;
    - with `run_rows_in: <model>`: the rows whose <column> (a unit key, e.g. an order id) is one of
      the units that model lists as rebuilt by this run (a mart rebuilt unit by unit from change
      capture, e.g. fct_sales from int_sales_changed_units).

    Every data test of such a model (generic tests go through get_where_subquery, dbt's hook for
    the `where` config) then checks those rows only, on a run with a landing date that is neither a
    full refresh, a recompute nor --empty. The rows it leaves out are the ones earlier runs wrote and tested and
    this run did not touch: row-level tests and keys that include the partition column stay sound.
    A full refresh, a recompute (`omnilake rebuild`) and a bare `dbt build` test the whole table.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set run_rows = run_rows_condition(relation) -%}
    {%- if run_rows -%}
        {%- do conditions.append('(' ~ run_rows ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#
    run_rows_condition(relation): the SQL condition selecting the rows this run wrote in the model
    behind `relation` (see above), or '' to test the whole relation.
#}
{% macro run_rows_condition(relation) -%}
    {%- set landing_date = run_landing_date() -%}
    {%- set recompute = run_parameter('recompute', '') | string | lower in ['1', 'true'] -%}
    {%- if not execute or not landing_date or flags.FULL_REFRESH or flags.EMPTY or recompute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set found = namespace(meta=none) -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model'
        and (node.alias or node.name) | lower == (relation.identifier or '') | lower
        and (node.schema or '') | lower == (relation.schema or '') | lower -%}
        {%- set found.meta = node.config.meta -%}
    {%- endfor -%}
    {%- set column = (found.meta or {}).get('run_rows') -%}
    {%- if not column -%}
        {{ return('') }}
    {%- endif -%}
    {%- set known_at = "cast('" ~ landing_date ~ "' as date)" -%}
    {%- set units_model = found.meta.get('run_rows_in') -%}
    {%- if units_model -%}
        {%- set units = namespace(relation=none) -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == units_model -%}
            {%- set units.relation = api.Relation.create(
                database=node.database, schema=node.schema, identifier=(node.alias or node.name)) -%}
        {%- endfor -%}
        {%- if units.relation is none -%}
            {{ exceptions.raise_compiler_error("run_rows_in names no model: " ~ units_model) }}
        {%- endif -%}
        {{ return(column ~ ' in (select rebuilt.' ~ column ~ ' from ' ~ units.relation ~ ' as rebuilt)') }}
    {%- endif -%}
    {%- set source_model = found.meta.get('run_rows_from') -%}
    {%- if not source_model -%}
        {{ return(column ~ ' = ' ~ known_at) }}
    {%- endif -%}
    {%- set source = namespace(relation=none) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == source_model -%}
        {%- set source.relation = api.Relation.create(
            database=node.database, schema=node.schema, identifier=(node.alias or node.name)) -%}
    {%- endfor -%}
    {%- if source.relation is none -%}
        {{ exceptions.raise_compiler_error("run_rows_from names no model: " ~ source_model) }}
    {%- endif -%}
    {{ return(column ~ ' in (select revised.' ~ column ~ ' from ' ~ source.relation
        ~ ' as revised where revised.known_at = ' ~ known_at ~ ')') }}
{%- endmacro %}
