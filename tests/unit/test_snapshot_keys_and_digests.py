"""The staging side of the snapshot diff: record keys and content digests, without Spark."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from jobs.bronze.snapshot_diff import KEY_SEPARATOR, _records, is_snapshot_feed, prepare, record_key_fields
from omnilake.contracts import contract
from omnilake.feeds import load_feeds
from omnilake.lake import Lake
from omnilake.landing import LandingFile, stage_file
from omnilake.settings import LakeRoot, reset_settings

PRODUCTS = contract("landing", "products")
HEADER = "snapshot_date,sku,barcode,product_name,category,subcategory,brand,color,list_price,currency,launch_date,is_active"


def _staged(tmp_path: Path, name: str, text: str, day: date = date(2026, 3, 2)):
    path = tmp_path / "landing" / "products" / day.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    landing = LandingFile("products", day, path, f"landing/products/{day}/{name}", path.stat().st_size)
    staged = stage_file(landing, name.ljust(64, "0"), PRODUCTS, tmp_path / "staging")
    return staged, tmp_path / "staging" / f"{staged.file_hash}.parquet"


def test_the_key_leaves_out_the_snapshot_date_and_the_digest_ignores_it_and_the_column_order(tmp_path):
    assert record_key_fields(PRODUCTS) == ["sku"]
    row = "SKU-000001,4006381333931,Boot,shoes,,Acme,red,10.00,USD,2025-06-01,true"
    _, first = _staged(tmp_path, "a.csv", f"{HEADER}\n2026-03-02, {row}\n")
    # Another day, the columns in another order, the sku padded with a space as above.
    reordered = "sku,snapshot_date," + ",".join(HEADER.split(",")[2:])
    sku, rest = row.split(",", 1)
    _, second = _staged(tmp_path, "b.csv", f"{reordered}\n {sku},2026-03-03,{rest}\n")
    _, keys_a, digests_a = _records(first, PRODUCTS)
    _, keys_b, digests_b = _records(second, PRODUCTS)
    assert keys_a == keys_b == ["SKU-000001"]
    assert digests_a == digests_b
    _, changed = _staged(tmp_path, "c.csv", f"{HEADER}\n2026-03-02,{row.replace('10.00', '10.01')}\n")
    assert _records(changed, PRODUCTS)[2] != digests_a


def test_a_line_without_fields_or_key_is_matched_by_its_raw_digest(tmp_path):
    no_sku = "2026-03-02,,4006381333931,Boot,shoes,,Acme,red,10.00,USD,2025-06-01,true"
    _, path = _staged(tmp_path, "a.csv", f'{HEADER}\n2026-03-02,"SKU-1\n{no_sku}\n')
    table, keys, digests = _records(path, PRODUCTS)
    errors = table.column("_stage_error").to_pylist()
    assert errors[0] is not None and keys[0] is None  # the unclosed quote: a malformed line
    assert errors[1] is None and keys[1] is None  # fields, but no sku
    assert len(set(digests)) == len(digests)


def test_the_first_snapshot_sends_every_record_as_new_and_keeps_no_one_gone(tmp_path):
    lines = [
        "2026-03-02,SKU-000001,4006381333931,Boot,shoes,,Acme,red,10.00,USD,2025-06-01,true",
        "2026-03-02,SKU-000002,4006381333932,Sock,shoes,,Acme,red,2.00,USD,2025-06-01,true",
        "2026-03-02,SKU-000002,4006381333932,Sock,shoes,,Acme,blue,2.00,USD,2025-06-01,true",
    ]
    staged, path = _staged(tmp_path, "a.csv", "\n".join([HEADER, *lines]) + "\n")
    lake = Lake(LakeRoot(str(tmp_path / "lake")))
    diff = prepare(lake, "products", PRODUCTS, [staged], tmp_path / "staging", "batch-1")
    assert diff is not None and diff.gone_path is None
    (result,) = diff.files
    assert (result.new, result.changed, result.unchanged, result.gone) == (3, 0, 0, 0)
    sent = pq.read_table(path)
    assert sent.column("_change").to_pylist() == ["new", "new", "new"]
    assert sent.column("_gone_if_refused").to_pylist() == [False, False, False]
    (state,) = diff._state_tables
    digests = dict(zip(state.column("line").to_pylist(), state.column("digest").to_pylist(), strict=True))
    # SKU-000002 is listed twice: both records carry one digest of the pair.
    assert digests[3] == digests[4] != digests[2]
    assert KEY_SEPARATOR not in "".join(state.column("record_key").to_pylist())


def _declare(tmp_path: Path, monkeypatch, text: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    monkeypatch.setenv("OMNILAKE_FEEDS", str(path))
    reset_settings()


def test_declared_snapshot_feeds_keyed_by_snapshot_date_are_diffed_and_inventory_is_taken_whole(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("OMNILAKE_FEEDS", raising=False)
    reset_settings()
    assert [s for s in load_feeds().sources() if is_snapshot_feed(s)] == ["crm_members", "products", "stores"]
    # inventory_online is a declared snapshot keyed by snapshot_date and sku: kept whole for silver.
    assert load_feeds().feeds["inventory_online"].is_snapshot and not is_snapshot_feed("inventory_online")


def test_the_declared_kind_decides_and_a_snapshot_without_a_snapshot_date_key_is_taken_whole(
    tmp_path, monkeypatch
):
    _declare(
        tmp_path,
        monkeypatch,
        "feeds:\n"
        "  crm_members: {cadence: daily, kind: change}\n"
        "  products: {cadence: on_change, kind: snapshot}\n"
        "  orders: {cadence: daily, kind: snapshot}\n",
    )
    try:
        assert not is_snapshot_feed("crm_members")  # declared as changes: every delivery taken whole
        assert is_snapshot_feed("products")
        assert not is_snapshot_feed("orders")  # keyed by id and updated_at: nothing to compare across days
        assert not is_snapshot_feed("stores")  # not declared
    finally:
        monkeypatch.delenv("OMNILAKE_FEEDS")
        reset_settings()
