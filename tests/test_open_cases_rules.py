"""The rules on cases still open at the audit's clock, on the bundled sample checked at
earlier clocks: a finding on a case in progress must be for what has already happened (money
out on one approval, an SLA run out), not for a step not due yet (docs/reports.md, "The
audit's clock": which findings can appear on open cases and why).

missing-second-approval (AP003) judges a case once it is paid: approved once and not paid at
the clock, it let no money out on one approval (a payout dated after the clock has not
happened yet). Before, case 40291 (1,155.03 EUR, one approval on 2026-08-10, paid on
2026-08-12 09:09) was a missing-second-approval at 2026-08-12 00:00 already, and RFD-55
(734.79 EUR, approved once on 2026-09-29, its second level and payout on 2026-10-01, both
levels before the money left) one at 2026-10-01 00:00, which the run at 2026-10-15 did not
report.

missing-evidence (EV001) does not judge a case in progress at the clock (not paid, closed or
rejected, an event less than conformance.running_for before it): its evidence is due by its
payout. Before, 40083 (requested on 2026-09-28 06:00, its evidence without the payment
voucher) was a missing-evidence at 2026-09-29 00:00, before its approval and payout; it
still is at 2026-10-01 00:00, paid on 2026-09-30 without the voucher, though its case is
still running (closed after the clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from audit.checkrun import CheckRun, run_check
from audit.policy import default_policy_path

REPO = Path(__file__).resolve().parents[1]
EXPORTS = sorted((REPO / "sample_logs" / "refund-sample" / "exports").glob("*"))
CLOCKS = {"before 40291's payout": datetime(2026, 8, 12, tzinfo=UTC),
          "after 40291's payout": datetime(2026, 8, 13, tzinfo=UTC),
          "40083 requested": datetime(2026, 9, 29, tzinfo=UTC),
          "RFD-55 approved once": datetime(2026, 10, 1, tzinfo=UTC)}


@pytest.fixture(scope="module")
def runs() -> dict[str, CheckRun]:
    """The bundled sample checked at each of CLOCKS (the bundled policy otherwise)."""
    return {name: run_check(EXPORTS, default_policy_path(), as_of=clock)
            for name, clock in CLOCKS.items()}


def _cases(run: CheckRun, rule: str) -> set[str]:
    return {str(f.case_id) for f in run.result.findings if f.rule == rule}


def test_approved_once_and_not_paid_at_the_clock_is_no_missing_second_approval(
        runs: dict[str, CheckRun]) -> None:
    # 40291: approved once on 2026-08-10 14:19, running at 2026-08-12 00:00 (its payout is
    # dated 09:09 that day, after the clock: not paid at it).
    before = runs["before 40291's payout"]
    assert "40291" in before.running_case_ids()
    assert "40291" not in _cases(before, "AP003")
    # RFD-55: approved once on 2026-09-29, its second level and payout after the clock.
    at_october = runs["RFD-55 approved once"]
    assert "RFD-55" in at_october.running_case_ids()
    assert "RFD-55" not in _cases(at_october, "AP003")
    # Every missing-second-approval at these clocks cites its case's payout, dated by the
    # clock (a case not paid at it has none).
    for run in runs.values():
        for finding in run.result.findings:
            if finding.rule == "AP003":
                assert "Execute payout" in finding.activities, finding


def test_paid_on_one_approval_is_still_a_missing_second_approval(
        runs: dict[str, CheckRun]) -> None:
    after = runs["after 40291's payout"]
    found = [f for f in after.result.findings if f.rule == "AP003" and f.case_id == "40291"]
    assert len(found) == 1
    assert found[0].message == ("1,155.03 EUR is above the threshold of 500.00 EUR, approved "
                                "only by Paula Schmidt")
    # It cites the payout that let the money out on one approval.
    assert len(found[0].event_ids) == 3


def test_a_request_in_progress_is_no_missing_evidence_yet(runs: dict[str, CheckRun]) -> None:
    requested = runs["40083 requested"]
    assert "40083" in requested.running_case_ids()
    assert "40083" not in _cases(requested, "EV001")
    # No missing-evidence at any of these clocks is of a case running and not paid at it.
    for run in runs.values():
        running = set(run.running_case_ids())
        for finding in run.result.findings:
            if finding.rule == "EV001" and finding.case_id in running:
                assert _paid(run, finding.case_id), finding


def test_paid_without_its_evidence_while_running_is_still_a_missing_evidence(
        runs: dict[str, CheckRun]) -> None:
    paid = runs["RFD-55 approved once"]
    assert "40083" in paid.running_case_ids()
    found = [f for f in paid.result.findings if f.rule == "EV001" and f.case_id == "40083"]
    assert [f.message for f in found] == [
        "ecommerce refund without required evidence: payment_voucher"]


def _paid(run: CheckRun, case: str) -> bool:
    """The case has a successful payout in the log as the run judged it (at its clock)."""
    log = run.log_at_clock()
    mine = log[log["case:concept:name"].astype(str) == case]
    return bool((mine["concept:name"].astype(str) == "Execute payout").any())
