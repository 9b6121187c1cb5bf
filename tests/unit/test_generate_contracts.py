"""The landing contracts describe exactly what the generator writes: every generated file parses
with the contract's schema, nothing more and nothing less, and personal data is classified alike
wherever it appears."""

from __future__ import annotations

import gzip
import io
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pytest
from pyspark.sql import types as T

from omnilake.contracts import CLASSIFICATIONS, SCHEMAS_DIR, Contract, load_contract_file
from omnilake.generate import SOURCES, DefectRates, generate
from omnilake.generate.docs import DOC_PATH, render

pytestmark = pytest.mark.unit

LANDING = SCHEMAS_DIR / "landing"
# Direct identifiers: who a person is, how to reach them, or the device they carry.
RESTRICTED = {
    "email",
    "phone",
    "first_name",
    "last_name",
    "loyalty_card",
    "context",
    "traits",
    "customer",
}


def contract(name: str) -> Contract:
    return load_contract_file(LANDING / f"{name}.yaml")


def arrow_type(spark_type: T.DataType) -> pa.DataType:
    simple = {
        T.StringType: pa.string(),
        T.LongType: pa.int64(),
        T.IntegerType: pa.int32(),
        T.DoubleType: pa.float64(),
        T.BooleanType: pa.bool_(),
        T.DateType: pa.date32(),
    }
    for spark_class, arrow in simple.items():
        if isinstance(spark_type, spark_class):
            return arrow
    if isinstance(spark_type, T.DecimalType):
        return pa.decimal128(spark_type.precision, spark_type.scale)
    if isinstance(spark_type, T.ArrayType):
        return pa.list_(arrow_type(spark_type.elementType))
    if isinstance(spark_type, T.StructType):
        return pa.struct([pa.field(f.name, arrow_type(f.dataType)) for f in spark_type.fields])
    raise TypeError(f"no arrow type for {spark_type}")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate(root, date(2024, 11, 2), 2, scale=0.03, seed=3, defects=DefectRates.none())
    return root


def test_there_is_one_contract_per_landing_source():
    names = {path.stem for path in LANDING.glob("*.yaml")}
    assert names == set(SOURCES)
    for name in SOURCES:
        loaded = contract(name)
        assert loaded.layer == "landing" and loaded.name == name
        assert loaded.format in ("ndjson", "csv")
        assert loaded.keys, f"{name} declares the key later layers deduplicate on"
        assert all(f.classification in CLASSIFICATIONS for f in loaded.fields)
        assert all(f.description for f in loaded.fields)


def test_personal_identifiers_are_restricted_wherever_they_appear():
    for name in SOURCES:
        for field in contract(name).fields:
            if field.name in RESTRICTED:
                assert field.classification == "restricted", f"{name}.{field.name}"
            # pseudonymous keys (a random cookie or app-install id included: silver keeps it to
            # sessionise and attribute events) and a person's home postcode; a store's postcode is public
            if field.name in ("member_id", "userId", "anonymousId") or (name, field.name) == (
                "crm_members",
                "postal_code",
            ):
                assert field.classification == "confidential", f"{name}.{field.name}"


def as_generated(name: str) -> T.StructType:
    """The contract's schema with the one type the generator writes narrower than the contract
    accepts: web-account ids are text in the contract, and the sample shop writes JSON numbers."""
    schema = contract(name).spark_schema()
    if name != "orders":
        return schema
    customer = schema["customer"].dataType
    assert isinstance(customer["id"].dataType, T.StringType)
    fields = [T.StructField("id", T.LongType()) if f.name == "id" else f for f in customer.fields]
    return T.StructType(
        [
            T.StructField("customer", T.StructType(fields)) if f.name == "customer" else f
            for f in schema.fields
        ]
    )


@pytest.mark.parametrize("name", ["orders", "events"])
def test_ndjson_lines_parse_with_the_contract_schema_and_nothing_else(landing: Path, name: str):
    schema = arrow_type(as_generated(name))
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    for path in sorted((landing / name).glob("*/*")):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        table = pa_json.read_json(io.BytesIO(data), parse_options=options)
        assert table.num_rows == data.count(b"\n") > 0


@pytest.mark.parametrize("name", [s for s in SOURCES if s not in ("orders", "events")])
def test_csv_files_have_the_contract_header_and_types(landing: Path, name: str):
    declared = contract(name)
    # The sample's exports leave out the columns most exports lack (declared may_be_absent).
    written = [f for f in declared.fields if not f.may_be_absent]
    header = [f.source_name or f.name for f in written]
    delimiter = declared.options["delimiter"]
    for path in sorted((landing / name).glob("*/*.csv")):
        first_line = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert first_line.split(delimiter) == header
        table = pa_csv.read_csv(
            path,
            parse_options=pa_csv.ParseOptions(delimiter=delimiter),
            convert_options=pa_csv.ConvertOptions(
                column_types={(f.source_name or f.name): arrow_type(f.spark_type) for f in written},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        assert table.num_rows > 0
        for field in declared.required_fields:
            assert table.column(field.source_name or field.name).null_count == 0, f"{name}.{field.name}"
        for field in written:
            column = table.column(field.source_name or field.name).to_pylist()
            if field.allowed_values is not None:
                assert {v for v in column if v is not None} <= set(field.allowed_values), (
                    f"{name}.{field.name}"
                )
            if field.min is not None:
                assert min(v for v in column if v is not None) >= field.min, f"{name}.{field.name}"


def test_landing_formats_page_shows_every_contract_as_it_is():
    page = DOC_PATH.read_text(encoding="utf-8")
    assert all(f"<!-- fields:{name} -->" in page for name in SOURCES)
    assert render(page) == page, "run: uv run python -m omnilake.generate.docs"
