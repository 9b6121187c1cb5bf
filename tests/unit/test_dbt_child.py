"""What the dbt child spares: source datasets registered only on the cursors of nodes that read them,
and macro sources compiled once; decided from the manifest and Jinja alone, so tested without a build."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from omnilake.dbt_child import nodes_reading_no_source


def _node(materialized: str, *inputs: str) -> SimpleNamespace:
    return SimpleNamespace(
        config=SimpleNamespace(materialized=materialized), depends_on=SimpleNamespace(nodes=list(inputs))
    )


def test_only_nodes_reading_a_source_through_views_or_ephemerals_get_its_datasets():
    nodes = {
        "model.p.stg_orders": _node("table", "source.p.silver.orders"),
        "model.p.stg_events": _node("view", "source.p.silver.events"),
        "model.p.int_sessions": _node("ephemeral", "model.p.stg_events"),
        "model.p.fct_sales": _node("table", "model.p.stg_orders"),
        "model.p.mart_funnel": _node("table", "model.p.int_sessions"),
        "model.p.mart_rollup": _node("view", "model.p.fct_sales"),
        "test.p.unique_fct_sales_id": _node("test", "model.p.fct_sales"),
        "test.p.not_null_stg_events_id": _node("test", "model.p.stg_events"),
        "test.p.source_orders_id": _node("test", "source.p.silver.orders"),
        "test.p.metric_check": _node("test", "metric.p.revenue"),
    }
    assert nodes_reading_no_source(nodes) == {
        "model.p.fct_sales",
        "model.p.mart_rollup",
        "test.p.unique_fct_sales_id",
    }


def test_macro_code_is_compiled_once_and_renders_the_same():
    script = (
        "from omnilake import dbt_child\n"
        "from dbt_common.clients.jinja import MacroFuzzEnvironment, get_template\n"
        "source = '{% for i in range(2) %}{{ name | upper }}{% endfor %}'\n"
        "plain = get_template(source, {}).render({'name': 'a'})\n"
        "dbt_child._spare_dbt_overheads()\n"
        "calls = []\n"
        "real = MacroFuzzEnvironment._compile\n"
        "MacroFuzzEnvironment._compile = lambda self, s, f: calls.append(1) or real(self, s, f)\n"
        "kept = [get_template(source, {}).render({'name': n}) for n in ('a', 'b')]\n"
        "native = get_template(source, {}, native=True).render({'name': 'a'})\n"
        "assert (plain, kept, native, len(calls)) == ('AA', ['AA', 'BB'], 'AA', 2), (plain, kept, native, calls)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
