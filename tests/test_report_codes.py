"""The integer codes the report groups, joins and sorts its tables on (`report._group_by`,
`_sums_at`, `_order`, `_concatenated`), checked against the pandas operations they stand
for: a group-by (its numbering and first rows), a group-by sum looked up at another table's
keys, a sort by several columns, and pd.concat's dtypes."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.report import _concatenated, _group_by, _order, _sums_at, _text

N = 25
ids = st.lists(st.sampled_from(["a", "b", "c", None]), min_size=N, max_size=N)
numbers = st.lists(st.sampled_from([0.0, -1.5, 2.0, 2.0, np.nan]), min_size=N, max_size=N)
counts = st.lists(st.integers(0, 3), min_size=N, max_size=N)


def _frame(a, b, c) -> pd.DataFrame:
    return pd.DataFrame({"a": pd.Series(a, dtype=object), "b": np.array(b),
                         "c": np.array(c, np.int64)})


@settings(max_examples=200, deadline=None)
@given(a=ids, b=numbers, c=counts, sort=st.booleans())
def test_groups_are_numbered_as_a_group_by_numbers_them(a, b, c, sort):
    frame = _frame(a, b, c)
    groups = _group_by(*(frame[k].to_numpy() for k in "abc"), sort=sort)
    by = frame.groupby(["a", "b", "c"], sort=sort)  # rows with a blank are in no group
    number = by.ngroup()
    assert groups.ids.tolist() == number.fillna(-1).astype(int).tolist()
    assert groups.rows.tolist() == [number[number == g].index[0] for g in range(by.ngroups)]


@settings(max_examples=200, deadline=None)
@given(a=ids, c=counts, at_a=ids, at_c=counts)
def test_sums_at_are_a_group_by_sum_looked_up_at_other_keys(a, c, at_a, at_c):
    values = np.arange(N, dtype=float)  # whole numbers: any order of adding is exact
    found = _sums_at(values, [np.array(a, dtype=object), np.array(c)],
                     [np.array(at_a, dtype=object), np.array(at_c)])
    sums = pd.DataFrame({"a": a, "c": c, "v": values}).groupby(["a", "c"])["v"].sum()
    sums = dict(zip(sums.index, sums.tolist()))
    assert found.tolist() == [sums.get((k, n), 0.0) for k, n in zip(at_a, at_c)]


@settings(max_examples=300, deadline=None)
@given(a=ids, b=numbers, c=counts, down=st.lists(st.booleans(), min_size=3, max_size=3),
       blanks_first=st.booleans())
def test_order_is_sort_values_by_several_columns(a, b, c, down, blanks_first):
    frame = _frame(a, b, c)
    order = _order(*(frame[k].to_numpy() for k in "abc"),
                   descending=tuple(i for i, d in enumerate(down) if d),
                   blanks_first=blanks_first)
    expected = frame.sort_values(["a", "b", "c"], ascending=[not d for d in down],
                                 na_position="first" if blanks_first else "last")
    assert order.tolist() == expected.index.tolist()


def test_concatenated_columns_are_typed_as_pd_concat_types_them():
    parts = [(2, {"rule": pd.Series(["r1", "r2"], dtype="str"), "type": "limit",
                  "member": pd.Series(["CN", None], dtype=object), "bound": np.array([0.5, 1]),
                  "stage": pd.Series(["supply", "delivery"], dtype="str")}),
             (1, {"rule": pd.Series(["r3"], dtype="str"), "type": "ban",
                  "bound": np.array([3.0])}),
             (1, {"rule": pd.Series(["floor X"], dtype=object), "type": "floor",
                  "member": np.array(["X"], dtype=object), "bound": np.array([2], object)})]
    columns = ["rule", "type", "stage", "member", "bound", "blank"]
    table, mixed = _concatenated(parts, columns)
    found = pd.DataFrame({c: _text(v) if c in mixed else v for c, v in table.items()})
    expected = pd.concat([pd.DataFrame(p, index=range(n)).reindex(columns=columns)
                          for n, p in parts], ignore_index=True)
    assert found.dtypes.astype(str).tolist() == expected.dtypes.astype(str).tolist()
    pd.testing.assert_frame_equal(found, expected)
    # The first two parts alone: text that every part gives as str stays str.
    table, mixed = _concatenated(parts[:2], columns)
    assert mixed == {"member", "stage"}
