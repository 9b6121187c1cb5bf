"""The pseudonymisation helpers that need no engine (the Column expressions are tested against a real
engine in tests/integration/test_silver_orders_and_pos_privacy.py)."""

import hashlib
import hmac

import pytest

from omnilake import privacy
from omnilake.settings import DEV_PSEUDONYM_KEY

pytestmark = pytest.mark.unit


def test_python_pseudonym_is_hmac_sha256_under_the_configured_key():
    expected = hmac.new(DEV_PSEUDONYM_KEY.encode(), b"jane.doe@example.com", hashlib.sha256).hexdigest()
    assert privacy.pseudonym_of("jane.doe@example.com") == expected


def test_padded_keys_follow_rfc_2104():
    inner, outer = privacy._padded_keys(b"key")
    assert bytes.fromhex(inner) == bytes([0x6B ^ 0x36, 0x65 ^ 0x36, 0x79 ^ 0x36]) + bytes([0x36]) * 61
    assert bytes.fromhex(outer)[:1] == bytes([0x6B ^ 0x5C]) and len(bytes.fromhex(outer)) == 64


def test_a_key_longer_than_a_block_is_hashed_first():
    long_key = b"k" * 100
    inner, _ = privacy._padded_keys(long_key)
    assert bytes.fromhex(inner)[:32] == bytes(b ^ 0x36 for b in hashlib.sha256(long_key).digest())


def test_unknown_identifier_type_is_refused():
    with pytest.raises(ValueError, match="unknown identifier type 'passport'"):
        privacy.normalise_identifier("passport", "x")
