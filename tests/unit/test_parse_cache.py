"""The dbt parse shared across lakes (omnilake.gold.parse_cache): a lake without a parse of the
current key starts from the cached one; a lake's parse of the key is kept, and cached once."""

from __future__ import annotations

from omnilake.gold import parse_cache
from omnilake.gold.parse_cache import KEY_FILE, PARSE_FILE


def test_the_first_lake_s_parse_is_cached_and_a_new_lake_starts_from_it(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNILAKE_DBT_PARSE_CACHE", str(tmp_path / "cache"))
    first, second = tmp_path / "one" / "target", tmp_path / "two" / "target"
    first.mkdir(parents=True)
    second.mkdir(parents=True)

    assert parse_cache.prime(first, "k1") is False  # nothing cached yet: dbt parses in full
    (first / PARSE_FILE).write_bytes(b"parse of k1")  # what dbt writes
    parse_cache.keep(first, "k1")
    assert (tmp_path / "cache" / "k1.msgpack").read_bytes() == b"parse of k1"

    assert parse_cache.prime(second, "k1") is True
    assert (second / PARSE_FILE).read_bytes() == b"parse of k1"
    (second / PARSE_FILE).write_bytes(b"parse of k1, rewritten by dbt")
    parse_cache.keep(second, "k1")
    # the lake's own parse of the key stands from then on, and the cached one is not replaced
    assert parse_cache.prime(second, "k1") is False
    assert (second / PARSE_FILE).read_bytes() == b"parse of k1, rewritten by dbt"
    assert (tmp_path / "cache" / "k1.msgpack").read_bytes() == b"parse of k1"


def test_a_lake_parsed_for_another_key_takes_the_cached_parse_of_the_new_one(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNILAKE_DBT_PARSE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "new.msgpack").write_bytes(b"parse of new")
    target = tmp_path / "lake" / "target"
    target.mkdir(parents=True)
    (target / PARSE_FILE).write_bytes(b"parse of old")
    (target / KEY_FILE).write_text("old")

    assert parse_cache.prime(target, "new") is True
    assert (target / PARSE_FILE).read_bytes() == b"parse of new"
    assert not (target / KEY_FILE).exists()  # recorded only after dbt ran on it

    assert parse_cache.prime(tmp_path / "lake" / "target", "absent") is False  # no cached parse: as is
    assert (target / PARSE_FILE).read_bytes() == b"parse of new"


def test_the_key_changes_with_the_code_and_with_the_profile_s_environment():
    base = parse_cache.parse_key("code1", {"OMNILAKE_DBT_MEMORY_LIMIT": "1GiB"})
    assert base == parse_cache.parse_key("code1", {"OMNILAKE_DBT_MEMORY_LIMIT": "1GiB"})
    assert base != parse_cache.parse_key("code2", {"OMNILAKE_DBT_MEMORY_LIMIT": "1GiB"})
    assert base != parse_cache.parse_key("code1", {"OMNILAKE_DBT_MEMORY_LIMIT": "2GiB"})
