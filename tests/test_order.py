"""`audit.canonical.stable_order`: Arrow's multi-key sort where it can, the same order as
pandas' stable sort (missing values last) on every kind of key column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.canonical import (
    compact,
    concat_coded,
    duplicated_hashed,
    duplicated_text,
    filled_text,
    in_order,
    plain,
    sorted_codes,
    sorted_distinct,
    sorted_frame,
    stable_order,
    text_hashes,
    text_isin,
)


def _frame(seed: int, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["RC-10", "RC-9", "rc-1", "Ä-2", "ä-1", "", "RC-100", "z", "😀", "RC-10 "])

    def holes(values: pd.Series, share: float = 0.1) -> pd.Series:
        return values.mask(rng.random(n) < share)

    times = pd.Series(pd.to_datetime("2026-01-01", utc=True)
                      + pd.to_timedelta(rng.integers(0, 50, n), unit="h"))
    return pd.DataFrame({
        "arrow": holes(pd.Series(rng.choice(words, n), dtype="string[pyarrow]")),
        "python": holes(pd.Series(rng.choice(words, n), dtype="string[python]")),
        "str": holes(pd.Series(rng.choice(words, n), dtype="str")),
        "time": holes(times),
        "float": holes(pd.Series(rng.integers(0, 5, n) / 2)),
        "int": pd.Series(rng.integers(-3, 3, n)),
        "nullable": holes(pd.Series(rng.integers(0, 4, n), dtype="Int64")),
        "object": pd.Series(rng.choice(words, n), dtype=object),
        "category": holes(pd.Series(pd.Categorical(rng.choice(["b", "a", "c"], n),
                                                   categories=["c", "a", "b"]))),
    }, index=rng.permutation(n) + 7)


KEYS = [["arrow", "time", "int"], ["python", "float"], ["str", "nullable", "time"],
        ["time", "arrow"], ["object", "int"], ["category", "arrow"], ["int"], ["float", "str"]]


@pytest.mark.parametrize("keys", KEYS, ids=["+".join(k) for k in KEYS])
@pytest.mark.parametrize("seed", [1, 2])
def test_stable_order_is_pandas_stable_sort(keys: list[str], seed: int) -> None:
    frame = _frame(seed)
    expected = frame[keys].reset_index(drop=True).sort_values(keys, kind="stable").index
    order = stable_order(frame, keys)
    assert order.dtype == np.int64
    assert order.tolist() == expected.tolist()


def test_sorted_frame_is_sort_values() -> None:
    frame = _frame(3)
    keys = ["arrow", "time", "int"]
    expected = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(sorted_frame([frame.copy()], keys), expected)


def test_tiny_frames() -> None:
    assert stable_order(_frame(1).iloc[:0], ["arrow"]).tolist() == []
    assert stable_order(_frame(1).iloc[:1], ["arrow"]).tolist() == [0]


def test_arrow_sorts_string_time_and_number_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast path is really taken for the canonical key columns (pandas' sort is not called),
    # categories included (sorted by their codes, as pandas sorts them); object columns go to
    # pandas.
    frame = _frame(4)
    calls: list[object] = []
    original = pd.DataFrame.sort_values

    def counting(self: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(pd.DataFrame, "sort_values", counting)
    for keys in (["arrow", "time", "int"], ["python", "float"], ["str", "nullable", "time"],
                 ["category", "arrow"]):
        stable_order(frame, keys)
    assert calls == []
    stable_order(frame, ["object"])
    assert len(calls) == 1


@pytest.mark.parametrize("dtype", ["string[pyarrow]", object])
def test_case_facts_take_a_sorted_log_as_it_is_ties_included(dtype: object) -> None:
    """CaseFacts orders events by case, time and event id. A log already in that order, two
    events of a case at the same time included, is used as it is (no sort, no copies); a
    tie whose ids are out of order is sorted, exactly as the full sort would."""
    from audit.policy import default_policy_path, load_policy
    from audit.rules.facts import CaseFacts

    policy = load_policy(default_policy_path())
    at = pd.to_datetime(["2026-01-01 09:00", "2026-01-01 09:00", "2026-01-01 10:00",
                         "2026-01-01 08:00", "2026-01-01 08:00"], utc=True)
    for ids, expected in ((["e1", "e2", "e3", "e4", "e5"], None),
                          (["e2", "e1", "e3", "e4", "e4"], [1, 0, 2, 3, 4]),
                          (["e1", "e2", "e3", "e5", "e4"], [0, 1, 2, 4, 3])):
        log = pd.DataFrame({"case:concept:name": pd.Series(["A", "A", "A", "B", "B"],
                                                           dtype=dtype),
                            "time:timestamp": at,
                            "event:id": pd.Series(ids, dtype=dtype),
                            "concept:name": "Approve refund"})
        facts = CaseFacts(log, policy, at[0])
        order, codes, cases = facts._order_and_codes
        assert (None if order is None else order.tolist()) == expected, ids
        assert codes.tolist() == [0, 0, 0, 1, 1] and list(cases) == ["A", "B"]
        full = stable_order(log, ["case:concept:name", "time:timestamp", "event:id"])
        assert full.tolist() == (expected or [0, 1, 2, 3, 4])


@pytest.mark.parametrize("dtype", ["string[pyarrow]", object])
def test_case_positions_in_the_order_asked_unknown_ones_left_out(dtype: object) -> None:
    """`CaseFacts.case_positions`: the positions of the asked cases among the sorted case
    ids, in the order asked, unknown ones left out, a case asked twice given twice; the
    same from the hash probe (Arrow ids, distinct asks) and the binary search (the rest)."""
    from audit.policy import default_policy_path, load_policy
    from audit.rules.facts import CaseFacts

    rng = np.random.default_rng(9)
    names = sorted({f"C{k:05d}" for k in rng.integers(0, 10**5, 400)} | {"Ä", "ä", "😀", ""})
    cases = rng.choice(names, 3000)
    log = pd.DataFrame({"case:concept:name": pd.Series(cases, dtype=dtype),
                        "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC"),
                        "event:id": pd.Series([f"e{k}" for k in range(3000)], dtype=dtype),
                        "concept:name": "Approve refund"})
    facts = CaseFacts(log, load_policy(default_policy_path()), pd.Timestamp("2026-02-01"))
    position = {str(c): k for k, c in enumerate(facts.case_ids)}
    assert list(position) == sorted(set(cases))
    asked_sets = [[*rng.permutation(names)[:50].tolist(), "nope", "C"],
                  ["ä", "Ä", "ä"],  # asked twice
                  [names[-1]], ["unknown"]]
    for asked in asked_sets:
        expected = [position[c] for c in asked if c in position]
        for kind in (pd.Index(asked, dtype=object), pd.Index(asked, dtype="string")):
            got = facts.case_positions(kind)
            assert got is not None and got.dtype == np.int64
            assert got.tolist() == expected, asked
    assert facts.case_positions(pd.Index([], dtype=object)) is None
    assert facts.case_positions(None) is None


@pytest.mark.parametrize("column", ["arrow", "python", "str", "object", "int", "float"])
def test_text_isin_is_isin_on_the_text_with_missing_values_never_in(column: str) -> None:
    frame = _frame(11)
    values = frame[column]
    wanted = ["RC-10", "ä-1", "", "1", "-1", "1.0", "1.5", "<NA>", "nan", "None", "😀"]
    expected = (values.notna() & values.astype(str).isin(wanted)).to_numpy(dtype=bool)
    assert expected.any() and not expected.all()
    for given in (wanted, pd.array(wanted, dtype="string"), pd.Index(wanted), iter(wanted)):
        assert np.array_equal(text_isin(values, given), expected)
    assert not text_isin(values, []).any()


@pytest.mark.parametrize("column", ["arrow", "python", "str", "category", "object"])
def test_filled_text_is_the_text_with_missing_values_filled(column: str) -> None:
    values = _frame(12)[column]
    for fill in ("", "<NA>", "a"):  # "a" is a category already
        got = filled_text(values, fill)
        assert got.astype("string").tolist() == values.astype("string").fillna(fill).tolist()
        if column == "category":
            assert isinstance(got.dtype, pd.CategoricalDtype)  # no text made


def test_compact_codes_text_columns_and_plain_gives_them_back() -> None:
    import audit.canonical as C

    frame = _frame(13)
    log = pd.DataFrame({C.ACTIVITY: frame["arrow"], C.RESOURCE: frame["object"],
                        C.ROLE: frame["int"], C.EVENT_ID: frame["python"]})
    before = log.copy()
    compact(log)
    assert isinstance(log[C.ACTIVITY].dtype, pd.CategoricalDtype)
    assert isinstance(log[C.RESOURCE].dtype, pd.CategoricalDtype)  # objects, all text
    assert log[C.ROLE].dtype == before[C.ROLE].dtype  # numbers are not coded
    assert log[C.EVENT_ID].dtype == before[C.EVENT_ID].dtype  # ids are not coded
    assert list(log[C.ACTIVITY].cat.categories) == sorted(log[C.ACTIVITY].dropna().unique())
    for name in (C.ACTIVITY, C.RESOURCE):
        assert log[name].astype("string").tolist() == before[name].astype("string").tolist()
        # sorted by the codes = sorted by the text
        assert np.array_equal(stable_order(log, [name]), stable_order(before.astype(
            {name: "string"}), [name]))
    back = plain(log)
    assert back[C.ACTIVITY].dtype == "string"
    assert back[C.ACTIVITY].tolist() == before[C.ACTIVITY].tolist()


def test_concat_coded_is_compact_of_the_concatenated_text() -> None:
    """Files coded one by one (in the import's workers) and concatenated give the codes and
    categories of the whole log coded at once: union of categories, sorted, none unused."""
    import audit.canonical as C

    parts = []
    for seed, n in ((21, 500), (22, 300), (23, 1)):
        frame = _frame(seed, n)
        parts.append(pd.DataFrame({C.ACTIVITY: frame["arrow"].str.slice(0, 3 + seed % 2),
                                   C.RESOURCE: frame["object"], C.EVENT_ID: frame["python"]}))
    parts[1][C.RESOURCE] = None  # all missing in one file
    for k in (0, 2):  # an evidence column only some files have (missing in the others)
        parts[k]["evidence:photo"] = parts[k][C.EVENT_ID].str.slice(0, 2 + k)
    whole = pd.concat([p.copy() for p in parts], ignore_index=True)
    compact(whole)
    for part in parts:
        compact(part)
    assert parts[0][C.ACTIVITY].cat.categories.tolist() != whole[C.ACTIVITY].cat.categories \
        .tolist()  # the files' own categories differ
    joined = concat_coded(parts)  # kept coded by the concat itself, not compacted again
    for name in (C.ACTIVITY, C.RESOURCE, "evidence:photo"):
        assert isinstance(joined[name].dtype, pd.CategoricalDtype)
        assert joined[name].cat.categories.tolist() == whole[name].cat.categories.tolist()
        assert np.array_equal(joined[name].cat.codes, whole[name].cat.codes)
    assert joined[C.EVENT_ID].astype("string").tolist() == \
        whole[C.EVENT_ID].astype("string").tolist()
    # a filter leaves categories no event has; compacting again drops them
    kept = joined[joined[C.ACTIVITY] != joined[C.ACTIVITY].dropna().iloc[0]].copy()
    compact(kept)
    assert kept[C.ACTIVITY].cat.categories.tolist() == sorted(kept[C.ACTIVITY].dropna().unique())


def test_concat_coded_released_frames_give_the_concat_of_each_column() -> None:
    """Column by column, each column dropped from the files once joined: every column (of
    every dtype, missing in some files, with an int in one file and floats in another)
    equals pandas' concat of the whole frames, dtype included; the files are left empty."""
    import audit.canonical as C

    parts = [_frame(31, 400), _frame(32, 1), _frame(33, 250)]
    parts[1] = parts[1].drop(columns=["time", "nullable"])  # missing there: NA in the concat
    parts[2]["int"] = parts[2]["int"] / 2  # int64 in two files, float64 in one
    parts[0]["evidence:photo"] = parts[0]["arrow"]
    parts[2]["evidence:receipt"] = parts[2]["python"]  # first in a later file: last column
    parts[1]["late"] = 1.5
    for part in parts:
        part[C.ACTIVITY] = part["python"]
        compact(part)
    expected = pd.concat([p.copy() for p in parts], ignore_index=True)
    kept = concat_coded([p.copy() for p in parts])
    joined = concat_coded(parts, release=True)
    assert parts == []  # handed over: the list is emptied, each column freed once joined
    assert list(joined.columns) == list(expected.columns) == list(kept.columns)
    assert list(expected.columns)[-2:] == ["late", "evidence:receipt"]
    for name in expected.columns:
        got, want = joined[name], expected[name]
        assert got.equals(kept[name]), name
        if isinstance(got.dtype, pd.CategoricalDtype):  # coded: as compact codes the text
            assert got.astype("string").equals(want.astype("string")), name
            continue
        assert got.dtype == want.dtype, name
        assert got.equals(want), name


@pytest.mark.parametrize("sizes", [(3, 200, 0), (120, 10), (40_000, 5, 30_000), (1, 1)])
def test_concat_coded_codes_across_code_widths(sizes: tuple[int, ...]) -> None:
    """Files whose categories need codes of different widths (int8 in one, int16 or int32 in
    another), overlapping in part, one with none: the joined codes are those of the whole
    log coded at once, in the integer type pandas itself gives them, and pandas' own check
    of the categories and codes passes."""
    import audit.canonical as C

    rng = np.random.default_rng(sum(sizes))
    parts = []
    for k, size in enumerate(sizes):
        names = [f"ID-{(k * size // 2 + j):06d}" for j in range(size)]  # some in earlier files
        values = rng.choice(names, 3 * size + 2) if names else np.array([None] * 4)
        parts.append(pd.DataFrame({"evidence:order": pd.Series(values, dtype="string")}))
    whole = pd.concat([p.copy() for p in parts], ignore_index=True)
    compact(whole)
    for part in parts:
        compact(part)
    joined = concat_coded(parts)["evidence:order"]
    want = whole["evidence:order"]
    assert joined.cat.categories.tolist() == want.cat.categories.tolist()
    assert joined.cat.codes.dtype == want.cat.codes.dtype
    assert np.array_equal(joined.cat.codes, want.cat.codes)
    checked = pd.Categorical.from_codes(joined.cat.codes, categories=list(
        joined.cat.categories))  # pandas' validation: distinct categories, codes in range
    assert checked.codes.dtype == joined.cat.codes.dtype
    assert C._code_dtype(len(joined.cat.categories)) == joined.cat.codes.dtype


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "string[python]", object])
def test_duplicated_text_is_pandas_duplicated(dtype: object) -> None:
    """Whether an earlier value equals this one, as pandas' duplicated(keep="first"): by a
    sort on Arrow strings without missing values, by pandas otherwise (missing values are
    duplicates of each other there)."""
    rng = np.random.default_rng(5)
    words = [f"zendesk:{k}:{k % 7}" for k in range(2000)] + ["", "Ä", "ä", "😀", "a\x00"]
    for n, holes in ((5000, 0.0), (5000, 0.05), (1, 0.0), (0, 0.0)):
        values = pd.Series(rng.choice(words, n), dtype=dtype)  # type: ignore[call-overload]
        values = values.mask(rng.random(n) < holes)
        got = duplicated_text(values)
        assert got.dtype == bool
        assert np.array_equal(got, values.duplicated(keep="first").to_numpy(dtype=bool))
    unique = pd.Series([f"e{k}" for k in range(100)], dtype="string[pyarrow]")
    assert not duplicated_text(unique).any()


def test_apply_roles_same_for_coded_and_text_resources() -> None:
    """Logins resolved to people and roles set by time alike whether the import coded the
    resource column or not; two logins of one person become one category."""
    import audit.canonical as C
    from audit.sources.roles import RoleHistory, apply_roles

    at = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-03-01", "2026-01-05"],
                        utc=True)
    log = pd.DataFrame({C.RESOURCE: pd.Series(["ann.l", "bob", "ann", None, "eve"],
                                              dtype="string"),
                        C.TIMESTAMP: at,
                        C.ROLE: pd.Series([None, "auditor", None, None, None], dtype="string")})
    periods = pd.DataFrame({"person": ["ann", "ann", "bob"], "role": ["agent", "lead", "lead"],
                            "valid_from": pd.to_datetime(["2025-01-01", "2026-02-15",
                                                          "2025-01-01"], utc=True),
                            "valid_to": pd.to_datetime(["2026-02-15", None, None], utc=True)})
    history = RoleHistory(periods, {"ann.l": "ann"}, "roles.csv")
    coded = log.copy()
    compact(coded)
    expected_people = ["ann", "bob", "ann", None, "eve"]
    expected_roles = ["agent", "auditor", "lead", None, None]  # a stated role is kept
    for given in (log, coded):
        out, notes = apply_roles(given, history)
        people = out[C.RESOURCE]
        assert [None if pd.isna(v) else v for v in people.astype(object)] == expected_people
        assert [None if pd.isna(v) else v for v in out[C.ROLE].astype(object)] == expected_roles
        assert isinstance(people.dtype, pd.CategoricalDtype)
        assert people.cat.categories.tolist() == ["ann", "bob", "eve"]
        assert isinstance(out[C.ROLE].dtype, pd.CategoricalDtype)
        assert notes[0] == "roles.csv: roles set on 2 events"
        assert notes[1].startswith("roles.csv: 1 event by 1 resource(s) without a role")
        assert notes[2] == ("roles.csv: 1 event states a role other than the role history's "
                            "at that time, and keeps the log's (e.g. by bob: 'auditor' in the "
                            "log, 'lead' in the history)")


def test_apply_roles_periods_are_half_open_and_later_ones_win() -> None:
    """A period holds from valid_from (inclusive) to valid_to (exclusive, open where
    missing), to the nanosecond; where two overlap the later one wins, and a later period
    without a role clears the earlier's."""
    import audit.canonical as C
    from audit.sources.roles import RoleHistory, apply_roles

    times = ["2026-01-31T23:59:59.999999999Z", "2026-02-01T00:00:00Z",
             "2026-02-28T23:59:59.999999999Z", "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z",
             "2026-04-01T00:00:00Z", "2030-01-01T00:00:00Z", "2026-02-10T00:00:00Z"]
    log = pd.DataFrame({C.RESOURCE: pd.Series(["ann"] * 7 + ["bob"], dtype="string"),
                        C.TIMESTAMP: pd.to_datetime(times, utc=True, format="ISO8601")})
    periods = pd.DataFrame({
        "person": ["ann", "ann", "ann", "ann", "bob"],
        "role": ["agent", "lead", "auditor", None, "lead"],
        "valid_from": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-03-05", "2026-03-31",
                                      "2026-02-10"], utc=True),
        "valid_to": pd.to_datetime(["2026-03-01", None, "2026-03-20", "2026-04-02",
                                    "2026-02-10T00:00:00.000000001"], utc=True,
                                   format="ISO8601")})
    out, _ = apply_roles(log, RoleHistory(periods, {}, "roles.csv"))
    roles = [None if pd.isna(v) else v for v in out[C.ROLE].astype(object)]
    assert roles == [None, "agent", "agent", "lead", "auditor", None, "lead", "lead"]


def test_apply_roles_periods_given_again_keep_their_last_place() -> None:
    """A role history read in pages repeats its periods (`apply_roles` applies each
    repeated period once, at its last place): a period given again after a later one
    wins over that one again, as each period in file order would; a copy before it does
    not. The roles are those of the periods applied one by one in file order."""
    import audit.canonical as C
    from audit.sources.roles import RoleHistory, apply_roles

    times = ["2026-02-05T00:00:00Z", "2026-03-05T00:00:00Z", "2026-04-05T00:00:00Z"]
    log = pd.DataFrame({C.RESOURCE: pd.Series(["ann", "ann", "ann"], dtype="string"),
                        C.TIMESTAMP: pd.to_datetime(times, utc=True)})

    def roles_of(rows: list[tuple[str | None, str, str | None]]) -> list[str | None]:
        periods = pd.DataFrame({
            "person": ["ann"] * len(rows), "role": [r for r, _, _ in rows],
            "valid_from": pd.to_datetime([f for _, f, _ in rows], utc=True),
            "valid_to": pd.to_datetime([t for _, _, t in rows], utc=True)})
        out, _ = apply_roles(log, RoleHistory(periods, {}, "roles.csv"))
        return [None if pd.isna(v) else v for v in out[C.ROLE].astype(object)]

    agent = ("agent", "2026-02-01", None)
    lead = ("lead", "2026-03-01", "2026-04-01")
    cleared = (None, "2026-01-01", "2026-03-01")
    assert roles_of([agent, lead]) == ["agent", "lead", "agent"]
    assert roles_of([agent, lead, agent]) == ["agent", "agent", "agent"]  # the copy wins
    assert roles_of([lead, agent, lead, agent, lead]) == ["agent", "lead", "agent"]
    assert roles_of([agent, cleared, agent]) == ["agent", "agent", "agent"]
    assert roles_of([cleared, agent, cleared]) == [None, "agent", "agent"]
    assert roles_of([agent, lead] * 10) == ["agent", "lead", "agent"]


@pytest.mark.parametrize("dtype", ["string[pyarrow]", object])
def test_sorted_codes_are_factorize_sorted(dtype: object) -> None:
    """`sorted_codes` (EV005's charge codes): ranks among the distinct ids, in their sorted
    order, as pd.factorize(sort=True) gives them (by a sort on Arrow strings, pandas
    otherwise)."""

    rng = np.random.default_rng(4)
    words = [f"ch_{k:04d}" for k in range(300)] + ["", "Ä", "ä", "😀", "ch_10 "]
    for n in (2000, 2, 1, 0):
        values = pd.Series(rng.choice(words, n), dtype=dtype).array  # type: ignore[call-overload]
        codes, uniques = sorted_codes(values)
        want_codes, want_uniques = pd.factorize(pd.Series(values), sort=True)
        assert codes.tolist() == want_codes.tolist()
        assert [str(u) for u in uniques] == [str(u) for u in want_uniques]
        assert [str(u) for u in uniques] == sorted(set(values))


def test_case_facts_table_shares_cached_columns_but_writes_stay_in_the_table() -> None:
    """`CaseFacts.table` hands out the cached per-case columns without copying them; a rule
    writing into its table (in place, by label or position) changes its table only."""
    from audit.policy import default_policy_path, load_policy
    from audit.rules.facts import CaseFacts

    at = pd.to_datetime(["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-03 08:00"], utc=True)
    log = pd.DataFrame({"case:concept:name": pd.Series(["A", "A", "B"], dtype="string"),
                        "time:timestamp": at,
                        "event:id": pd.Series(["e1", "e2", "e3"], dtype="string"),
                        "concept:name": ["Receive refund request", "Execute payout",
                                         "Receive refund request"]})
    facts = CaseFacts(log, load_policy(default_policy_path()), at[-1])
    cached = facts.col("request_eid").copy()
    table = facts.table("request_eid", "request_time")
    assert np.shares_memory(table["request_time"].array.asi8,
                            facts.col("request_time").array.asi8)  # not copied
    table.loc["A", "request_eid"] = "changed"
    table.iloc[1, 1] = pd.NaT
    table["request_eid"] = table["request_eid"].str.upper()
    assert facts.col("request_eid").equals(cached)
    assert facts.col("request_time").notna().all()
    assert facts.table("request_eid")["request_eid"].tolist() == ["e1", "e3"]


def test_in_order_is_true_exactly_where_the_stable_sort_keeps_the_rows() -> None:
    """On many small frames with many ties (text, times, numbers, categories), in_order says
    whether stable_order is the identity; missing values and object columns: False."""
    rng = np.random.default_rng(5)
    seen = {True: 0, False: 0}
    for trial in range(400):
        n = int(rng.integers(2, 9))
        frame = pd.DataFrame({
            "case": pd.Series(rng.choice(["a", "b", "ä", "B", "10", "9"], n), dtype="string"),
            "time": pd.to_datetime(rng.integers(0, 3, n), unit="s", utc=True),
            "row": rng.integers(0, 3, n),
            "label": pd.Categorical(rng.choice(["x", "y"], n), categories=["y", "x"]),
        })
        keys = [["case"], ["case", "time"], ["case", "time", "row"], ["label", "case"],
                ["time", "label", "row"]][trial % 5]
        if trial % 2:  # sorted half of the time, so that both answers are tried
            frame = frame.take(stable_order(frame, keys)).reset_index(drop=True)
        expected = bool((stable_order(frame, keys) == np.arange(n)).all())
        assert in_order(frame, keys) == expected, (frame, keys)
        seen[expected] += 1
    assert min(seen.values()) > 50
    frame = pd.DataFrame({"case": pd.Series(["a", None, "b"], dtype="string")})
    assert not in_order(frame, ["case"])
    assert not in_order(pd.DataFrame({"case": ["a", "b"]}, dtype=object), ["case"])
    assert in_order(frame.iloc[:1], ["case"])


def test_ids_in_runs_are_coded_as_every_id_coded_one_by_one() -> None:
    """A column of runs of equal ids (a case's ticket and order, the missing payout ids
    between payouts) is coded by hashing each run's first id only: the categories (sorted by
    code point) and the codes are those of coding every id, missing ids -1, and so are
    those of a column without runs."""
    import audit.canonical as C

    rng = np.random.default_rng(5)
    words = ["RC-10", "RC-9", "rc-1", "Ä-2", "ä-1", "", "z", "😀", "RC-10 ", None]
    for trial in range(40):
        size = int(rng.integers(1, 300))
        lengths = np.ones(size, dtype=int) if trial % 4 == 0 else rng.integers(1, 8, size)
        firsts = [words[int(rng.integers(len(words)))] for _ in range(size)]
        flat = [v for v, n in zip(firsts, lengths, strict=True) for _ in range(int(n))]
        frame = pd.DataFrame({C.TICKET_ID: pd.Series(flat, dtype="string")})
        C.compact_ids(frame)
        coded = frame[C.TICKET_ID].array
        assert isinstance(coded, pd.Categorical)
        distinct = sorted({v for v in flat if v is not None})
        expected = pd.Categorical(flat, categories=distinct)
        assert list(coded.categories) == distinct
        assert np.array_equal(coded.codes, expected.codes), trial
        assert coded.codes.dtype == expected.codes.dtype


def test_compact_ids_hold_the_same_ids_in_the_same_order_without_a_string_per_event() -> None:
    """The check's repeated ids as categories (`compact_ids`): sorted runs (a log's case
    ids) and scattered ids with gaps read back as the same texts, sort and group as the
    texts, and keep no hash table of the ids."""
    import audit.canonical as C

    rng = np.random.default_rng(21)
    words = ["RC-10", "RC-9", "rc-1", "Ä-2", "ä-1", "", "RC-100", "z", "😀", "RC-10 "]
    n = 4000
    text = pd.DataFrame({
        C.CASE: pd.Series(sorted(rng.choice(words, n)), dtype="string"),
        C.ORDER_ID: pd.Series(rng.choice(words, n), dtype="string").mask(rng.random(n) < .2),
        C.CHARGE_ID: pd.Series(rng.choice(words, n), dtype=object),
        C.REFUND_ID: pd.Series([None] * n, dtype="string"),
        C.EVENT_ID: pd.Series([f"e{k}" for k in range(n)], dtype="string"),
        "time": pd.Series(pd.Timestamp("2026-01-01", tz="UTC")
                          + pd.to_timedelta(rng.integers(0, 9, n), unit="h")),
    })
    log = text.copy()
    C.compact_ids(log)
    assert log[C.EVENT_ID].dtype == text[C.EVENT_ID].dtype  # unique: not coded
    for name in (C.CASE, C.ORDER_ID, C.CHARGE_ID, C.REFUND_ID):
        coded = log[name]
        assert isinstance(coded.dtype, pd.CategoricalDtype), name
        assert coded.astype("string").tolist() == text[name].astype("string").tolist()
        as_string = C.category_text(coded)  # in Arrow: the same values and dtype
        assert as_string.equals(coded.astype("string"))
        assert pd.Series(C.category_text(coded.array)).equals(
            pd.Series(coded.array.astype("string")))
        assert C.ascending_text(coded.cat.categories)
        # pandas keeps an index's hash table in its private cache: if that moves, this
        # memory hint stops working, and this says so.
        cache = getattr(coded.cat.categories, "_cache", None)
        assert isinstance(cache, dict) and "_engine" not in cache
        for keys in ([name], [name, "time"], ["time", name]):
            as_text = text.astype({name: "string"})
            assert np.array_equal(stable_order(log, keys), stable_order(as_text, keys))
            assert in_order(log, keys) == in_order(as_text, keys)
        key = C.order_key(coded)  # codes: same order, same neighbours, same gaps
        assert key.isna().tolist() == coded.isna().tolist()
        assert np.array_equal(stable_order(pd.DataFrame({"k": key}), ["k"]),
                              stable_order(as_text, [name]))
        wanted = ["RC-10", "ä-1", "", "nope"]
        assert np.array_equal(C.text_isin(coded, wanted), C.text_isin(text[name], wanted))
    assert in_order(log, [C.CASE])
    # A column coded elsewhere (a Parquet dictionary column) in another order is recoded.
    elsewhere = pd.DataFrame({C.CASE: pd.Categorical(["b", "a", "b", None],
                                                     categories=["b", "a", "c"])})
    C.compact_ids(elsewhere)
    assert list(elsewhere[C.CASE].cat.categories) == ["a", "b"]
    assert elsewhere[C.CASE].astype("string").tolist() == ["b", "a", "b", pd.NA]
    # Categories not in text order (made elsewhere): compared as text, not by code.
    unsorted = pd.Series(pd.Categorical(["b", "a", "b"], categories=["b", "a"]))
    assert C.order_key(unsorted).tolist() == ["b", "a", "b"]
    numbers = pd.Series(pd.Categorical([1, 2, None, 1]))
    assert C.text_isin(numbers, ["1"]).tolist() == [True, False, False, True]


def test_coded_ids_give_the_same_case_facts_conformance_and_findings() -> None:
    """The bundled sample checked with its ids as text and as categories: the same sorted
    cases, per-case conformance and findings."""
    from datetime import UTC, datetime
    from pathlib import Path

    import audit.canonical as C
    from audit.policy import default_policy_path, load_policy
    from audit.rules import default_rules
    from audit.rules.engine import run_rules
    from audit.rules.facts import CaseFacts
    from audit.sources.pipeline import import_and_correlate

    exports = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"
    text = import_and_correlate([(p, None) for p in sorted(exports.iterdir())]).log
    coded = text.copy()
    C.compact_ids(coded)
    assert all(isinstance(coded[c].dtype, pd.CategoricalDtype) for c in C.REPEATED_IDS)
    policy = load_policy(default_policy_path())
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    facts = [CaseFacts(log, policy, as_of) for log in (text, coded)]
    (order, codes, cases), (order2, codes2, cases2) = (f._order_and_codes for f in facts)
    assert order2 is None and order is None  # both taken as sorted, no sort made
    assert codes.tolist() == codes2.tolist() and cases.equals(cases2)
    assert cases2.dtype == "string"
    for name in ("request_order", "request_charge", "purchase_charge", "payout_charge"):
        first, second = (f.col(name) for f in facts)
        assert first.notna().any() and first.dtype == second.dtype, name
        assert first.tolist() == second.tolist(), name
    conformance = [f.conformance for f in facts]
    assert len(conformance[0].cases) > 20
    assert conformance[0].cases == conformance[1].cases  # ids, variants, alignments

    def found(log: pd.DataFrame) -> list[tuple[object, ...]]:
        result = run_rules(log, policy, default_rules(), as_of=as_of)
        return sorted((f.rule, str(f.case_id), f.message, tuple(f.event_ids))
                      for f in result.findings)

    expected = found(text)
    assert len(expected) > 20
    assert found(coded) == expected


def test_own_categories_keep_only_the_texts_a_part_holds() -> None:
    """A part cut from a coded log (as the Dask engine ships it) keeps only its own ids as
    categories, still sorted, with the same values."""
    import audit.canonical as C

    rng = np.random.default_rng(5)
    log = pd.DataFrame({C.CASE: pd.Series(sorted(f"C{k:04d}" for k in rng.integers(0, 900, 3000)),
                                          dtype="string"),
                        C.ORDER_ID: pd.Series(rng.choice(["O1", "O2", None, "Ä"], 3000),
                                              dtype="string"),
                        "n": np.arange(3000)})
    C.compact_ids(log)
    part = log[log["n"] % 7 == 0].copy()
    before = part.astype({C.CASE: "string", C.ORDER_ID: "string"})
    C.own_categories(part)
    for name in (C.CASE, C.ORDER_ID):
        assert part[name].astype("string").tolist() == before[name].tolist()
        assert list(part[name].cat.categories) == sorted(before[name].dropna().unique())
        assert part[name].index.equals(before.index)
    assert part["n"].tolist() == before["n"].tolist()


def test_duplicated_hashed_is_duplicated_text_whatever_the_collisions() -> None:
    """Repeated ids found from the workers' hashes: the same mask as the sort of the texts,
    with the real hashes, with many collisions (hashes folded to three values) and with all
    values colliding; the texts in one series or in several (the files, before the join)."""
    rng = np.random.default_rng(11)
    words = [f"zendesk:{k}:{k % 7}" for k in range(3000)] + ["", "Ä", "ä", "😀", "a\x00"]
    for n in (0, 1, 2, 5000):
        values = pd.Series(rng.choice(words, n), dtype="string[pyarrow]")
        want = values.duplicated(keep="first").to_numpy(dtype=bool)
        hashes = text_hashes(values)
        assert hashes is not None and hashes.dtype == np.uint64 and len(hashes) == n
        cut = sorted(rng.integers(0, n + 1, 2).tolist())  # the files' ids, one after another
        files = [values.iloc[:cut[0]], values.iloc[cut[0]:cut[1]], values.iloc[cut[1]:]]
        for folded in (hashes, hashes % np.uint64(3), np.zeros(n, dtype=np.uint64)):
            assert np.array_equal(duplicated_hashed(folded, values), want)
            assert np.array_equal(duplicated_hashed(folded, files), want)
    with pytest.raises(ValueError, match="hashes for"):
        duplicated_hashed(np.zeros(2, dtype=np.uint64), pd.Series(["a"], dtype="string"))


def test_text_hashes_are_the_same_in_another_interpreter() -> None:
    """The reading workers and the main process must hash a text alike: pandas' fixed key,
    not Python's per-process hash."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    values = pd.Series(["zendesk:1:2", "stripe:re_1", "Ä😀", ""], dtype="string[pyarrow]")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(text_hashes, values).result()
    assert there is not None and np.array_equal(there, text_hashes(values))
    assert len(set(there.tolist())) == 4


def test_text_hashes_only_of_text_without_missing_values() -> None:
    assert text_hashes(pd.Series(["a", None], dtype="string[pyarrow]")) is None
    assert text_hashes(pd.Series([1, 2])) is None
    assert text_hashes(pd.Series(["a", "\ud800"], dtype="string[python]")) is None


def test_compact_ids_in_two_threads_code_as_one_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """From COMPACT_IN_TWO_FROM rows the id columns are coded two at a time, in threads:
    the same categories and codes as one after another, each column put back in place."""
    import threading

    import audit.canonical as C

    rng = np.random.default_rng(8)
    words = ["RC-10", "RC-9", "rc-1", "Ä-2", "ä-1", "", "z", "😀", "RC-10 "]
    n = 3000
    text = pd.DataFrame({
        C.CASE: pd.Series(sorted(rng.choice(words, n)), dtype="string"),
        C.TICKET_ID: pd.Series(rng.choice(words, n), dtype="string"),
        C.ORDER_ID: pd.Series(rng.choice(words, n), dtype="string").mask(rng.random(n) < .2),
        C.CHARGE_ID: pd.Series(rng.choice(words, n), dtype=object),
        C.REFUND_ID: pd.Series([None] * n, dtype="string"),
        "other": pd.Series(rng.choice(words, n), dtype="string"),
    })
    one = text.copy()
    monkeypatch.setattr(C, "COMPACT_IN_TWO_FROM", n + 1)
    C.compact_ids(one)
    threads: list[str] = []
    coded = C._coded

    def spy(values: pd.Series) -> object:
        threads.append(threading.current_thread().name)
        return coded(values)

    monkeypatch.setattr(C, "_coded", spy)
    monkeypatch.setattr(C, "COMPACT_IN_TWO_FROM", n)
    two = text.copy()
    C.compact_ids(two)
    assert len(threads) == 5 and all(t.startswith("compact_ids") for t in threads)
    assert list(two.columns) == list(text.columns)
    for name in text.columns:
        assert two[name].dtype == one[name].dtype, name
        assert two[name].astype("string").tolist() == text[name].astype("string").tolist()
        if isinstance(one[name].dtype, pd.CategoricalDtype):
            assert np.array_equal(two[name].cat.codes, one[name].cat.codes), name
            assert list(two[name].cat.categories) == list(one[name].cat.categories), name
    assert two["other"].dtype == text["other"].dtype  # not an id column: left as it is


@pytest.mark.parametrize("threaded", [False, True])
def test_taken_each_takes_every_array_as_pandas_does(monkeypatch: pytest.MonkeyPatch,
                                                     threaded: bool) -> None:
    """Each array taken at its own positions, by name in the given order, whether one at a
    time or two at a time in threads (from IN_TWO_FROM positions); the arrays are
    given up as they are taken."""
    import threading

    import audit.canonical as C

    rng = np.random.default_rng(9)
    n = 500
    frame = pd.DataFrame({
        "text": pd.Series(rng.choice(["a", "Ä", "😀", ""], n), dtype="string")
        .mask(rng.random(n) < .1),
        "coded": pd.Categorical(rng.choice(["x", "y", None], n)),
        "time": pd.Series(pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC")),
        "amount": pd.Series(rng.random(n)).mask(rng.random(n) < .1),
        "row": np.arange(n, dtype=np.int64),
        "object": pd.Series(rng.choice(["p", "q"], n), dtype=object),
    })
    positions = {name: rng.integers(0, n, rng.integers(0, 2 * n)) for name in frame.columns}
    positions["row"] = np.arange(n)[::-1]
    arrays = {name: (frame[name].array, positions[name]) for name in frame.columns}
    monkeypatch.setattr(C, "IN_TWO_FROM", 1 if threaded else 10 * n)
    got = []
    for name, values in C.taken_each(arrays):
        assert name not in arrays  # given up once its take has started
        got.append(name)
        expected = frame[name].array.take(positions[name])
        assert values.dtype == expected.dtype, name
        assert pd.Series(values).equals(pd.Series(expected)), name
    assert got == list(frame.columns) and arrays == {}
    # Where the takes ran: numpy arrays whose take notes its thread.
    seen: list[str] = []
    original = np.ndarray.take

    class Spy(np.ndarray):
        def take(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            seen.append(threading.current_thread().name)
            return original(np.asarray(self), *args, **kwargs)  # type: ignore[call-overload]

    spied = {"a": (np.arange(n).view(Spy), positions["row"]),
             "b": (np.arange(n).view(Spy), positions["row"])}
    assert [list(v) for _, v in C.taken_each(spied)] == [list(range(n))[::-1]] * 2
    assert len(seen) == 2
    assert all(name.startswith("in_two_") for name in seen) is threaded  # not text: light
    seen.clear()
    spied = {"a": (np.arange(n).view(Spy), positions["row"])}
    assert [list(v) for _, v in C.taken_each(spied, in_threads=False)] == [list(range(n))[::-1]]
    assert seen == ["MainThread"]


def test_in_two_stops_the_work_not_started_when_one_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A piece of work that fails raises here; the work queued after it is cancelled, not
    run to the end first, and no thread is left running."""
    import threading
    import time

    import audit.canonical as C

    monkeypatch.setattr(C, "IN_TWO_FROM", 1)
    ran: list[str] = []

    def work(name: str) -> str:
        if name == "bad":
            raise ValueError(name)
        time.sleep(0.02)
        ran.append(name)
        return name

    names = ["bad", *(f"n{k}" for k in range(50))]
    with pytest.raises(ValueError, match="bad"):
        list(C.in_two(work, names, 10))
    assert len(ran) < 10
    assert not [t for t in threading.enumerate() if t.name.startswith("in_two")]
    # The caller stopping early: the rest is cancelled too.
    ran.clear()
    results = C.in_two(work, names[1:], 10)
    assert next(results) == ("n0", "n0")
    results.close()
    assert len(ran) < 10
    assert not [t for t in threading.enumerate() if t.name.startswith("in_two")]


def test_taken_each_raises_what_a_take_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import audit.canonical as C

    monkeypatch.setattr(C, "IN_TWO_FROM", 1)
    arrays = {"ok": (np.arange(3), np.array([2, 1])), "bad": (np.arange(3), np.array([5]))}
    with pytest.raises(IndexError):
        list(C.taken_each(arrays))


def test_sorted_distinct_is_numpy_unique_of_sorted_values() -> None:
    rng = np.random.default_rng(4)
    for n in [0, 1, 2, 3, 50, 1000]:
        for high in [1, 3, 1 << 40]:
            values = np.sort(rng.integers(0, high, n, dtype=np.int64))
            got = sorted_distinct(values)
            assert got.dtype == values.dtype and np.array_equal(got, np.unique(values))
            if n:
                got[0] = -1  # a copy, as numpy's unique gives
                assert values[0] >= 0


def test_codes_looked_up_and_compared_a_block_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """`looked_up`, `never_decreasing` and `text_isin` on categories give what they give
    in one piece, whatever the block size (codes of -1 look up the table's last entry)."""
    import audit.canonical as C

    rng = np.random.default_rng(3)
    for block in (1, 2, 7, 1 << 20):
        monkeypatch.setattr(C, "LOOKUP_BLOCK", block)
        for n in (0, 1, 2, 15, 16, 17, 100):
            codes = rng.integers(-1, 5, n).astype(np.int32)
            table = rng.random(6) < 0.5
            assert np.array_equal(C.looked_up(table, codes), table[codes])
            ascending = np.sort(codes)
            assert C.never_decreasing(ascending)
            assert C.never_decreasing(codes) == bool((np.diff(codes) >= 0).all())
            if n > 1:
                ascending[-1] = ascending[-2] - 1
                assert not C.never_decreasing(ascending)
        values = _frame(14)["category"]
        expected = (values.notna() & values.astype(str).isin(["a", "z"])).to_numpy(dtype=bool)
        assert expected.any() and not expected.all()
        assert np.array_equal(text_isin(values, ["a", "z"]), expected)


@pytest.mark.parametrize("ordered", [False, True])
def test_trusted_categorical_is_the_checked_one(ordered: bool) -> None:
    """Codes and categories made distinct and in range by construction, put together without
    pandas' checks, give what its checked constructor gives; its fast path is there (a
    pandas without it falls back to the checked one, correct but slower: this says so)."""
    import audit.canonical as C

    assert callable(getattr(pd.CategoricalDtype, "_from_fastpath", None))
    rng = np.random.default_rng(3)
    categories = pd.Index(pd.array([f"C-{k:05d}" for k in range(300)], dtype="string"))
    codes = rng.integers(-1, 300, 5000).astype(np.int16)
    got = C._trusted_categorical(codes, categories, ordered=ordered)
    want = pd.Categorical.from_codes(codes, categories=categories, ordered=ordered)
    assert got.dtype == want.dtype
    assert got.ordered == ordered
    assert np.array_equal(got.codes, want.codes)
    assert pd.Series(got).astype("string").equals(pd.Series(want).astype("string"))
    # Known distinct, as pandas' check leaves them: asking does not build a hash table of
    # them (which would then be held as long as the categories).
    assert got.categories.is_unique
    assert "_engine" not in getattr(got.categories, "_cache", {})


def test_text_hashes_in_blocks_are_each_texts_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashed a block of texts at a time (no str per id held for the whole column): each
    hash is its text's, wherever the block boundaries fall; a lone surrogate in a later
    block still gives None (no hashes: the sort compares the texts)."""
    from audit import canonical

    words = [f"stripe:re_{k}" for k in range(11)] + ["", "Ä😀"]
    values = pd.Series(words, dtype="string[pyarrow]")
    whole = pd.util.hash_array(np.asarray(words, dtype=object), categorize=False)
    for block in (1, 3, 5, 13, 64):
        monkeypatch.setattr(canonical, "_HASH_BLOCK", block)
        hashes = text_hashes(values)
        assert hashes is not None and np.array_equal(hashes, whole)
    monkeypatch.setattr(canonical, "_HASH_BLOCK", 2)
    assert text_hashes(pd.Series([*words, "\ud800"], dtype="string[python]")) is None
