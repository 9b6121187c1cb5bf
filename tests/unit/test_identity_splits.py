"""Which edges a split cuts (jobs.silver.identity_splits.cut_pairs), on hand-written graphs."""

from __future__ import annotations

from jobs.silver.identity_splits import SplitSides, cut_pairs


def _splits(**sides: tuple[set[str], set[str]]) -> SplitSides:
    return SplitSides({i: {"apart": frozenset(a), "stays": frozenset(s)} for i, (a, s) in sides.items()})


def test_edges_across_the_two_sides_are_cut_and_edges_within_a_side_are_kept():
    splits = _splits(s1=({"w:202", "e:max"}, {"w:101", "e:jane", "e:family"}))
    edges = [("w:101", "e:jane"), ("w:101", "e:family"), ("e:family", "w:202"), ("e:max", "w:202")]
    assert cut_pairs(edges, splits) == {("e:family", "w:202")}


def test_a_new_identifier_touching_both_sides_loses_its_edges_to_the_side_that_left():
    splits = _splits(s1=({"w:202", "e:max"}, {"w:101", "e:family"}))
    # w:303 arrived later, seen with the family address (stays) and with Max's e-mail (apart)
    edges = [("e:family", "w:303"), ("e:max", "w:303"), ("e:new", "w:303")]
    assert cut_pairs(edges, splits) == {("w:303", "e:max"), ("e:max", "w:303")}


def test_a_new_identifier_touching_one_side_only_joins_it():
    splits = _splits(s1=({"w:202"}, {"w:101"}))
    assert cut_pairs([("e:max2", "w:202"), ("e:jane2", "w:101")], splits) == set()


def test_splits_apply_each_to_their_own_sides():
    splits = _splits(s1=({"a"}, {"b"}), s2=({"c"}, {"d"}))
    # a-d and b-c are not declared apart by either split
    assert cut_pairs([("a", "b"), ("c", "d"), ("a", "d"), ("b", "c")], splits) == {("a", "b"), ("c", "d")}
