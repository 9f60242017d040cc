"""Events of a case at the same time: where the log states their ids, every command takes
them by event id (as check does), where pm4py takes them as the file lists them, and
discover and compare warn of it; where the import derived their ids (an XES file, an OCEL
log, a CSV without ids), they are taken as the file lists them, as pm4py takes them
(before: by the hashes, in no order: pm4py's teleclaims log gave 51 variants in discover
against pm4py's 12, 3 cases starting with 'end')."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.ingest import import_sources

HELPDESK = Path("/work/shared/data/pm4py-tests/helpdesk.xes.gz")

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n')


def _event(activity: str, time: str) -> str:
    return ('<event><string key="concept:name" value="' + activity + '"/>'
            '<date key="time:timestamp" value="2026-03-01T' + time + '+00:00"/></event>\n')


def _trace(case: str, *events: tuple[str, str]) -> str:
    return (f'<trace><string key="concept:name" value="{case}"/>\n'
            + "".join(_event(a, t) for a, t in events) + "</trace>\n")


def _xes(path: Path) -> Path:
    """Three cases: c1 logs B and C at one time (a tie of different activities), c2 none,
    c3 two A at one time (a tie of one activity: no order to decide). No event ids."""
    path.write_text(HEADER
                    + _trace("c1", ("A", "10:00:00"), ("B", "10:05:00"), ("C", "10:05:00"))
                    + _trace("c2", ("A", "10:00:00"), ("B", "10:10:00"), ("C", "10:20:00"))
                    + _trace("c3", ("A", "10:00:00"), ("A", "10:00:00"), ("B", "10:30:00"))
                    + "</log>\n", encoding="utf-8")
    return path


def _stated(path: Path) -> Path:
    """The cases of `_xes` as a CSV stating event ids, c1's B (listed first) given the
    greater id: taken C, B, where pm4py reads the file B, C."""
    rows = [("a1", "c1", "A", "10:00"), ("b9", "c1", "B", "10:05"), ("b1", "c1", "C", "10:05"),
            ("a2", "c2", "A", "10:00"), ("b2", "c2", "B", "10:10"), ("c2", "c2", "C", "10:20"),
            ("a3", "c3", "A", "10:00"), ("a4", "c3", "A", "10:00"), ("b3", "c3", "B", "10:30")]
    path.write_text("event:id,case:concept:name,concept:name,time:timestamp\n" + "".join(
        f"{eid},{case},{activity},2026-03-01T{time}:00Z\n"
        for eid, case, activity, time in rows), encoding="utf-8")
    return path


TOLD = ("1 of 3 cases (33%) logs events of different activities at the same time "
        "(e.g. case 'c1': 'C' and 'B' at 2026-03-01T10:05:00+00:00): they are taken in the "
        "order of the event ids the log states")


def test_discover_warns_of_cases_ordered_by_event_id(tmp_path: Path) -> None:
    log = _stated(tmp_path / "ties.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    warnings = json.loads((out / "discovery.json").read_text())["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith(TOLD), warnings
    told = warnings[0]
    assert "not in the order the file lists them, which pm4py keeps" in told
    assert f"warning: {told}" in result.output


def test_discover_does_not_warn_where_the_files_order_is_kept(tmp_path: Path) -> None:
    """The same cases without ids (an XES file): taken as the file lists them, no warning
    (before: the same warning, its order the hashes')."""
    log = _xes(tmp_path / "ties.xes")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "discovery.json").read_text())["warnings"] == []
    variants = (out / "variants.csv").read_text()
    assert "A -> B -> C" in variants and "C -> B" not in variants


def test_compare_warns_per_log_side(tmp_path: Path) -> None:
    log = _stated(tmp_path / "ties.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(log), str(log), "--out", str(out)])
    assert result.exit_code == 0, result.output
    warnings = json.loads((out / "compare.json").read_text())["warnings"]
    assert [w[:len("as-is log: " + TOLD)] for w in warnings] == [
        "as-is log: " + TOLD, "to-be log: " + TOLD]


def test_ids_the_log_states_are_counted(tmp_path: Path) -> None:
    """A canonical log stating ids for its tied events: their order is the ids', told as
    such; no tie, no warning."""
    log = tmp_path / "canonical.csv"
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp\n"
                   "x2,k1,Pay,2026-03-01T10:00:00Z\n"
                   "x1,k1,Approve,2026-03-01T10:00:00Z\n"
                   "x3,k2,Approve,2026-03-01T10:00:00Z\n"
                   "x4,k2,Pay,2026-03-01T11:00:00Z\n", encoding="utf-8")
    frame = import_sources([(log, None)]).log
    tie = C.same_time(frame)
    assert tie == C.SameTime(1, 2, ("k1", "Approve", "Pay", "2026-03-01T10:00:00+00:00"))
    assert C.same_time(frame[frame[C.CASE] == "k2"]) is None


def test_stated_ids_in_the_files_order_are_not_counted(tmp_path: Path) -> None:
    """Stated ids that put a case's events at one time in the order the file lists them (a1
    Approve, then a2 Pay) are taken as pm4py takes them: not counted, no warning; a case
    whose ids take them the other way round is (before: both counted, the warning naming
    k1, whose order is the file's)."""
    log = tmp_path / "canonical.csv"
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp\n"
                   "a1,k1,Approve,2026-03-01T10:00:00Z\n"
                   "a2,k1,Pay,2026-03-01T10:00:00Z\n"
                   "b2,k2,Pay,2026-03-01T10:00:00Z\n"
                   "b1,k2,Approve,2026-03-01T10:00:00Z\n", encoding="utf-8")
    frame = import_sources([(log, None)]).log
    assert C.same_time(frame) == C.SameTime(
        1, 2, ("k2", "Approve", "Pay", "2026-03-01T10:00:00+00:00"))
    assert C.same_time(frame[frame[C.CASE] == "k1"]) is None
    # (without source:file and source:row, nothing tells the file's order: counted)
    bare = frame.drop(columns=[C.SOURCE_FILE, C.SOURCE_ROW])
    assert C.same_time(bare[bare[C.CASE] == "k1"]) is not None


def test_helpdesk_is_taken_as_pm4py_reads_the_file(tmp_path: Path) -> None:
    """pm4py's help-desk log (4,580 cases, no event ids): its 3 cases that log two events
    of different activities one after the other at the same time are taken as pm4py reads
    the file (before: by the derived ids' hashes, and warned of), so no warning."""
    if not HELPDESK.exists():
        pytest.fail(f"test data missing: {HELPDESK}")
    import pm4py

    frame = pm4py.read_xes(str(HELPDESK))
    if not isinstance(frame, pd.DataFrame):
        frame = pm4py.convert_to_dataframe(frame)
    case, activity, time = (frame[k] for k in (C.CASE, C.ACTIVITY, C.TIMESTAMP))
    tied = ((case == case.shift()) & (time == time.shift()) & (activity != activity.shift()))
    expected = set(case[tied])
    assert len(expected) == 3  # (what the file holds: 'Case 1345' among them)
    log = import_sources([(HELPDESK, None)]).log
    assert C.same_time(log) is None
    ours = _traces(log[C.text_isin(log[C.CASE], sorted(expected))].reset_index(drop=True))
    theirs = frame[case.isin(expected)].groupby(C.CASE, sort=True)[C.ACTIVITY].agg(tuple)
    assert ours == {str(k): tuple(v) for k, v in theirs.items()}


# --- Events at one time with ids the import derived: taken in their file's order ----------

TELECLAIMS = Path("/work/shared/data/pm4py-tests/02_teleclaims.xes.gz")

# Twenty cases, each logging two activities at one time: half list X before Y, half Y
# before X. The hashes (the ids the import derives) order each pair at random, so the file's
# order coming out of all twenty by chance is 1 in 2**20.
LISTED = {f"c{k:02d}": ("X", "Y") if k % 2 else ("Y", "X") for k in range(20)}


def _listed_xes(path: Path) -> Path:
    path.write_text(HEADER + "".join(
        _trace(case, ("A", "09:00:00"), (one, "10:00:00"), (other, "10:00:00"),
               ("Z", "11:00:00"))
        for case, (one, other) in LISTED.items()) + "</log>\n", encoding="utf-8")
    return path


def _traces(frame: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Each case's activities in EVENT_ORDER."""
    order = C.event_order(frame)
    taken = frame if order is None else frame.take(order)
    return {str(case): tuple(str(a) for a in group)
            for case, group in taken.groupby(taken[C.CASE].astype(str), sort=True)[C.ACTIVITY]}


def _expected() -> dict[str, tuple[str, ...]]:
    return {case: ("A", one, other, "Z") for case, (one, other) in LISTED.items()}


def test_derived_ids_at_one_time_keep_the_files_order(tmp_path: Path) -> None:
    """An XES file states no event ids: its events at one time are taken as the file lists
    them (before: by the hashes the import derives, so at random), in EVENT_ORDER, in
    discover's variants and in the facts the rules read; and no warning (pm4py's order)."""
    log = _listed_xes(tmp_path / "listed.xes")
    frame = import_sources([(log, None)]).log
    assert bool(C.derived_ids(frame[C.EVENT_ID]).all())
    assert _traces(frame) == _expected()
    assert C.same_time(frame) is None
    # the rules' facts: each case's activities in the sorted order
    from audit.policy import default_policy_path, load_policy
    from audit.rules.facts import CaseFacts

    facts = CaseFacts(frame, load_policy(default_policy_path()), pd.Timestamp("2026-04-01"))
    labels = np.asarray(facts.column(C.ACTIVITY).astype(str))
    case_of = np.asarray(facts.case_ids)[facts.case_code]
    got = {case: tuple(labels[case_of == case]) for case in LISTED}
    assert got == _expected()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "discovery.json").read_text())["warnings"] == []


def test_the_order_holds_through_a_canonical_log_written_and_read_back(tmp_path: Path) -> None:
    """The order is the file's rows (`source:file`, `source:row`), which a canonical log
    keeps: written as Parquet or CSV and read back, the same order; and importing the file
    again gives it again."""
    log = _listed_xes(tmp_path / "listed.xes")
    written = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, ["import", str(log), "--out", str(written)])
    assert result.exit_code == 0, result.output
    again = import_sources([(written, None)]).log
    assert _traces(again) == _expected()
    # a CSV of it, its rows shuffled: the order is the source's rows, not the CSV's
    shuffled = tmp_path / "shuffled.csv"
    again.sample(frac=1, random_state=3).to_csv(shuffled, index=False)
    assert _traces(import_sources([(shuffled, None)]).log) == _expected()
    assert _traces(import_sources([(log, None)]).log) == _expected()


def test_ids_the_log_states_keep_their_order_whatever_the_rows(tmp_path: Path) -> None:
    """A log stating ids: events at one time by id, not by row (as before); where a case
    mixes stated and derived ids at one time, the stated ones first, by id, then the
    derived ones in the file's order."""
    log = tmp_path / "stated.csv"
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp\n"
                   "x2,k1,Pay,2026-03-01T10:00:00Z\n"
                   "x1,k1,Approve,2026-03-01T10:00:00Z\n"
                   ",k2,Late,2026-03-01T10:00:00Z\n"
                   ",k2,Later,2026-03-01T10:00:00Z\n"
                   "y9,k2,Stated,2026-03-01T10:00:00Z\n", encoding="utf-8")
    frame = import_sources([(log, None)]).log
    assert _traces(frame) == {"k1": ("Approve", "Pay"), "k2": ("Stated", "Late", "Later")}


def test_ocel_events_at_one_time_keep_the_files_order(tmp_path: Path) -> None:
    """An OCEL log (its ids not the events' in refund-audit, which derives them): the events
    of an object at one time are taken in the order the file lists them."""
    events, objects = [], []
    for k, (case, (one, other)) in enumerate(LISTED.items()):
        objects.append(f'{{"id": "{case}", "type": "order"}}')
        for n, (activity, time) in enumerate(
                (("A", "09:00"), (one, "10:00"), (other, "10:00"), ("Z", "11:00"))):
            events.append(f'{{"id": "ev{k}-{n}", "type": "{activity}", '
                          f'"time": "2026-03-01T{time}:00Z", "attributes": [], '
                          f'"relationships": [{{"objectId": "{case}"}}]}}')
    path = tmp_path / "listed.jsonocel"
    path.write_text('{"objectTypes": [{"name": "order", "attributes": []}], '
                    f'"eventTypes": [], "objects": [{", ".join(objects)}], '
                    f'"events": [{", ".join(events)}]}}', encoding="utf-8")
    frame = import_sources([(path, None)], object_type="order").log
    assert _traces(frame) == _expected()


def test_local_and_dask_partitions_take_ties_alike(tmp_path: Path) -> None:
    """The dask engine's partitions (whole cases, rows kept) order each case's events as
    the whole log does: the order needs only the case's own rows."""
    from audit.engines.dask_engine import partition_log

    frame = import_sources([(_listed_xes(tmp_path / "listed.xes"), None)]).log
    shuffled = frame.sample(frac=1, random_state=7).reset_index(drop=True)
    parts = partition_log(shuffled, 3)
    assert len(parts) == 3
    got: dict[str, tuple[str, ...]] = {}
    for part in parts:
        got.update(_traces(part.reset_index(drop=True)))
    assert got == _expected() == _traces(shuffled)


def test_teleclaims_variants_are_pm4pys(tmp_path: Path) -> None:
    """pm4py's teleclaims log, whose activities often complete in the same second and which
    states no event ids: discover's variants are pm4py's, case by case (before: 51 variants
    against pm4py's 12, 1,732 of its 3,512 cases in another order)."""
    if not TELECLAIMS.exists():
        pytest.fail(f"test data missing: {TELECLAIMS}")
    import pm4py

    from conformance.discovery import _ordered

    frame = pm4py.read_xes(str(TELECLAIMS))
    if not isinstance(frame, pd.DataFrame):
        frame = pm4py.convert_to_dataframe(frame)
    frame = frame[frame["lifecycle:transition"] == "complete"]  # (as discover reads it)
    theirs = frame.groupby(C.CASE, sort=True)[C.ACTIVITY].agg(tuple)
    log = import_sources([(TELECLAIMS, None)]).log
    ordered = _ordered(log)
    ours = ordered.groupby(C.CASE, sort=True)[C.ACTIVITY].agg(tuple)
    assert len(theirs) == 3512 and theirs.nunique() == 12
    assert ours.to_dict() == theirs.to_dict()
    assert C.same_time(log) is None


def test_compare_and_discover_keep_the_files_order_beside_start_events(tmp_path: Path) -> None:
    """A log with start events (left out, as check leaves them): the completions at one
    time are still taken as the file lists them, in compare's traces, discover's variants
    and the directly-follows graph (the columns kept for the completions include the
    source's file and row)."""
    from conformance.compare import side_from_log
    from conformance.discovery import _ordered
    from reports.graphs import discover_dfg

    def started(activity: str, time: str) -> str:
        return ('<event><string key="concept:name" value="' + activity + '"/>'
                '<string key="lifecycle:transition" value="start"/>'
                '<date key="time:timestamp" value="2026-03-01T' + time + '+00:00"/></event>\n')

    path = tmp_path / "started.xes"
    path.write_text(HEADER + "".join(
        f'<trace><string key="concept:name" value="{case}"/>\n'
        + started("A", "08:00:00") + _event("A", "09:00:00") + _event(one, "10:00:00")
        + _event(other, "10:00:00") + _event("Z", "11:00:00") + "</trace>\n"
        for case, (one, other) in LISTED.items()) + "</log>\n", encoding="utf-8")
    log = import_sources([(path, None)]).log
    side = side_from_log(log, "as-is", "started")
    got = {case: trace for trace, cases in side.cases_of.items() for case in cases}
    assert got == _expected()
    ordered = _ordered(log)
    assert {str(case): tuple(group) for case, group in
            ordered.groupby(C.CASE, sort=True)[C.ACTIVITY]} == _expected()
    edges = {(e.source, e.target): e.count for e in discover_dfg(log).edges}
    assert sorted(edges.items()) == [(("A", "X"), 10), (("A", "Y"), 10), (("X", "Y"), 10),
                                     (("X", "Z"), 10), (("Y", "X"), 10), (("Y", "Z"), 10)]


def test_the_share_is_not_rounded_to_all_or_none() -> None:
    """1,999 of 2,000 cases are not "100%" (nor 1 of 2,000 "0%"): the warning says more than
    99% (less than 1%)."""
    example = ("c1", "A", "B", "2026-01-01T00:00:00+00:00")
    assert "(more than 99%)" in C.same_time_told(C.SameTime(1999, 2000, example))
    assert "(less than 1%)" in C.same_time_told(C.SameTime(1, 2000, example))
    assert "(50%)" in C.same_time_told(C.SameTime(1000, 2000, example))
    assert "(100%)" in C.same_time_told(C.SameTime(2000, 2000, example))
