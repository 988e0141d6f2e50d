"""The integer codes the network and the model join, group and sort on (`network.Ids`, `joint`,
`lookup`, `match`, `first_rows`), checked against the pandas operations they stand for:
an inner merge in its row order, drop_duplicates, a sorted text order, a left lookup."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.network import Ids, first_rows, joint, lookup, match

keys = st.lists(st.integers(-1, 6), max_size=30).map(lambda k: np.array(k, np.int64))


@settings(max_examples=200, deadline=None)
@given(left=keys, right=keys)
def test_match_gives_the_rows_of_an_inner_merge_in_its_order(left, right):
    i, j = match(left, right)
    merged = pd.DataFrame({"k": left, "i": np.arange(len(left))}).merge(
        pd.DataFrame({"k": right, "j": np.arange(len(right))}), on="k")
    merged = merged[merged["k"] >= 0]  # -1 (a blank or unknown id) matches nothing
    assert i.tolist() == merged["i"].tolist()
    assert j.tolist() == merged["j"].tolist()


@settings(max_examples=200, deadline=None)
@given(found=keys, table=keys)
def test_lookup_finds_the_first_row_with_the_key(found, table):
    first = {}
    for row, key in enumerate(table.tolist()):
        if key >= 0:
            first.setdefault(key, row)
    assert lookup(found, table).tolist() == [first.get(k, -1) for k in found.tolist()]


@settings(max_examples=200, deadline=None)
@given(key=keys)
def test_first_rows_are_what_drop_duplicates_keeps(key):
    first, number = first_rows(key)
    kept = pd.Series(key).drop_duplicates()
    assert first.tolist() == kept.index.tolist()
    assert (key[first][number] == key).all()  # each row's number is its key's place in `first`


def test_ids_are_numbered_in_sorted_order_unless_an_order_is_given():
    ids = Ids(np.array(["b", None, "a"], dtype=object), pd.Series(["c", "a", np.nan]))
    assert ids.values.tolist() == ["a", "b", "c"]
    assert ids.encode(["c", None, "zz", "a"]).tolist() == [2, -1, -1, 0]
    assert ids.decode(np.array([1, -1])).tolist() == ["b", None]
    periods = Ids(order=["2027-Q2", "2027-Q1"])
    assert periods.encode(["2027-Q1"]).tolist() == [1]
    assert periods.ranks().tolist() == [1, 0]


def test_a_joint_key_is_unknown_when_any_of_its_codes_is():
    a, b = np.array([0, 1, -1, 2]), np.array([1, -1, 0, 2])
    assert joint((a, 3), (b, 3)).tolist() == [1, -1, -1, 8]
