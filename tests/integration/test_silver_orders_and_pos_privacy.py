"""Pseudonyms, normalisers and masks as Spark expressions, and no clear-text contact point in silver."""

import hashlib
import hmac
import re
from datetime import date
from decimal import Decimal

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.silver.run import transform
from omnilake import delta, privacy
from tests.integration.silver_bronze import deliver

pytestmark = pytest.mark.integration

MESSAGES = ["jane.doe@example.com", "+15551234567", "é ü 漢字", "", "x" * 200]
KEYS = ["k", "omnilake-development-key-NOT-FOR-PRODUCTION", "K" * 64, "long-" * 30]


def _column(spark, values, expression):
    frame = spark.createDataFrame([(v,) for v in values], "v string")
    return [r["out"] for r in frame.select(expression(F.col("v")).alias("out")).collect()]


@pytest.mark.parametrize("key", KEYS)
def test_spark_pseudonym_equals_python_hmac(spark, key):
    got = _column(spark, [*MESSAGES, None], lambda v: privacy.pseudonym(v, key))
    expected = [hmac.new(key.encode(), m.encode(), hashlib.sha256).hexdigest() for m in MESSAGES]
    assert got == [*expected, None]


def test_email_is_trimmed_and_lower_cased_but_keeps_dots_and_tags(spark):
    values = ["  Jane.Doe@Example.COM\t", "jane.doe+shop@example.com", "not-an-email", "", None]
    assert _column(spark, values, privacy.normalise_email) == [
        "jane.doe@example.com",
        "jane.doe+shop@example.com",
        None,
        None,
        None,
    ]


def test_us_phone_formats_normalise_to_one_e164_number(spark):
    written = [
        "(555) 123-4567",
        "555.123.4567",
        "5551234567",
        "+1 555 123 4567",
        "1-555-123-4567",
        "+1 (555) 123-4567",
    ]
    assert set(_column(spark, written, privacy.normalise_phone)) == {"+15551234567"}
    assert _column(
        spark, ["+44 20 7946 0958", "0044 20 7946 0958", "12345", None], privacy.normalise_phone
    ) == [
        "+442079460958",
        "+442079460958",
        None,
        None,
    ]


def test_masked_forms_show_enough_to_recognise_and_nothing_to_contact(spark):
    assert _column(spark, [" John.Smith@Example.com"], privacy.mask_email) == ["j***@example.com"]
    assert _column(spark, ["(555) 123-4567"], privacy.mask_phone) == ["+1******4567"]


def test_identifier_hash_is_the_pseudonym_of_the_normalised_identifier(spark):
    assert _column(
        spark, [" 6045 1234-5678 9012 "], lambda v: privacy.identifier_hash("loyalty_card", v)
    ) == [privacy.pseudonym_of("6045123456789012")]


# --- nothing personal reaches silver -------------------------------------------------------------

EMAIL, PHONE, CARD = "Jane.Doe@Example.com", "(555) 123-4567", "6045123456789012"
FIRST, LAST, STREET_ZIP = "Jane", "Doe", "02110"


def test_no_silver_string_column_holds_a_clear_text_identifier(spark, lake):
    day = date(2024, 3, 1)
    deliver(
        spark,
        lake,
        "stores",
        day,
        [{"store_id": "S001", "location_type": "store", "time_zone": "America/New_York"}],
    )
    deliver(
        spark,
        lake,
        "products",
        day,
        [{"sku": "SKU-1", "barcode": "2000000000017", "category": "A", "list_price": Decimal("1.00")}],
    )
    order = {
        "id": 1,
        "email": EMAIL,
        "phone": PHONE,
        "created_at": "2024-03-01T09:00:00-05:00",
        "updated_at": "2024-03-01T09:00:00-05:00",
        "currency": "USD",
        "financial_status": "paid",
        "total_price": Decimal("1.00"),
        "customer": {"id": "77", "email": EMAIL, "phone": PHONE, "first_name": FIRST, "last_name": LAST},
        "line_items": [
            {
                "id": 2,
                "sku": "SKU-1",
                "title": "t",
                "quantity": 1,
                "price": Decimal("1.00"),
                "total_discount": Decimal("0"),
            }
        ],
        "shipping_address": {
            "city": "Boston",
            "province_code": "MA",
            "zip": STREET_ZIP,
            "country_code": "US",
        },
    }
    deliver(spark, lake, "orders", day, [order])
    till = {
        "store_id": "S001",
        "register_id": "01",
        "transaction_id": "T1",
        "line_number": 1,
        "transaction_ts": "2024-03-01 10:00:00",
        "sku": "SKU-1",
        "quantity": 1,
        "unit_price": Decimal("1.00"),
        "loyalty_card": CARD,
        "void_flag": "N",
    }
    deliver(spark, lake, "pos", day, [till])
    transform(lake=lake)

    digits = re.sub(r"\D", "", PHONE)
    forbidden = [EMAIL.lower(), digits, CARD, FIRST.lower(), LAST.lower(), STREET_ZIP]
    scanned = 0
    for table in lake.tables("silver"):
        if not delta.exists(table):
            continue
        frame = delta.read(spark, table)
        strings = [f.name for f in frame.schema.fields if isinstance(f.dataType, T.StringType)]
        for row in frame.select(*strings).collect():
            for column, value in row.asDict().items():
                scanned += value is not None
                text = re.sub(r"[\s().-]", "", str(value or "")).lower()
                leaked = [f for f in forbidden if f in text]
                assert not leaked, f"{table}.{column} holds {leaked}: {value!r}"
    assert scanned > 20
