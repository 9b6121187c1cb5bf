"""The pseudonymisation key comes from the environment and never reaches a log, a repr or a file."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from omnilake import privacy
from omnilake.audit import audit_path, record_run
from omnilake.erasure import TextMatcher, request_hash
from omnilake.errors import ConfigError
from omnilake.lake import Lake
from omnilake.pipeline import RunContext, StepOutcome
from omnilake.settings import DEV_PSEUDONYM_KEY, LakeRoot, get_settings, reset_settings

pytestmark = pytest.mark.unit

KNOWN_KEY = "s3cr3t-known-key-for-the-log-test"


@pytest.fixture
def known_key(monkeypatch):
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", KNOWN_KEY)
    reset_settings()
    yield KNOWN_KEY
    reset_settings()


def _forms(key: str) -> list[str]:
    """The key and what it turns into on its way to the engine (the HMAC pads are as secret)."""
    inner, outer = privacy._padded_keys(key.encode())
    return [key, key.encode().hex(), inner, outer]


def test_the_key_is_read_from_the_environment(known_key):
    assert get_settings().pseudonym_key.get_secret_value() == known_key
    assert privacy.pseudonym_of("jane@example.com") == privacy.pseudonym_of("jane@example.com", known_key)
    assert privacy.pseudonym_of("jane@example.com") != privacy.pseudonym_of(
        "jane@example.com", DEV_PSEUDONYM_KEY
    )


def test_the_key_never_appears_in_logs_reprs_or_the_audit_trail(known_key, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("omnilake.test_secrets")
    settings = get_settings()
    log.info("settings: %s / %r / %s", settings, settings, settings.model_dump())
    log.info("settings json: %s", settings.model_dump_json())
    log.info("erasure request hash %s", request_hash("email", "jane@example.com"))
    TextMatcher({"email": {"jane@example.com"}})
    lake = Lake(LakeRoot(str(tmp_path / "lake")))
    record_run(
        RunContext("manual__secret", date(2026, 1, 5), lake),
        [StepOutcome("ingest_orders", date(2026, 1, 5), 0.5, {"records": 1})],
    )
    trail = audit_path(lake).read_text(encoding="utf-8")
    assert caplog.text
    for form in _forms(known_key):
        assert form not in caplog.text
        assert form not in trail


def test_production_refuses_the_development_key_and_takes_a_real_one(monkeypatch):
    monkeypatch.setenv("OMNILAKE_ENV", "prod")
    monkeypatch.delenv("OMNILAKE_PSEUDONYM_KEY", raising=False)
    reset_settings()
    try:
        with pytest.raises(ConfigError, match="OMNILAKE_PSEUDONYM_KEY") as refused:
            get_settings()
        assert DEV_PSEUDONYM_KEY not in str(refused.value)
        monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", KNOWN_KEY)
        reset_settings()
        assert get_settings().env == "prod"
    finally:
        reset_settings()
