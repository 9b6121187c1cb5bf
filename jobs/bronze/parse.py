"""Pure DataFrame functions that turn staged records into typed bronze rows or quarantine rows.

Sail has no corrupt-record mode, and its ``from_json`` into typed fields silently wraps an
out-of-range integer. So a record is first read as a map of raw strings (JSON key or CSV header to
value), then each declared field is cast with ``try_cast`` (nested fields with ``from_json``), and a
value that is present but does not cast is a ``wrong_type``, never a silent null.

Two contract settings widen what casts: a date or timestamp field's ``formats`` (tried after ISO,
first match wins, so an ambiguous "06/01/2025" takes the first pattern listed), and the landing
contract's ``options.thousands_separator`` (digit grouping stripped from numeric fields when it is
well formed). Without them "01.06.2025" or "1,234.50" is a ``wrong_type`` whose detail says why.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from omnilake.contracts import Contract, Field
from omnilake.engine import shuffle_partitions
from omnilake.errors import ContractError

RAW_MAP = "map<string,string>"


_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)
THOUSANDS_SEPARATORS = (",", " ", "'", "_")
# A number written with digit grouping ("1,234.50", "1.234,50", "1 234"): named in the wrong_type detail.
_GROUPED_NUMBER = r"^\s*[+-]?\d{1,3}([,. ']\d{3})+([.,]\d+)?\s*$"


def _typed(field: Field, value: Column, thousands_separator: str | None = None) -> Column:
    spark_type = field.spark_type
    if isinstance(spark_type, T.StructType | T.ArrayType | T.MapType):
        return F.from_json(value, spark_type)
    if field.formats and isinstance(spark_type, T.TimestampType | T.TimestampNTZType | T.DateType):
        # Sail 0.7.2 has no try_to_date: dates are parsed as timestamps and cast.
        attempts = [F.trim(value).try_cast(spark_type)]
        attempts += [F.try_to_timestamp(F.trim(value), F.lit(fmt)) for fmt in field.formats]
        return F.coalesce(*attempts).cast(spark_type)
    if thousands_separator and isinstance(spark_type, _NUMERIC):
        # Only well-formed grouping is stripped: "1,234.50" is a number, "1,23,4" stays a wrong type.
        sep = f"[{thousands_separator}]"
        grouped = rf"^\s*[+-]?\d{{1,3}}({sep}\d{{3}})+(\.\d+)?\s*$"
        value = F.when(value.rlike(grouped), F.regexp_replace(value, sep, "")).otherwise(value)
    return F.trim(value).try_cast(spark_type)


def thousands_separator(contract: Contract) -> str | None:
    """The contract's ``options.thousands_separator``: digit grouping to strip from numeric fields.

    Off by default: "1,234.50" in a numeric field is then a ``wrong_type`` whose detail names the
    grouping. The decimal point must be ".", so the separator is one of ``THOUSANDS_SEPARATORS``.
    """
    separator = contract.options.get("thousands_separator")
    if separator is not None and separator not in THOUSANDS_SEPARATORS:
        raise ContractError(
            f"{contract.qualified_name}: options.thousands_separator must be one of "
            f"{list(THOUSANDS_SEPARATORS)} (the decimal point is '.'), got {separator!r}"
        )
    return separator


def _wrong_type_detail(field: Field, value: Column) -> Column:
    detail = F.concat(
        F.lit(f"wrong_type: {field.raw_name} is not {field.type}, got "), F.substring(value, 1, 60)
    )
    if not isinstance(field.spark_type, _NUMERIC):
        return detail
    hint = F.lit(
        " (digit grouping is not accepted: export plain numbers, or declare the separator in the "
        "contract's options.thousands_separator)"
    )
    return F.concat(detail, F.when(value.rlike(_GROUPED_NUMBER), hint).otherwise(F.lit("")))


def record_map(staged: DataFrame, contract: Contract) -> Column:
    """The record as a map of raw strings: CSV rows were split while staging, JSON is parsed here."""
    if contract.format == "csv":
        return F.col("_fields")
    return F.from_json(F.col("_raw"), RAW_MAP)


def classify(staged: DataFrame, contract: Contract) -> DataFrame:
    """Staged rows plus every declared field typed, ``_rescued``, and ``reason``/``detail`` (null if good)."""
    fields = contract.fields
    declared_raw = [f.raw_name for f in fields]
    # Sail 0.7.2 loses `_raw` when a filter on a column derived from it is pushed into a Parquet
    # scan ("No field named ?table?._raw"); a round-robin repartition stops the pushdown and spreads
    # one large file over the cores.
    # The exchanges also fence off projections: Sail inlines a projected column into every
    # expression that references it, so without them each record was JSON-parsed once per field
    # (ingesting 5.9k events took 29.6 s without the fences, 5.8 s with them, same machine and load).
    partitions = shuffle_partitions(staged.sparkSession)
    with_map = staged.withColumn("_map", record_map(staged, contract)).repartition(partitions)
    values = {f.name: F.nullif(F.col("_map")[f.raw_name], F.lit("")) for f in fields}

    problems = []
    for f in fields:
        typed = F.col(f"_typed_{f.name}")
        if f.required:
            problems.append(F.when(values[f.name].isNull(), F.lit(f"missing_required: {f.raw_name}")))
        problems.append(
            F.when(values[f.name].isNotNull() & typed.isNull(), _wrong_type_detail(f, values[f.name]))
        )
    structural = (
        F.when(F.col("_stage_error").isNotNull(), F.col("_stage_error"))
        .when(
            F.col("_map").isNull() & F.trim(F.col("_raw")).startswith("{"),
            F.lit("malformed_json: not valid JSON"),
        )
        .when(F.col("_map").isNull(), F.lit("not_an_object: a line must be one JSON object"))
    )
    separator = thousands_separator(contract)
    typed_columns = {f"_typed_{f.name}": _typed(f, values[f.name], separator) for f in fields}
    # Fields outside the contract are rare: their names by a set difference, and the map of them
    # (a lambda per entry) built only for the records that have any.
    unknown_fields = F.array_except(
        F.map_keys("_map"), F.array(*[F.lit(name) for name in declared_raw]).cast("array<string>")
    )
    # The problems joined into one string by ``concat_ws`` (which skips nulls; "" when there are
    # none), a plain scalar function: an array of every check filtered by a lambda cost Sail about
    # as much again as typing the fields. Every field problem is "kind: detail" and a structural one
    # comes alone, so the reason (the first problem's kind) is the text before the first colon.
    problems_text = F.when(structural.isNotNull(), structural).otherwise(F.concat_ws("; ", *problems))
    has_problems = F.col("_problems") != F.lit("")
    return (
        with_map.withColumns(typed_columns)
        .repartition(partitions)
        .withColumns({"_problems": problems_text, "_unknown_fields": unknown_fields})
        .repartition(partitions)
        .withColumns(
            {
                "reason": F.when(has_problems, F.split("_problems", ":")[0]),
                "detail": F.when(has_problems, F.col("_problems")),
                "_rescued": F.when(
                    F.size("_unknown_fields") > 0,
                    F.to_json(F.map_filter(F.col("_map"), lambda key, _: ~key.isin(declared_raw))),
                ),
            }
        )
    )


def bronze_rows(
    classified: DataFrame,
    contract: Contract,
    batch_id: str,
    ingested_at: Column,
    *,
    changes: bool | None = None,
) -> DataFrame:
    """The good records in bronze shape: declared fields, then ingestion metadata.

    Snapshot feeds' staging carries ``_change`` and ``_previous_snapshot`` (jobs.bronze.snapshot_diff);
    change feeds leave them null. ``changes`` says which the caller staged (None: ask the engine,
    one round trip for the plan's columns)."""
    if changes is None:
        changes = "_change" in classified.columns
    return classified.where(F.col("reason").isNull()).select(
        *[F.col(f"_typed_{f.name}").alias(f.name) for f in contract.fields],
        F.col("_rescued"),
        F.col("_raw"),
        F.col("_source_file"),
        F.col("_file_hash"),
        F.col("_line"),
        F.lit(batch_id).alias("_batch_id"),
        ingested_at.alias("_ingested_at"),
        F.col("_change") if changes else F.lit(None).cast("string").alias("_change"),
        F.col("_previous_snapshot") if changes else F.lit(None).cast("date").alias("_previous_snapshot"),
        F.to_date("_landing_date").alias("_landing_date"),
    )


def quarantine_rows(classified: DataFrame, batch_id: str, ingested_at: Column) -> DataFrame:
    """The failed records with their reason, in quarantine shape."""
    return classified.where(F.col("reason").isNotNull()).select(
        F.col("reason"),
        F.col("detail"),
        F.col("_raw"),
        F.col("_source_file"),
        F.col("_file_hash"),
        F.col("_line"),
        F.lit(batch_id).alias("_batch_id"),
        ingested_at.alias("_ingested_at"),
        F.to_date("_landing_date").alias("_landing_date"),
    )
