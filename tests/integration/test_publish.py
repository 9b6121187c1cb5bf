"""Publishing gold: the atomic warehouse swap under a reader, the gold Delta copies, failed builds.

Most cases stand in a hand-made staging warehouse for a dbt build (tables typed by the gold
contracts), so they run in a second; one case runs a real dbt build that fails.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from omnilake.contracts import contract
from omnilake.errors import SchemaMismatchError
from omnilake.fingerprint import lake_fingerprints, table_fingerprint
from omnilake.lake import Lake
from omnilake.pipeline import RunContext
from omnilake.publish import (
    MARTS,
    GoldBuildError,
    arrow_schema,
    build_gold,
    publish_gold,
    published_warehouse_path,
    read_release,
    silver_sources,
    staging_warehouse_path,
    write_gold_delta,
)
from omnilake.settings import LakeRoot

pytestmark = pytest.mark.integration


def _context(home: Path, run: str) -> RunContext:
    return RunContext(run_id=run, landing_date=date(2026, 3, 10), lake=Lake(LakeRoot(str(home))))


def _stage(context: RunContext, sales_lines: int) -> Path:
    """A staging warehouse as a build leaves it: every mart, typed by its contract; fct_sales with
    ``sales_lines`` rows, so that each version of the warehouse can be told apart."""
    path = staging_warehouse_path(context)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for mart in MARTS:
            columns = ", ".join(f'"{f.name}" {f.type}' for f in contract("gold", mart).fields)
            con.execute(f"create table main.{mart} ({columns})")
        con.execute(
            "insert into fct_sales select 'store|S1|R1|T' || i || '|1', 'store', 'sale', 'S1|T' || i, null, "
            "'store', 'SKU-A', 'S1', 1, 10.00, 0.00, 10.00, date '2026-03-10', timestamp '2026-03-10 12:00:00' "
            "from range(?) as t(i)",
            [sales_lines],
        )
    return path


def _count(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select count(*) from fct_sales").fetchone()[0]


READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select count(*) from fct_sales").fetchone()[0], flush=True)
    sys.stdin.readline()
    print(con.execute("select count(*) from fct_sales").fetchone()[0], flush=True)
    """
)


def test_publishing_swaps_the_warehouse_while_an_analyst_holds_the_old_one_open(tmp_path):
    first = _context(tmp_path, "first")
    _stage(first, sales_lines=1)
    publish_gold(first)
    published = published_warehouse_path(first.lake)

    analyst = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == "1"
        second = _context(tmp_path, "second")
        _stage(second, sales_lines=2)
        result = publish_gold(second)
        assert result["fct_sales"] == 2
        assert _count(published) == 2  # a new connection sees the new warehouse
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "1"  # the open one still reads its old file
    finally:
        analyst.kill()
        analyst.wait()
    assert not staging_warehouse_path(second).exists()
    assert sorted(p.name for p in tmp_path.glob("warehouse*")) == ["warehouse.duckdb"]


def test_publishing_writes_every_mart_as_a_delta_table(tmp_path):
    context = _context(tmp_path, "run")
    _stage(context, sales_lines=3)
    publish_gold(context)
    for mart in MARTS:
        table = DeltaTable(context.lake.table(f"gold.{mart}").path)
        assert [f.name for f in table.schema().fields] == contract("gold", mart).field_names
    assert DeltaTable(context.lake.table("gold.fct_sales").path).to_pyarrow_table().num_rows == 3


def test_a_mart_that_drifted_from_its_contract_is_not_published(tmp_path):
    context = _context(tmp_path, "run")
    staging = _stage(context, sales_lines=1)
    with duckdb.connect(str(staging)) as con:
        con.execute("alter table fct_sales add column coupon string")
    with pytest.raises(SchemaMismatchError, match="mart fct_sales has columns"):
        publish_gold(context)
    assert not published_warehouse_path(context.lake).exists()
    assert staging.exists()  # kept: fix the contract or the model, then build again


def test_publishing_without_a_build_is_refused(tmp_path):
    with pytest.raises(GoldBuildError, match="run build_gold first"):
        publish_gold(_context(tmp_path, "never_built"))


def _silver_with_a_duplicated_customer(home: Path) -> None:
    """Every silver table dbt reads, empty, except two customers rows for one customer_key."""
    for name in silver_sources():
        table_contract = contract("silver", name)
        rows = []
        if name == "customers":
            person = {"customer_key": "C1", "is_member": False, "email_opt_in": False, "sms_opt_in": False,
                      "profiling_consent": False, "identifiers": 1}  # fmt: skip
            rows = [{f: person.get(f) for f in table_contract.field_names}] * 2
        write_deltalake(
            str(home / "silver" / name), pa.Table.from_pylist(rows, schema=arrow_schema(table_contract))
        )


def test_a_failed_build_leaves_the_published_warehouse_and_gold_delta_untouched(tmp_path):
    published_run = _context(tmp_path, "published")
    _stage(published_run, sales_lines=2)
    publish_gold(published_run)
    published = published_warehouse_path(published_run.lake)
    fingerprint = hashlib.sha256(published.read_bytes()).hexdigest()
    gold_versions = {m: DeltaTable(published_run.lake.table(f"gold.{m}").path).version() for m in MARTS}

    _silver_with_a_duplicated_customer(tmp_path)
    failing = _context(tmp_path, "failing")
    # Silver written past its gate: the customer dimension built from it fails its unique key.
    with pytest.raises(
        GoldBuildError,
        match=r"dbt build failed \(1 node\(s\)\): test\.omnilake\.column_values_dim_customer_",
    ):
        build_gold(failing, docs=False)

    assert hashlib.sha256(published.read_bytes()).hexdigest() == fingerprint
    assert {m: DeltaTable(failing.lake.table(f"gold.{m}").path).version() for m in MARTS} == gold_versions
    assert not staging_warehouse_path(failing).exists()
    assert _count(published) == 2


def test_a_build_without_silver_stops_before_dbt_and_names_the_missing_tables(tmp_path):
    with pytest.raises(
        GoldBuildError,
        match=r"silver table\(s\) customer_key_merges, customers, event_attribution, events, .* missing",
    ):
        build_gold(_context(tmp_path, "no_silver"), docs=False)


def _stage_sales(context: RunContext, lines: dict[str, tuple[str, int]]) -> None:
    """A staging warehouse whose fct_sales holds ``lines``: basket -> (business date, quantity)."""
    staging = _stage(context, sales_lines=0)
    with duckdb.connect(str(staging)) as con:
        for basket, (business_date, quantity) in lines.items():
            con.execute(
                "insert into fct_sales values ('store|S1|R1|' || $basket || '|1', 'store', 'sale', "
                "'S1|' || $basket, null, 'store', 'SKU-A', 'S1', $quantity, 10.00, 0.00, 10.00 * $quantity, "
                "$day::date, $day::timestamp + interval 12 hour)",
                {"basket": basket, "quantity": quantity, "day": business_date},
            )


def _files_by_date(lake: Lake) -> dict[str, list[str]]:
    adds = pa.table(DeltaTable(lake.table("gold.fct_sales").path).get_add_actions(flatten=True))
    files: dict[str, list[str]] = {}
    for row in adds.select(["path", "partition.business_date"]).to_pylist():
        files.setdefault(str(row["partition.business_date"]), []).append(row["path"])
    return files


def test_the_sales_copy_replaces_only_the_business_dates_that_changed(tmp_path):
    """fct_sales is partitioned by business date: a publish rewrites the dates whose lines changed
    (a changed line, a removed basket, a new date) and leaves the others' files as they were; the
    copy equals one written whole from the same warehouse. The first publish, and one after the
    table was written outside a publish (an erasure), write it whole."""
    first = _context(tmp_path / "lake", "first")
    day_1 = {
        "T1": ("2026-03-08", 1),
        "T2": ("2026-03-08", 2),
        "T3": ("2026-03-09", 1),
        "T4": ("2026-03-10", 3),
    }
    _stage_sales(first, day_1)
    assert publish_gold(first)["delta_writes"]["fct_sales"] == "overwrite"
    before = _files_by_date(first.lake)
    assert sorted(before) == ["2026-03-08", "2026-03-09", "2026-03-10"]

    second = _context(tmp_path / "lake", "second")
    # T1 changed (03-08), T3 removed (03-09 left empty), T5 new (03-11), T2 and T4 as they were
    day_2 = {
        "T1": ("2026-03-08", 5),
        "T2": ("2026-03-08", 2),
        "T4": ("2026-03-10", 3),
        "T5": ("2026-03-11", 1),
    }
    _stage_sales(second, day_2)
    result = publish_gold(second)
    assert result["delta_writes"]["fct_sales"] == "partitions"
    after = _files_by_date(second.lake)
    assert sorted(after) == ["2026-03-08", "2026-03-10", "2026-03-11"]
    assert after["2026-03-10"] == before["2026-03-10"]  # not rewritten
    assert after["2026-03-08"] != before["2026-03-08"]
    copy = DeltaTable(second.lake.table("gold.fct_sales").path).to_pyarrow_table()
    assert sorted(zip(copy["order_id"].to_pylist(), copy["quantity"].to_pylist(), strict=True)) == [
        ("S1|T1", 5), ("S1|T2", 2), ("S1|T4", 3), ("S1|T5", 1)
    ]  # fmt: skip
    released = read_release(second.lake)["tables"]["fct_sales"]
    assert [(value, rows) for value, rows, _ in released["partitions"]] == [
        ("2026-03-08", 2), ("2026-03-10", 1), ("2026-03-11", 1)
    ]  # fmt: skip

    # the same warehouse written whole on another lake, and after an erasure wrote the copy
    published = published_warehouse_path(second.lake)
    whole = Lake(LakeRoot(str(tmp_path / "whole")))
    with duckdb.connect(str(published), read_only=True) as con:
        assert write_gold_delta(con, "fct_sales", whole, second.landing_date, None)["action"] == "overwrite"
        assert lake_fingerprints(second.lake, ("gold",))["gold.fct_sales"] == table_fingerprint(
            whole.table("gold.fct_sales")
        )
        DeltaTable(second.lake.table("gold.fct_sales").path).delete("order_id = 'S1|T5'")
        rewritten = write_gold_delta(con, "fct_sales", second.lake, second.landing_date, released)
    assert rewritten["action"] == "overwrite"
    assert DeltaTable(second.lake.table("gold.fct_sales").path).to_pyarrow_table().num_rows == 4
