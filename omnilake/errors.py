"""Errors a user or operator can cause. The CLI turns each into one line and a non-zero exit."""

import contextlib
import re


class OmnilakeError(Exception):
    """Base of every error whose message tells the user what to do."""

    exit_code = 1


class ConfigError(OmnilakeError):
    """A setting is missing, malformed or unsafe for the environment."""


class ContractError(OmnilakeError):
    """A contract under schemas/ is malformed or missing."""


class SchemaMismatchError(OmnilakeError):
    """A DataFrame does not match the declared schema of the table it is written to."""


class EngineError(OmnilakeError):
    """The Spark engine could not be started or reached."""


class LandingError(OmnilakeError):
    """The landing zone is missing or unreadable."""


class QualityGateError(OmnilakeError):
    """A quality gate with severity 'fail' did not pass; downstream work must stop."""


class LakeLockedError(OmnilakeError):
    """Another process holds the lake's writer lock."""


def add_context(exc: BaseException, **where: object) -> None:
    """Remember where an unexpected error happened (``step``, ``source``, ``file``, ``run_id``) on the
    exception itself, so the CLI can name it. The innermost caller (who knows most) wins."""
    context = dict(getattr(exc, "omnilake_context", None) or {})
    for key, value in where.items():
        if value is not None:
            context.setdefault(key, value)
    # An exception type without a __dict__ has nowhere to keep it; the CLI then names less.
    with contextlib.suppress(AttributeError):
        exc.omnilake_context = context  # type: ignore[attr-defined]


# errno -> what to tell the operator about a failed write to the lake.
_STORAGE_ADVICE = {
    28: "the disk is full: free space (or point OMNILAKE_HOME at a larger disk) and run again",
    122: "the disk quota is exceeded: free space or raise the quota, and run again",
    30: "the file system is read-only: point OMNILAKE_HOME at a writable folder",
    13: "permission denied: give this user write access or point OMNILAKE_HOME elsewhere",
    1: "operation not permitted: give this user write access or point OMNILAKE_HOME elsewhere",
    20: "a file stands where a folder is expected: check OMNILAKE_HOME",
}
_STORAGE_TEXTS = {
    "no space left on device": 28,
    "disk quota exceeded": 122,
    "read-only file system": 30,
    "permission denied": 13,
    "not a directory": 20,
}


class StorageError(OmnilakeError):
    """The lake cannot be written: a full disk, a read-only file system, a missing permission, or a
    file where a folder is expected. Nothing the code can fix; the operator can."""

    @classmethod
    def from_failure(cls, exc: BaseException, doing: str = "", path: object = None) -> "StorageError | None":
        """A StorageError for a storage failure an operator can fix, or None for anything else.

        A local OSError carries its errno; an error from the engine (Sail and delta-rs write the
        table files) carries it only in its text, e.g. "No space left on device (os error 28)".
        """
        code = exc.errno if isinstance(exc, OSError) else None
        text = str(exc)
        if code is None:
            lowered = text.lower()
            code = next((c for phrase, c in _STORAGE_TEXTS.items() if phrase in lowered), None)
        if code is None and (match := re.search(r"\(os error (\d+)\)", text)):
            code = int(match.group(1))
        if code not in _STORAGE_ADVICE:
            return None
        where = getattr(exc, "filename", None) or path
        what = f"{doing}: " if doing else ""
        at = f" ({where})" if where else ""
        return cls(f"{what}cannot write to the lake{at}; {_STORAGE_ADVICE[code]}")
