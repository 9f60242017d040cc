"""The policy's SOP and conformance settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audit.errors import InputError
from audit.policy import default_policy_path, load_policy
from tests.bpmn_texts import COLLABORATION, SEQ_A_TASK_C

MODELS = Path(__file__).resolve().parents[1] / "models"


def _policy(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text("activities:\n  Approve refund: {control: approve, sop_task: approve}\n"
                    "  Capture payment: {control: purchase}\n" + extra, encoding="utf-8")
    return path


def test_default_policy_has_an_sop_per_channel() -> None:
    policy = load_policy(default_policy_path())
    for channel in ("ecommerce", "subscription", "offline"):
        path = policy.sop_path(channel)
        assert path == MODELS / f"{channel}.bpmn" and path.exists()
    assert policy.conformance.mode == "alignments" and policy.conformance.min_fitness is None


def test_sop_paths_and_task_names(tmp_path: Path) -> None:
    (tmp_path / "mine.bpmn").write_text("<x/>", encoding="utf-8")
    policy = load_policy(_policy(tmp_path, "sop: {ecommerce: mine.bpmn, '*': offline.bpmn}\n"))
    assert policy.sop_path("ecommerce") == tmp_path / "mine.bpmn"
    # A bare bundled name not beside the policy is the bundled model; '*' covers the rest.
    assert policy.sop_path("offline") == MODELS / "offline.bpmn"
    assert policy.sop_path(None) == MODELS / "offline.bpmn"
    # The purchase is context: not an SOP task; sop_task renames.
    assert policy.sop_tasks() == {"Approve refund": "approve"}


@pytest.mark.parametrize("extra,message", [
    ("sop: {web: a.bpmn}\n", "unknown channel 'web'"),
    ("conformance: {mode: fast}\n", "mode must be one of"),
    ("conformance: {min_fitness: 2}\n", "from 0 to 1"),
    ("conformance: {bound: 2}\n", "unknown key 'bound'"),
])
def test_bad_conformance_settings_name_the_line(tmp_path: Path, extra: str,
                                                message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        load_policy(_policy(tmp_path, extra))
    assert caught.value.row == 4


ABC_LOG = ("event:id,case:concept:name,concept:name,time:timestamp,refund:channel\n"
           "e1,c1,A,2026-09-01T10:00:00Z,ecommerce\ne2,c1,B,2026-09-01T11:00:00Z,ecommerce\n"
           "e3,c1,C,2026-09-01T12:00:00Z,ecommerce\n")
ABC_POLICY = """version: 1
as_of: 2026-10-15T00:00:00Z
activities:
  A: {control: other}
  B: {control: other}
  C: {control: other}
rules:
  select: [CF]
"""


@pytest.fixture()
def collaboration(tmp_path: Path) -> tuple[Path, Path, Path]:
    model, log, policy = (tmp_path / "collab.bpmn", tmp_path / "log.csv",
                          tmp_path / "policy.yaml")
    model.write_text(COLLABORATION, encoding="utf-8")
    log.write_text(ABC_LOG, encoding="utf-8")
    policy.write_text(ABC_POLICY, encoding="utf-8")
    return model, log, policy


def test_a_collaboration_sop_whose_process_is_not_named_is_warned_of(
        collaboration: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The reader took the pool with the most tasks (Customer) and said so in a note, which
    check dropped: every case of the Shop's log skipped Ask, Wait, Pay and Rate, fitness 0,
    and no word of the choice. The note is a warning now (console, manifest)."""
    import json

    from click.testing import CliRunner

    from audit.cli import main

    model, log, policy = collaboration
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--sop",
                                    str(model), "--out", str(out), "--format", "json"])
    told = ("the SOP collab.bpmn (every channel): the file has 2 processes with flow "
            "elements ('pc' (pool 'Customer'): 4 task(s), 'ps' (pool 'Shop'): 3 task(s)); "
            "read 'pc' (pool 'Customer'), the one with the most tasks; to judge against "
            "another, name it as collab.bpmn#PROCESS")
    assert f"warning: {told}" in run.output
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    assert any(w.startswith(told) for w in manifest["warnings"])


@pytest.mark.parametrize("named", ["ps", "Shop", "P2"])
def test_a_process_of_a_collaboration_is_chosen_as_file_hash_process(
        collaboration: tuple[Path, Path, Path], tmp_path: Path, named: str) -> None:
    """`FILE#PROCESS` (a process id, or a pool's participant id or name, as `model inspect
    --process` takes them) in --sop and in the policy's sop: the Shop's log fits the Shop."""
    from audit.checkrun import run_check

    model, log, policy = collaboration
    run = run_check([log], policy, sop=Path(f"{model}#{named}"))
    assert run.summary()["conformance"]["ecommerce"]["fitness"] == 1.0
    assert run.result.findings == [] and run.warnings() == []
    assert run.manifest()["sop"] == [{"channel": "*", "file": str(model.resolve()),
                                      "process": named, "sha256": run.manifest()["sop"][0][
                                          "sha256"]}]
    policy.write_text(ABC_POLICY + f"sop: {{ecommerce: 'collab.bpmn#{named}'}}\n",
                      encoding="utf-8")
    loaded = load_policy(policy)
    assert loaded.sop_path("ecommerce") == model and loaded.sop_process("ecommerce") == named
    assert loaded.sop_process("offline") is None
    run = run_check([log], policy)
    assert run.summary()["conformance"]["ecommerce"]["fitness"] == 1.0
    assert run.result.findings == [] and run.warnings() == []


def test_an_unknown_process_is_an_error_naming_the_processes(
        collaboration: tuple[Path, Path, Path]) -> None:
    from audit.checkrun import checked_policy

    model, _, policy = collaboration
    with pytest.raises(InputError, match=r"no process or pool 'Nope' in this file; "
                       r"processes: pc \(pool 'Customer'\), ps \(pool 'Shop'\)"):
        checked_policy(policy, Path(f"{model}#Nope"))
    policy.write_text(ABC_POLICY + "sop: {ecommerce: 'collab.bpmn#Nope'}\n", encoding="utf-8")
    with pytest.raises(InputError, match="no process or pool 'Nope'"):
        checked_policy(policy)
    policy.write_text(ABC_POLICY + "sop: {ecommerce: 'collab.bpmn#'}\n", encoding="utf-8")
    with pytest.raises(InputError, match="write FILE#PROCESS"):
        load_policy(policy)
    policy.write_text(ABC_POLICY, encoding="utf-8")
    with pytest.raises(InputError, match="no such SOP file"):
        checked_policy(policy, Path(f"{model}.missing#ps"))


def test_a_broken_sop_no_selected_rule_reads_fails_no_run(
        collaboration: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """After the rules ran, check read every SOP of the policy for its pool warnings: a file
    no selected rule reads ('not xml', rules select SD001) turned a finished run into exit 2,
    its reports unwritten. The SOPs are read before the rules, and only where a selected rule
    reads them; the warnings come from that reading."""
    from audit.checkrun import checked_policy, run_check

    _, log, policy = collaboration
    (tmp_path / "broken.bpmn").write_text("not xml", encoding="utf-8")
    policy.write_text(ABC_POLICY.replace("select: [CF]", "select: [SD001]")
                      + "sop: {ecommerce: broken.bpmn, offline: collab.bpmn}\n",
                      encoding="utf-8")
    run = run_check([log], policy)
    assert [r.code for r in run.result.rules] == ["SD001"] and run.warnings() == []
    assert checked_policy(policy).warnings == ()
    # Where a conformance rule reads them: the broken one is an error before any rule ran,
    # and the collaboration's choice is told by the policy as checked.
    policy.write_text(ABC_POLICY + "sop: {ecommerce: broken.bpmn}\n", encoding="utf-8")
    with pytest.raises(InputError, match="malformed XML"):
        checked_policy(policy)
    policy.write_text(ABC_POLICY + "sop: {ecommerce: collab.bpmn}\n", encoding="utf-8")
    warning = checked_policy(policy).warnings[0]
    assert warning.startswith("the SOP collab.bpmn (channel ecommerce): the file has 2 ")
    from click.testing import CliRunner

    from audit.cli import main

    told = CliRunner().invoke(main, ["policy", "check", str(policy)])
    assert told.exit_code == 0 and f"warning: {warning}" in told.output


def test_an_sop_file_whose_path_holds_a_hash_is_that_file(
        collaboration: tuple[Path, Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An SOP entry was always split at its last '#' as FILE#PROCESS, so `sop#v2.bpmn` (or
    any file in a folder `C#`) could not be used: 'no such SOP file' for `sop`. An entry
    naming an existing file is that file (against the policy's folder for `sop:`, the
    working directory for --sop); FILE#PROCESS otherwise, at the last '#'."""
    from audit.checkrun import checked_policy, run_check

    model, log, policy = collaboration
    (tmp_path / "C#").mkdir()
    for name in ("sop#v2.bpmn", "C#/collab.bpmn"):
        (tmp_path / name).write_text(model.read_text(encoding="utf-8"), encoding="utf-8")
        for entry, process in ((name, None), (f"{name}#ps", "ps")):
            policy.write_text(ABC_POLICY + f"sop: {{ecommerce: '{entry}'}}\n", encoding="utf-8")
            loaded = load_policy(policy)
            assert loaded.sop_path("ecommerce") == tmp_path / name
            assert loaded.sop_process("ecommerce") == process
    run = run_check([log], policy)  # (C#/collab.bpmn#ps)
    assert run.summary()["conformance"]["ecommerce"]["fitness"] == 1.0
    monkeypatch.chdir(tmp_path)  # --sop: against the working directory
    policy.write_text(ABC_POLICY, encoding="utf-8")
    assert checked_policy(policy, Path("sop#v2.bpmn")).sop == {
        "*": str(tmp_path / "sop#v2.bpmn")}
    assert checked_policy(policy, Path("sop#v2.bpmn#Shop")).sop_processes == {"*": "Shop"}
    with pytest.raises(InputError, match=r"no such SOP file; the entry was read as "
                       r"FILE#PROCESS, process 'v3\.bpmn'"):
        checked_policy(policy, Path("sop#v3.bpmn"))
    policy.write_text(ABC_POLICY + "sop: {ecommerce: 'sop#v3.bpmn'}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"process 'v3\.bpmn'") as caught:
        checked_policy(policy)
    assert caught.value.field == "sop.ecommerce"


@pytest.mark.parametrize("entry,message", [
    ("nosuch.bpmn", "no such SOP file"),
    ("collab.bpmn#Nope", "no process or pool 'Nope' in this file"),
])
def test_a_bad_sop_is_an_input_error_where_only_unauthorized_approver_reads_it(
        collaboration: tuple[Path, Path, Path], tmp_path: Path, entry: str,
        message: str) -> None:
    """The SOPs were checked up front only where a conformance rule was selected: with
    `select: [AP]`, AP004 (which reads the SOP's lanes) crashed on a missing file or an
    unknown process ("rule AP004 crashed: FileNotFoundError", a traceback in findings.json),
    after the other rules ran. Now it is the input error the CF rules give, before the run."""
    from click.testing import CliRunner

    from audit.cli import main
    from audit.rules import default_rules

    _, log, policy = collaboration
    policy.write_text(ABC_POLICY.replace("select: [CF]", "select: [AP]")
                      + f"sop: {{'*': '{entry}'}}\n", encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                    str(out), "--format", "json"])
    assert run.exit_code == 2 and message in run.output and "crashed" not in run.output
    assert not (out / "findings.json").exists()
    # What reads the SOPs: the conformance rules their nets, AP004 and SD004 their lanes, no
    # other.
    reading = {rule.code: rule.reads_sop for rule in default_rules() if rule.reads_sop}
    assert reading == {"CF001": "net", "CF002": "net", "CF003": "net", "CF004": "net",
                       "AP004": "lanes", "SD004": "lanes"}


def test_a_sop_task_of_no_sop_is_an_error_naming_the_policy_line(
        collaboration: tuple[Path, Path, Path]) -> None:
    """A policy's sop_task naming no task of the SOP ('Erstattung Freigeben' for the model's
    'Erstattung freigeben') was accepted silently: the CF rules reported its events as
    unexpected and its task as skipped, and AP004 found no lane for it. It is an error naming
    the line and field; a name is judged against every SOP's tasks together (a task of one
    channel's SOP may rightly be absent from another's); a label mapped to itself that is a
    task of no SOP is a warning."""
    from audit.checkrun import checked_policy

    _, _, policy = collaboration
    sops = "sop: {ecommerce: 'collab.bpmn#ps', offline: 'collab.bpmn#pc'}\n"
    policy.write_text(ABC_POLICY.replace("  A: {control: other}", "  A: {control: other, "
                                         "sop_task: a}") + sops, encoding="utf-8")
    with pytest.raises(InputError, match=r"sop_task 'a' is a task of no SOP \(collab.bpmn#pc, "
                       r"collab.bpmn#ps; "
                       r"their tasks: A, Ask, B, C, Pay, Rate, Wait\); did you mean 'A'\?"
                       ) as caught:
        checked_policy(policy)
    assert (caught.value.file, caught.value.row, caught.value.field) == (
        str(policy), 4, "activities.A.sop_task")
    # A task of the offline SOP only (the Customer pool) is no error; a label of no SOP,
    # mapped to itself, is a warning.
    policy.write_text(ABC_POLICY.replace("  A: {control: other}", "  A: {control: other, "
                                         "sop_task: Ask}\n  Rate it: {control: other}")
                      + sops, encoding="utf-8")
    assert checked_policy(policy).warnings == (
        "the label 'Rate it' is a task of no SOP (collab.bpmn#pc, collab.bpmn#ps): the "
        "conformance rules read its events as unexpected activities; where the SOPs name it "
        "otherwise (as 'Rate'?), set activities.Rate it.sop_task in the policy",)
    # Where only unauthorized-approver reads the SOPs (their lanes): the approvals' labels.
    policy.write_text(ABC_POLICY.replace("select: [CF]", "select: [AP004]").replace(
        "  C: {control: other}\n", "  C: {control: other}\n  Approve: {control: approve}\n")
        + sops, encoding="utf-8")
    warning, judged = checked_policy(policy).warnings
    assert warning.startswith("the label 'Approve' is a task of no SOP (collab.bpmn#pc, "
                              "collab.bpmn#ps): "
                              "unauthorized-approver finds no lane holding it")
    assert judged.startswith("unauthorized-approver judges the approvals at level 'approve'")


def test_an_approval_level_judged_by_nothing_is_warned_of(
        collaboration: tuple[Path, Path, Path]) -> None:
    """A level with no roles in the policy's approvers whose task is in no lane of the SOP
    (or with no SOP) was judged by nothing: AP004 "ran, 0 findings", without a word. The
    run warns, naming the level, its labels and where."""
    from audit.checkrun import run_check

    _, log, policy = collaboration
    base = ABC_POLICY.replace("select: [CF]", "select: [AP004]").replace(
        "B: {control: other}", "B: {control: approve}")
    policy.write_text(base, encoding="utf-8")
    run = run_check([log], policy)
    told = ("unauthorized-approver judges the approvals at level 'approve' ('B') by nothing "
            "where ")
    assert run.warnings() == [
        told + "there is no SOP whose lanes would judge them: the policy lists no roles in "
        "approvers.approve, so no approval there is reported; list the roles allowed in "
        "approvers.approve"]
    assert run.manifest()["warnings"] == run.warnings() and run.result.findings == []
    policy.write_text(base + "sop: {ecommerce: 'collab.bpmn#ps'}\n", encoding="utf-8")
    assert run_check([log], policy).warnings() == [
        told + "channels subscription, offline have no SOP; where a case states no channel "
        "(no '*' SOP in the policy); where the SOP collab.bpmn "
        "(channel ecommerce) puts 'B' in no lane: the policy lists no roles in "
        "approvers.approve, so no approval there is reported; list the roles allowed in "
        "approvers.approve"]
    # Roles listed for the level: judged by them, no such warning. The log's approval
    # records no role (nor person): a gap in the data, told as such, not a finding (before,
    # an AP004 finding "no authority to approve is shown"); where the level was judged by
    # nothing (above), it was not counted either.
    policy.write_text(base + "approvers: {approve: [supervisor]}\n", encoding="utf-8")
    run = run_check([log], policy)
    assert run.warnings() == [
        "unauthorized-approver did not judge 1 event whose role is not recorded (B 1) in "
        "case c1: who did it, in which role, the log does not say, a gap in the data, not a "
        "finding: 1 approval whose authority to approve is not shown; 1 names no person: "
        "record who did it"]
    assert run.result.findings == []
    # Its role recorded, it is judged by the roles listed.
    log.write_text("org:role," + ABC_LOG.replace("\n", "\nfinance,")[:-len("finance,")],
                   encoding="utf-8")
    run = run_check([log], policy)
    assert not [w for w in run.warnings() if "role is not recorded" in w]
    assert [(f.rule, f.message) for f in run.result.findings] == [
        ("AP004", "approved by (not recorded) (role: finance), which may not approve")]


def test_two_sops_of_one_file_name_in_two_folders_are_two_sops(
        collaboration: tuple[Path, Path, Path]) -> None:
    """The SOPs' tasks were kept by file name: a/sop.bpmn and b/sop.bpmn overwrote each
    other, and a sop_task naming a task of the first was "a task of no SOP"."""
    from audit.checkrun import checked_policy

    folder = collaboration[0].parent
    _, _, policy = collaboration
    for name, task in (("a", "Freigabe"), ("b", "B")):
        (folder / name).mkdir()
        (folder / name / "sop.bpmn").write_text(SEQ_A_TASK_C.replace("TASK", task),
                                                encoding="utf-8")
    policy.write_text(ABC_POLICY.replace("  B: {control: other}", "  B: {control: other, "
                                         "sop_task: Freigabe}")
                      + "sop: {ecommerce: a/sop.bpmn, offline: b/sop.bpmn}\n", encoding="utf-8")
    assert checked_policy(policy).warnings == ()
    policy.write_text(policy.read_text(encoding="utf-8").replace("sop_task: Freigabe",
                                                                 "sop_task: Freigab"),
                      encoding="utf-8")
    with pytest.raises(InputError, match=r"sop_task 'Freigab' is a task of no SOP \("
                       + re.escape(str((folder / "a" / "sop.bpmn").resolve())) + ", "
                       + re.escape(str((folder / "b" / "sop.bpmn").resolve()))):
        checked_policy(policy)


def test_a_task_of_no_sop_is_never_hinted_as_another_labels_task(
        collaboration: tuple[Path, Path, Path]) -> None:
    """The hint for a label that is a task of no SOP named the nearest task even where
    another label maps to it ("Approve refund (second level)" was told to be 'Approve
    refund', the first level's task); and it said unauthorized-approver finds no lane for a
    level the policy's approvers judge."""
    from audit.checkrun import checked_policy

    folder = collaboration[0].parent
    _, _, policy = collaboration
    (folder / "one.bpmn").write_text(SEQ_A_TASK_C.replace("TASK", "Approve refund"),
                                     encoding="utf-8")
    policy.write_text(ABC_POLICY.replace("select: [CF]", "select: [CF, AP004]").replace(
        "  C: {control: other}\n", "  C: {control: other}\n  Approve refund: {control: approve}"
        "\n  Approve refund (second level): {control: second-approve}\n")
        + "sop: {'*': one.bpmn}\napprovers: {second-approve: [finance]}\n", encoding="utf-8")
    warnings = [w for w in checked_policy(policy).warnings if "(second level)" in w]
    assert warnings == [
        "the label 'Approve refund (second level)' is a task of no SOP (one.bpmn): the "
        "conformance rules read its events as unexpected activities; where the SOPs name it "
        "otherwise, set activities.Approve refund (second level).sop_task in the policy"]


ROLELESS_LOG = (
    "case:concept:name,concept:name,time:timestamp,org:resource,org:role,refund:channel\n"
    "C1,Receive refund request,2026-07-01T08:00:00Z,Ben Carter,customer-service,ecommerce\n"
    "C1,Approve refund,2026-07-01T09:00:00Z,Nadia Rossi,,ecommerce\n"
    "C1,Execute payout,2026-07-01T10:00:00Z,,,ecommerce\n"
    "C1,Close ticket,2026-07-01T11:00:00Z,Ben Carter, ,ecommerce\n"
    "C2,Receive refund request,2026-07-01T08:00:00Z,Ben Carter,customer-service,offline\n"
    "C2,Execute payout,2026-07-01T10:00:00Z,,,offline\n"
    "C2,Calculate pro-rata amount,2026-07-01T11:00:00Z,Ben Carter,,offline\n")


@pytest.mark.parametrize("select", ["*", "SD004", "AP", "DQ"])
def test_the_events_the_role_rules_cannot_judge_for_want_of_a_role_are_told_once(
        tmp_path: Path, select: str) -> None:
    """A payment system's payout names no person, so no role: unauthorized-performer judges
    only events whose role is recorded, and the run tells how many it left, per activity,
    where their task is in a lane of their channel's SOP (not the pro-rata calculation, in
    no lane of the offline SOP); a blank role is none. unauthorized-approver treats an
    approval whose role is not recorded alike, a gap in the data told in the same one
    warning, not a finding: before, it found C1's approval ("approved by Nadia Rossi (role
    not recorded): no authority to approve is shown") while unauthorized-performer left the
    close by the same want unjudged and warned of it. Not told where neither rule ran."""
    from audit.checkrun import run_check

    log = tmp_path / "log.csv"
    log.write_text(ROLELESS_LOG, encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_path().read_text(encoding="utf-8").replace(
        'select: ["*"]', f'select: ["{select}"]'), encoding="utf-8")
    run = run_check([log], policy)
    told = [w for w in run.warnings() if "role is not recorded" in w]
    assert [f for f in run.result.findings if f.rule in ("AP004", "SD004")] == []
    if select == "DQ":
        assert told == []
        return
    # Which advice fits which events: the payouts name no person (a role history cannot
    # help), the close names one (before: both told to import a role history); where
    # missing-resource does not run, the warning does not send the reader to it.
    reported = " (missing-resource reports them)" if select == "*" else ""
    # Where to look: the cases holding them, named in the warning (the first few by case
    # id) and listed per rule in findings.json's unjudged_cases (before: no case named).
    listed = {"AP004": {"role_not_recorded": ["C1"]},
              "SD004": {"role_not_recorded": ["C1", "C2"]}}
    assert run.unjudged_case_ids() == {code: cases for code, cases in listed.items()
                                       if code.startswith(select.rstrip("*")) or select == "*"}
    if select == "SD004":
        assert told == [
            "unauthorized-performer did not judge 3 events whose role is not recorded (Close "
            "ticket 1; Execute payout 2) in cases C1, C2: their tasks are in a lane of the "
            "SOP, but who did them, in which role, the log does not say; 2 name no "
            f"person{reported}: record who did them; 1 names a person whose role is not "
            "recorded: import a role history covering it to judge it"]
    elif select == "AP":
        assert told == [
            "unauthorized-approver did not judge 1 event whose role is not recorded (Approve "
            "refund 1) in case C1: who did it, in which role, the log does not say, a gap in "
            "the data, not a finding: 1 approval whose authority to approve is not shown; 1 "
            "names a person whose role is not recorded: import a role history covering it to "
            "judge it"]
    else:
        assert told == [
            "unauthorized-approver and unauthorized-performer did not judge 4 events whose "
            "role is not recorded (Approve refund 1; Close ticket 1; Execute payout 2) in "
            "cases C1, C2: who did them, in which role, the log does not say, a gap in the "
            "data, not a finding: 1 approval whose authority to approve is not shown, and 3 "
            f"tasks in a lane of the SOP not judged; 2 name no person{reported}: record who "
            "did them; 2 name a person whose role is not recorded: import a role history "
            "covering them to judge them"]


def test_an_approval_whose_role_is_recorded_is_still_judged(tmp_path: Path) -> None:
    """The other side of the one treatment: an approval by a recorded role that may not
    approve is found (and not counted as unjudged); one by a role that may, neither."""
    from audit.checkrun import run_check

    log = tmp_path / "log.csv"
    log.write_text(ROLELESS_LOG.replace(
        "C1,Approve refund,2026-07-01T09:00:00Z,Nadia Rossi,,ecommerce",
        "C1,Approve refund,2026-07-01T09:00:00Z,Nadia Rossi,customer-service,ecommerce"
    ).replace("C2,Execute payout,2026-07-01T10:00:00Z,,,offline\n",
              "C2,Approve refund,2026-07-01T09:00:00Z,Omar Haddad,Supervisor,offline\n"
              "C2,Execute payout,2026-07-01T10:00:00Z,,,offline\n"), encoding="utf-8")
    run = run_check([log], default_policy_path())
    assert [(f.case_id, f.message) for f in run.result.findings if f.rule == "AP004"] == [
        ("C1", "approved by Nadia Rossi (role: customer-service), which may not approve")]
    assert run.unrecorded_approvals == {}
    assert not any("unauthorized-approver" in w for w in run.warnings())


def test_a_label_of_no_sop_is_told_where_unauthorized_performer_reads_the_lanes(
        collaboration: tuple[Path, Path, Path]) -> None:
    """Where unauthorized-performer reads the SOPs (their lanes) without the conformance
    rules, a label of a task it judges that is a task of no SOP is told, as the approvals'
    are for unauthorized-approver: its events are in no lane, so judged by nothing."""
    from audit.checkrun import checked_policy

    _, _, policy = collaboration
    sops = "sop: {ecommerce: 'collab.bpmn#ps', offline: 'collab.bpmn#pc'}\n"
    policy.write_text(ABC_POLICY.replace("select: [CF]", "select: [SD004]").replace(
        "  C: {control: other}\n", "  C: {control: other}\n  Refund sent: {control: pay}\n")
        + sops, encoding="utf-8")
    assert checked_policy(policy).warnings == (
        # (Pool 'ps' has no lanes: the rule judges no one doing its tasks, and says so.)
        "unauthorized-performer judges no one doing 'A', 'B', 'C': the SOP collab.bpmn#ps "
        "(channel ecommerce) puts them in no named lane (a process or pool without lanes, or "
        "an unnamed lane outside any named one)",
        "the label 'Refund sent' is a task of no SOP (collab.bpmn#pc, collab.bpmn#ps): "
        "unauthorized-performer finds no lane holding it; where the SOPs name it otherwise, "
        "set activities.Refund sent.sop_task in the policy",)
    # Not told where the rule does not run.
    policy.write_text(ABC_POLICY.replace("select: [CF]", "select: [AP004]").replace(
        "  C: {control: other}\n", "  C: {control: other}\n  Refund sent: {control: pay}\n")
        + sops, encoding="utf-8")
    assert checked_policy(policy).warnings == ()


@pytest.mark.parametrize("select", ["*", "AP"])
def test_a_log_of_no_sop_task_is_told_that_conformance_judged_no_case(
        tmp_path: Path, select: str) -> None:
    """A log whose labels the policy maps to no SOP task (a generic process log checked
    with `--sop model.bpmn`), or whose cases state no channel where the policy has an SOP
    per channel only, was checked without a word on conformance: the summary's conformance
    empty, no fitness, no CF finding, as if every case conformed. Told now, with what to do;
    not where the conformance rules did not run, nor where some case is judged."""
    from audit.checkrun import run_check

    log = tmp_path / "log.csv"
    log.write_text("case_id,activity,timestamp,resource\n"
                   "c1,Register claim,2026-07-01T09:00:00+00:00,ann\n"
                   "c1,Assess claim,2026-07-01T10:00:00+00:00,bob\n"
                   "c2,Register claim,2026-07-02T09:00:00+00:00,ann\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_path().read_text(encoding="utf-8").replace(
        'select: ["*"]', f'select: ["{select}"]'), encoding="utf-8")
    sop = Path(__file__).resolve().parents[1] / "models" / "ecommerce.bpmn"
    run = run_check([log], policy, sop=sop)
    told = [w for w in run.warnings() if w.startswith("conformance judged no case")]
    assert run.result.cases == 2
    if select == "AP":
        assert told == []
        return
    assert run.summary()["conformance"] == {}
    start = ("conformance judged no case: a case is aligned on its channel's SOP by its "
             "events whose label is an SOP task as the policy maps labels "
             "(activities.<label>.sop_task); ")
    assert told == [start + "no event's label is one, so nothing was aligned; to compare a "
                    "log with a model by the log's own labels, run `refund-audit compare LOG "
                    "MODEL`"]
    # The policy's labels, but no channel stated and no SOP for every channel: not aligned.
    log.write_text("case_id,activity,timestamp,resource\n"
                   "c1,Receive refund request,2026-07-01T09:00:00+00:00,ann\n"
                   "c1,Approve refund,2026-07-01T10:00:00+00:00,bob\n", encoding="utf-8")
    run = run_check([log], policy)
    assert run.summary()["conformance"] == {}
    assert [w for w in run.warnings() if w.startswith("conformance judged no case")] == [
        start + "the cases holding such events have no SOP for their channel (none stated; "
        "the policy's sop names 'ecommerce', 'offline', 'subscription'): state each case's "
        "channel (refund:channel), or give --sop MODEL, the SOP of every channel"]
    run = run_check([log], policy, sop=sop)  # (the SOP of every channel: aligned)
    assert run.summary()["conformance"]
    assert not [w for w in run.warnings() if w.startswith("conformance judged no case")]
    sample = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample"
    judged = run_check([sample / "canonical.csv"], default_policy_path())
    assert judged.summary()["conformance"]
    assert not [w for w in judged.warnings() if w.startswith("conformance judged no case")]


STRICT_RUNNING_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <process id="strict">
    <startEvent id="s"/><task id="t1" name="register request"/>
    <task id="t2" name="examine thoroughly"/><task id="t3" name="check ticket"/>
    <task id="t4" name="decide"/><exclusiveGateway id="g1"/>
    <task id="t5" name="pay compensation"/><task id="t6" name="reject request"/>
    <exclusiveGateway id="g2"/><endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
    <sequenceFlow id="f2" sourceRef="t1" targetRef="t2"/>
    <sequenceFlow id="f3" sourceRef="t2" targetRef="t3"/>
    <sequenceFlow id="f4" sourceRef="t3" targetRef="t4"/>
    <sequenceFlow id="f5" sourceRef="t4" targetRef="g1"/>
    <sequenceFlow id="f6" sourceRef="g1" targetRef="t5"/>
    <sequenceFlow id="f7" sourceRef="g1" targetRef="t6"/>
    <sequenceFlow id="f8" sourceRef="t5" targetRef="g2"/>
    <sequenceFlow id="f9" sourceRef="t6" targetRef="g2"/>
    <sequenceFlow id="f10" sourceRef="g2" targetRef="e"/>
  </process>
</definitions>
"""
"""The running example's SOP without 'examine casually' and 'reinitiate request'."""


def test_a_run_warns_of_the_policys_labels_of_no_sop_only_where_its_log_holds_them(
        tmp_path: Path) -> None:
    """An auditor's first run on a real log with its own SOP (`check running-example.xes
    --sop running-example.bpmn`, the default policy): ten warnings said that 'the label
    Receive refund request', 'Collect evidence', ... 'is a task of no SOP: the conformance
    rules read its events as unexpected activities' - labels of the default policy the log
    has no event of - burying the one warning that mattered (no event's label is an SOP
    task). A run tells such a warning only of a label its log holds; `policy check`, which
    reads no log, tells them all, as before."""
    from audit.checkrun import checked_policy, run_check

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "pm4py-tests"
    assert data.is_dir(), f"shared test data folder missing: {data} (expected next to the repo)"
    log, sop = data / "running-example.xes", data / "running-example.bpmn"
    default = load_policy(default_policy_path())
    told = checked_policy(default_policy_path(), sop).warnings
    # (policy check's view: every mapped label of the default policy, none of the log's)
    assert {w.split("'")[1] for w in told if "is a task of no SOP" in w} == {
        label for label in default.sop_tasks()}
    warnings = run_check([log], default_policy_path(), sop=sop).warnings()
    assert not [w for w in warnings if "is a task of no SOP" in w]
    assert any(w.startswith("conformance judged no case") for w in warnings)
    # Of them, those of the approvals, the evidence and the payout are named in one line.
    summary = [w for w in warnings if "label no event of the log" in w]
    assert len(summary) == 1
    assert set(re.findall(r"'([^']+)' \(([a-z-]+)\)", summary[0])) == {
        (label, a.control) for label, a in default.activities.items()
        if a.control in ("approve", "second-approve", "evidence", "pay")}
    # The log's own labels mapped, and one label it lacks: of the SOP without 'examine
    # casually' and 'reinitiate request', those two are told, 'Escalate' is not.
    strict = tmp_path / "strict.bpmn"
    strict.write_text(STRICT_RUNNING_EXAMPLE, encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nas_of: 2011-03-01T00:00:00Z\nactivities:\n"
        "  register request: {control: request}\n  examine thoroughly: {control: evidence}\n"
        "  examine casually: {control: evidence}\n  check ticket: {control: evidence}\n"
        "  decide: {control: approve}\n  reinitiate request: {control: other}\n"
        "  reject request: {control: reject}\n  pay compensation: {control: pay}\n"
        "  Escalate: {control: other}\n"
        "approvers: {approve: [supervisor]}\nrules: {select: [CF]}\n", encoding="utf-8")
    assert {w.split("'")[1] for w in checked_policy(policy, strict).warnings
            if "is a task of no SOP" in w} == {"examine casually", "reinitiate request",
                                               "Escalate"}
    run = run_check([log], policy, sop=strict)
    assert {w.split("'")[1] for w in run.warnings() if "is a task of no SOP" in w} == {
        "examine casually", "reinitiate request"}
    assert run.summary()["by_rule"]["CF002"]["findings"] == 4


def test_a_misspelt_approval_label_of_no_event_and_no_sop_task_is_told(
        tmp_path: Path) -> None:
    """A policy written for the running example with its approval label misspelt
    (`decision` for the log's `decide`): missing-approval found every paid case unapproved,
    and since a run tells a label's 'task of no SOP' warning only where the log holds it,
    nothing pointed at the typo. One warning names such labels of the approval, evidence and
    payout controls; the correctly spelt policy gives none."""
    from audit.checkrun import run_check

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "pm4py-tests"
    assert data.is_dir(), f"shared test data folder missing: {data} (expected next to the repo)"
    log, sop = data / "running-example.xes", data / "running-example.bpmn"

    def policy(approval: str) -> Path:
        path = tmp_path / f"{approval}.yaml"
        path.write_text(
            "version: 1\nas_of: 2011-03-01T00:00:00Z\nactivities:\n"
            "  register request: {control: request}\n"
            "  examine thoroughly: {control: evidence}\n"
            "  examine casually: {control: evidence}\n  check ticket: {control: evidence}\n"
            f"  {approval}: {{control: approve}}\n  reinitiate request: {{control: other}}\n"
            "  reject request: {control: reject}\n  pay compensation: {control: pay}\n"
            "  Escalate: {control: other}\n"
            "approvers: {approve: [supervisor]}\n", encoding="utf-8")
        return path

    typo = run_check([log], policy("decision"), sop=sop)
    assert typo.summary()["by_rule"]["AP001"]["findings"] == 3  # (every paid case)
    told = [w for w in typo.warnings() if "label no event of the log" in w
            or "labels no event of the log" in w]
    assert len(told) == 1 and "'decision' (approve)" in told[0]
    assert "Escalate" not in told[0]  # (a label of another control: not named)
    right = run_check([log], policy("decide"), sop=sop)
    assert right.summary()["by_rule"]["AP001"]["findings"] == 0
    assert not [w for w in right.warnings() if "no event of the log" in w]


def test_a_label_only_in_cases_of_a_channel_without_sop_is_not_warned_of(
        tmp_path: Path) -> None:
    """A sample of every channel checked with an SOP for e-commerce only: 'the label
    'Calculate pro-rata amount' is a task of no SOP: the conformance rules read its events
    as unexpected activities' - but those events are all in subscription cases, which
    conformance does not judge (no SOP). A label is told only where a case of a channel with
    an SOP holds it; with `*`, every case has one."""
    from audit.checkrun import run_check
    from audit.sample.generator import SampleSpec, write_sample

    write_sample(SampleSpec(channel="all", cases=30, seed=3, violation_rate=0.25),
                 tmp_path / "s")
    log = tmp_path / "s" / "canonical.csv"
    text = default_policy_path().read_text(encoding="utf-8")
    every = ("sop:\n  ecommerce: ecommerce.bpmn\n  subscription: subscription.bpmn\n"
             "  offline: offline.bpmn\n")
    assert every in text

    def warned(sops: str) -> list[str]:
        path = tmp_path / "policy.yaml"
        path.write_text(text.replace(every, sops), encoding="utf-8")
        run = run_check([log], path)
        assert run.summary()["conformance"]  # (the rules judged cases)
        return [w.split("'")[1] for w in run.warnings() if "is a task of no SOP" in w]

    prorata = "Calculate pro-rata amount"
    assert prorata in {str(v) for v in load_policy(default_policy_path()).activities}
    assert warned("sop:\n  ecommerce: ecommerce.bpmn\n") == []
    # The subscription cases judged on the e-commerce SOP: now its events are unexpected.
    assert warned("sop:\n  ecommerce: ecommerce.bpmn\n  subscription: ecommerce.bpmn\n") \
        == [prorata]
    assert warned("sop:\n  '*': ecommerce.bpmn\n") == [prorata]
