"""The policy file: the default loads; every error names its line; waivers, severities,
selection; a rule that crashes is an error of the run, not a silent pass."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.errors import InputError
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.duties.sd001_self_approval import SelfApproval
from audit.rules.engine import AuditResult, run_rules
from audit.rules.facts import CaseFacts
from audit.rules.registry import default_rules
from tests.rules.logbuilder import build_log

RULES = default_rules()
DEFAULT = default_policy_path().read_text(encoding="utf-8")
CLEAN_TAIL = [{"a": "Collect evidence"}, {"a": "Execute payout"}]


def write_policy(folder: Path, *changes: tuple[str, str]) -> Path:
    """The default policy with each (old, new) text replaced once."""
    text = DEFAULT
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_with(path: Path, needle: str) -> int:
    lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if needle in line and not line.lstrip().startswith("#")]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def test_the_default_policy_loads() -> None:
    policy = load_policy(default_policy_path(), known_rules=RULES.known)
    assert policy.as_of == datetime(2026, 10, 15, tzinfo=UTC)
    assert policy.second_approval_threshold == {"EUR": 500.0, "USD": 550.0, "GBP": 450.0}
    assert policy.sla == timedelta(days=14)
    assert policy.approved_not_paid_grace == timedelta(days=5)
    assert [(s.start, s.end, s.limit) for s in policy.stages] == [
        ("request", "first-approval", timedelta(days=10)),
        ("last-approval", "payout", timedelta(days=7))]
    assert policy.approver_roles == {"approve": ("supervisor", "finance"),
                                     "second-approve": ("finance",)}
    assert policy.required_evidence["offline"] == ("evidence:receipt", "evidence:photo")
    assert policy.control_of()["Approve refund (second level)"] == "second-approve"
    assert policy.select == ("*",) and policy.ignore == () and policy.waivers == ()
    assert policy.performer_roles == {"reject": ("supervisor", "finance")}
    assert len(RULES.select(policy.select, policy.ignore)) == len(RULES) == 29


WAIVER = ("waivers: []", "waivers:\n  - rule: self-approval\n    case: EC00012\n"
          "    reason: only staff on duty\n    approved_by: Head of Internal Audit\n"
          "    expires: 2027-03-31\n")
STAGE = "  - {name: payout, from: last-approval, to: payout, limit: 7d}"
EVIDENCE = "  ecommerce: [evidence:order, evidence:payment_voucher]"
ERRORS = {
    "unknown top-level key": (
        [("version: 1\n", "version: 1\ncolour: blue\n")], "colour: blue", "unknown key 'colour'"),
    "unknown nested key": (
        [("  request_to_payout: 14d\n", "  request_to_payout: 14d\n  request_to_close: 20d\n")],
        "request_to_close", "unknown key 'request_to_close'"),
    "control not in the vocabulary": (
        [("  Approve refund: {control: approve}", "  Approve refund: {control: approval}")],
        "Approve refund: {control: approval}", "control must be one of"),
    "bad duration": (
        [("request_to_payout: 14d", "request_to_payout: 14 days")], "request_to_payout",
        "not a duration: '14 days'"),
    "performers of an unknown control": (
        [("  reject: [supervisor, finance]", "  refund: [supervisor, finance]")],
        "refund: [supervisor",
        "unknown control 'refund' (known: request, evidence, prorate, reject"),
    "performers of an approval": (
        [("  reject: [supervisor, finance]", "  approve: [supervisor]")], "approve: [supervisor]",
        "who may approve is set in approvers.approve"),
    "performers that are no list": (
        [("  reject: [supervisor, finance]", "  reject: supervisor, finance")],
        "reject: supervisor, finance", "must be a list of roles"),
    "performers as a mapping": (
        [("performers:\n  reject: [supervisor, finance]", "performers: [finance]")],
        "performers: [finance]", "must be a mapping"),
    "unknown currency": (
        [("  second_approval: {EUR: 500, USD: 550, GBP: 450}",
          "  second_approval:\n    EUR: 500\n    EURO: 450")], "EURO: 450",
        "unknown currency 'EURO'"),
    "unknown rule in rules.select": (
        [('  select: ["*"]', '  select: ["*", no-such-rule]')], "select:",
        "'no-such-rule' matches no rule"),
    "severity not in the list": (
        [("  severity: {}", "  severity:\n    self-approval: urgent")], "self-approval: urgent",
        "severity must be one of info, low, medium, high, critical"),
    "waiver without approved_by": (
        [(WAIVER[0], WAIVER[1].replace("    approved_by: Head of Internal Audit\n", ""))],
        "- rule: self-approval", "a waiver needs 'approved_by'"),
    "waiver with both case and fingerprint": (
        [(WAIVER[0], WAIVER[1] + "    fingerprint: 0123456789abcdef\n")],
        "- rule: self-approval", "a waiver names either a case or a fingerprint"),
    # Before: YAML's last key won unseen (a second `waivers:` emptied the first).
    "a key given twice": (
        [(WAIVER[0], WAIVER[1] + "waivers: []\n")], "waivers: []",
        "key 'waivers' is given twice (first on line"),
    # Before: a ValueError traceback from YAML's date reading.
    "an impossible date": (
        [(WAIVER[0], WAIVER[1].replace("2027-03-31", "2027-02-30"))], "expires: 2027-02-30",
        "day is out of range for month"),
    # Before: "Invalid isoformat string: '31.03.2027'", not saying what to write.
    "a date written day.month.year": (
        [(WAIVER[0], WAIVER[1].replace("2027-03-31", "31.03.2027"))], "expires: 31.03.2027",
        "not an ISO 8601 date: '31.03.2027'; write year-month-day, e.g. 2027-03-31"),
    "a clock written day.month.year": (
        [("as_of: 2026-10-15T00:00:00Z", "as_of: 15.10.2026 00:00")], "as_of:",
        "not an ISO 8601 time: '15.10.2026 00:00'; write e.g. 2026-10-15T00:00:00Z"),
    # Before: accepted, and a NaN compares false with every amount: the rules went silent.
    "a threshold that is not a number": (
        [("{EUR: 500,", "{EUR: .nan,")], "EUR: .nan", "must be a non-negative number"),
    "an infinite tolerance": (
        [("# amount_tolerance: 0.005", "amount_tolerance: .inf")], "amount_tolerance",
        "must be a non-negative number"),
    # Before: OverflowError tracebacks, or every CF rule crashing on the bound.
    "a duration beyond 100 years": (
        [("request_to_payout: 14d", "request_to_payout: 99999999999w")], "request_to_payout",
        "longer than 36,500 days"),
    "a tolerance beyond a float": (
        [("# amount_tolerance: 0.005", "amount_tolerance: 1" + "0" * 400)], "amount_tolerance",
        "too large"),
    "a clock outside the log's years": (
        [("as_of: 2026-10-15T00:00:00Z", "as_of: 2263-01-01T00:00:00Z")], "as_of:",
        "outside the years 1678 to 2261"),
    "a search bound beyond a machine word": (
        [("  max_states: 5000000\n", "  max_states: 99999999999999999999999\n")], "max_states",
        "max_states must be a whole number from 1 to 4,294,967,296"),
    # Before: accepted, and reported as a waiver never matched.
    "a fingerprint that is no fingerprint": (
        [(WAIVER[0], WAIVER[1].replace("case: EC00012", "fingerprint: 0123-4567"))],
        "fingerprint: 0123-4567", "a fingerprint is 16 hexadecimal digits"),
    # Before: the text of the list, "['only staff']", taken as the reason.
    "a reason that is a list": (
        [(WAIVER[0], WAIVER[1].replace("reason: only staff on duty", "reason: [only staff]"))],
        "reason: [only staff]", "must be text"),
    # Before: accepted, as True == 1 (and 1.0 == 1) in Python.
    "a version that is a truth value": (
        [("version: 1\n", "version: true\n")], "version: true",
        "only version 1 is known, not True"),
    "a version that is not a whole number": (
        [("version: 1\n", "version: 1.0\n")], "version: 1.0",
        "only version 1 is known, not 1.0"),
    # Before: accepted; a stage that ends where it starts or at an earlier point of the
    # process is never late, or never measured.
    "a stage that ends where it starts": (
        [(STAGE, STAGE.replace("from: last-approval", "from: payout"))],
        "{name: payout, from: payout, to: payout",
        "stage 'payout' runs from payout to payout: 'to' must be a later point than 'from'"),
    "a stage that ends before it starts": (
        [(STAGE, STAGE.replace("from: last-approval, to: payout",
                               "from: payout, to: last-approval"))],
        "{name: payout, from: payout, to: last-approval",
        "stage 'payout' runs from payout to last-approval: 'to' must be a later point"),
    # Before: accepted, and every ecommerce case lacked the column `evidence:` (EV001).
    "an evidence item without a name": (
        [(EVIDENCE, '  ecommerce: ["evidence:", evidence:payment_voucher]')],
        'ecommerce: ["evidence:"', "evidence items are columns named evidence:<item>, "
        "not 'evidence:'"),
}


@pytest.mark.parametrize("changes,needle,message", ERRORS.values(), ids=ERRORS.keys())
def test_each_error_names_its_line(tmp_path: Path, changes: list[tuple[str, str]], needle: str,
                                   message: str) -> None:
    path = write_policy(tmp_path, *changes)
    with pytest.raises(InputError) as caught:
        load_policy(path, known_rules=RULES.known)
    error = caught.value
    assert message in error.message
    assert error.file == str(path)
    assert error.row == line_with(path, needle), str(error)
    assert f": line {error.row}: " in str(error)  # (a YAML file has lines, not rows)


@pytest.mark.parametrize("name,field", [
    ("a version that is a truth value", "version"),
    ("a stage that ends where it starts", "stages.1.to"),
    ("a stage that ends before it starts", "stages.1.to"),
    ("an evidence item without a name", "evidence.ecommerce")])
def test_a_setting_that_can_never_work_names_its_field(tmp_path: Path, name: str,
                                                       field: str) -> None:
    changes, _, _ = ERRORS[name]
    with pytest.raises(InputError) as caught:
        load_policy(write_policy(tmp_path, *changes), known_rules=RULES.known)
    assert caught.value.field == field


def test_stages_between_points_in_process_order_load(tmp_path: Path) -> None:
    """Every stage whose `to` comes after its `from` is accepted, the next point included."""
    points = ["request", "evidence", "first-approval", "last-approval", "payout", "close"]
    pairs = [(a, b) for i, a in enumerate(points) for b in points[i + 1:]]
    stages = "".join(f"  - {{name: s{n}, from: {a}, to: {b}, limit: 1d}}\n"
                     for n, (a, b) in enumerate(pairs))
    path = write_policy(tmp_path, (STAGE + "\n", stages))
    assert [(s.start, s.end) for s in load(path).stages][1:] == pairs


# --- running a policy -----------------------------------------------------------------------
LOG = {
    "S1": [{"a": "Receive refund request", "r": "Nadia Rossi"},
           {"a": "Approve refund", "r": "Nadia Rossi"}, *CLEAN_TAIL],
    "S2": [{"a": "Receive refund request", "r": "Omar Farouk"},
           {"a": "Approve refund", "r": "Omar Farouk"}, *CLEAN_TAIL],
    "M1": [{"a": "Receive refund request"}, *CLEAN_TAIL],
}


def audit(policy: Policy) -> AuditResult:
    # The toy log is about waivers, not whole processes: the SOPs (CF rules) are left out.
    policy = dataclasses.replace(policy, sop={})
    log = build_log({k: [{"a": "Capture payment"}, *v] for k, v in LOG.items()}, policy)
    assert policy.as_of is not None
    return run_rules(log, policy, RULES, as_of=policy.as_of)


def load(path: Path) -> Policy:
    return load_policy(path, known_rules=RULES.known)


def by(result: AuditResult, case: str, name: str) -> list:  # type: ignore[type-arg]
    return [f for f in result.findings if f.case_id == case and f.name == name]


def waivers(*items: str) -> tuple[str, str]:
    return ("waivers: []", "waivers:\n" + "".join(items))


def waiver(rule: str, where: str, expires: str = "2027-03-31",
           reason: str = "only staff on duty") -> str:
    return (f"  - rule: {rule}\n    {where}\n    reason: {reason}\n"
            f"    approved_by: Head of Internal Audit\n    expires: {expires}\n")


def test_without_waivers(tmp_path: Path) -> None:
    result = audit(load(write_policy(tmp_path)))
    assert result.errors == []
    assert {(f.case_id, f.name) for f in result.findings} == {
        ("S1", "self-approval"), ("S2", "self-approval"), ("M1", "missing-approval")}
    assert not any(f.waived for f in result.findings)


def test_waivers_by_case_by_code_and_by_fingerprint(tmp_path: Path) -> None:
    plain = audit(load(write_policy(tmp_path)))
    (s2,) = by(plain, "S2", "self-approval")
    result = audit(load(write_policy(tmp_path, waivers(
        waiver("self-approval", "case: S1"),
        waiver("SD001", f"fingerprint: '{s2.fingerprint}'", reason="cover for sick leave")))))
    (s1,) = by(result, "S1", "self-approval")
    assert s1.waived and s1.waiver_reason is not None
    assert "only staff on duty" in s1.waiver_reason
    assert "Head of Internal Audit" in s1.waiver_reason and "2027-03-31" in s1.waiver_reason
    (s2,) = by(result, "S2", "self-approval")
    assert s2.waived and "cover for sick leave" in (s2.waiver_reason or "")
    assert not by(result, "M1", "missing-approval")[0].waived
    assert [(w.status, w.matched) for w in result.waivers] == [("used", 1), ("used", 1)]


def test_expired_and_never_matched_waivers(tmp_path: Path) -> None:
    result = audit(load(write_policy(tmp_path, waivers(
        waiver("self-approval", "case: S1", expires="2026-09-30"),  # before as_of 2026-10-15
        waiver("self-approval", "case: M1"),  # M1 has another finding, not this one
        waiver("approver-pays", "case: S2"),
        waiver("self-approval", "case: S2", expires="2026-10-15")))))  # valid on its last day
    assert [w.status for w in result.waivers] == ["expired", "never matched", "never matched",
                                                  "used"]
    # The expired waiver of S1 no longer waives its finding; the one matching nothing
    # (as no waiver in force) leaves nothing open.
    assert [w.lapsed for w in result.waivers] == [1, 0, 0, 0]
    assert not by(result, "S1", "self-approval")[0].waived
    assert by(result, "S2", "self-approval")[0].waived
    assert not by(result, "M1", "missing-approval")[0].waived


def test_a_second_waiver_of_a_waived_finding_and_one_of_a_rule_not_run_say_so(
        tmp_path: Path) -> None:
    """Both read "never matched", which tells the auditor to look for a typo: one whose
    findings an earlier waiver waived, and one whose rule the policy does not select."""
    result = audit(load(write_policy(
        tmp_path, waivers(waiver("self-approval", "case: S1"), waiver("SD", "case: S1"),
                          waiver("missing-approval", "case: M1")),
        ('  ignore: []', '  ignore: [missing-approval]'))))
    assert [(w.status, w.matched) for w in result.waivers] == [
        ("used", 1), ("matched only findings an earlier waiver waived", 0),
        ("its rule did not run", 0)]
    assert "only staff on duty" in (by(result, "S1", "self-approval")[0].waiver_reason or "")


def test_severity_overrides(tmp_path: Path) -> None:
    result = audit(load(write_policy(
        tmp_path, ("  severity: {}", "  severity: {self-approval: low, AP: info}"))))
    assert {f.severity for f in result.findings if f.name == "self-approval"} == {"low"}
    assert by(result, "M1", "missing-approval")[0].severity == "info"


def test_the_most_specific_severity_override_wins_whatever_the_order(tmp_path: Path) -> None:
    """`{self-approval: low, SD: high}`: the family's, written later, made SD001 high; the
    rule's own reference wins."""
    result = audit(load(write_policy(
        tmp_path, ("  severity: {}", "  severity: {self-approval: low, SD: high}"))))
    assert {f.severity for f in result.findings if f.name == "self-approval"} == {"low"}
    # A family or glob that names one rule only is still broader than the rule's own code.
    for broad in ("missing-app*", "AP00[1]"):
        result = audit(load(write_policy(
            tmp_path, ("  severity: {}", f'  severity: {{AP001: low, "{broad}": high}}'))))
        assert by(result, "M1", "missing-approval")[0].severity == "low", broad


def test_ignoring_a_family(tmp_path: Path) -> None:
    result = audit(load(write_policy(tmp_path, ("  ignore: []", "  ignore: [SD]"))))
    assert not any(r.family == "SD" for r in result.rules)
    assert len(result.rules) == len(RULES) - 4
    assert {(f.case_id, f.name) for f in result.findings} == {("M1", "missing-approval")}


def test_a_rule_that_raises_is_an_error_and_the_others_still_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: SelfApproval, facts: CaseFacts) -> list:  # type: ignore[type-arg]
        raise RuntimeError("boom")

    monkeypatch.setattr(SelfApproval, "check", boom)
    result = audit(load(write_policy(tmp_path)))
    assert [(e.rule, e.name, e.error) for e in result.errors] == [
        ("SD001", "self-approval", "RuntimeError: boom")]
    assert "boom" in result.errors[0].traceback
    assert {(f.case_id, f.name) for f in result.findings} == {("M1", "missing-approval")}
    assert len(result.rules) == len(RULES)



def test_a_waiver_by_family_waives_that_family_only(tmp_path: Path) -> None:
    """A waiver's rule may be a family or glob, resolved like rule selection."""
    path = write_policy(tmp_path, ("waivers: []", (
        "waivers:\n  - {rule: SD, case: C1, reason: one-person store, approved_by: CAE,"
        " expires: 2027-01-01}")))
    policy = load_policy(path, known_rules=RULES.known)
    log = build_log({"C1": [
        {"a": "Receive refund request", "r": "Nadia Rossi", "t": "2026-07-01T09:00Z",
         "amount": 100},
        {"a": "Approve refund", "r": "Nadia Rossi", "amount": 100},
        {"a": "Execute payout", "r": "Nadia Rossi", "amount": 100},
    ]}, policy)
    assert policy.as_of is not None
    result = run_rules(log, policy, RULES, as_of=policy.as_of)
    waived = {f.name for f in result.findings if f.waived}
    # (A supervisor receiving the request and executing the payout: the Customer service
    # and the Payments lane's tasks, so unauthorized-performer too, of the family waived.)
    assert waived == {"self-approval", "approver-pays", "unauthorized-performer"}
    assert all(not f.waived for f in result.findings if f.rule[:2] != "SD")
    assert result.waivers[0].status == "used"


def test_a_waiver_case_is_the_text_as_written(tmp_path: Path) -> None:
    """YAML 1.1 reads `case: 00123` as the octal number 83 and `approved_by: no` as false:
    a waiver's texts are taken as written (before: the waiver named case "83")."""
    path = write_policy(tmp_path, waivers(
        waiver("self-approval", "case: 00123").replace("Head of Internal Audit", "no")))
    [loaded] = load(path).waivers
    assert (loaded.case, loaded.approved_by) == ("00123", "no")


def test_aliases_expanding_beyond_the_limit_are_refused(tmp_path: Path) -> None:
    """A few kilobytes of nested aliases expand to billions of values, which any walk over
    them makes (before: `str()` of the reason took seconds and gigabytes at depth 7)."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 8)]
    path = tmp_path / "policy.yaml"
    path.write_text("\n".join(levels) + "\n" + DEFAULT, encoding="utf-8")
    with pytest.raises(InputError, match="more than 100,000 values once its aliases are "
                                         "expanded"):
        load(path)


def test_labels_and_tasks_are_read_composed_and_a_label_twice_so_is_refused(
        tmp_path: Path) -> None:
    """`Auszahlung ausgeführt` typed with `u` and a combining diaeresis is the composed
    label the import writes (NFC), its sop_task too; the same label written both ways is
    one label given twice, not two mappings of which one silently wins."""
    import unicodedata

    from conformance.bpmn import clean_name

    apart = unicodedata.normalize("NFD", "Auszahlung ausgeführt")
    policy = load(write_policy(tmp_path, (
        "  Execute payout: {control: pay}",
        f"  {apart}: {{control: pay, sop_task: 'Über {apart}'}}")))
    assert policy.control_of()["Auszahlung ausgeführt"] == "pay"
    assert policy.activities["Auszahlung ausgeführt"].sop_task == "Über Auszahlung ausgeführt"
    assert clean_name(apart) == "Auszahlung ausgeführt"
    path = write_policy(tmp_path, ("  Execute payout: {control: pay}",
                                   f"  {apart}: {{control: pay}}\n"
                                   "  Auszahlung ausgeführt: {control: pay}"))
    with pytest.raises(InputError) as caught:
        load(path)
    assert "the label 'Auszahlung ausgeführt' is given twice" in caught.value.message
    assert caught.value.row == line_with(path, "Auszahlung ausgeführt: {control: pay}")


def test_a_glob_selects_by_codes_and_names_as_documented() -> None:
    """`select: ["ap*"]` also selected approved-not-paid and approver-pays (a glob matches
    the names too), which no doc said: the rule index and the default policy say so now,
    with this very example."""
    from audit.rules import default_rules

    rules = default_rules()
    approvals = [f"AP00{k}" for k in range(1, 6)]
    assert [r.code for r in rules.resolve("ap*")] == [*approvals, "EV003", "SD002"]
    assert [r.code for r in rules.resolve("AP*")] == approvals
    assert [r.code for r in rules.select(["ap*"])] == [*approvals, "EV003", "SD002"]
    root = Path(__file__).resolve().parents[1]
    index = (root / "docs" / "rules" / "README.md").read_text(encoding="utf-8")
    assert "`ap*` selects AP001-AP005 and also `approved-not-paid` (EV003) and " \
           "`approver-pays` (SD002)" in index
    assert "`ap*` is AP001-AP005 and also approved-not-paid (EV003) and\n# approver-pays " \
           "(SD002)" in DEFAULT


def test_a_policy_holding_a_nul_or_utf16_is_refused_at_its_line_in_one_line(
        tmp_path: Path) -> None:
    """A NUL in a policy was refused with YAML's message of two lines ('... not allowed\\n
    in "<unicode string>", position 247') and no line; a policy saved as UTF-16 with
    "cannot read: 'utf-8' codec can't decode byte 0xff in position 0". Both name the line."""
    text = default_policy_path().read_text(encoding="utf-8")
    nul = tmp_path / "nul.yaml"
    nul.write_text(text.replace("version: 1", "version: 1\x00", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_policy(nul, known_rules=RULES.known)
    line = text[:text.index("version: 1")].count("\n") + 1
    assert caught.value.row == line
    assert f"line {line}:" in str(caught.value)  # (a YAML file's line, not a table's row)
    assert "\n" not in caught.value.message and "<unicode string>" not in caught.value.message
    assert "U+0000" in caught.value.message
    wide = tmp_path / "wide.yaml"
    wide.write_bytes(text.encode("utf-16"))
    with pytest.raises(InputError) as caught:
        load_policy(wide, known_rules=RULES.known)
    assert caught.value.row == 1
    assert "line 1:" in str(caught.value)
    assert "codec can't decode" not in caught.value.message
    assert "not UTF-8" in caught.value.message
