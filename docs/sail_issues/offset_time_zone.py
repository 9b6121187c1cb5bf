"""Minimal reproduction: Sail 0.7.2 refuses a zone offset such as '+08:00' in ``to_utc_timestamp``
(and ``from_utc_timestamp``), although its own error message lists '(+|-)HH:mm' as valid and Spark
accepts it:

    [INVALID_TIMEZONE] The timezone: "+08:00" is invalid. ... Zone offsets must be in the format
    '(+|-)HH', '(+|-)HH:mm' or '(+|-)HH:mm:ss', e.g '-08', '+01:00' or '-13:33:33'.

Omnilake's workaround for stores known only by an offset: subtract the offset as a day-time interval
(``jobs.silver.pos.offset_interval``).

Run: ``uv run python docs/sail_issues/offset_time_zone.py`` (exits 1 while the bug is present).
"""

from __future__ import annotations

import sys

from pysail.spark import SparkConnectServer
from pyspark.sql import SparkSession


def main() -> int:
    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
    failed = 0
    try:
        for zone in ("Asia/Singapore", "+08:00", "-05:30"):
            query = f"select to_utc_timestamp(timestamp'2024-03-01 23:30:00', '{zone}') as utc"
            try:
                print(f"ok      {zone}: {spark.sql(query).collect()[0]['utc']}")
            except Exception as exc:  # the point is to show the engine's error
                failed += 1
                print(f"error   {zone}: {str(exc).splitlines()[0][:120]}")
    finally:
        spark.stop()
        server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
