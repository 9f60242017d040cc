"""Times more than 292 years apart: the log holds any time from 1677-09-21 to 2262-04-11,
but a nanosecond duration only 292 years, so pandas' subtraction overflows (OverflowError)
and numpy's wraps around. Every duration a command takes must still be right."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit.canonical import elapsed
from audit.cli import main
from audit.words import iso_duration

LOG = """\
case:concept:name,concept:name,time:timestamp,org:resource,refund:amount,refund:currency,\
refund:channel
old,Receive refund request,1700-01-01T00:00:00Z,Ann,10,EUR,ecommerce
old,Approve refund,1700-01-02T00:00:00Z,Bob,10,EUR,ecommerce
wide,Receive refund request,1678-01-01T00:00:00Z,Ann,10,EUR,ecommerce
wide,Approve refund,1678-01-02T00:00:00Z,Bob,10,EUR,ecommerce
wide,Execute payout,2261-01-01T00:00:00Z,Cid,10,EUR,ecommerce
wide,Close ticket,2261-01-02T00:00:00Z,Ann,,,ecommerce
"""
WIDE_DAYS = 212936  # 1678-01-01 to 2261-01-01
STEP_SECONDS = (WIDE_DAYS - 1) * 86400.0  # the approval of 1678-01-02 to the payout


def test_elapsed_is_pandas_subtraction_or_microseconds_where_nanoseconds_overflow() -> None:
    early = pd.Series(pd.to_datetime(["1678-01-01", "2026-01-01", None], utc=True)).dt.as_unit(
        "ns")
    late = pd.Series(pd.to_datetime(["2261-01-01", "2026-01-02", "2026-01-03"], utc=True)
                     ).dt.as_unit("ns")
    took = elapsed(late, early)
    assert took.iloc[0] == pd.Timedelta(days=WIDE_DAYS)
    assert took.iloc[1] == pd.Timedelta(days=1)
    assert pd.isna(took.iloc[2])
    short = elapsed(late.iloc[1:], early.iloc[1:])  # no overflow: nanoseconds, as pandas
    assert str(short.dtype) == "timedelta64[ns]"
    clock = pd.Timestamp("2026-10-15", tz="UTC")
    assert elapsed(clock, early).iloc[0] == clock.as_unit("us") - pd.Timestamp(
        "1678-01-01", tz="UTC").as_unit("us")


def test_check_and_discover_judge_times_centuries_apart(tmp_path: Path) -> None:
    """Before, approved-not-paid, sla-breach and stage-overdue crashed (OverflowError, exit
    code 2), the DFG drew the 583-year step as -569d, and discover crashed with a traceback.
    (The clock after the log's last event, 2261-01-02: check judges the log as it stood at
    its clock.)"""
    log = tmp_path / "span.csv"
    log.write_text(LOG, encoding="utf-8")
    out = tmp_path / "check"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--as-of",
                                       "2261-06-01T00:00:00Z", "--format",
                                       "json,graphs"])
    assert result.exit_code == 1, (result.output, result.exception)
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert report["errors"] == []
    by_rule = {(f["rule"], f["case_id"]): f for f in report["findings"]}
    assert by_rule[("SL001", "wide")]["evidence"]["took"] == f"P{WIDE_DAYS}D"
    waited = (pd.Timestamp("2261-06-01", tz="UTC").as_unit("us")
              - pd.Timestamp("1700-01-02", tz="UTC").as_unit("us"))
    assert by_rule[("EV003", "old")]["evidence"]["waiting"] == iso_duration(waited)
    dfg = (out / "dfg.svg").read_text(encoding="utf-8")
    assert f"1 · {WIDE_DAYS - 1}d" in dfg
    assert "· -" not in dfg

    found = tmp_path / "discover"
    result = CliRunner().invoke(main, ["discover", str(log), "--out", str(found)])
    assert result.exit_code == 0, (result.output, result.exception)
    discovery = json.loads((found / "discovery.json").read_text(encoding="utf-8"))
    tables = _numbers(discovery)
    assert STEP_SECONDS in [t.get("median_wait_seconds") for t in tables]
    assert STEP_SECONDS in [t.get("median_seconds") for t in tables]


def _numbers(tree: object) -> list[dict[str, object]]:
    """Every dict in a JSON tree (to find the discovered durations wherever they are)."""
    found: list[dict[str, object]] = []
    if isinstance(tree, dict):
        found.append(tree)
        for value in tree.values():
            found += _numbers(value)
    elif isinstance(tree, list):
        for value in tree:
            found += _numbers(value)
    return found
