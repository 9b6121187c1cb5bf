"""Minimal reproduction: Sail 0.7.2 never frees the SQL parser it builds for each string it parses,
so a long-lived server grows by about 0.1 MiB per ``spark.sql`` statement and 20-40 KiB per
expression string (``F.expr``, ``selectExpr``), for as long as its process lives.

What grows and what does not (resident memory of the one process that hosts the server, per call,
after a warm-up; figures of one run on a shared 2-core machine, pysail 0.7.2, pyspark 4.2.1):

    Config get (no plan)                                          0 KiB
    AnalyzePlan, DataFrame API, no strings (range(1).schema)   0-10 KiB
    ExecutePlan, DataFrame API, no strings (range(1).collect)  0-30 KiB
    spark.sql("select 1") (parse, no execution)                 ~50 KiB
    spark.sql("select 1").collect()                            ~120 KiB
    100 columns built with the Column API, collect            10-40 KiB
    100 casts to a type named as text ('string'), collect       ~50 KiB
    100 columns as F.expr strings, collect                   ~2,000 KiB
    100 columns through selectExpr, collect                  ~3,700 KiB
    one filter string with 100 conjuncts, collect                ~0 KiB

So the growth is per *parse call* (one string = one parser), not per plan node, session, client
channel or Config call: a new session every 50 calls (each released, its row ``DELETED`` in
``system.session.sessions``) grows the same, reattachable execution on or off grows the same, and
``SparkConnectServer.stop()`` gives nothing back; a new server in the same process keeps growing
from there. Only the process's exit returns the memory. A server in a child process shows it is
the server, not the client: over 2,000 ``select 1`` calls the client grew 0.3 MiB and the server
226 MiB (116 KiB per call), linearly, with no plateau.

Why: ``sail-sql-parser`` builds its grammar per call with chumsky's ``Recursive::declare`` /
``define``, whose mutually recursive parsers hold one another through strong ``Rc`` references, a
cycle that is never dropped (chumsky issue #486, open; ``crates/sail-sql-analyzer/src/parser.rs``
calls ``create_parser``/``create_expression_parser`` inside ``parse!`` for every string). The
allocator is not the cause: ``MIMALLOC_PURGE_DELAY=0`` and ``MIMALLOC_PURGE_DECOMMITS=1`` change
nothing. PyPI's newest pysail is 0.7.2 (checked 2026-12-01), so there is no release to move to.

Omnilake's mitigation (``omnilake/engine.py``): the Sail server runs in a child process of the
pipeline, and a multi-date run starts a fresh one between dates (``recycle_engine``), as every
Airflow task does; the jobs build columns with the Column API rather than expression strings.

Run: ``uv run python docs/sail_issues/parser_memory_per_call.py`` (prints one line per case; exits
1 while ``select 1`` still grows the server by more than 20 KiB per call).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("RUST_LOG", "error")

from pysail.spark import SparkConnectServer
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

CALLS = 200
WARM_UP = 20
GROWING_KIB = 20


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


def per_call(action, calls: int = CALLS) -> float:
    """KiB of resident memory the process gains per call of ``action``, after a warm-up."""
    for _ in range(WARM_UP):
        action()
    before = rss_kib()
    for _ in range(calls):
        action()
    return (rss_kib() - before) / calls


def session(url: str) -> SparkSession:
    spark = SparkSession.builder.remote(url).create()
    spark.client.disable_reattachable_execute()
    return spark


def main() -> int:
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    url = f"sc://{host}:{port}"
    spark = session(url)
    wide = 100
    columns_api = spark.range(1).select(*[(F.col("id") + i).alias(f"c{i}") for i in range(wide)])
    expr_strings = spark.range(1).select(*[F.expr(f"id + {i}").alias(f"c{i}") for i in range(wide)])
    select_expr = spark.range(1).selectExpr(*[f"id + {i} as c{i}" for i in range(wide)])
    one_filter = spark.range(1).filter(" and ".join(f"id <> {i}" for i in range(1, wide + 1)))
    cases = {
        "Config get (no plan)": lambda: spark.conf.get("spark.sql.session.timeZone"),
        "AnalyzePlan, range(1).schema": lambda: spark.range(1).schema,
        "ExecutePlan, range(1).collect()": lambda: spark.range(1).collect(),
        'spark.sql("select 1")': lambda: spark.sql("select 1"),
        'spark.sql("select 1").collect()': lambda: spark.sql("select 1").collect(),
        f"{wide} Column-API columns, collect": columns_api.collect,
        f"{wide} F.expr strings, collect": expr_strings.collect,
        f"{wide} selectExpr strings, collect": select_expr.collect,
        f"one filter string, {wide} conjuncts": one_filter.collect,
    }
    figures = {}
    for name, action in cases.items():
        figures[name] = per_call(action, CALLS if "strings" not in name else CALLS // 4)
        print(f"{name:40s} {figures[name]:8.0f} KiB per call", flush=True)

    # A fresh (released) session every 50 calls: the growth is not the session's.
    state = {"spark": spark, "n": 0}

    def select_one_in_short_sessions() -> None:
        if state["n"] % 50 == 0:
            state["spark"].stop()
            state["spark"] = session(url)
        state["n"] += 1
        state["spark"].sql("select 1").collect()

    growth = per_call(select_one_in_short_sessions)
    deleted = state["spark"].sql("select count(*) from system.session.sessions where status = 'DELETED'")
    print(
        f"{'select 1, a new session every 50 calls':40s} {growth:8.0f} KiB per call "
        f"({deleted.collect()[0][0]} sessions released)",
        flush=True,
    )
    state["spark"].stop()
    before_stop = rss_kib()
    server.stop()
    print(f"server stopped: {(rss_kib() - before_stop) / 1024:+.1f} MiB", flush=True)

    # A new server in the same process starts from where the old one left off and keeps growing.
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    spark = session(f"sc://{host}:{port}")
    again = per_call(lambda: spark.sql("select 1").collect())
    print(f"{'select 1 on a second server, same process':40s} {again:8.0f} KiB per call", flush=True)
    spark.stop()
    server.stop()
    return 1 if figures['spark.sql("select 1").collect()'] > GROWING_KIB else 0


if __name__ == "__main__":
    sys.exit(main())
