"""Which suites may check only the rows written since their last passing gate."""

from quality import expectations as E
from quality.checks import Suite, fail, warn
from quality.scope import row_level, rules_digest


def _suite(*checks):
    return Suite("silver.t", checks, data=lambda ctx: None)


def test_row_level_checks_may_be_scoped_but_shares_and_table_counts_may_not():
    contract_like = _suite(
        fail("unique(k)", E.ExpectColumnValuesToBeUnique(column="k")),
        fail("not_null(k)", E.ExpectColumnValuesToNotBeNull(column="k")),
        warn("in_set(s)", E.ExpectColumnValuesToBeInSet(column="s", value_set=["a"])),
    )
    assert row_level(contract_like)
    # 90% of the new rows inside says nothing of 90% of the table.
    assert not row_level(
        _suite(fail("mostly", E.ExpectColumnValuesToBeBetween(column="v", min_value=0, mostly=0.9)))
    )
    assert not row_level(_suite(fail("rows", E.ExpectTableRowCountToBeBetween(min_value=1))))


def test_a_changed_rule_changes_the_digest_and_a_restated_one_does_not():
    base = _suite(fail("between(v)", E.ExpectColumnValuesToBeBetween(column="v", min_value=0)))
    same = _suite(fail("between(v)", E.ExpectColumnValuesToBeBetween(column="v", min_value=0)))
    tighter = _suite(fail("between(v)", E.ExpectColumnValuesToBeBetween(column="v", min_value=1)))
    warned = _suite(warn("between(v)", E.ExpectColumnValuesToBeBetween(column="v", min_value=0)))
    assert rules_digest(base) == rules_digest(same)
    assert len({rules_digest(base), rules_digest(tighter), rules_digest(warned)}) == 3
