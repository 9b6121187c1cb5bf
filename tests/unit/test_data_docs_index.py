"""Data Docs cost what a build renders: the index comes from its recorded links, not from reading
every stored result again, and a suite's page is rendered only when its declaration changed."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from omnilake.lake import Lake
from omnilake.settings import LakeRoot
from quality import expectations as E
from quality.checks import Suite, fail
from quality.data_docs import build_data_docs, index_links_path, remote_assets
from quality.duckdb_backend import batch_identifier, validate_query
from quality.ge_format import Run, validation_key

pytest.importorskip("great_expectations")


def _suite(name: str, max_value: int = 10) -> Suite:
    return Suite(
        name=name,
        checks=(
            fail(
                "amount_range",
                E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=max_value),
            ),
        ),
        data=lambda ctx: None,
        engine="duckdb",
        row_id=("id",),
    )


def _validate(lake: Lake, suite: Suite, run_name: str, hour: int, amounts: list[int]) -> tuple[str, ...]:
    connection = duckdb.connect()
    rows = ", ".join(f"({i}, {a})" for i, a in enumerate(amounts))
    run = Run(run_name, datetime(2026, 1, 8, hour, tzinfo=UTC))
    validate_query(lake, suite, f"select * from (values {rows}) as t(id, amount)", connection, run, 5)
    return validation_key(suite.name, run, batch_identifier(suite, "duckdb"))


def _index_rows(site: Path) -> dict[str, str]:
    """Linked validation page -> its success text, as the index shows them."""
    html = (site / "index.html").read_text(encoding="utf-8")
    rows = re.findall(
        r"'_table_row_link_path': '(validations/[^']+)', '_validation_success_text': '(\w+)'", html
    )
    return dict(rows)


def test_the_index_keeps_its_links_without_reading_old_results(tmp_path, monkeypatch):
    from great_expectations.data_context.store.validation_results_store import ValidationResultsStore

    lake = Lake(LakeRoot(str(tmp_path)))
    site = tmp_path / "_ops" / "data_docs"
    orders = _suite("gold.orders")
    first = _validate(lake, orders, "run-1", 1, [1, 2, 3])
    build_data_docs(lake, [orders.name], [first])  # no record yet: listed GE's way, then recorded
    assert [link["key"] for link in json.loads(index_links_path(lake).read_text())["validations"]] == [
        list(first)
    ]
    suite_page = site / "expectations" / "gold" / "orders.html"
    rendered_at = suite_page.stat().st_mtime_ns

    read = []
    original_get = ValidationResultsStore.get
    monkeypatch.setattr(
        ValidationResultsStore, "get", lambda self, key: read.append(key) or original_get(self, key)
    )
    second = _validate(lake, orders, "run-2", 2, [4, 50])  # 50 breaks the range: a failed validation
    build_data_docs(lake, [orders.name], [second])
    # Only the new result is read (to render its page); the index still links both, with their verdicts.
    assert [k.to_tuple() for k in read] == [second]
    rows = _index_rows(site)
    page = "validations/{}/{}/{}/{}.html"
    assert rows == {
        page.format("gold/orders", *first[2:]): "Success",
        page.format("gold/orders", *second[2:]): "Failed",
    }
    # The suite did not change: its page was not rendered again.
    assert suite_page.stat().st_mtime_ns == rendered_at

    # A link whose page is gone is dropped; a changed declaration renders the suite's page again.
    os.utime(suite_page, ns=(rendered_at - 10**9, rendered_at - 10**9))
    site.joinpath("validations", *first[:-1], f"{first[-1]}.html").unlink()
    stricter = _suite("gold.orders", max_value=5)
    third = _validate(lake, stricter, "run-3", 3, [1])
    build_data_docs(lake, [stricter.name], [third])
    assert set(_index_rows(site)) == {page.format("gold/orders", *k[2:]) for k in (second, third)}
    assert suite_page.stat().st_mtime_ns > rendered_at
    declared = re.sub(r"<[^>]+>|\s+", " ", suite_page.read_text(encoding="utf-8"))
    assert re.search(r"less than or equal to\s+5\.0", declared)
    for html in site.rglob("*.html"):
        if "static" not in html.parts:
            assert remote_assets(html.read_text(encoding="utf-8")) == [], html
