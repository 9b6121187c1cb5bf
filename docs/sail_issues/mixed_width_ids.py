"""Minimal reproduction: Sail 0.7.2 fails planning a filter over an aggregation (or a window) on
``cast(<long column> as string)`` read from Parquet, when the longs differ in digit count.

The cast is pushed into the Parquet scan (``DataSourceExec ... projection=[CAST(id@0 AS Utf8)]``)
and the scan's min/max statistics of the long column go through it unchanged: min 866, max 59601
become the strings "866" and "59601", and "866" > "59601". A filter above the aggregation then
builds an interval from those bounds and DataFusion's assertion fails:

    Internal error: Assertion failed: interval.lower.is_null() || interval.upper.is_null() ||
    interval.lower <= interval.upper: Interval's lower bound 866 is greater than the upper bound 59601

``explain`` fails the same way. Ids of one width (866 and 901) work; so does
``format_string('%d', id)`` or ``concat('', cast(id as string))`` in place of the cast (Omnilake's
workaround: ``omnilake.transforms.id_text``).

Run: ``uv run python docs/sail_issues/mixed_width_ids.py`` (prints one line per query; exits 1
while the bug is present).
"""

from __future__ import annotations

import sys
import tempfile

from pysail.spark import SparkConnectServer
from pyspark.sql import SparkSession

QUERIES = {
    "cast, group by, having (fails)": (
        "select k, count(*) as n from (select cast(id as string) as k from parquet.`{path}`) "
        "group by k having count(*) > 0"
    ),
    "the same without having (works)": (
        "select k, count(*) as n from (select cast(id as string) as k from parquet.`{path}`) group by k"
    ),
    "cast, window, filter on the rank (fails)": (
        "select * from (select k, row_number() over (partition by k order by k) as r "
        "from (select cast(id as string) as k from parquet.`{path}`)) where r = 1"
    ),
    "format_string in place of the cast (works)": (
        "select k, count(*) as n from (select format_string('%d', id) as k from parquet.`{path}`) "
        "group by k having count(*) > 0"
    ),
}


def main() -> int:
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
    failed = 0
    try:
        path = tempfile.mkdtemp() + "/ids"
        spark.sql("select * from values (866L), (59601L) as t(id)").write.parquet(path)
        for label, query in QUERIES.items():
            try:
                spark.sql(query.format(path=path)).collect()
                print(f"ok      {label}")
            except Exception as exc:  # the point is to show the engine's error
                failed += 1
                print(f"error   {label}: {str(exc).splitlines()[0]}")
    finally:
        spark.stop()
        server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
