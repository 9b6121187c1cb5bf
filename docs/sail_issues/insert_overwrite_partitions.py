"""Minimal reproduction: Sail 0.7.2 cannot run dbt-spark's ``insert_overwrite`` incremental strategy.

dbt-spark's incremental materialization first sets the dynamic partition overwrite mode, then
overwrites the partitions its new rows fall in:

    set spark.sql.sources.partitionOverwriteMode = DYNAMIC
    insert overwrite table t partition (d) select ...

Sail's SQL parser refuses the unquoted value (``found DYNAMIC ... expected string``); quoted, the
statement reaches DataFusion's ``SET``, which knows no ``spark`` namespace; and the insert itself
fails with ``PARTITION for write``. Apache Spark with Delta runs both.

Omnilake's two partition-overwriting marts (``dim_customer_observations``,
``mart_customer_rfm_revisions``) therefore build on Sail's ``spark`` target only in an ``--empty``
run, where they append (nothing); their incremental runs need Apache Spark, as DuckDB runs them
with ``delete+insert``.

Run: ``uv run python docs/sail_issues/insert_overwrite_partitions.py`` (prints one line per
statement; exits 1 while the bug is present).
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("RUST_LOG", "error")

from pysail.spark import SparkConnectServer
from pyspark.sql import SparkSession


def main() -> int:
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
    path = tempfile.mkdtemp() + "/t"
    statements = [
        (f"create table t (v string, d int) using delta partitioned by (d) location '{path}'", True),
        ("insert into t values ('a', 1), ('b', 2)", True),
        ("set spark.sql.sources.partitionOverwriteMode = DYNAMIC", False),
        ("set spark.sql.sources.partitionOverwriteMode = 'DYNAMIC'", False),
        ("insert overwrite table t partition (d) select 'c' as v, 2 as d", False),
    ]
    failed = 0
    try:
        for statement, setup in statements:
            try:
                spark.sql(statement).collect()
                print(f"ok      {statement}")
            except Exception as exc:  # the point is to show the engine's error
                failed += 0 if setup else 1
                print(f"error   {statement}: {str(exc).splitlines()[0]}")
    finally:
        spark.stop()
        server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
