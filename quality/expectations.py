"""Great Expectations' expectations, declared without importing Great Expectations.

    from quality import expectations as E
    E.ExpectColumnValuesToBeBetween(column="total", min_value=0)

Importing GE costs seconds of CPU, and a gate needs none of it: the backends compute every check
themselves (``quality.spark_backend``, ``quality.duckdb_backend``) and the results are written in
GE's own JSON format (``quality.ge_format``). GE is imported only to render Data Docs. These classes
carry what GE's do for that: the expectation type (GE's class name in snake case) and its
arguments; GE's own expectation objects are accepted wherever these are (``declared``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar


class Expectation:
    """An expectation as GE declares it: ``type`` (e.g. ``expect_column_values_to_be_between``) and
    ``kwargs``."""

    type: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    @property
    def configuration(self) -> Expectation:  # as GE's ``expectation.configuration.kwargs``
        return self

    @property
    def expectation_type(self) -> str:
        return self.type

    def __getattr__(self, name: str) -> Any:  # an argument as an attribute, as on GE's classes
        kwargs = self.__dict__.get("kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__} has no argument {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expectation) and (self.type, self.kwargs) == (other.type, other.kwargs)

    def __hash__(self) -> int:
        return hash((self.type, repr(sorted(self.kwargs.items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{type(self).__name__}({args})"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _declare(name: str) -> type[Expectation]:
    return type(name, (Expectation,), {"type": _snake(name), "__doc__": f"GE's ``{_snake(name)}``."})


ExpectColumnValuesToBeUnique = _declare("ExpectColumnValuesToBeUnique")
ExpectCompoundColumnsToBeUnique = _declare("ExpectCompoundColumnsToBeUnique")
ExpectColumnValuesToNotBeNull = _declare("ExpectColumnValuesToNotBeNull")
ExpectColumnValuesToBeInSet = _declare("ExpectColumnValuesToBeInSet")
ExpectColumnValuesToBeBetween = _declare("ExpectColumnValuesToBeBetween")
ExpectTableRowCountToBeBetween = _declare("ExpectTableRowCountToBeBetween")


def declared(expectation: Any) -> tuple[str, dict[str, Any]]:
    """``(type, kwargs)`` of one of these expectations or of a GE expectation object."""
    if isinstance(expectation, Expectation):
        return expectation.type, dict(expectation.kwargs)
    config = expectation.configuration  # a GE Expectation
    return config.type, {k: v for k, v in config.kwargs.items() if k != "batch_id"}


def __getattr__(name: str) -> type[Expectation]:
    """Any other of GE's expectation classes by name (a backend that does not compute its type
    reports the check as an error, never as passed)."""
    if name.startswith("Expect") and name.isidentifier():
        declared_class = _declare(name)
        globals()[name] = declared_class
        return declared_class
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
