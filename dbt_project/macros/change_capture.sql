{#
    Change capture from silver: which units of a mart (an online order, a store basket) a run has
    to rebuild, found by comparing a digest of each unit's silver rows with the digest recorded by
    the run that last built it (models/change_capture). Silver changes rows in place (an order's
    merge rewrites its lines, an identity merge re-keys a buyer), so a delivery date alone cannot
    say what changed; a digest over the columns a unit's rows are computed from can.

    row_digest(expressions): a 64-bit hash of one row's values (nulls included), the same for the
    same values in every run on one engine.
    digest_of_rows(row_hash): an order-independent digest of a group's rows: how many, and the
    exclusive-or of their hashes (the rows of a unit are distinct by their keys); never null: an
    empty group's is '0-0', so a digest of no rows (a lake without products yet) still compares
    unequal to the digest of the rows that come later.
#}
{% macro row_digest(expressions) -%}
    {{ return(adapter.dispatch('row_digest', 'omnilake')(expressions)) }}
{%- endmacro %}

{% macro default__row_digest(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{% macro spark__row_digest(expressions) -%}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}


{% macro digest_of_rows(row_hash) -%}
    {{ dbt.concat([
        "cast(count(*) as " ~ dbt.type_string() ~ ")", "'-'",
        "cast(coalesce(bit_xor(" ~ row_hash ~ "), 0) as " ~ dbt.type_string() ~ ")"
    ]) }}
{%- endmacro %}


{#
    recorded_digests(model): the relation of a change-capture model (the digests recorded by the
    last build), read without ref(): it is written after its readers, from what they read. None
    while it does not exist (a first build, a full refresh into a fresh warehouse).
#}
{% macro recorded_digests(model) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = namespace(relation=none) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model -%}
        {%- set found.relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=(node.alias or node.name)) -%}
    {%- endfor -%}
    {{ return(found.relation) }}
{%- endmacro %}


{#
    replace_changed_units(changed_units, column): the pre-hook of a mart rebuilt unit by unit: in
    an incremental run, delete the rows of the units the run rebuilds (those whose `column` is in
    the relation `changed_units`; every row on a recompute), so the rows the model selects for them
    replace them whole, including units that now have no row at all (a cancelled order).
#}
{% macro replace_changed_units(changed_units, column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if revised_only() %}
        where {{ column }} in (select changed.{{ column }} from {{ changed_units }} as changed)
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#
    replace_changed_units_and_snapshots(changed_units, column, from_column, revisions, snapshot_column, capture):
    the pre-hook of a dated mart rebuilt by unit and by snapshot (mart_customer_tags): in an
    incremental run, delete the rows of the units the run rebuilds (`column` in `changed_units`) at
    the snapshots from the unit's `from_column` on (every snapshot where it is null), and the rows
    of every unit at the snapshots the run revised (those with a revision in `revisions` known at
    the run's landing date). Every row on a recompute, and while the change-capture model `capture`
    has recorded nothing (a first build on a warehouse kept from before it): the units gone since
    the mart was last built are then in no digest at all.

    changes_recorded(capture): whether such a run may rebuild by unit, the condition above.
#}
{% macro changes_recorded(capture) -%}
    {{ return(revised_only() and recorded_digests(capture) is not none) }}
{%- endmacro %}

{% macro replace_changed_units_and_snapshots(changed_units, column, from_column, revisions, snapshot_column, capture) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if changes_recorded(capture) %}
        where exists (
                select 1
                from {{ changed_units }} as changed
                where changed.{{ column }} = {{ this }}.{{ column }}
                    and (changed.{{ from_column }} is null
                        or {{ this }}.{{ snapshot_column }} >= changed.{{ from_column }})
            )
            or {{ snapshot_column }} in (
                select revised.{{ snapshot_column }}
                from {{ revisions }} as revised
                where revised.known_at = {{ run_known_at(revisions, 'known_at') }}
            )
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
