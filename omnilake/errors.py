"""Errors a user or operator can cause. The CLI turns each into one line and a non-zero exit."""


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
