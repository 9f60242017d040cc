"""`check` cuts its log at the audit's clock once: `run_check_log` cuts it (for the refusal
of a clock before every event) and hands the cut to the rules, which do not compare the log
with the clock again, and the log the rules judged is the run's `log_at_clock`, which the
warnings and the reports read, not a second copy cut from the imported log. Before, the
log was cut three times: the cut, the rules' own, and `log_at_clock`'s (at 1M cases with
--as-of 2026-10-01, a second copy of 7.2M events, 0.33-1.8 s of CPU, in each report
process that asked)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from audit import canonical as C
from tests.test_as_of_cut import APPROVED_AFTER, HEADER, PAID_LATE

SAMPLE = Path(__file__).parent.parent / "sample_logs" / "refund-sample" / "canonical.csv"


def _log(which: str, tmp_path: Path) -> tuple[Path, datetime]:
    if which == "sample":  # the bundled sample, 38 findings' events after the clock
        return SAMPLE, datetime(2026, 9, 1, tzinfo=UTC)
    path = tmp_path / f"{which}.csv"
    rows = [*PAID_LATE, *APPROVED_AFTER]
    if which == "started":  # a payout's start: an event not judged, in log_at_clock still
        rows.append({**APPROVED_AFTER[3], "event:id": "e-A1-start",
                     "time:timestamp": "2026-09-24T09:00:00Z", "lifecycle:transition": "start"})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path, datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize("which", ["sample", "small", "started", "before"])
def test_check_cuts_the_log_at_the_clock_once(which: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.checkrun import run_check
    from audit.policy import default_policy_path

    path, clock = _log("small" if which == "before" else which, tmp_path)
    if which == "before":  # every event before the clock: the imported log itself
        clock = datetime(2026, 12, 1, tzinfo=UTC)
    cuts: list[int] = []
    real = C.until

    def until(frame: pd.DataFrame, at: datetime) -> tuple[pd.DataFrame, int]:
        cuts.append(len(frame))
        return real(frame, at)

    monkeypatch.setattr(C, "until", until)
    run = run_check([path], default_policy_path(), as_of=clock)
    warnings = run.warnings()
    at_clock = run.log_at_clock()
    monkeypatch.setattr(C, "until", real)
    log = run.imported.log
    started = which == "started"
    # One cut where every event is a completion (the rules' log is the log at the clock);
    # where a start is not judged, log_at_clock (which keeps it) is cut apart from the rules'.
    assert len(cuts) == (2 if started else 1), cuts
    assert (run.after_clock > 0) == (which != "before")
    assert run.not_judged == ({"start": 1} if started else {})
    expected = real(log, clock)[0]
    pd.testing.assert_frame_equal(at_clock, expected)
    if which == "before":
        assert at_clock is log  # no copy
    assert len(at_clock) == len(log) - run.after_clock
    assert (at_clock[C.TIMESTAMP] <= pd.Timestamp(clock)).all()
    # The same warnings as from a log_at_clock cut again from the imported log.
    run.memo.pop("warnings")
    run.memo["log_at_clock"] = expected.copy()
    assert run.warnings() == warnings


def test_run_rules_given_the_cut_counts_what_it_left_out(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """run_rules handed a log cut already (`left_out`) does not cut it again, and its result
    counts what the cut left out, as when it cuts the whole log itself."""
    from audit.checkrun import checked_policy
    from audit.ingest import import_sources
    from audit.policy import default_policy_path
    from audit.rules import default_rules
    from audit.rules.engine import run_rules

    path, clock = _log("started", tmp_path)
    whole = import_sources([(path, None)]).log
    policy = checked_policy(default_policy_path())
    itself = run_rules(whole, policy, default_rules(), as_of=clock)
    judged, not_judged, after = C.at_clock(whole, clock)
    called: list[Any] = []
    monkeypatch.setattr(C, "at_clock", lambda *a: called.append(a))
    given = run_rules(judged, policy, default_rules(), as_of=clock,
                      left_out=(not_judged, after))
    assert called == []
    assert (given.not_judged, given.after_clock) == (itself.not_judged, itself.after_clock)
    assert (given.not_judged, given.after_clock) == ({"start": 1}, 4)
    assert [f.as_dict() for f in given.findings] == [f.as_dict() for f in itself.findings]
