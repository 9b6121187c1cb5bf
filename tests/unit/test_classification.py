"""Classification is enforced: the repository's contracts comply, and each rule catches its breach."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from omnilake.classification import (
    ClassificationError,
    enforce,
    identifier_stem,
    is_pseudonymised,
    violations,
)

pytestmark = pytest.mark.unit


def test_every_contract_and_gold_mart_complies_with_the_classification_rules():
    assert [str(v) for v in violations()] == []


def _schemas(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "schemas"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


LANDING = """
    name: signups
    layer: landing
    fields:
      - {name: email, type: string, classification: restricted}
      - {name: deviceId, type: string, classification: restricted}
      - {name: store_id, type: string, classification: public}
"""


def _rules(tmp_path: Path, silver_fields: str, dbt: Path | None = None) -> dict[str, str]:
    schemas = _schemas(
        tmp_path,
        {
            "landing/signups.yaml": LANDING,
            "silver/signups.yaml": "name: signups\nlayer: silver\nfields:\n"
            + textwrap.indent(textwrap.dedent(silver_fields), "  "),
        },
    )
    return {v.where: v.rule for v in violations(schemas, dbt)}


def test_a_field_without_a_classification_is_named(tmp_path):
    found = _rules(
        tmp_path, "- {name: store_id, type: string}\n- {name: tier, type: string, classification: secret}"
    )
    assert found == {"silver.signups.store_id": "unclassified", "silver.signups.tier": "unclassified"}


def test_restricted_data_never_reaches_silver(tmp_path):
    found = _rules(tmp_path, "- {name: store_id, type: string, classification: restricted}")
    assert found == {"silver.signups.store_id": "restricted_downstream"}


def test_a_direct_identifier_must_be_a_confidential_pseudonym_or_masked_form(tmp_path):
    found = _rules(
        tmp_path,
        """
        - {name: account_email, type: string, classification: confidential}
        - {name: phone_hash, type: string, classification: internal}
        - {name: shipping_address, type: string, classification: confidential}
        - {name: email_masked, type: string, classification: confidential}
        - {name: email_opt_in, type: boolean, classification: internal}
        - {name: product_name, type: string, classification: public}
        """,
    )
    assert found == {
        "silver.signups.account_email": "clear_identifier",
        "silver.signups.phone_hash": "identifier_underclassified",
        "silver.signups.shipping_address": "clear_identifier",
    }


def test_a_restricted_landing_field_carried_downstream_under_its_own_name_is_caught(tmp_path):
    found = _rules(
        tmp_path,
        """
        - {name: device_id, type: string, classification: confidential}
        - {name: device_id_hash, type: string, classification: confidential}
        """,
    )
    assert found == {"silver.signups.device_id": "restricted_lineage"}


def test_templates_are_checked_too(tmp_path):
    schemas = _schemas(
        tmp_path,
        {
            "bronze/_metadata.yaml": "name: _metadata\nlayer: bronze\nfields:\n  - {name: _raw, type: string}\n"
        },
    )
    assert [(v.where, v.rule) for v in violations(schemas, None)] == [
        ("schemas/bronze/_metadata.yaml: _raw", "unclassified")
    ]


def test_a_gold_mart_column_without_a_contract_is_named_both_ways(tmp_path):
    schemas = _schemas(
        tmp_path,
        {
            "gold/dim_thing.yaml": """
                name: dim_thing
                layer: gold
                fields:
                  - {name: thing_key, type: string, classification: internal}
                  - {name: retired, type: string, classification: internal}
            """
        },
    )
    dbt = tmp_path / "dbt"
    models = dbt / "models" / "marts" / "things"
    models.mkdir(parents=True)
    (models / "_things__models.yml").write_text(
        textwrap.dedent(
            """
            version: 2
            models:
              - name: dim_thing
                columns: [{name: thing_key}, {name: loyalty_card_hash}]
              - name: mart_secret
                columns: [{name: anything}]
            """
        ),
        encoding="utf-8",
    )
    found = {v.where: v.rule for v in violations(schemas, dbt)}
    assert found == {
        "gold.dim_thing.loyalty_card_hash": "gold_column_without_contract",
        "gold.dim_thing.retired": "gold_contract_column_missing",
        "gold.mart_secret": "gold_without_contract",
    }
    with pytest.raises(ClassificationError, match="3 classification breach"):
        enforce(schemas, dbt)


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("email", "email"),
        ("email_hash", "email"),
        ("customer_email_masked", "customer_email"),
        ("ip_hash", "ip"),
        ("ip_address", "ip_address"),
        ("first_name", "first_name"),
        ("loyalty_card_hash", "loyalty_card"),
        ("email_opt_in", None),
        ("shipping_city", None),
        ("product_name", None),
        ("event_name", None),
        ("zip", None),
    ],
)
def test_direct_identifiers_are_recognised_by_their_last_words(name, stem):
    assert identifier_stem(name) == stem


def test_pseudonyms_and_masks_are_recognised_by_their_suffix():
    assert is_pseudonymised("phone_hash") and is_pseudonymised("email_masked")
    assert not is_pseudonymised("phone")
