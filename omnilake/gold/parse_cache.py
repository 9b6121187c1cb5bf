"""One dbt parse for every lake of a machine, not one per lake.

dbt reuses its parse (``partial_parse.msgpack`` in the target directory) only when nothing it hashes
changed: its version, the CLI vars, the profile's connection keys and every project file. A lake's
target directory is its own (``<lake>/_ops/dbt/target``), so a new lake found no parse and paid a
full one (4-7 CPU-s). Nothing in the parse names a lake any more (``omnilake.publish`` runs dbt
from the build file's folder with relative paths; sources are relative to the lake root), so the
parse of one lake is valid for all: after a build, the lake's parse file is kept in a shared cache
under a key of what dbt hashes, and a lake whose own parse is not of that key starts from the
cached one. dbt checks the file as it would its own, so a stale or foreign file costs a parse,
never a wrong result.

The cache is ``$OMNILAKE_DBT_PARSE_CACHE``, else ``$XDG_CACHE_HOME/omnilake/dbt-parse`` (default
``~/.cache``); ``make bootstrap`` seeds it (``omnilake.publish.seed_parse_cache``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

PARSE_FILE = "partial_parse.msgpack"
KEY_FILE = "partial_parse.key"


def cache_dir() -> Path:
    """The shared folder of parse files."""
    configured = os.environ.get("OMNILAKE_DBT_PARSE_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "omnilake" / "dbt-parse"


def parse_key(code_version: str, profile_env: dict[str, str]) -> str:
    """What a parse depends on: the project and library versions (``unit_tests.code_version``)
    and the environment the profile renders (its connection keys are in dbt's hash)."""
    digest = hashlib.sha256(code_version.encode() + b"\0")
    for name in sorted(profile_env):
        digest.update(f"{name}={profile_env[name]}\0".encode())
    return digest.hexdigest()[:32]


def _lake_key(target: Path) -> str | None:
    try:
        return (target / KEY_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _copy_atomically(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f"{destination.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(destination)


def prime(target: Path, key: str) -> bool:
    """Before dbt runs: give the lake the cached parse of ``key`` unless its own is of that key.
    Returns whether it copied one."""
    if _lake_key(target) == key and (target / PARSE_FILE).exists():
        return False
    cached = cache_dir() / f"{key}.msgpack"
    if not cached.exists():
        return False
    try:
        _copy_atomically(cached, target / PARSE_FILE)
    except OSError as exc:
        log.debug("dbt parse cache not used: %s", exc)
        return False
    (target / KEY_FILE).unlink(missing_ok=True)  # the key is recorded once dbt has run on it
    log.info("dbt starts from the cached parse %s", key[:12])
    return True


def keep(target: Path, key: str) -> None:
    """After dbt succeeded: its parse file is of ``key``; cache it if the cache has none."""
    parsed = target / PARSE_FILE
    if not parsed.exists():
        return
    (target / KEY_FILE).write_text(key, encoding="utf-8")
    cached = cache_dir() / f"{key}.msgpack"
    if cached.exists():
        return
    try:
        _copy_atomically(parsed, cached)
    except OSError as exc:  # a read-only home: each lake parses once, as before
        log.debug("dbt parse not cached: %s", exc)
        return
    log.info("dbt parse cached as %s", key[:12])
