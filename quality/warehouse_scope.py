"""What a gold suite checks of a mart that accumulates history: the rows of the groups (landing
dates) written since the last passing gate, when every older group is as that gate saw it.

A mart of revisions known at each landing date (``known_at``) or of one observation per date gains
a group of rows per run while earlier groups stay as they were, so checking every row each run
costs more each day. One aggregate per group (its row count and the sum of its rows' hashes, a
single scan with no sort) says whether the groups up to the last one checked are exactly those the
last passing gate saw; if so only later groups (and rows with no group value) are checked, else
every row (a recompute, an erasure, a changed old revision, a first gate or changed checks).

Sound for row-level checks and for keys that include the group column (two rows with one key lie
in one group), and for a rule over groups of rows whose grouping includes the column. A mart whose
old rows change every run (``fct_sales_revisions`` closes ``known_to``) gains nothing from this.
Scopes are recorded in ``ops.gate_scopes`` like the Delta scopes of bronze and silver
(``quality.scope``): ``table_id`` holds the groups' digest, ``version`` the last group checked.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from quality.checks import quote_identifier as q
from quality.scope import rules_digest

if TYPE_CHECKING:
    from quality.checks import GateContext

log = logging.getLogger(__name__)

DIGEST_PREFIX = "groups:"

# group value -> (rows, sum of row hashes)
Groups = dict[date | None, tuple[int, int]]


@dataclass(frozen=True)
class GroupScope:
    """The rows of ``qualified_name`` a suite checks: every row (``since`` None) or those whose
    ``column`` is after the group ``since`` (a date ordinal) or null."""

    qualified_name: str
    column: str
    table_id: str
    version: int
    since: int | None = None

    @property
    def whole(self) -> bool:
        return self.since is None

    def condition(self) -> str | None:
        """The SQL condition selecting the rows in scope (None: every row)."""
        if self.since is None:
            return None
        after = date.fromordinal(self.since).isoformat()
        return f"({q(self.column)} is null or {q(self.column)} > date '{after}')"

    def describe(self) -> str:
        if self.since is None:
            return f"every row of {self.qualified_name}"
        return f"rows of {self.qualified_name} with {self.column} after {date.fromordinal(self.since)}"


def group_digests(ctx: GateContext, relation: str, column: str) -> Groups:
    """Rows and the sum of row hashes per value of ``column``, one scan (cached per gate)."""
    cache = ctx.scopes.group_digests
    if (relation, column) not in cache:
        rows = ctx.warehouse.execute(
            f"select {q(column)}, count(*), sum(hash(_row)) from {relation} as _row group by 1"
        ).fetchall()
        cache[(relation, column)] = {value: (int(n), int(total)) for value, n, total in rows}
    return cache[(relation, column)]


def digest(groups: Groups, upto: date | None, salt: str = "") -> str:
    """A digest of the groups with a value up to ``upto`` (none when ``upto`` is None) and of
    ``salt`` (a rule's query: a changed query checks every row again)."""
    kept = sorted(
        (g.isoformat(), n, total) for g, (n, total) in groups.items() if g is not None and upto and g <= upto
    )
    text = repr((salt, kept)).encode("utf-8")
    return DIGEST_PREFIX + hashlib.blake2b(text, digest_size=16).hexdigest()


def group_scope(
    ctx: GateContext, qualified_name: str, relation: str, column: str, salt: str = ""
) -> GroupScope:
    """What the current suite must check of ``relation``, recorded for ``ops.gate_scopes``."""
    suite = ctx.suite
    assert suite is not None, "a scope is asked for while a suite's data is read"
    groups = group_digests(ctx, relation, column)
    dated = [g for g in groups if g is not None]
    if any(not isinstance(g, date) for g in dated):
        raise TypeError(f"{qualified_name}.{column} groups a mart's history by date, found {dated[:1]}")
    latest = max(dated, default=None)
    scope = GroupScope(
        qualified_name, column, digest(groups, latest, salt), latest.toordinal() if latest else 0
    )
    prior = ctx.scopes.last_passed(suite.name, qualified_name)
    if (
        prior is not None
        and prior["rules"] == rules_digest(suite)
        and str(prior["table_id"]).startswith(DIGEST_PREFIX)
        and prior["version"] > 0
        and digest(groups, date.fromordinal(prior["version"]), salt) == prior["table_id"]
    ):
        scope = replace(scope, since=prior["version"])
    ctx.scopes.use(suite, scope)
    log.info("%s checks %s", suite.name, scope.describe())
    return scope


def scoped_relation(ctx: GateContext, qualified_name: str, relation: str, column: str, salt: str = "") -> str:
    """``relation``, or a subquery of the rows in scope, for a query's ``from``."""
    condition = group_scope(ctx, qualified_name, relation, column, salt).condition()
    return relation if condition is None else f"(select * from {relation} where {condition})"
