"""The bad-input corpus (tests/data/bad/, see its README) through bronze ingestion on real Sail and Delta.

Every corpus file is delivered to one lake and ingested in one run per source (each file's outcome
is independent of the others'), then each case checks its file: refused whole with a reason, or
ingested with named rows quarantined, reconciliation balanced and the drift recorded.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import resource
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import jobs.bronze.ingest as ingest_job
from jobs.bronze.ingest import ingest
from jobs.bronze.parse import thousands_separator
from jobs.silver.pos import till_clock
from omnilake import delta, landing
from omnilake.contracts import all_contracts
from omnilake.errors import ContractError
from omnilake.lake import get_lake
from omnilake.settings import reset_settings

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bad"
DAY = date(2026, 3, 2)
TEN_MB = 10_000_000
PRODUCTS_HEADER = (
    "snapshot_date,sku,barcode,product_name,category,subcategory,brand,color,list_price,currency,"
    "launch_date,is_active"
)


def generated_files() -> dict[str, str]:
    """The 10 MB cases, written at test time rather than committed."""
    order = {
        "id": 900,
        "created_at": "2026-03-02T09:00:00-05:00",
        "updated_at": "2026-03-02T10:00:00-05:00",
        "currency": "USD",
        "financial_status": "paid",
        "total_price": "1.00",
        "line_items": [],
        "note": "n" * TEN_MB,
    }
    product = f"2026-03-02,SKU-000900,4006381339001,{'p' * TEN_MB},home,,,,1.00,USD,,true"
    return {
        "orders__10mb_line.ndjson": json.dumps(order) + "\n",
        "products__10mb_field.csv": f"{PRODUCTS_HEADER}\n{product}\n",
    }


@dataclass(frozen=True)
class Outcome:
    """What one file of the corpus must become. ``refused`` set: the whole file in quarantine.files."""

    refused: str | None = None
    records: int = 0
    bronze: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # row-level quarantine reasons
    detail: str = ""  # in the file's refusal detail, or in some row's quarantine detail
    drift: frozenset[tuple[str, str]] = frozenset()
    check: Callable[[list[dict]], None] | None = None  # on the file's bronze rows


def drift(*pairs: tuple[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(pairs)


def expect(column: str, wanted: list) -> Callable[[list[dict]], None]:
    """The file's bronze rows hold exactly these values of ``column`` (in any order)."""

    def check(rows: list[dict]) -> None:
        assert sorted((r[column] for r in rows), key=repr) == sorted(wanted, key=repr)

    return check


def rescued(key: str, wanted: dict[object, dict | None]) -> Callable[[list[dict]], None]:
    """Unknown fields kept in ``_rescued``, per row identified by ``key``."""

    def check(rows: list[dict]) -> None:
        assert {r[key]: r["_rescued"] and json.loads(r["_rescued"]) for r in rows} == wanted

    return check


def no_carriage_return(rows: list[dict]) -> None:
    assert rows and not any("\r" in r["_raw"] for r in rows)


def whole(column: str) -> Callable[[list[dict]], None]:
    def check(rows: list[dict]) -> None:
        (row,) = rows
        assert len(row[column]) >= TEN_MB

    return check


def all_of(*checks: Callable[[list[dict]], None]) -> Callable[[list[dict]], None]:
    def check(rows: list[dict]) -> None:
        for one in checks:
            one(rows)

    return check


CASES: dict[str, Outcome] = {
    "orders__empty.ndjson": Outcome(refused="empty_file", detail="the file has no bytes"),
    "orders__crlf.ndjson": Outcome(
        records=2, bronze=2, check=all_of(no_carriage_return, expect("id", [101, 102]))
    ),
    "orders__json_array.json": Outcome(refused="json_array", detail="export one object per line"),
    "orders__extra_field.ndjson": Outcome(
        records=2,
        bronze=2,
        drift=drift(("unknown_field", "source_identifier")),
        check=rescued("id", {301: {"source_identifier": "pos-sync"}, 302: None}),
    ),
    "orders__10mb_line.ndjson": Outcome(
        records=1, bronze=1, drift=drift(("unknown_field", "note")), check=whole("_raw")
    ),
    "pos__header_only.csv": Outcome(records=0, bronze=0),
    "pos__bom.csv": Outcome(records=2, bronze=2, check=expect("store_id", ["S001", "S001"])),
    "pos__crlf.csv": Outcome(
        records=2, bronze=2, check=all_of(no_carriage_return, expect("void_flag", ["N", "Y"]))
    ),
    "pos__renamed_column_known_alias.csv": Outcome(
        records=1, bronze=1, drift=drift(("renamed_column", "QTY")), check=expect("quantity", [4])
    ),
    "pos__three_timestamp_formats.csv": Outcome(
        records=3,
        bronze=3,
        check=expect("transaction_ts", ["2026-03-02 09:15:00", "2026-03-02T09:20:00", "03/02/2026 09:25"]),
    ),
    "crm_members__latin1.csv": Outcome(
        refused="bad_encoding",
        detail="not valid UTF-8 at line 2, near byte 213 (invalid continuation byte); the bytes look like Latin-1",
    ),
    "crm_members__header_repeated.csv": Outcome(
        records=3,
        bronze=2,
        reasons={"repeated_header": 1},
        check=expect("member_id", ["M00000002", "M00000003"]),
    ),
    "crm_members__extra_column.csv": Outcome(
        records=1,
        bronze=1,
        drift=drift(("unknown_field", "preferred_store")),
        check=rescued("member_id", {"M00000004": {"preferred_store": "S001"}}),
    ),
    "products__gbk.csv": Outcome(refused="bad_encoding", detail="the bytes look like GBK/GB18030 (Chinese)"),
    "products__utf16.csv": Outcome(refused="bad_encoding", detail="the file is UTF-16"),
    "products__semicolon_delimiter.csv": Outcome(
        refused="header_mismatch", detail="the file is delimited by ';', the contract says ','"
    ),
    "products__thousands_separator.csv": Outcome(
        records=3,
        bronze=1,
        reasons={"wrong_type": 2},
        detail="list_price is not decimal(12,2), got 1,234.50 (digit grouping is not accepted",
        check=expect("list_price", [Decimal("89.90")]),
    ),
    "products__three_date_formats.csv": Outcome(
        records=3,
        bronze=1,
        reasons={"wrong_type": 2},
        detail="launch_date is not date, got 01.06.2025",
        check=expect("launch_date", [date(2025, 6, 1)]),
    ),
    "products__renamed_column.csv": Outcome(
        records=1,
        bronze=0,
        reasons={"missing_required": 1},
        detail="missing_required: list_price",
        drift=drift(("renamed_column", "list_price"), ("unknown_field", "price")),
    ),
    "products__unclosed_quote.csv": Outcome(
        records=3,
        bronze=2,
        reasons={"malformed_csv": 1},
        detail="a quote opened on this line is never closed",
        check=expect("sku", ["SKU-000112", "SKU-000113"]),
    ),
    "products__10mb_field.csv": Outcome(records=1, bronze=1, check=whole("product_name")),
    "stores__no_header.csv": Outcome(
        refused="header_mismatch", detail="the export must start with its header row"
    ),
    "inventory_store__missing_column.csv": Outcome(
        records=2,
        bronze=2,
        drift=drift(("missing_column", "last_stocktake_date")),
        check=expect("last_stocktake_date", [None, None]),
    ),
    "events__truncated.ndjson.gz": Outcome(refused="truncated_compression", detail="deliver the file again"),
}


# --- one lake holding the whole corpus -----------------------------------------------------------


@dataclass
class CorpusLake:
    """Every table the run touched, read once, by landing file name."""

    refused: dict[str, dict]
    ledger: dict[str, dict]
    reconciliation: dict[str, dict]
    bronze: dict[str, list[dict]]
    quarantined: dict[str, list[dict]]
    drift: dict[str, set[tuple[str, str]]]
    peak_memory_growth: int  # bytes


def deliver(root: Path, name: str, content: bytes) -> None:
    folder = root / "landing" / name.split("__")[0] / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def by_file(rows) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["_source_file"].rsplit("/", 1)[-1], []).append(row.asDict())
    return grouped


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory) -> CorpusLake:
    root = tmp_path_factory.mktemp("bad-input") / "lake"
    for path in sorted(CORPUS.glob("*__*")):
        deliver(root, path.name, path.read_bytes())
    for name, text in generated_files().items():
        deliver(root, name, text.encode())
    sources = sorted({name.split("__")[0] for name in CASES})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMNILAKE_HOME", str(root))
        reset_settings()
        lake = get_lake()
        memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ingest(sources, DAY)
        growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before) * 1024

        def table(name: str) -> list:
            return delta.read(spark, lake.table(name)).collect()

        def by_path(rows) -> dict[str, dict]:
            return {r["path"].rsplit("/", 1)[-1]: r.asDict() for r in rows}

        drift_rows: dict[str, set[tuple[str, str]]] = {}
        for r in table("ops.schema_drift"):
            drift_rows.setdefault(r["path"].rsplit("/", 1)[-1], set()).add((r["kind"], r["column"]))
        result = CorpusLake(
            refused=by_path(table("quarantine.files")),
            ledger=by_path(table("ops.ingestion_ledger")),
            reconciliation=by_path(table("ops.reconciliation")),
            bronze={k: v for s in sources for k, v in by_file(table(f"bronze.{s}")).items()},
            quarantined={k: v for s in sources for k, v in by_file(table(f"quarantine.{s}")).items()},
            drift=drift_rows,
            peak_memory_growth=growth,
        )
    reset_settings()
    return result


def test_every_corpus_file_has_a_case_and_a_readme_row():
    committed = {p.name for p in CORPUS.glob("*__*")}
    assert committed | set(generated_files()) == set(CASES)
    readme = (CORPUS / "README.md").read_text()
    assert all(f"| `{name}` |" in readme for name in CASES)
    assert sum(p.stat().st_size for p in CORPUS.iterdir()) < 50_000


@pytest.mark.parametrize("name", list(CASES))
def test_bad_file_gets_its_outcome_and_reconciles(corpus, name):
    case = CASES[name]
    ledger = corpus.ledger[name]
    bronze = corpus.bronze.get(name, [])
    quarantined = corpus.quarantined.get(name, [])
    if case.refused:
        refused = corpus.refused[name]
        assert (refused["reason"], ledger["status"]) == (case.refused, "quarantined")
        assert case.detail in refused["detail"]
        assert (bronze, quarantined, name in corpus.reconciliation) == ([], [], False)
        return
    assert name not in corpus.refused
    recon = corpus.reconciliation[name]
    assert (
        recon["records_received"],
        recon["bronze_rows"],
        recon["quarantined_rows"],
        recon["balanced"],
    ) == (
        case.records,
        case.bronze,
        sum(case.reasons.values()),
        True,
    )
    assert (ledger["status"], ledger["records"]) == ("ingested", len(bronze) + len(quarantined))
    assert len(bronze) == case.bronze
    assert Counter(r["reason"] for r in quarantined) == Counter(case.reasons)
    assert case.detail in " | ".join(r["detail"] for r in quarantined)
    assert corpus.drift.get(name, set()) == set(case.drift)
    if case.check:
        case.check(bronze)


def test_ten_megabyte_lines_keep_memory_sane(corpus):
    # Speed is the benchmarks' to measure (a wall-clock bound here fails on a busy machine, not on slow code).
    assert corpus.peak_memory_growth < 1 << 30, f"peak RSS grew by {corpus.peak_memory_growth >> 20} MiB"


def test_well_grouped_numbers_are_named_in_the_detail_and_badly_grouped_ones_not(corpus):
    details = {r["_line"]: r["detail"] for r in corpus.quarantined["products__thousands_separator.csv"]}
    assert "digit grouping" in details[2] and "got 1,234.50" in details[2]
    assert details[4] == "wrong_type: list_price is not decimal(12,2), got 1,23,4.00"


def test_bronze_keeps_till_timestamps_as_text_and_silver_reads_two_of_three_formats(spark, corpus):
    rows = corpus.bronze["pos__three_timestamp_formats.csv"]
    bronze = spark.createDataFrame(
        [(r["transaction_id"], r["transaction_ts"]) for r in rows], "txn string, transaction_ts string"
    )
    read = {
        r["txn"]: r["clock"]
        for r in bronze.select("txn", till_clock(bronze, "transaction_ts").alias("clock")).collect()
    }
    assert {k: v and v.isoformat() for k, v in read.items()} == {
        "T4001": "2026-03-02T09:15:00",
        "T4002": "2026-03-02T09:20:00",
        "T4003": None,  # silver rejects this line as unreadable_time
    }


# --- contract options that widen what bronze accepts ---------------------------------------------


def test_contract_options_accept_grouped_numbers_and_declared_date_formats(spark, lake, monkeypatch):
    contracts = dict(all_contracts())
    products = contracts["landing.products"]
    contracts["landing.products"] = dataclasses.replace(
        products,
        options={**products.options, "thousands_separator": ","},
        fields=tuple(
            dataclasses.replace(f, formats=("MM/dd/yyyy", "dd.MM.yyyy")) if f.name == "launch_date" else f
            for f in products.fields
        ),
    )
    monkeypatch.setattr(ingest_job, "all_contracts", lambda: contracts)
    for name in ("products__thousands_separator.csv", "products__three_date_formats.csv"):
        deliver(lake.root.local_path, name, (CORPUS / name).read_bytes())

    (report,) = ingest(["products"], DAY)

    assert (report.records, report.bronze_rows, report.quarantined_rows, report.unbalanced_files) == (
        6,
        5,
        1,
        [],
    )
    bronze = {r["sku"]: r for r in delta.read(spark, lake.table("bronze.products")).collect()}
    assert [bronze[s]["list_price"] for s in ("SKU-000104", "SKU-000105")] == [
        Decimal("1234.50"),
        Decimal("89.90"),
    ]
    assert {bronze[s]["launch_date"] for s in ("SKU-000107", "SKU-000108", "SKU-000109")} == {
        date(2025, 6, 1)
    }
    (badly_grouped,) = delta.read(spark, lake.table("quarantine.products")).collect()
    assert (badly_grouped["_line"], badly_grouped["reason"]) == (4, "wrong_type")


def test_thousands_separator_that_is_the_decimal_point_is_refused():
    products = all_contracts()["landing.products"]
    dotted = dataclasses.replace(products, options={**products.options, "thousands_separator": "."})
    with pytest.raises(ContractError, match="thousands_separator must be one of"):
        thousands_separator(dotted)


# --- the CSV field limit, without the engine -----------------------------------------------------


def test_field_over_the_csv_limit_costs_one_record_not_the_file(tmp_path, monkeypatch):
    """A quote that never closes makes csv read on until its field limit; the line is quarantined
    and the rows after it are read again. The limit is shrunk here to keep the file small."""
    monkeypatch.setattr(landing, "CSV_FIELD_LIMIT", 1_000)
    previous = csv.field_size_limit(1_000)
    try:
        rows = [f"2026-03-02,SKU-{i:06d},1,Mug,home,,,,1.00,USD,,true" for i in range(100)]
        rows[1] = rows[1].replace(",Mug,", ',"Mug 12oz,')  # no closing quote anywhere after it
        path = tmp_path / "landing" / "products" / DAY.isoformat() / "products.csv"
        path.parent.mkdir(parents=True)
        path.write_text("\n".join([PRODUCTS_HEADER, *rows]) + "\n")
        file = landing.LandingFile("products", DAY, path, "landing/products/x.csv", path.stat().st_size)
        staged = landing.stage_file(file, "h", all_contracts()["landing.products"], tmp_path / "staging")
    finally:
        csv.field_size_limit(previous)

    table = pq.read_table(tmp_path / "staging" / "h.parquet").to_pylist()
    errors = [(r["_line"], r["_stage_error"]) for r in table if r["_stage_error"]]
    assert (staged.file_error, staged.records, len(table)) == (None, 100, 100)
    assert errors == [
        (
            3,
            "malformed_csv: field larger than field limit (1000); a quote opened on this line is never closed",
        )
    ]
