"""Erasure on request, proven on bytes: after ``erase``, no file under the lake root holds the person.

One generated lake for the module (two days at scale 0.02, ingested, silver built day by day, gold
published twice from a small stand-in for the dbt build so that every layer has old versions), under
a known pseudonymisation key. Before day two is ingested the person's e-mail is planted where only
text matching can find it: a malformed order line (quarantined), a re-delivered copy of day one's
orders (a ledger duplicate, never ingested), and a UTF-16 CRM export (refused whole).

The person comes from the generator's truth (``landing/_truth/identity.ndjson``), and what is searched
for is written from the truth, not from anything the erasure computes: e-mails, phone (in any
written format), loyalty card, member id, web account ids, the devices identity resolution linked to
them, their ``customer_key`` and their silver pseudonyms. The scan reads every file under the lake
root but the generator's truth: raw bytes (Delta JSON logs and their statistics, checkpoints, CRC
files, CSV, the DuckDB file), decompressed gzip, every Parquet file decoded (current, removed and
checkpoint files), and every table and view of each DuckDB file through DuckDB.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import time
import zlib
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from jobs.bronze.ingest import ingest
from omnilake.analyst_views import create_analyst_views
from omnilake.audit import read_entries, verify
from omnilake.contracts import contract
from omnilake.erasure import ErasureError, erase, erase_command, rewritten_landing_files
from omnilake.generate import generate
from omnilake.lake import Lake
from omnilake.pipeline import RunContext, build_steps, run_step, topological
from omnilake.privacy import pseudonym_of
from omnilake.publish import MARTS, publish_gold, staging_warehouse_path
from omnilake.settings import reset_settings
from quality.results import CheckResult, GateReport, write_results

pytestmark = pytest.mark.integration

KNOWN_KEY = "erasure-test-key-7f3a9c0e5b"
FIRST_DAY = date(2026, 1, 5)
DAYS = [FIRST_DAY, date(2026, 1, 6)]
PERSON_SOURCES = ("orders", "crm_members", "events", "pos")


# --- the byte scan -------------------------------------------------------------------------------


def _texts(path: Path):
    """Every readable form of a file: its raw bytes, and decompressed or decoded content."""
    data = path.read_bytes()
    yield data.decode("latin-1")
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(wbits=31)
        try:
            yield (inflater.decompress(data) + inflater.flush()).decode("utf-8", "replace")
        except zlib.error:
            yield inflater.flush().decode("utf-8", "replace")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        yield data.decode("utf-16", "replace")
    if data[:4] == b"PAR1":
        yield json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            relations = con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
                "union all select schema_name, view_name from duckdb_views() "
                "where database_name = current_database() and not internal"
            ).fetchall()
            for schema, name in relations:
                yield json.dumps(con.execute(f'select * from "{schema}"."{name}"').fetchall(), default=str)


def scan(root: Path, patterns: dict[str, re.Pattern]) -> list[tuple[str, str]]:
    """(file, pattern name) for every file under ``root`` (but the generator's truth) holding a pattern."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("landing/_truth/"):
            continue
        texts = list(_texts(path))
        hits.extend(
            (relative, name) for name, regex in patterns.items() if any(regex.search(t) for t in texts)
        )
    return hits


def _digits(digits: str, separators: str) -> str:
    return separators.join(digits)


def person_patterns(person: dict, devices: list[str], key: str, hashes: list[str]) -> dict[str, re.Pattern]:
    patterns = {}
    for email in person["emails"]:
        patterns[f"email {email}"] = re.compile(re.escape(email), re.IGNORECASE)
    for phone in person["phones"]:
        national = re.sub(r"\D", "", phone)[-10:]
        patterns[f"phone {phone}"] = re.compile(r"(?<!\d)" + _digits(national, r"[\s().\-]{0,2}") + r"(?!\d)")
    for card in person["loyalty_cards"]:
        patterns[f"card {card}"] = re.compile(r"(?<!\d)" + _digits(card, r"[\s\-]?") + r"(?!\d)")
    for member in person["member_ids"]:
        patterns[f"member {member}"] = re.compile(re.escape(member), re.IGNORECASE)
    for account in person["web_customer_ids"]:
        patterns[f"account {account}"] = re.compile(r"(?<!\d)" + re.escape(account) + r"(?!\d)")
    for device in devices:
        patterns[f"device {device}"] = re.compile(re.escape(device), re.IGNORECASE)
    patterns["customer_key"] = re.compile(re.escape(key))
    for n, pseudonym in enumerate(hashes):
        patterns[f"pseudonym {n}"] = re.compile(pseudonym)
    return patterns


# --- the lake ------------------------------------------------------------------------------------


def _truth(lake: Lake) -> list[dict]:
    lines = Path(lake.landing, "_truth", "identity.ndjson").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _landing_text(lake: Lake, source: str, day: date, name: str) -> str:
    return Path(lake.landing, source, day.isoformat(), name.format(day=day.isoformat())).read_text(
        encoding="utf-8"
    )


def _candidates(lake: Lake) -> list[dict]:
    """People with every kind of identifier who ordered online on day one and are CRM members on
    day two, in the truth's order."""
    orders = _landing_text(lake, "orders", DAYS[0], "orders_{day}.ndjson").lower()
    crm = _landing_text(lake, "crm_members", DAYS[1], "crm_members_{day}.csv")
    return [
        p
        for p in _truth(lake)
        if p["emails"]
        and p["phones"]
        and p["loyalty_cards"]
        and p["web_customer_ids"]
        and not p["household_id"]
        and any(e.lower() in orders for e in p["emails"])
        and p["loyalty_cards"][0] in crm
    ]


def _plant(lake: Lake, person: dict) -> None:
    """The person's e-mail and card where only text can find them, in day two's deliveries."""
    day1, day2 = (d.isoformat() for d in DAYS)
    orders = Path(lake.landing, "orders", day2, f"orders_{day2}.ndjson")
    with orders.open("a", encoding="utf-8") as handle:
        handle.write('\n{"id": 99, "email": "' + person["emails"][0].upper() + '", "note": "cut off\n')
    first = Path(lake.landing, "orders", day1, f"orders_{day1}.ndjson")
    Path(lake.landing, "orders", day2, f"orders_{day1}_resent.ndjson").write_bytes(first.read_bytes())
    header, *rows = _landing_text(lake, "crm_members", DAYS[1], "crm_members_{day}.csv").splitlines()
    exported = [header, *(r for r in rows if person["loyalty_cards"][0] in r)]
    Path(lake.landing, "crm_members", day2, f"crm_members_excel_{day2}.csv").write_bytes(
        ("\n".join(exported) + "\n").encode("utf-16")
    )


def _plant_artefacts(spark, lake: Lake, email: str, key: str) -> None:
    """What a failed format check leaves behind (the offending value in ops.quality_results and in the
    validation result the Data Docs render), and a CRM export naming the person's key."""
    observed = f"1 unexpected value: {email.upper()}"
    check = CheckResult(
        "bronze.orders", "email_format", "expect_column_values_to_match_regex", "warn", False, observed
    )
    write_results(spark, lake, GateReport("bronze", "gate-run", DAYS[1], [check]), datetime(2026, 1, 6, 12))
    validation = Path(lake.root.local_path, "_ops", "gx", "validations", "bronze", "orders", "gate-run.json")
    validation.parent.mkdir(parents=True, exist_ok=True)
    validation.write_text(
        json.dumps({"result": {"partial_unexpected_list": [f" {email} "]}}), encoding="utf-8"
    )
    export = Path(lake.root.local_path, "exports", "crm", f"at_risk_{DAYS[1]}.csv")
    export.parent.mkdir(parents=True)
    export.write_text(
        f"customer_key,segment\n{key},At Risk\nck_someone_else_entirely,At Risk\n", encoding="utf-8"
    )


def _silver(lake: Lake, day: date) -> None:
    context = RunContext(f"erasure-test-{day}", day, lake)
    for step in topological(build_steps()):
        if step.name.startswith("silver_"):
            run_step(step, context)


def _arrow(lake: Lake, name: str) -> pa.Table:
    return DeltaTable(lake.table(name).path).to_pyarrow_table()


GOLD_SQL = {
    "fct_sales": """
        select 'store|' || store_id || '|' || register_id || '|' || transaction_id || '|' || line_no,
            'store', line_type, store_id || '|' || transaction_id, customer_key, 'store', sku, store_id,
            quantity, unit_price, coalesce(discount_amount, 0), net_amount, business_date, transaction_at
        from pos_lines where line_type != 'void'
        union all
        select 'online|' || l.order_id || '|' || l.line_id, 'online', 'sale', l.order_id, o.customer_key,
            coalesce(o.channel_source, 'web'), l.sku, null, l.quantity, l.unit_price,
            coalesce(l.discount_amount, 0), l.net_amount, l.business_date, o.created_at
        from order_lines l join orders o using (order_id)
    """,
    "dim_customer": """
        select customer_key, null, null, null, 1, null, is_member, tier, signup_date, email_opt_in,
            sms_opt_in, profiling_consent, 0, 0, 0, 0, null, null, null, null,
            case when profiling_consent then 'low' end, null, null
        from customers
    """,
    "mart_customer_rfm": """
        select ?, customer_key, max(business_date), 0, count(distinct order_id), sum(net_amount),
            3, 3, 3, '333', 'needs_attention'
        from main.fct_sales where customer_key is not null group by customer_key
    """,
}


def _publish(lake: Lake, day: date) -> None:
    """A stand-in for ``build_gold``: the marts from silver with DuckDB, typed by their contracts,
    then the real ``publish_gold`` (gold Delta tables and the warehouse swap). RFM snapshots carry
    on from the published warehouse, as the incremental dbt model's do."""
    context = RunContext(f"erasure-test-gold-{day}", day, lake)
    staging = staging_warehouse_path(context)
    published = Path(lake.warehouse_path)
    with duckdb.connect(str(staging)) as con:
        for mart in MARTS:
            columns = ", ".join(f'"{f.name}" {f.type}' for f in contract("gold", mart).fields)
            con.execute(f"create table main.{mart} ({columns})")
        for name in ("pos_lines", "order_lines", "orders", "customers"):
            con.register(name, _arrow(lake, f"silver.{name}"))
        con.execute(f"insert into main.fct_sales {GOLD_SQL['fct_sales']}")
        con.execute(f"insert into main.dim_customer {GOLD_SQL['dim_customer']}")
        if published.exists():
            con.execute(f"attach '{published}' as previous (read_only)")
            con.execute("insert into main.mart_customer_rfm select * from previous.main.mart_customer_rfm")
            con.execute("detach previous")
        con.execute(f"insert into main.mart_customer_rfm {GOLD_SQL['mart_customer_rfm']}", [day])
        create_analyst_views(con)
    publish_gold(context)


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def _fingerprints(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and p.name != "writer.lock"
    }


@pytest.fixture(autouse=True)
def _settings_read_afresh():
    """Cases below point the settings at the module's lake; none leaves them cached for others."""
    yield
    reset_settings()


def _plant_split(spark, lake: Lake, key: str) -> None:
    """An operator's split of the person (ops.identity_splits holds their pseudonyms)."""
    from omnilake.governance.identity_review import split

    held = sorted((t, h) for (t, h), k in _key_of(lake).items() if k == key)
    split(spark, lake, key, held[:1], reason="a test of erasure", actor="steward")


@pytest.fixture(scope="module")
def erased(tmp_path_factory, spark):
    """The lake, built and erased once; every test below checks one aspect of the result."""
    home = tmp_path_factory.mktemp("erasure") / "lake"
    captured = _Captured()
    root_logger = logging.getLogger()
    previous_level = root_logger.level
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMNILAKE_HOME", str(home))
        env.setenv("OMNILAKE_PSEUDONYM_KEY", KNOWN_KEY)
        reset_settings()
        root_logger.addHandler(captured)
        root_logger.setLevel(logging.DEBUG)
        try:
            lake = Lake()
            lake.ensure_layout()
            generate(Path(lake.landing), FIRST_DAY, len(DAYS), scale=0.02, seed=23)
            ingest(None, DAYS[0], lake)
            _silver(lake, DAYS[0])
            _publish(lake, DAYS[0])
            planted = next(p for p in _candidates(lake) if len(_keys_of(lake, p) - {None}) == 1)
            _plant(lake, planted)
            ingest(None, DAYS[1], lake)
            _silver(lake, DAYS[1])
            _publish(lake, DAYS[1])
            person, key, devices, hashes = _resolved(lake, planted)
            _plant_artefacts(spark, lake, person["emails"][0], key)
            _plant_split(spark, lake, key)
            shared_phone = _unresolved_shared_phone(lake)
            patterns = person_patterns(person, devices, key, hashes)
            before = scan(home, patterns)

            fingerprints = _fingerprints(home)
            dry = erase("email", person["emails"][0], lake, dry_run=True)
            unchanged = _fingerprints(home) == fingerprints

            started = time.perf_counter()
            receipt = erase("email", f"  {person['emails'][0].upper()}\t", lake)
            seconds = time.perf_counter() - started
            after = scan(home, patterns)
            yield {
                "lake": lake,
                "home": home,
                "person": person,
                "key": key,
                "patterns": patterns,
                "before": before,
                "after": after,
                "dry": dry,
                "dry_run_changed_nothing": unchanged,
                "receipt": receipt,
                "seconds": seconds,
                "shared_phone": shared_phone,
                "logs": captured.records,
            }
        finally:
            root_logger.removeHandler(captured)
            root_logger.setLevel(previous_level)
            reset_settings()
    reset_settings()


def _typed(person: dict) -> list[tuple[str, str, str]]:
    """(identifier type, truth field, value) of every identifier the truth gives the person."""
    fields = {
        "email": "emails",
        "phone": "phones",
        "loyalty_card": "loyalty_cards",
        "member_id": "member_ids",
        "web_customer_id": "web_customer_ids",
        "device": "anonymous_ids",
    }
    return [(t, field, value) for t, field in fields.items() for value in person[field]]


def _key_of(lake: Lake) -> dict[tuple[str, str], str]:
    rows = _arrow(lake, "silver.customer_identifiers").to_pylist()
    return {(r["identifier_type"], r["identifier_hash"]): r["customer_key"] for r in rows}


def _pseudonym(identifier_type: str, value: str) -> str:
    return pseudonym_of(value.strip().lower() if identifier_type == "email" else value, KNOWN_KEY)


def _keys_of(lake: Lake, person: dict) -> set[str | None]:
    key_of = _key_of(lake)
    return {key_of.get((t, _pseudonym(t, v))) for t, field, v in _typed(person) if field != "anonymous_ids"}


def _resolved(lake: Lake, person: dict) -> tuple[dict, str, list[str], list[str]]:
    """The person as the lake knows them: the truth's identifiers that resolve to the e-mail's
    customer_key (one the lake never linked to them cannot be erased with them), that key, their
    devices, and the key's pseudonyms."""
    key_of = _key_of(lake)
    key = key_of[("email", _pseudonym("email", person["emails"][0]))]
    linked: dict[str, list[str]] = {field: [] for _, field, _ in _typed(person)}
    for identifier_type, field, value in _typed(person):
        if key_of.get((identifier_type, _pseudonym(identifier_type, value))) == key:
            linked[field].append(value)
    assert all(linked[f] for f in ("emails", "phones", "loyalty_cards", "web_customer_ids")), linked
    hashes = sorted(h for (_, h), k in key_of.items() if k == key)
    return {**person, **linked}, key, linked["anonymous_ids"], hashes


def _unresolved_shared_phone(lake: Lake) -> str | None:
    resolved = {r["identifier_hash"] for r in _arrow(lake, "silver.customer_identifiers").to_pylist()}
    lines = Path(lake.landing, "_truth", "shared_identifiers.ndjson").read_text(encoding="utf-8").splitlines()
    for shared in map(json.loads, lines):
        if shared["kind"] == "phone" and pseudonym_of(shared["value"], KNOWN_KEY) not in resolved:
            return shared["value"]
    return None


# --- the cases -----------------------------------------------------------------------------------


def test_no_file_under_the_lake_root_still_holds_the_person(erased):
    found_in = {hit[0].split("/")[0] for hit in erased["before"]}
    # The scan sees the person in every layer and format before the erasure ...
    assert {"landing", "bronze", "quarantine", "silver", "gold", "_ops", "warehouse.duckdb"} <= found_in
    for artefact in (
        "_ops/quality_results/",
        "_ops/gx/validations/",
        "exports/crm/",
        "_ops/identity_splits/",
    ):
        assert any(path.startswith(artefact) for path, _ in erased["before"]), artefact
    assert {name for _, name in erased["before"]} == set(erased["patterns"])
    assert any(path.endswith("_resent.ndjson") for path, _ in erased["before"])
    assert any(path.startswith("bronze/") and "_delta_log" in path for path, _ in erased["before"])
    # ... and nowhere after it.
    assert erased["after"] == []


def test_the_erasure_is_timed_and_fast_on_a_small_lake(erased):
    print(f"erasure took {erased['seconds']:.1f}s")  # shown with -s
    assert erased["seconds"] < 120


def test_a_dry_run_changes_nothing_and_finds_what_the_erasure_removes(erased):
    dry, receipt = erased["dry"], erased["receipt"]
    assert erased["dry_run_changed_nothing"]
    assert dry.status == "dry_run"
    assert dry.tables == receipt.tables
    assert [r.path for r in dry.landing_files] == [r.path for r in receipt.landing_files]


def test_the_receipt_says_what_was_removed_where_and_names_no_one(erased):
    lake, receipt = erased["lake"], erased["receipt"]
    (row,) = _arrow(lake, "ops.erasure_receipts").to_pylist()
    assert row["request_id"] == receipt.request_id
    assert row["status"] == "completed"
    assert row["identifier_type"] == "email"
    assert row["person_found"] is True and row["customer_keys"] == 1
    normalised = erased["person"]["emails"][0].strip().lower()
    assert row["request_hash"] == pseudonym_of(f"erasure-request:email:{normalised}", KNOWN_KEY)
    removed = {t["table"]: t["rows_removed"] for t in row["tables"]}
    for table in (
        "bronze.orders",
        "bronze.crm_members",
        "quarantine.orders",
        "silver.customers",
        "silver.customer_identifiers",
        "silver.orders",
        "gold.dim_customer",
        "gold.fct_sales",
        "warehouse.dim_customer",
        "warehouse.mart_customer_rfm",
        "ops.quality_results (redacted)",
    ):
        assert removed.get(table, 0) > 0, table
    assert removed["warehouse.mart_customer_rfm"] == 2  # one snapshot per published day
    paths = {f["path"] for f in row["landing_files"]}
    day1, day2 = (d.isoformat() for d in DAYS)
    assert f"landing/orders/{day2}/orders_{day1}_resent.ndjson" in paths  # the duplicate delivery
    assert f"landing/crm_members/{day2}/crm_members_excel_{day2}.csv" in paths  # the refused file
    assert "_ops/gx/validations/bronze/orders/gate-run.json" in row["artefacts_redacted"]
    export = Path(lake.root.local_path, "exports", "crm", f"at_risk_{DAYS[1]}.csv")
    assert export.read_text(encoding="utf-8").splitlines() == [
        "customer_key,segment",
        "ck_someone_else_entirely,At Risk",
    ]
    assert row["delta_tables_maintained"] >= 30
    text = json.dumps(row, default=str)
    assert not [name for name, regex in erased["patterns"].items() if regex.search(text)]


def test_rewritten_landing_files_are_taken_as_already_ingested(erased, monkeypatch):
    lake = erased["lake"]
    ledger = {(r["path"], r["file_hash"]) for r in _arrow(lake, "ops.ingestion_ledger").to_pylist()}
    rewritten = rewritten_landing_files(lake)
    assert {(f.path, f.rewritten_sha256) for f in erased["receipt"].landing_files} == rewritten
    for source in PERSON_SOURCES:
        for path in Path(lake.landing, source).rglob("*"):
            if path.is_file():
                pair = (
                    path.relative_to(lake.root.local_path).as_posix(),
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
                assert pair in ledger | rewritten, pair

    # Ingestion with the erasure's rewrites in its ledger state (the two lines jobs/bronze/ingest.py
    # takes on) sees nothing new.
    import jobs.bronze.ingest as ingestion

    ledger_state = ingestion._ledger_state

    def with_rewrites(spark, lake, source):
        seen, taken = ledger_state(spark, lake, source)
        return seen | rewritten_landing_files(lake, source), taken

    monkeypatch.setattr(ingestion, "_ledger_state", with_rewrites)
    monkeypatch.setenv("OMNILAKE_HOME", str(erased["home"]))
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", KNOWN_KEY)
    reset_settings()
    reports = ingest(list(PERSON_SOURCES), None, lake)
    assert sum(r.files_new + r.files_quarantined for r in reports) == 0


def test_the_tables_stay_readable_and_the_pipeline_carries_on(erased, spark, monkeypatch):
    lake = erased["lake"]
    monkeypatch.setenv("OMNILAKE_HOME", str(erased["home"]))
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", KNOWN_KEY)
    reset_settings()
    for table in lake.tables():
        if DeltaTable.is_deltatable(table.path):
            spark.read.format("delta").load(table.path).count()
            log_dir = Path(table.path, "_delta_log")
            checkpoint = json.loads((log_dir / "_last_checkpoint").read_text())["version"]
            versions = [int(p.name.split(".")[0]) for p in log_dir.iterdir() if p.name[0].isdigit()]
            assert min(versions) == checkpoint, table  # history starts at the erasure's checkpoint
    step = next(s for s in build_steps() if s.name == "silver_identity")
    run_step(step, RunContext("after-erasure", DAYS[-1], lake))
    keys = {r["customer_key"] for r in _arrow(lake, "silver.customer_identifiers").to_pylist()}
    assert keys and erased["key"] not in keys
    with duckdb.connect(lake.warehouse_path, read_only=True) as con:
        assert con.execute("select count(*) from analyst.dim_customer").fetchone()[0] > 0


def test_the_audit_trail_records_the_erasure_without_personal_data(erased):
    lake = erased["lake"]
    entries = read_entries(lake)
    assert [e["kind"] for e in entries] == ["identity_split", "erasure"]  # the planted split, then this
    assert entries[1]["request_id"] == erased["receipt"].request_id
    assert "request_hash" not in json.dumps(entries)
    assert verify(lake).ok


def test_the_pseudonymisation_key_is_never_logged_nor_stored(erased):
    logs = "\n".join(erased["logs"])
    assert logs, "the module's runs log"
    assert KNOWN_KEY not in logs
    assert scan(erased["home"], {"key": re.compile(re.escape(KNOWN_KEY))}) == []


def test_a_phone_no_single_person_holds_is_refused(erased, monkeypatch):
    if erased["shared_phone"] is None:
        pytest.skip("no household landline left unresolved in this sample")
    monkeypatch.setenv("OMNILAKE_HOME", str(erased["home"]))
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", KNOWN_KEY)
    reset_settings()
    before = _fingerprints(erased["home"])
    with pytest.raises(ErasureError, match="no single person"):
        erase("phone", erased["shared_phone"], erased["lake"])
    assert _fingerprints(erased["home"]) == before


def test_gzip_and_text_landing_files_keep_every_other_line(erased):
    lake = erased["lake"]
    for rewrite in erased["receipt"].landing_files:
        path = Path(lake.root.local_path, rewrite.path)
        data = path.read_bytes()
        text = gzip.decompress(data).decode() if path.suffix == ".gz" else None
        if text is not None:
            assert all(json.loads(line) for line in text.splitlines() if line.strip())
        assert hashlib.sha256(data).hexdigest() == rewrite.rewritten_sha256
        assert rewrite.lines_removed > 0


def test_erasing_by_customer_key_removes_that_person_everywhere_they_are_keyed(erased, monkeypatch, capsys):
    lake = erased["lake"]
    monkeypatch.setenv("OMNILAKE_HOME", str(erased["home"]))
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", KNOWN_KEY)
    reset_settings()
    with duckdb.connect(lake.warehouse_path, read_only=True) as con:
        (other,) = con.execute(
            "select customer_key from fct_sales where customer_key is not null order by customer_key limit 1"
        ).fetchone()
    with pytest.raises(ErasureError, match="exactly one"):
        erase_command(email="someone@example.com", customer_key=other)

    receipt = erase_command(customer_key=other)

    assert receipt.identifier_type == "customer_key" and receipt.status == "completed"
    assert receipt.request_id in capsys.readouterr().out
    for name in ("silver.customers", "silver.customer_identifiers", "gold.dim_customer", "gold.fct_sales"):
        keys = {r["customer_key"] for r in _arrow(lake, name).to_pylist()}
        assert other not in keys, name
    with duckdb.connect(lake.warehouse_path, read_only=True) as con:
        for mart in ("dim_customer", "fct_sales", "mart_customer_rfm"):
            assert con.execute(f"select count(*) from {mart} where customer_key = ?", [other]).fetchone() == (
                0,
            )
    assert verify(lake).ok and [e["kind"] for e in read_entries(lake)] == [
        "identity_split",
        "erasure",
        "erasure",
    ]
