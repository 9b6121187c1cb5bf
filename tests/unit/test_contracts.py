import pytest
from pyspark.sql import types as T

from omnilake.contracts import CLASSIFICATIONS, all_contracts, load_contract_file, parse_type
from omnilake.delta import schema_problems
from omnilake.errors import ContractError

pytestmark = pytest.mark.unit


def test_nested_ddl_types_parse_without_a_session():
    parsed = parse_type("array<struct<sku:string, quantity:int, price:decimal(12,2)>>")
    assert parsed == T.ArrayType(
        T.StructType(
            [
                T.StructField("sku", T.StringType()),
                T.StructField("quantity", T.IntegerType()),
                T.StructField("price", T.DecimalType(12, 2)),
            ]
        )
    )
    assert parse_type("map<string,long>") == T.MapType(T.StringType(), T.LongType())


def test_unknown_type_is_a_contract_error():
    with pytest.raises(ContractError, match="varchar2"):
        parse_type("varchar2")


def test_every_contract_loads_and_classifies_every_field():
    contracts = all_contracts()
    assert contracts, "schemas/ holds no contracts"
    unclassified = [
        f"{c.qualified_name}.{f.name}"
        for c in contracts.values()
        for f in c.fields
        if f.classification not in CLASSIFICATIONS
    ]
    assert unclassified == []


def test_key_that_is_not_a_field_is_refused(tmp_path):
    path = tmp_path / "silver" / "broken.yaml"
    path.parent.mkdir()
    path.write_text(
        "name: broken\nkeys: [id]\nfields:\n  - {name: other, type: string, classification: internal}\n"
    )
    with pytest.raises(ContractError, match="'id' is not a field"):
        load_contract_file(path)


DECLARED = T.StructType([T.StructField("id", T.LongType()), T.StructField("amount", T.DecimalType(12, 2))])


def test_extra_column_is_named():
    actual = T.StructType([*DECLARED.fields, T.StructField("coupon", T.StringType())])
    assert schema_problems(actual, DECLARED) == ["extra column 'coupon' (string) is not in the contract"]


def test_mistyped_column_is_named_with_both_types():
    actual = T.StructType([T.StructField("id", T.LongType()), T.StructField("amount", T.DoubleType())])
    assert schema_problems(actual, DECLARED) == ["column 'amount' is double, the contract says decimal(12,2)"]


def test_missing_column_is_named():
    actual = T.StructType([T.StructField("id", T.LongType())])
    assert schema_problems(actual, DECLARED) == ["missing column 'amount' (decimal(12,2))"]


def test_column_order_and_nullability_do_not_matter():
    actual = T.StructType(
        [T.StructField("amount", T.DecimalType(12, 2), False), T.StructField("id", T.LongType(), True)]
    )
    assert schema_problems(actual, DECLARED) == []
