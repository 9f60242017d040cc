"""discover's variant list (variants.csv), the cases' throughput times and each activity's
case frequency (discovery.json), and the console's line of them: against hand-counted logs
and a direct count of the bundled sample."""

from __future__ import annotations

import collections
import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.ingest import import_sources
from conformance.discovery import (
    VARIANT_COLUMNS,
    _ordered,
    discover,
    variants_of,
    write_discovery,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs" / "refund-sample" / "canonical.csv"

# Five cases, three variants. c3's C and B are at the same time, B first in the file: by
# event id (e32 before e33) the case is A, C, B, A. Throughput (first to last event):
# c1 3h, c2 5h, c4 10h (A, B, C); c3 2h (A, C, B, A); c5 0s (A alone).
HAND_LOG = ("event:id,case:concept:name,concept:name,time:timestamp\n"
            "e11,c1,A,2026-09-01T10:00:00Z\ne12,c1,B,2026-09-01T11:00:00Z\n"
            "e13,c1,C,2026-09-01T13:00:00Z\n"
            "e21,c2,A,2026-09-02T10:00:00Z\ne22,c2,B,2026-09-02T12:00:00Z\n"
            "e23,c2,C,2026-09-02T15:00:00Z\n"
            "e33,c3,B,2026-09-03T11:00:00Z\ne31,c3,A,2026-09-03T10:00:00Z\n"
            "e32,c3,C,2026-09-03T11:00:00Z\ne34,c3,A,2026-09-03T12:00:00Z\n"
            "e41,c4,A,2026-09-04T10:00:00Z\ne42,c4,B,2026-09-04T11:00:00Z\n"
            "e43,c4,C,2026-09-04T20:00:00Z\n"
            "e51,c5,A,2026-09-05T10:00:00Z\n")
# Written by hand: A -> B -> C has 3 of 5 cases (60%), median of 3h, 5h, 10h = 5h, its
# 90th percentile 5h + 0.8 * (10h - 5h) = 9h; the two variants of one case each (20%) tie
# and are ranked by their text ("A" before "A -> C -> B -> A").
HAND_ROWS = [
    ["1", "3", "60.0", "3", "18000", "5h", "32400", "9h", "A -> B -> C", "c1"],
    ["2", "1", "20.0", "1", "0", "0s", "0", "0s", "A", "c5"],
    ["3", "1", "20.0", "4", "7200", "2h", "7200", "2h", "A -> C -> B -> A", "c3"],
]


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_variants_of_a_hand_counted_log(tmp_path: Path) -> None:
    log_path = tmp_path / "log.csv"
    log_path.write_text(HAND_LOG, encoding="utf-8")
    out = tmp_path / "out"
    # (the model is mined from 2 activities; the variants are read over all 3)
    result = CliRunner().invoke(main, ["discover", str(log_path), "--max-activities", "2",
                                       "--noise", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = _csv_rows(out / "variants.csv")
    assert rows[0] == list(VARIANT_COLUMNS)
    assert rows[1:] == HAND_ROWS
    assert sum(int(row[1]) for row in rows[1:]) == 5
    assert ("variants: 3 among 5 cases; the most frequent, 60.0% of the cases (3): "
            "variants.csv lists each") in result.output
    assert "variants.csv" in (out / "SHA256SUMS").read_text(encoding="utf-8")

    summary = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert summary["cases"] == 5  # (the existing key, as it was)
    # All cases: 0s, 2h, 3h, 5h, 10h: median 3h, p90 5h + 0.6 * 5h = 8h, max 10h.
    assert summary["case_throughput"] == {"cases": 5, "median_seconds": 10800,
                                          "p90_seconds": 28800, "max_seconds": 36000}
    variants = summary["variants"]
    assert variants["count"] == 3 and variants["file"] == "variants.csv"
    assert [[str(v[c]) for c in VARIANT_COLUMNS] for v in variants["top"]] == HAND_ROWS
    assert variants["top"][2]["activities"] == ["A", "C", "B", "A"]
    assert {a: (f["events"], f["cases"]) for a, f in summary["activities"].items()} == {
        "A": (6, 5), "B": (4, 4), "C": (4, 4)}
    assert summary["left_out_of_the_model"] == {"activities": 1, "events": 4}


def test_the_variants_of_the_sample_are_a_direct_count_and_sum_to_its_cases(
        tmp_path: Path) -> None:
    if not SAMPLE.exists():
        pytest.fail(f"bundled sample missing: {SAMPLE}")
    log = import_sources([(SAMPLE, None)]).log
    result = discover(log, "dfg")
    assert result.variants is not None
    cases = log["case:concept:name"].nunique()
    assert result.variants.cases == result.cases == cases
    assert sum(v.cases for v in result.variants.variants) == cases
    # A direct count: each case's activities by time, then event id, as a tuple.
    ordered = log.sort_values(["case:concept:name", "time:timestamp", "event:id"],
                              kind="stable")
    traces = ordered.groupby("case:concept:name")["concept:name"].agg(tuple)
    expected = collections.Counter(traces.tolist())
    assert {v.sequence: v.cases for v in result.variants.variants} == dict(expected)
    assert [v.cases for v in result.variants.variants] == sorted(expected.values(),
                                                                 reverse=True)
    with_it = ordered.drop_duplicates(["case:concept:name", "concept:name"])
    assert result.variants.activity_cases == with_it["concept:name"].value_counts().to_dict()
    spans = ordered.groupby("case:concept:name")["time:timestamp"].agg(
        lambda t: (t.max() - t.min()).total_seconds())
    top = result.variants.variants[0]
    assert top.median_seconds == spans[traces == top.sequence].median()
    assert result.variants.max_seconds == spans.max()
    written = write_discovery(result, log, tmp_path)
    rows = _csv_rows(written["variants.csv"])[1:]
    assert len(rows) == len(expected) and sum(int(r[1]) for r in rows) == cases
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))


def test_a_hostile_label_and_case_id_are_neutralised_in_variants_csv(tmp_path: Path) -> None:
    events = [{"case:concept:name": case, "concept:name": name,
               "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=k)}
              for case in ("=1+1", "c2")
              for k, name in enumerate(['=HYPERLINK("http://x","y")', "Pay"])]
    log = pd.DataFrame(events)
    written = write_discovery(discover(log, "dfg"), log, tmp_path)
    rows = _csv_rows(written["variants.csv"])
    assert rows[1][8] == "'" + '=HYPERLINK("http://x","y") -> Pay'
    assert rows[1][9] == "'=1+1"  # (the least case id by code point: '=' before 'c')
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    top = summary["variants"]["top"][0]  # (JSON is no spreadsheet: the text as it is)
    assert top["sequence"] == '=HYPERLINK("http://x","y") -> Pay'
    assert top["example_case"] == "=1+1"


def test_a_log_of_one_case(tmp_path: Path) -> None:
    log_path = tmp_path / "log.csv"
    log_path.write_text("case:concept:name,concept:name,time:timestamp\n"
                        "only,Receive,2026-01-01T08:00:00Z\n"
                        "only,Pay,2026-01-02T09:30:15Z\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(log_path), "--miner", "dfg",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert ("variants: 1 among 1 case; the most frequent, 100.0% of the cases (1)"
            ) in result.output
    assert _csv_rows(out / "variants.csv")[1:] == [
        ["1", "1", "100.0", "2", "91815", "1d 1h 30m 15s", "91815", "1d 1h 30m 15s",
         "Receive -> Pay", "only"]]
    summary = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert summary["case_throughput"] == {"cases": 1, "median_seconds": 91815,
                                          "p90_seconds": 91815, "max_seconds": 91815}


@pytest.mark.parametrize(("labels", "longest"), [(3, 6), (70, 25)])
def test_the_vectorised_variants_equal_a_count_case_by_case(labels: int,
                                                            longest: int) -> None:
    """Codes packed into one word per row (3 labels, up to 6 events) and into several (70
    labels, 7 bits each, 8 to a word: up to 25 events), and a frame not grouped by case:
    the same variants as a count of each case's tuple of activities."""
    rng = np.random.default_rng(labels)
    lengths = rng.integers(1, longest + 1, 400)
    case = np.repeat(np.arange(len(lengths)), lengths)
    # (few distinct patterns, so variants repeat; a few random labels among them)
    names = rng.integers(0, 3, len(case)) * (labels // 3)
    names = np.where(rng.random(len(case)) < 0.05, rng.integers(0, labels, len(case)), names)
    at = np.arange(len(case)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frame = pd.DataFrame({
        "case:concept:name": [f"k{c}" for c in case],
        "concept:name": [f"act {n}" for n in names],
        # (each case from the same day, an event a minute, and a second per case apart)
        "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC")
        + pd.to_timedelta(at * 60 + case, unit="s")})
    expected = collections.Counter(
        frame.groupby("case:concept:name", sort=False)["concept:name"].agg(tuple).tolist())
    shuffled = frame.iloc[rng.permutation(len(frame))]
    by_time = shuffled.sort_values("time:timestamp", kind="stable")  # (cases interleaved)
    assert by_time["case:concept:name"].iloc[0] != by_time["case:concept:name"].iloc[1]
    for given in (frame, by_time):
        found = variants_of(given)
        assert {v.sequence: v.cases for v in found.variants} == dict(expected)
        assert found.cases == len(lengths)
    assert variants_of(_ordered(shuffled)).variants == variants_of(frame).variants


def test_a_share_never_reads_as_all_short_of_all_nor_as_none_of_some(tmp_path: Path) -> None:
    """20,000 cases of one variant and 1 of another: variants.csv wrote the first's share as
    100.0 (99.995...% rounded to two decimals) and the second's as 0.0, though one case is
    not in the first and one is in the second; the console said "more than 99.9%". Now a
    share takes the decimals it needs beyond two: 99.995, 0.005."""
    start = pd.Timestamp("2026-01-01", tz="UTC")
    cases = [f"c{k:05d}" for k in range(20_001)]
    log = pd.DataFrame({
        "case:concept:name": cases,
        "concept:name": ["A"] * 20_000 + ["B"],
        "time:timestamp": [start] * 20_001})
    result = discover(log, "dfg")
    written = write_discovery(result, log, tmp_path)
    rows = _csv_rows(written["variants.csv"])[1:]
    assert [(r[1], r[8]) for r in rows] == [("20000", "A"), ("1", "B")]
    exact = [100 * 20_000 / 20_001, 100 * 1 / 20_001]  # 99.99500..., 0.00499975...
    assert round(exact[0], 2) == 100.0 and round(exact[1], 2) == 0.0  # (two decimals)
    assert [r[2] for r in rows] == ["99.995", "0.005"]
    assert [abs(float(r[2]) - e) < 0.0005 for r, e in zip(rows, exact, strict=True)] == [
        True, True]
    summary = json.loads(written["discovery.json"].read_text(encoding="utf-8"))
    assert [v["share_percent"] for v in summary["variants"]["top"]] == [99.995, 0.005]
    # All cases, and none of many decimals, as before.
    one = pd.DataFrame({"case:concept:name": ["c1"], "concept:name": ["A"],
                        "time:timestamp": [start]})
    assert _csv_rows(write_discovery(discover(one, "dfg"), one, tmp_path / "one")[
        "variants.csv"])[1][2] == "100.0"
