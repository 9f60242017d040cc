"""missing-evidence (EV001) with the policy's `evidence_due`: `payout` (the default) judges
the evidence present at the first successful payout, so an item recorded after the approval
but before the payout passed, although the SOP has the approver decide on it; `approval`
judges it present at the approval the payout rests on (the first approval of either level
at or before the payout not withdrawn by a later rejection), and the finding names the late
items, the approval and when each came. A case with no such approval (never approved, or
approved only after its payout) is judged by the payout, as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.errors import InputError
from audit.findings import Finding
from audit.policy import default_policy_path, load_policy
from audit.rules.engine import run_rules
from audit.rules.evidence.ev001_missing_evidence import not_due_cases
from audit.rules.facts import CaseFacts
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log, timestamp

RULES = default_rules()
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
REQ, EVI, APP, APP2 = ("Receive refund request", "Collect evidence", "Approve refund",
                       "Approve refund (second level)")
REJ, PAY, CLOSE = "Reject refund", "Execute payout", "Close ticket"
SALE = {"offline": "Record store sale", "ecommerce": "Capture payment",
        "subscription": "Charge subscription renewal"}
ITEMS = {"offline": ("receipt", "photo"), "ecommerce": ("order", "payment_voucher"),
         "subscription": ("renewal_date", "usage")}
CLOCK = "2026-10-15T00:00Z"


def _policy(tmp_path: Path, due: str | None) -> Any:
    base = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    base.pop("sop")
    base["rules"]["select"] = ["EV001"]
    if due is not None:
        base["evidence_due"] = due
    path = tmp_path / f"policy-{due}.yaml"
    path.write_text(yaml.safe_dump(base), encoding="utf-8")
    return load_policy(path, known_rules=RULES.known)


def _run(tmp_path: Path, due: str | None, log: dict[str, Any], clock: str = CLOCK
         ) -> dict[str, Finding]:
    policy = _policy(tmp_path, due)
    frame = build_log(log, policy)
    result = run_rules(frame, policy, RULES, as_of=timestamp(clock).to_pydatetime())
    assert result.errors == []
    return {f.case_id: f for f in result.findings if f.rule == "EV001"}


def _late_case(channel: str, late: str) -> dict[str, Any]:
    """A case of `channel` whose item `late` is recorded after the approval, before the
    payout (the other at the evidence step, before the approval)."""
    return {"channel": channel, "events": [
        {"a": SALE[channel]}, {"a": REQ}, {"a": EVI, "ev": {late: None}}, {"a": APP},
        {"a": EVI, "t": "+30m", "ev": {item: (f"{item}-late" if item == late else None)
                                       for item in ITEMS[channel]}},
        {"a": PAY}]}


LATE = [(channel, item) for channel, items in ITEMS.items() for item in items]


@pytest.mark.parametrize("channel,item", LATE)
def test_an_item_recorded_after_the_approval_is_late_for_it(
        tmp_path: Path, channel: str, item: str) -> None:
    """Each channel's each item, recorded 30 minutes after the approval (11:00) and before
    the payout: a finding with `evidence_due: approval`, naming the item, the approval and
    when each came; none by the payout (the default, and `payout` written out)."""
    log = {"L": _late_case(channel, item),
           "C": {"channel": channel, "events": [{"a": SALE[channel]}, {"a": REQ},
                                                {"a": EVI}, {"a": APP}, {"a": PAY}]}}
    assert _run(tmp_path, None, log) == {}
    assert _run(tmp_path, "payout", log) == {}
    found = _run(tmp_path, "approval", log)
    assert set(found) == {"L"}  # (C: every item before its approval)
    finding = found["L"]
    assert finding.evidence == {
        "channel": channel, "missing": [], "after_approval": [item],
        "approved_at": "2026-07-01T11:00:00+00:00",
        "first_recorded_after_approval": "2026-07-01T11:30:00+00:00"}
    assert finding.event_ids == ["L-02", "L-04", "L-05"]  # request, approval, the late item
    assert finding.message == (
        f"{channel} refund approved on 2026-07-01 11:00:00 UTC before its required evidence "
        f"was recorded: {item} (first recorded 2026-07-01 11:30:00 UTC)")
    assert finding.amount_at_risk == 100.0  # (the payout, as the rule states its money)


def test_an_item_recorded_at_the_approvals_very_time_is_in_time(tmp_path: Path) -> None:
    log = {"A": {"channel": "offline", "events": [
        {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}},
        {"a": APP, "t": "2026-07-01T11:00Z"},
        {"a": EVI, "t": "2026-07-01T11:00Z", "ev": {"receipt": None, "photo": "p.jpg"}},
        {"a": PAY}]}}
    assert _run(tmp_path, "approval", log) == {}


def test_several_approvals_the_first_decides(tmp_path: Path) -> None:
    """A second-level approval rests on the first approver's decision: the photo recorded
    between the two came late for the first (its approval cited). An approval withdrawn by
    a rejection decides nothing: the appeal's approval after it is the one the payout rests
    on, and the photo recorded before that is in time."""
    log = {"TWO": {"channel": "offline", "amount": 900, "events": [
        {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}}, {"a": APP},
        {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}}, {"a": APP2}, {"a": PAY}]},
        "APPEAL": {"channel": "offline", "events": [
            {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}},
            {"a": APP}, {"a": REJ}, {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}},
            {"a": APP}, {"a": PAY}]},
        # the same, the photo only after the appeal's approval: late for that one
        "APPEAL_LATE": {"channel": "offline", "events": [
            {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}},
            {"a": APP}, {"a": REJ}, {"a": APP},
            {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}}, {"a": PAY}]}}
    found = _run(tmp_path, "approval", log)
    assert set(found) == {"TWO", "APPEAL_LATE"}
    assert found["TWO"].event_ids == ["TWO-02", "TWO-04", "TWO-05"]
    assert found["TWO"].evidence["approved_at"] == "2026-07-01T11:00:00+00:00"
    assert found["TWO"].amount_at_risk == 900.0
    assert found["APPEAL_LATE"].event_ids == ["APPEAL_LATE-02", "APPEAL_LATE-06",
                                              "APPEAL_LATE-07"]
    assert found["APPEAL_LATE"].evidence["approved_at"] == "2026-07-01T13:00:00+00:00"
    assert _run(tmp_path, "payout", log) == {}


def test_a_close_ends_an_approval(tmp_path: Path) -> None:
    """Approved, closed unpaid, asked for again: the refund is decided anew, and the
    evidence collected for the new request, before its payout, was in time (judged by the
    payout: the new request was never approved). The first approval decided nothing paid."""
    log = {"REOPENED": {"channel": "offline", "events": [
        {"a": SALE["offline"]}, {"a": REQ}, {"a": APP}, {"a": CLOSE}, {"a": REQ},
        {"a": EVI}, {"a": PAY}]}}
    assert _run(tmp_path, "approval", log) == {}
    # (without the close, the evidence came after the approval the payout rests on)
    del log["REOPENED"]["events"][3]
    assert set(_run(tmp_path, "approval", log)) == {"REOPENED"}


def test_no_approval_before_the_payout_is_judged_by_the_payout(tmp_path: Path) -> None:
    """Never approved (missing-approval's), or approved only after the payout
    (approval-after-payout's): the evidence is due by the payout, as with `payout`, and the
    finding says so (`after_payout`), the same under both settings."""
    log = {"NONE_LATE": {"channel": "offline", "events": [
        {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}}, {"a": PAY},
        {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}}]},
        "NONE_OK": {"channel": "offline", "events": [
            {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}},
            {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}}, {"a": PAY}]},
        "AFTER": {"channel": "offline", "events": [
            {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}},
            {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}}, {"a": PAY},
            {"a": APP}]}}
    by_payout, by_approval = _run(tmp_path, "payout", log), _run(tmp_path, "approval", log)
    assert set(by_approval) == set(by_payout) == {"NONE_LATE"}
    assert by_approval["NONE_LATE"].evidence == by_payout["NONE_LATE"].evidence == {
        "channel": "offline", "missing": [], "after_payout": ["photo"],
        "paid_at": "2026-07-01T11:00:00+00:00",
        "first_recorded_after_payout": "2026-07-01T12:00:00+00:00"}
    assert by_approval["NONE_LATE"].message == by_payout["NONE_LATE"].message


def test_an_approved_case_in_progress_is_judged_at_its_approval(tmp_path: Path) -> None:
    """Approved yesterday, not paid: by the payout its evidence is not due yet (left for a
    later clock: not_due_cases); by the approval it was due and the approval was given
    without the photo (a finding, nothing paid); the photo recorded after the approval
    came late. A case approved with all its evidence is no finding either way."""
    log = {"MISSING": {"channel": "offline", "events": [
        {"a": SALE["offline"]}, {"a": REQ, "t": "2026-10-13T09:00Z"},
        {"a": EVI, "ev": {"photo": None}}, {"a": APP}]},
        "LATE": {"channel": "offline", "events": [
            {"a": SALE["offline"]}, {"a": REQ, "t": "2026-10-13T09:00Z"},
            {"a": EVI, "ev": {"photo": None}}, {"a": APP},
            {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}}]},
        "OK": {"channel": "offline", "events": [
            {"a": SALE["offline"]}, {"a": REQ, "t": "2026-10-13T09:00Z"}, {"a": EVI},
            {"a": APP}]}}
    assert _run(tmp_path, "payout", log) == {}
    found = _run(tmp_path, "approval", log)
    assert set(found) == {"MISSING", "LATE"}
    assert found["MISSING"].evidence == {"channel": "offline", "missing": ["photo"]}
    assert found["LATE"].evidence["after_approval"] == ["photo"]
    for due, waiting in (("payout", ["LATE", "MISSING", "OK"]), ("approval", [])):
        policy = _policy(tmp_path, due)
        facts = CaseFacts(build_log(log, policy), policy,
                          as_of=pd.Timestamp("2026-10-15T00:00Z"))
        assert sorted(map(str, not_due_cases(facts))) == waiting
        RULES.get("EV001").check(facts)  # (what the rule keeps as it judges: the same)
        assert sorted(map(str, facts.not_due["EV001"])) == waiting


def test_the_policy_refuses_another_value(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    text = default_policy_path().read_text(encoding="utf-8")
    path.write_text(text + "evidence_due: approved\n", encoding="utf-8")
    with pytest.raises(InputError, match="evidence_due must be one of payout, approval") as e:
        load_policy(path, known_rules=RULES.known)
    assert (e.value.unit, e.value.row, e.value.field) == ("line", len(text.splitlines()) + 1,
                                                         "evidence_due")
    assert load_policy(default_policy_path()).evidence_due == "payout"


def test_the_bundled_sample(tmp_path: Path) -> None:
    """On the bundled sample the default finds what it found (the demo's findings); with
    `approval` three more, each a case whose evidence was collected after its approval,
    which wrong-order (CF003) finds too: the approver did not see the evidence."""
    policy = tmp_path / "policy.yaml"
    base = default_policy_path().read_text(encoding="utf-8")
    found = {}
    for due in ("payout", "approval"):
        policy.write_text(base + f"evidence_due: {due}\n", encoding="utf-8")
        out = tmp_path / due
        result = CliRunner().invoke(main, ["check", str(SAMPLE), "--policy", str(policy),
                                           "--out", str(out), "--format", "json",
                                           "--fail-on", "never"])
        assert result.exit_code == 0, (result.output, result.exception)
        found[due] = json.loads((out / "findings.json").read_text(encoding="utf-8"))[
            "findings"]
    by_payout, by_approval = found["payout"], found["approval"]
    assert (len(by_payout), len({f["case_id"] for f in by_payout})) == (93, 75)
    late = {f["case_id"]: f for f in by_approval if f["rule"] == "EV001"
            and "after_approval" in f["evidence"]}
    assert sorted(late) == ["CS0000057", "CS0000133", "RFD-240"]
    wrong_order = {f["case_id"] for f in by_approval if f["rule"] == "CF003"}
    assert set(late) <= wrong_order
    same = [f for f in by_approval if f["case_id"] not in late or f["rule"] != "EV001"]
    assert [f["fingerprint"] for f in same] == [f["fingerprint"] for f in by_payout]


def _photo_late(*after: dict[str, Any]) -> dict[str, Any]:
    """An offline case approved (11:00) before its photo (recorded 12:00), then `after`."""
    return {"channel": "offline", "events": [
        {"a": SALE["offline"]}, {"a": REQ}, {"a": EVI, "ev": {"photo": None}}, {"a": APP},
        {"a": EVI, "ev": {"receipt": None, "photo": "p.jpg"}}, *after]}


def test_a_close_ends_an_approval_only_where_the_refund_is_asked_for_again(
        tmp_path: Path) -> None:
    """A close ends an approval only where a new request follows it at or before the payout
    (the refund asked for again, decided anew); a close the refund was never asked for again
    after, or one at the payout's very time, leaves the payout resting on the approval, and
    the photo recorded after it came late. Before, every close at or before the payout (or
    after a payout without a time) ended the approval: these cases were no finding."""
    log = {"CLOSE_THEN_PAY": _photo_late({"a": CLOSE}, {"a": PAY}),
           # the close at the payout's time, before it and after it in the log
           "CLOSE_AT_PAY": _photo_late({"a": CLOSE, "t": "2026-07-01T14:00Z"},
                                       {"a": PAY, "t": "2026-07-01T14:00Z"}),
           "PAY_THEN_CLOSE": _photo_late({"a": PAY, "t": "2026-07-01T14:00Z"},
                                         {"a": CLOSE, "t": "2026-07-01T14:00Z"}),
           # asked for again, but at the payout's very time: the close does not count
           "REQ_AT_PAY": _photo_late({"a": CLOSE, "t": "2026-07-01T14:00Z"},
                                     {"a": REQ, "t": "2026-07-01T14:00Z"},
                                     {"a": PAY, "t": "2026-07-01T14:00Z"}),
           # approved, closed unpaid, never asked for again: the approval was given
           "CLOSED_UNPAID": _photo_late({"a": CLOSE}),
           # asked for again after the close, before the payout: decided anew (judged by
           # the payout, the new request never approved: the photo came before it)
           "REOPENED": _photo_late({"a": CLOSE}, {"a": REQ}, {"a": PAY})}
    found = _run(tmp_path, "approval", log)
    assert set(found) == set(log) - {"REOPENED"}
    for case, finding in found.items():
        assert finding.evidence == {
            "channel": "offline", "missing": [], "after_approval": ["photo"],
            "approved_at": "2026-07-01T11:00:00+00:00",
            "first_recorded_after_approval": "2026-07-01T12:00:00+00:00"}, case
        assert finding.event_ids == [f"{case}-02", f"{case}-04", f"{case}-05"]


def test_a_close_after_a_payout_without_a_time_ends_nothing(tmp_path: Path) -> None:
    """A payout without a time, the ticket closed after it (no new request): the payout
    rests on the approval, the photo came late for it (before, the close withdrew the
    approval and the finding disappeared)."""
    log = {"UNTIMED": _photo_late({"a": PAY}, {"a": CLOSE})}
    policy = _policy(tmp_path, "approval")
    frame = build_log(log, policy)
    frame.loc[frame["concept:name"].eq(PAY), "time:timestamp"] = pd.NaT
    result = run_rules(frame, policy, RULES, as_of=timestamp(CLOCK).to_pydatetime())
    assert result.errors == []
    found = {f.case_id: f for f in result.findings if f.rule == "EV001"}
    assert set(found) == {"UNTIMED"}
    assert found["UNTIMED"].evidence["after_approval"] == ["photo"]


def test_the_first_record_told_is_one_not_contradicting_its_case(tmp_path: Path) -> None:
    """An e-commerce case records `evidence:order` = O-Y (another case's order) at 10:00,
    is approved at 11:00 and records its own order O-X at 12:00: the order came late, first
    recorded (as evidence of this case) at 12:00 by X-05, not at 10:00 by X-03 (before,
    the message and first_recorded_after_approval told 10:00, before the approval, and
    cited X-03). The same by the payout (`payout`): the wrong order before the payout, the
    right one after it."""
    sale = SALE["ecommerce"]
    other = {"channel": "ecommerce", "events": [{"a": sale}, {"a": REQ}, {"a": EVI},
                                                {"a": APP}, {"a": PAY}]}
    log = {"X": {"channel": "ecommerce", "events": [
        {"a": sale}, {"a": REQ}, {"a": EVI, "ev": {"order": "O-Y"}}, {"a": APP},
        {"a": EVI, "ev": {"order": "O-X", "payment_voucher": None}}, {"a": PAY}]},
        "Y": other}
    found = _run(tmp_path, "approval", log)
    assert set(found) == {"X"}
    assert found["X"].evidence["first_recorded_after_approval"] == "2026-07-01T12:00:00+00:00"
    assert found["X"].event_ids == ["X-02", "X-04", "X-05"]
    assert found["X"].message == (
        "ecommerce refund approved on 2026-07-01 11:00:00 UTC before its required evidence "
        "was recorded: order (first recorded 2026-07-01 12:00:00 UTC)")
    log = {"X": {"channel": "ecommerce", "events": [
        {"a": sale}, {"a": REQ}, {"a": EVI, "ev": {"order": "O-Y"}}, {"a": APP}, {"a": PAY},
        {"a": EVI, "ev": {"order": "O-X", "payment_voucher": None}}]},
        "Y": other}
    found = _run(tmp_path, "payout", log)
    assert set(found) == {"X"}
    assert found["X"].evidence["first_recorded_after_payout"] == "2026-07-01T13:00:00+00:00"
    assert found["X"].event_ids == ["X-02", "X-05", "X-06"]
    assert found["X"].message == (
        "ecommerce refund paid on 2026-07-01 12:00:00 UTC before its required evidence "
        "was recorded: order (first recorded 2026-07-01 13:00:00 UTC)")
