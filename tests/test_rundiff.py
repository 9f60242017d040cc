"""`refund-audit diff OLD NEW`: two checks of the bundled sample with known changes between
them, each finding's class asserted; bad runs refused (exit code 2, naming file and field);
diff.csv's cells neutralised; the output folder written as check writes its own."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from audit.cli import DIFF_FILES, main
from audit.errors import InputError
from audit.findings import FINDINGS_FORMAT, fingerprint
from audit.policy import default_policy_path
from audit.rules import default_rules
from audit.rundiff import DIFF_FILES as RUNDIFF_FILES
from audit.rundiff import csv_text, diff_runs, load_run, summary_lines
from audit.safety import restored_cell

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
ADDED_EVENT = "jira:RFD-1:diff-test"
"""The event NEW's log adds to case RFD-1: a label no policy maps (unmapped-activity)."""

LOGIC_VERSIONS = {rule.code: rule.logic_version for rule in default_rules()}
"""Each rule's logic version as the check records it (findings.json's rule_versions)."""


def run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def _policy(path: Path, *, waive: tuple[str, str] | None = None,
            ignore: list[str] | None = None, running_for: str | None = None) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    if running_for is not None:
        policy["conformance"]["running_for"] = running_for
    if waive is not None:
        policy["waivers"] = [{"rule": waive[0], "case": waive[1], "reason": "accepted",
                              "approved_by": "Head of Internal Audit",
                              "expires": "2027-12-31"}]
    if ignore:
        policy["rules"]["ignore"] = ignore
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


def _of(document: dict[str, Any], rule: str, case: str) -> dict[str, Any]:
    (found,) = [f for f in document["findings"] if f["rule"] == rule and f["case_id"] == case]
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """OLD: the bundled sample at 2026-11-01, its policy waiving SD002 on case 40048. NEW:
    at 2026-12-01, of the sample with the unmapped event of RFD-150 removed (resolved),
    case RFD-70 removed (not judged by NEW), an unmapped event added to RFD-1 (new), case
    RFD-5 renamed `=RFD-5` (a formula-like id: its old findings not re-judged, its new
    ones new), its policy waiving SD001 on case 40021 instead and ignoring EV006."""
    root = tmp_path_factory.mktemp("diff-runs")
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame = frame[frame["event:id"] != "jira:RFD-150:5000294"]
    frame = frame[frame["case:concept:name"] != "RFD-70"]
    added = frame[frame["event:id"] == "jira:RFD-1:5000338"].copy()
    added["event:id"] = ADDED_EVENT
    added["concept:name"] = "Customer called back"
    added["time:timestamp"] = "2026-09-03T11:00:00+00:00"
    frame = pd.concat([frame, added], ignore_index=True)
    frame.loc[frame["case:concept:name"] == "RFD-5", "case:concept:name"] = "=RFD-5"
    log = root / "new.csv"
    frame.to_csv(log, index=False)
    old, new = root / "old", root / "new"
    run("check", str(SAMPLE), "--out", str(old), "--format", "json", "--fail-on", "never",
        "--as-of", "2026-11-01T00:00:00Z",
        "--policy", str(_policy(root / "old.yaml", waive=("SD002", "40048"))), code=0)
    run("check", str(log), "--out", str(new), "--format", "json", "--fail-on", "never",
        "--as-of", "2026-12-01T00:00:00Z",
        "--policy", str(_policy(root / "new.yaml", waive=("SD001", "40021"),
                                ignore=["EV006"])), code=0)
    return old, new


def _documents(runs: tuple[Path, Path]) -> tuple[dict[str, Any], dict[str, Any]]:
    old, new = runs
    return (json.loads((old / "findings.json").read_text(encoding="utf-8")),
            json.loads((new / "findings.json").read_text(encoding="utf-8")))


def _run_holding(folder: Path, document: dict[str, Any]) -> Path:
    """`folder` (made where missing) holding `document` as its findings.json, and its
    SHA256SUMS naming it, as a check of that manifest writes them: its run id, where it
    records one, recomputed from the manifest as edited (`audit.runid.run_id`; else `diff`
    warns that it is not its manifest's)."""
    from audit.runid import run_id

    folder.mkdir(parents=True, exist_ok=True)
    manifest = document.get("manifest")
    if isinstance(manifest, dict) and manifest.get("run_id") is not None:
        document = {**document, "manifest": {**manifest, "run_id": run_id(manifest)}}
    data = json.dumps(document).encode("utf-8")
    (folder / "findings.json").write_bytes(data)
    (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(data).hexdigest()}  findings.json\n",
                                       encoding="utf-8")
    return folder


def _classes(diff: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["fingerprint"]: row for row in diff["findings"]}


def test_findings_json_lists_the_judged_cases_and_its_format(runs: tuple[Path, Path]) -> None:
    from audit.rules.registry import default_rules

    old, new = _documents(runs)
    # (3 since the evidence's durations became ISO 8601 and `suppressed`'s entries name
    # `case_id`: before, still 2, which a reader of format 2 misread without a sign; 4
    # since the manifest records each rule's logic version, which a diff reading 2 and 3
    # did not compare)
    assert old["manifest"]["format_version"] == new["manifest"]["format_version"] == 4
    catalogue = {rule.code: rule.logic_version for rule in default_rules()}
    for document in (old, new):
        versions = document["manifest"]["rule_versions"]
        assert list(versions) == document["manifest"]["rules"]
        assert versions == {code: catalogue[code] for code in document["manifest"]["rules"]}
    assert "EV006" in old["manifest"]["rule_versions"]  # (NEW's policy ignores it)
    assert "EV006" not in new["manifest"]["rule_versions"]
    assert len(set(old["judged_cases"])) == len(old["judged_cases"]) == old["summary"]["cases"]
    assert "RFD-70" in old["judged_cases"] and "RFD-70" not in new["judged_cases"]
    assert "=RFD-5" in new["judged_cases"] and "RFD-5" not in new["judged_cases"]


def _without_rule_versions(diff: dict[str, Any]) -> dict[str, Any]:
    """diff.json with what tells the rules' logic versions taken out of its summary and
    findings: the summary's `rule_changes`, the findings' `rule_version_change` and the
    reasons' addition (`rundiff.rule_change_told`); and the parts of the run ids that
    differ (`run_id_change`: the format and rule versions among them)."""
    out = json.loads(json.dumps(diff))
    out["summary"].pop("rule_changes")
    out["summary"].pop("run_id_change")
    for finding in out["findings"]:
        finding.pop("rule_version_change")
        finding["reason"] = finding["reason"].split("; the logic version of its rule ")[0]
    return out


def test_a_findings_json_of_format_2_is_diffed_as_one_of_format_3(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """diff reads formats 2 to 4: OLD written in format 2's forms (its `suppressed`
    entries naming `case`, its evidence's durations in pandas' text, no rule versions)
    diffs against NEW as it does in format 4, each finding in the same class with the same
    evidence; the run's format is told as written, and its rules' logic versions as
    unknown. A format before 2, or after 4, is refused."""
    import re

    document = json.loads((runs[0] / "findings.json").read_text(encoding="utf-8"))
    document["manifest"]["format_version"] = 2
    del document["manifest"]["rule_versions"]  # (format 4's)
    for key in ("run_id", "code"):  # (recorded within format 4)
        del document["manifest"][key]
    for entry in document["suppressed"]:
        entry["case"] = entry.pop("case_id")
    iso = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")

    def pandas_text(value: Any) -> Any:  # ("P63DT16H11M" as format 2 wrote it)
        if isinstance(value, dict):
            return {k: pandas_text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [pandas_text(v) for v in value]
        if isinstance(value, str) and (m := iso.match(value)) and value not in ("P", "PT"):
            d, h, mi, sec = (int(x or 0) for x in m.groups())
            return f"{d} days {h:02}:{mi:02}:{sec:02}"
        return value

    durations = 0
    for finding in document["findings"]:
        before = finding["evidence"]
        finding["evidence"] = pandas_text(before)
        durations += finding["evidence"] != before
    assert durations > 0
    two = tmp_path / "two"
    two.mkdir()
    (two / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    out2, out3 = tmp_path / "diff2", tmp_path / "diff3"
    run("diff", str(two / "findings.json"), str(runs[1]), "--out", str(out2), code=0)
    run("diff", str(runs[0]), str(runs[1]), "--out", str(out3), code=0)
    of2, of3 = (json.loads((out / "diff.json").read_text(encoding="utf-8"))
                for out in (out2, out3))
    assert of2["old"]["format_version"] == 2 and of3["old"]["format_version"] == 4
    assert of2["old"]["rule_versions"] is None
    assert of3["old"]["rule_versions"] == {code: LOGIC_VERSIONS[code]
                                           for code in of3["old"]["rules"]}
    assert set(of2["summary"]["rule_changes"]) == set(of2["old"]["rules"]) & set(
        of2["new"]["rules"])
    assert of3["summary"]["rule_changes"] == {}
    told = of2["summary"]["run_id_change"]
    assert (told["old"], told["old_status"]) == (None, "none")
    # (what the two runs differ in, and what OLD's format 2 does not record)
    assert {"rule_versions", "code", "format_version"} <= set(told["differs"])
    assert not {"code", "format_version"} & set(
        of3["summary"]["run_id_change"]["differs"])
    plain2, plain3 = _without_rule_versions(of2), _without_rule_versions(of3)
    assert plain2["summary"] == plain3["summary"]
    assert plain2["findings"] == plain3["findings"]
    for version, said in ((1, "1: written by an older refund-audit (this one reads formats "
                              "2 to 4)"),
                          (5, "5: written by a newer refund-audit (this one reads formats 2 "
                              "to 4)")):
        document["manifest"]["format_version"] = version
        (two / "findings.json").write_text(json.dumps(document), encoding="utf-8")
        result = run("diff", str(two / "findings.json"), str(runs[1]), code=2)
        assert said in " ".join(result.output.split())


def test_a_rule_whose_logic_version_differs_is_told_with_its_findings(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """NEW's unmapped-activity (DQ001) of logic version 2, OLD's of 1: its new and resolved
    findings may come from the rule's change, not from the refunds, and diff says so in
    their reasons, in diff.json (`summary.rule_changes`, each of its findings'
    `rule_version_change`, a warning), in diff.csv and on the console; the other rules'
    findings are told as before (the same versions in both runs: nothing added). Before,
    nothing told a rule's change apart from the refunds'."""
    document = json.loads((runs[1] / "findings.json").read_text(encoding="utf-8"))
    assert document["manifest"]["rule_versions"]["DQ001"] == 1
    document["manifest"]["rule_versions"]["DQ001"] = 2
    new = _run_holding(tmp_path / "new", document)
    plain, out = tmp_path / "plain", tmp_path / "out"
    run("diff", str(runs[0]), str(runs[1]), "--out", str(plain), code=0)
    console = run("diff", str(runs[0]), str(new), "--out", str(out), code=0).output
    before, after = (json.loads((o / "diff.json").read_text(encoding="utf-8"))
                     for o in (plain, out))
    assert before["summary"]["rule_changes"] == {}
    assert after["old"]["rule_versions"]["DQ001"] == 1
    assert after["new"]["rule_versions"]["DQ001"] == 2
    # (the sample's unmapped events: RFD-150's removed in NEW, RFD-1's added)
    told = [f for f in after["findings"] if f["rule"] == "DQ001"]
    classes = [f["class"] for f in told]
    assert "new" in classes and "resolved" in classes
    counts = {c: sum(1 for f in told if f["class"] == c) for c in ("new", "resolved")}
    assert after["summary"]["rule_changes"] == {"DQ001": {
        "name": "unmapped-activity", "old_version": 1, "new_version": 2,
        "findings": {"new": counts["new"], "resolved": counts["resolved"], "changed": 0,
                     "still_open_with_changes": 0}}}
    suffix = ("; its rule DQ001 judges otherwise since OLD (logic version 1 in OLD, 2 in "
              "NEW): it may come from the rule's change, not from the refunds")
    was = {(f["fingerprint"], f["class"]): f for f in before["findings"]}
    for finding in after["findings"]:
        earlier = was[(finding["fingerprint"], finding["class"])]
        if finding["rule"] != "DQ001":
            assert finding == {**earlier, "rule_version_change": None}
            continue
        assert finding["rule_version_change"] == {"old": 1, "new": 2}
        if finding["class"] in ("new", "resolved"):
            assert finding["reason"] == earlier["reason"] + suffix
        else:
            assert finding["reason"] == earlier["reason"]
    warning = (f"rule DQ001 (unmapped-activity) judges otherwise since OLD: its logic version "
               f"is 1 in OLD, 2 in NEW; its findings new {counts['new']}, resolved "
               f"{counts['resolved']} may come from the rule's change, not from the refunds")
    assert after["warnings"] == [*before["warnings"], warning]
    flat = " ".join(console.split())
    assert f"warning: {warning}" in flat
    assert "(rule logic version 1 -> 2)" in flat
    assert flat.count("rule logic version") == 1  # (DQ001's line of the rules alone)
    rows = list(csv.DictReader(io.StringIO((out / "diff.csv").read_text(encoding="utf-8"))))
    assert rows and all(r["rule_version_change"] == ("1 -> 2" if r["rule"] == "DQ001" else "")
                        for r in rows)
    assert sum(r["reason"].endswith(suffix) for r in rows) == len(
        [c for c in classes if c in ("new", "resolved")])


def test_runs_ordering_events_at_one_time_otherwise_are_told(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """OLD written before check recorded how it orders a case's events at one time
    (manifest `event_order` missing: 1, derived ids by id), NEW with it (2: as the source
    lists them): every new, resolved or changed finding may come from the order's change
    where its log's ids were derived, and diff says so in its reason, in diff.json
    (`summary.event_order_change`, the runs' `event_order`) and in a warning. Before,
    nothing told it: an XES or id-less CSV log's findings changed with the upgrade as if
    its refunds had."""
    old_document, new_document = _documents(runs)
    assert old_document["manifest"]["event_order"] == new_document["manifest"]["event_order"] \
        == 2
    del old_document["manifest"]["event_order"]
    old = _run_holding(tmp_path / "old", old_document)
    plain, out = tmp_path / "plain", tmp_path / "out"
    run("diff", str(runs[0]), str(runs[1]), "--out", str(plain), code=0)
    console = run("diff", str(old), str(runs[1]), "--out", str(out), code=0).output
    before, after = (json.loads((o / "diff.json").read_text(encoding="utf-8"))
                     for o in (plain, out))
    assert before["summary"]["event_order_change"] is None
    assert (after["old"]["event_order"], after["new"]["event_order"]) == (1, 2)
    suffix = ("; OLD and NEW order a case's events at one time otherwise (event_order 1 in "
              "OLD, 2 in NEW): where its log's event ids were derived (XES, OCEL, a CSV or "
              "Parquet without ids) and its events share a time, it may come from that "
              "change, not from the refunds")
    was = {(f["fingerprint"], f["class"]): f for f in before["findings"]}
    counts = dict.fromkeys(("new", "resolved", "changed", "still_open_with_changes"), 0)
    for finding in after["findings"]:
        earlier = was[(finding["fingerprint"], finding["class"])]
        if finding["reason"] == earlier["reason"]:
            assert finding["class"] not in ("new", "resolved", "changed")
        else:
            assert finding["reason"] == earlier["reason"] + suffix
            kind = finding["class"] if finding["class"] != "still_open" else \
                "still_open_with_changes"
            counts[kind] += 1
    assert counts["new"] and counts["resolved"]
    assert after["summary"]["event_order_change"] == {"old": 1, "new": 2, "findings": counts}
    told = [w for w in after["warnings"] if w not in before["warnings"]]
    assert len(told) == 1 and told[0].startswith(
        "OLD and NEW order a case's events at one time otherwise (findings.json event_order "
        "1 in OLD, 2 in NEW")
    assert "whether a log's ids were derived is not recorded" in told[0]
    assert " ".join(told[0].split()[:8]) in " ".join(console.split())


def test_a_run_without_rule_versions_reads_unknown_for_every_rule(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """OLD of format 3 (written before rule versions): every rule that ran in both runs reads
    "unknown -> 1"; one warning names OLD and the rules whose findings may come from a
    change of the rule; each new and resolved finding's reason says its rule's version is
    not recorded in OLD."""
    document = json.loads((runs[0] / "findings.json").read_text(encoding="utf-8"))
    document["manifest"]["format_version"] = 3
    del document["manifest"]["rule_versions"]
    old = tmp_path / "old"
    old.mkdir()
    (old / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "out"
    console = run("diff", str(old), str(runs[1]), "--out", str(out), code=0).output
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    both = sorted(set(diff["old"]["rules"]) & set(diff["new"]["rules"]))
    assert "EV006" not in both  # (NEW's policy ignores it: not comparable, not told)
    assert list(diff["summary"]["rule_changes"]) == both
    assert all((row["old_version"], row["new_version"]) == ("unknown", LOGIC_VERSIONS[code])
               for code, row in diff["summary"]["rule_changes"].items())
    told = [w for w in diff["warnings"] if "rule logic versions" in w]
    assert len(told) == 1 and told[0].startswith(
        "OLD records no rule logic versions (findings.json OLD format 3, before format 4): "
        "whether a rule's logic changed between the runs is unknown")
    assert "DQ001 unmapped-activity: new " in told[0]
    for finding in diff["findings"]:
        if finding["rule"] in both:
            assert finding["rule_version_change"] == {
                "old": "unknown", "new": LOGIC_VERSIONS[finding["rule"]]}
        if finding["class"] in ("new", "resolved"):
            assert finding["reason"].endswith(
                f"; the logic version of its rule {finding['rule']} is not recorded in OLD (a "
                "findings.json before format 4): it may come from a change of the rule, not "
                "from the refunds")
    assert "(rule logic version unknown -> 1)" in console


def test_each_finding_in_its_class(runs: tuple[Path, Path], tmp_path: Path) -> None:
    old_doc, new_doc = _documents(runs)
    out = tmp_path / "diff"
    result = run("diff", str(runs[0]), str(runs[1]), "--out", str(out), code=0)
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    rows = _classes(diff)
    assert len(rows) == len(diff["findings"])

    def cls(rule: str, case: str, document: dict[str, Any] = old_doc) -> dict[str, Any]:
        return rows[_of(document, rule, case)["fingerprint"]]

    # Its event removed, its case judged again: resolved.
    assert cls("DQ001", "RFD-150")["class"] == "resolved"
    # Its case not in NEW's log: not re-judged, never "resolved".
    gone = [f for f in old_doc["findings"] if f["case_id"] == "RFD-70"]
    assert gone and {rows[f["fingerprint"]]["class"] for f in gone} == {"not_rejudged"}
    assert "not among the cases NEW judged" in cls("DQ001", "RFD-70")["reason"]
    # Renamed case: the old id's findings not re-judged, the new id's new (OLD never judged it).
    assert cls("SL001", "RFD-5")["class"] == "not_rejudged"
    renamed = [f for f in new_doc["findings"] if f["case_id"] == "=RFD-5"]
    assert renamed and all(rows[f["fingerprint"]]["class"] == "new" and "not among the cases "
                           "OLD judged" in rows[f["fingerprint"]]["reason"] for f in renamed)
    # The event added to a case both judged: new.
    added = rows[fingerprint("unmapped-activity", "RFD-1", [ADDED_EVENT])]
    assert added["class"] == "new" and added["reason"] == "OLD judged its case and did not find it"
    # A rule NEW did not run: its findings not comparable, none resolved.
    ev006 = [f for f in old_doc["findings"] if f["rule"] == "EV006"]
    assert ev006 and {rows[f["fingerprint"]]["class"] for f in ev006} == {"not_comparable"}
    assert rows[ev006[0]["fingerprint"]]["reason"] == "rule EV006 was not selected in NEW"
    # Unchanged: still open; waivers added and ended.
    assert cls("DQ002", "40041")["class"] == "still_open"
    added_waiver, ended = cls("SD001", "40021"), cls("SD002", "40048")
    assert (added_waiver["class"], added_waiver["waiver_change"], added_waiver["old_waived"],
            added_waiver["new_waived"]) == ("still_open", "waiver_added", False, True)
    assert (ended["class"], ended["waiver_change"]) == ("still_open", "waiver_ended")
    # Their waivers named: NEW's of the one added, OLD's of the one NEW's policy removed.
    assert (added_waiver["waiver_reason"], added_waiver["waiver_approved_by"],
            added_waiver["waiver_expires"], added_waiver["waiver_ended"]) == (
        "accepted", "Head of Internal Audit", "2027-12-31", None)
    assert (ended["waiver_reason"], ended["waiver_ended"]) == ("accepted", "removed")
    assert diff["summary"]["waivers_ended"] == {"removed": 1}
    assert diff["summary"]["waivers"] == {"waiver_added": 1, "waiver_ended": 1,
                                          "waiver_on_old_fingerprint": 0}
    # Every finding of each run once: OLD's and NEW's, the ones in both (still open, or
    # changed: two fingerprints) once.
    counts = diff["summary"]["findings"]
    assert sum(counts.values()) == len(old_doc["findings"]) + len(new_doc["findings"]) - \
        counts["still_open"] - counts["changed"]
    assert counts["still_open"] == len({f["fingerprint"] for f in old_doc["findings"]}
                                       & {f["fingerprint"] for f in new_doc["findings"]})
    by_rule = diff["summary"]["by_rule"]
    assert sum(row["not_comparable"] for row in by_rule.values()) == counts["not_comparable"]
    # The runs named; the policies' difference warned of; no clock warning.
    assert diff["old"]["as_of"].startswith("2026-11-01")
    assert diff["new"]["folder"] == str(runs[1]) and len(diff["new"]["manifest_sha256"]) == 64
    assert any("different policies" in w for w in diff["warnings"])
    assert any("ran in one run only (EV006)" in w for w in diff["warnings"])
    assert not any("clock" in w for w in diff["warnings"])
    # The console: counts per class and per rule, money at risk, the warnings.
    # (a month apart: the waits still open measured to NEW's clock, aged only)
    with_changes, aged = (diff["summary"]["still_open_with_changes"],
                          diff["summary"]["still_open_aged"])
    assert with_changes + aged == sum(1 for f in diff["findings"]
                                      if f["class"] == "still_open" and f["changes"])
    assert aged == sum(f["aged_only"] for f in diff["findings"]) == 3
    assert {f["rule"] for f in diff["findings"] if f["aged_only"]} == {"EV003"}
    # (NEW's waiver of SD001 on case 40021 waives a still-open finding: counted apart, as
    # NEW's check counts it; OLD's of SD002 on 40048, ended in NEW, as OLD's counts it)
    assert diff["summary"]["waived_per_class"]["NEW"]["still_open"] == 1
    assert diff["summary"]["waived_per_class"]["OLD"]["still_open"] == 1
    assert f"new {counts['new']}, still open {counts['still_open']} (of which " \
        f"1 waived in NEW, 1 waived in OLD, {aged} aged only), changed " \
        f"{counts['changed']}, resolved " \
        f"{counts['resolved']}, not re-judged {counts['not_rejudged']}, not comparable " \
        f"{counts['not_comparable']} (of OLD)" in result.output
    assert "waivers: added in NEW 1, ended in NEW 1 (removed 1)" in result.output
    assert "warning: the runs used different policies" in result.output
    assert [line for line in result.output.splitlines() if line.startswith("  EV006 ")] == [
        f"  EV006 instrument-mismatch        not comparable {len(ev006)} (of OLD)"]


def test_the_wrong_way_round_warns_and_a_rule_old_did_not_run_is_not_new(
        runs: tuple[Path, Path]) -> None:
    old_doc, _ = _documents(runs)
    result = run("diff", str(runs[1] / "findings.json"), str(runs[0]), code=0)
    assert "warning: NEW's clock (2026-11-01T00:00:00+00:00) is before OLD's" in result.output
    diff = diff_runs(load_run(runs[1], "OLD"), load_run(runs[0], "NEW"))
    rows = {row.finding["fingerprint"]: row for row in diff.rows}
    ev006 = [rows[f["fingerprint"]] for f in old_doc["findings"] if f["rule"] == "EV006"]
    assert {(r.cls, r.reason) for r in ev006} == {("not_comparable",
                                                   "rule EV006 was not selected in OLD")}


def test_diff_csv_one_row_per_finding_cells_neutralised(runs: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "diff"
    run("diff", str(runs[0]), str(runs[1]), "--out", str(out), code=0)
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    with (out / "diff.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["fingerprint"], r["class"]) for r in rows] == [
        (f["fingerprint"], f["class"]) for f in diff["findings"]]
    renamed = [r for r in rows if restored_cell(r["case_id"]) == "=RFD-5"]
    assert renamed and {r["case_id"] for r in renamed} == {"'=RFD-5"}
    assert not [r for r in rows for v in r.values() if v.startswith(("=", "+", "-", "@"))]
    # The SHA256SUMS lists both files; a second diff into the folder replaces them.
    sums = (out / "SHA256SUMS").read_text(encoding="utf-8")
    assert "  diff.json\n" in sums and "  diff.csv\n" in sums
    run("diff", str(runs[1]), str(runs[0]), "--out", str(out), code=0)
    again = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert again["old"]["folder"] == str(runs[1])
    assert sorted(p.name for p in out.iterdir()) == ["SHA256SUMS", "diff.csv", "diff.json"]
    assert DIFF_FILES == RUNDIFF_FILES


def test_out_never_a_run_folder_nor_a_foreign_checksums(runs: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(runs[0], copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    refused = run("diff", str(copy), str(runs[1]), "--out", str(copy), code=2)
    assert "field '--out': this is the run folder of OLD" in refused.output
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "SHA256SUMS").write_text("0" * 64 + "  export.csv\n", encoding="utf-8")
    refused = run("diff", str(copy), str(runs[1]), "--out", str(mine), code=2)
    assert "SHA256SUMS there is not one this tool wrote" in refused.output
    assert sorted(p.name for p in mine.iterdir()) == ["SHA256SUMS"]
    # A third run's folder (neither OLD nor NEW): refused, left as it was.
    third = tmp_path / "third"
    shutil.copytree(runs[1], third)
    before = {p.name: p.read_bytes() for p in third.iterdir()}
    refused = run("diff", str(runs[0]), str(runs[1]), "--out", str(third), code=2)
    assert f"error: {third}: field '--out': it holds a check's run (findings.json)" \
        in refused.output
    assert {p.name: p.read_bytes() for p in third.iterdir()} == before
    # A check's folder written without findings.json (its SHA256SUMS lists findings.csv).
    csv_only = tmp_path / "csv-only"
    csv_only.mkdir()
    (csv_only / "findings.csv").write_text("rule\n", encoding="utf-8")
    digest = hashlib.sha256(b"rule\n").hexdigest()
    (csv_only / "SHA256SUMS").write_text(f"{digest}  findings.csv\n", encoding="utf-8")
    refused = run("diff", str(runs[0]), str(runs[1]), "--out", str(csv_only), code=2)
    assert "its SHA256SUMS lists 1 file of another run still there (findings.csv)" \
        in refused.output
    assert (csv_only / "SHA256SUMS").read_text(encoding="utf-8") == f"{digest}  findings.csv\n"


def _written(tmp_path: Path, runs: tuple[Path, Path], change: Any) -> Path:
    """NEW's findings.json changed by `change` (its document; returns the new one), in a
    folder of its own."""
    document = json.loads((runs[1] / "findings.json").read_text(encoding="utf-8"))
    folder = tmp_path / "changed"
    folder.mkdir()
    changed = change(document)
    (folder / "findings.json").write_text(
        changed if isinstance(changed, str) else json.dumps(changed), encoding="utf-8")
    return folder


def _set(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    at = document
    for key in path[:-1]:
        at = at[key]
    if value is KeyError:
        del at[path[-1]]
    else:
        at[path[-1]] = value
    return document


def _open(document: dict[str, Any]) -> int:
    """The index of the first finding not waived."""
    return next(k for k, f in enumerate(document["findings"]) if not f["waived"])


def _retotalled(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with summary.money_at_risk summed again from its open findings as check
    sums it: per currency, over cases, each case's largest amount (currencies with minor
    units of 2 only)."""
    largest: dict[tuple[str, str], float] = {}
    for f in document["findings"]:
        if not f["waived"] and f["amount_at_risk"] is not None:
            key = (f["case_id"], f["currency"] or "(no currency)")
            largest[key] = max(largest.get(key, 0.0), f["amount_at_risk"])
    money: dict[str, float] = {}
    for (_, currency), amount in largest.items():
        money[currency] = money.get(currency, 0.0) + amount
    document["summary"]["money_at_risk"] = {k: round(v, 2) for k, v in money.items()}
    return document


def _amounted(document: dict[str, Any]) -> int:
    """The index of the first finding not waived with an amount at risk."""
    return next(k for k, f in enumerate(document["findings"])
                if not f["waived"] and f["amount_at_risk"] is not None)


def _twice(document: dict[str, Any]) -> dict[str, Any]:
    """A finding not waived listed twice, the summary's counts made to agree."""
    finding = document["findings"][_open(document)]
    document["findings"].append(dict(finding))
    document["summary"]["findings"] += 1
    document["summary"]["by_rule"][finding["rule"]]["findings"] += 1
    document["summary"]["by_severity"][finding["severity"]] += 1
    return document


def _dropped(document: dict[str, Any], *, recount: bool) -> dict[str, Any]:
    """A finding not waived removed, with `recount` the summary's total made to agree."""
    document["findings"].pop(_open(document))
    if recount:
        document["summary"]["findings"] -= 1
    return document


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: "{\n  \"manifest\": {,", "findings.json: line 2: not JSON"),
    (lambda d: _set(d, ("findings", _open(d), "fingerprint"), "0" * 16),
     "'0000000000000000' is not the fingerprint of its rule's name, case and events"),
    (lambda d: _set(d, ("findings", _open(d), "case_id"), "40001"),
     "is not the fingerprint of its rule's name, case and events"),
    (_twice, "is that of findings["),
    (lambda d: _dropped(d, recount=False), "field 'summary.findings': the document lists"),
    (lambda d: _dropped(d, recount=True), "open finding(s) of"),
    (lambda d: _set(d, ("summary", "waived"), KeyError),
     "field 'summary.waived': missing or not a whole number"),
    (lambda d: [d], "field '(document)': not a findings.json of refund-audit check"),
    (lambda d: {"manifest": {"tool": "other"}, "findings": []},
     "field 'manifest.tool': not a findings.json of refund-audit check"),
    (lambda d: _set(d, ("manifest", "format_version"), KeyError),
     "field 'manifest.format_version': missing: written by an older refund-audit"),
    (lambda d: _set(d, ("manifest", "format_version"), FINDINGS_FORMAT + 1),
     f"field 'manifest.format_version': {FINDINGS_FORMAT + 1}: written by a newer"),
    (lambda d: _set(d, ("manifest", "format_version"), 1),
     "field 'manifest.format_version': 1: written by an older refund-audit"),
    (lambda d: _set(d, ("manifest", "format_version"), "2"),
     "field 'manifest.format_version': not a whole number"),
    (lambda d: _set(d, ("manifest", "event_order"), 3),
     "field 'manifest.event_order': not an order this refund-audit knows (1 to 2): 3"),
    (lambda d: _set(d, ("manifest", "event_order"), True),
     "field 'manifest.event_order': not an order this refund-audit knows (1 to 2): True"),
    (lambda d: _set(d, ("manifest", "rule_versions"), KeyError),
     "field 'manifest.rule_versions': missing: a findings.json of format 4 records the logic "
     "version of each rule it ran"),
    (lambda d: _set(d, ("manifest", "rule_versions"), [1]),
     "field 'manifest.rule_versions': not an object of rule codes: [1]"),
    (lambda d: _set(d, ("manifest", "rule_versions", "DU001"), "2"),
     "field 'manifest.rule_versions': the logic version of 'DU001' is not a whole number "
     "from 1: '2'"),
    (lambda d: _set(d, ("manifest", "rule_versions", "DU001"), 0),
     "field 'manifest.rule_versions': the logic version of 'DU001' is not a whole number "
     "from 1: 0"),
    (lambda d: _set(d, ("manifest", "rule_versions", "ZZ999"), 1),
     "field 'manifest.rule_versions': 'ZZ999' is not among the rules the manifest says "
     "ran"),
    (lambda d: _set(d, ("manifest", "rule_versions", "AP001"), KeyError),
     "field 'manifest.rule_versions': 'AP001' missing: the manifest lists the rule"),
    (lambda d: _set(d, ("manifest", "as_of"), "2026-12-01"),
     "field 'manifest.as_of': no time zone"),
    (lambda d: _set(d, ("findings", 0, "fingerprint"), 7),
     "field 'findings[0].fingerprint': not a text: 7"),
    (lambda d: _set(d, ("findings", 1, "waived"), KeyError),
     "field 'findings[1].waived': missing"),
    (lambda d: _set(d, ("findings", 0, "amount_at_risk"), "12"),
     "field 'findings[0].amount_at_risk': not a number or null"),
    (lambda d: _set(d, ("findings", 0, "rule"), "ZZ999"),
     "field 'findings[0].rule': 'ZZ999' is not among the rules"),
    (lambda d: _set(d, ("judged_cases",), KeyError), "field 'judged_cases': missing"),
    (lambda d: _set(d, ("judged_cases", 3), None), "field 'judged_cases[3]': not a text"),
    (lambda d: _set(d, ("suppressed",), {}), "field 'suppressed': missing or not a list"),
    (lambda d: "{\"manifest\": NaN}", "findings.json: not JSON: NaN is no JSON value"),
    (lambda d: _set(d, ("findings", 2, "event_ids"), "e1"),
     "field 'findings[2].event_ids': not a list: 'e1'"),
    (lambda d: _set(d, ("findings", 2, "event_ids", 0), 5),
     "field 'findings[2].event_ids[0]': not a text: 5"),
    (lambda d: _set(d, ("summary", "waivers"), KeyError),
     "field 'summary.waivers': missing or not a list"),
    (lambda d: _set(d, ("findings", 0, "currency"), "USD\nFORGED LINE"),
     "field 'findings[0].currency': not a 3-letter currency code (ISO 4217 form, as check "
     "writes one) or null: 'USD\\nFORGED LINE'"),
    (lambda d: _set(d, ("findings", 0, "currency"), "usd"),
     "field 'findings[0].currency': not a 3-letter currency code"),
    (lambda d: _set(d, ("summary", "money_at_risk", "EUR\nFORGED"), 1.0),
     "field 'summary.money_at_risk': 'EUR\\nFORGED' is not a 3-letter currency code"),
    (lambda d: _set(d, ("judged_cases",), [c for c in d["judged_cases"]
                                           if c != d["findings"][4]["case_id"]]),
     "field 'judged_cases': does not list case "),
    (lambda d: _set(d, ("running_cases",), ["nobody"]) and _set(
        d, ("summary", "running_cases"), 1),
     "field 'running_cases': case 'nobody' is not among judged_cases"),
    (lambda d: _set(d, ("summary", "waivers"), [{"fingerprint": 7}]),
     "field 'summary.waivers[0].fingerprint': not a text or null: 7"),
    (lambda d: _set(d, ("summary", "waivers"), ["DU001"]),
     "field 'summary.waivers[0]': not an object"),
    # (a finding's severity edited: before, read as it stood, so --fail-on judged it by the
    # edit, and its summary's by_severity disagreeing went untold)
    (lambda d: _set(d, ("findings", _open(d), "severity"),
                    "info" if d["findings"][_open(d)]["severity"] != "info" else "critical"),
     "open finding(s) of severity"),
    # (an open finding's amount at risk edited: before, only warned of ("does not tie out")
    # and diff exited 0, its money bridge carrying the edit into NEW's figures)
    (lambda d: _set(d, ("findings", _amounted(d), "amount_at_risk"),
                    d["findings"][_amounted(d)]["amount_at_risk"] + 1000),
     "field 'summary.money_at_risk."),
    (lambda d: _set(d, ("summary", "money_at_risk", "EUR"),
                    round(d["summary"]["money_at_risk"]["EUR"] + 0.01, 2)),
     "field 'summary.money_at_risk.EUR': "),
])
def test_a_bad_findings_json_is_named_with_its_field(runs: tuple[Path, Path], tmp_path: Path,
                                                     change: Any, expected: str) -> None:
    folder = _written(tmp_path, runs, change)
    result = run("diff", str(runs[0]), str(folder), "--out", str(tmp_path / "out"), code=2)
    assert result.output.startswith(f"error: {folder / 'findings.json'}: ")
    assert expected in result.output
    assert not (tmp_path / "out").exists()


def test_missing_run_or_not_a_run_folder(runs: tuple[Path, Path], tmp_path: Path) -> None:
    result = run("diff", str(tmp_path / "nowhere"), str(runs[1]), code=2)
    assert result.output == (f"error: {tmp_path / 'nowhere'}: field 'OLD': no such run folder "
                             "or file\n")
    result = run("diff", str(runs[0]), str(tmp_path), code=2)
    assert result.output == (f"error: {tmp_path}: field 'NEW': not a run folder: it holds no "
                             "findings.json (refund-audit check --out DIR --format json "
                             "writes one)\n")


def test_another_commands_output_or_a_check_without_json_is_named(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """A discover, compare or diff output given as a run, or a check's folder written
    without json, is named as what it is; a file that is not text is not a findings.json;
    the same findings.json twice is warned of."""
    out = tmp_path / "d"
    run("diff", str(runs[0]), str(runs[1]), "--out", str(out), code=0)
    result = run("diff", str(runs[0]), str(out / "diff.json"), code=2)
    assert result.output == (f"error: {out / 'diff.json'}: field '(document)': a diff output "
                             "(diff.json), not a check run: diff compares two check runs' "
                             "findings.json\n")
    result = run("diff", str(out), str(runs[1]), code=2)
    assert result.output.startswith(f"error: {out}: field 'OLD': a diff output folder "
                                    "(diff.json), not a check run")
    disc = tmp_path / "disc"
    disc.mkdir()
    (disc / "discovery.json").write_text(json.dumps(
        {"tool": "refund-audit", "version": "0.1.0", "log": "x.csv", "miner": "inductive"}),
        encoding="utf-8")
    result = run("diff", str(runs[0]), str(disc / "discovery.json"), code=2)
    assert "field '(document)': a discover output (discovery.json), not a check run" \
        in result.output
    assert "a discover output folder (discovery.json), not a check run" in run(
        "diff", str(runs[0]), str(disc), code=2).output
    csv_only = tmp_path / "csv"
    run("check", str(SAMPLE), "--out", str(csv_only), "--format", "csv", "--fail-on", "never",
        code=0)
    result = run("diff", str(runs[0]), str(csv_only), code=2)
    assert result.output == (f"error: {csv_only}: field 'NEW': a check run written without "
                             "findings.json (check --format without json): diff reads "
                             "findings.json; run that check again with --format json\n")
    binary = tmp_path / "log.parquet"
    binary.write_bytes(b"PAR1\xff\xfe\x00")
    assert "field 'NEW': not a findings.json of refund-audit check: not UTF-8 text" in run(
        "diff", str(runs[0]), str(binary), code=2).output
    same = run("diff", str(runs[1]), str(runs[1]), code=0).output
    assert "warning: OLD and NEW are the same findings.json (sha256 " in same


def _tiny(tmp_path: Path, name: str, findings: list[dict[str, Any]],
          suppressed: list[dict[str, Any]], judged: list[str], as_of: str,
          sop: str = "b" * 64, waiver_prints: tuple[str | None, ...] = (),
          inputs: tuple[str, ...] = ("c" * 64,),
          waivers: tuple[dict[str, Any], ...] = (),
          versions: dict[str, int] | None = None) -> Path:
    """A findings.json of two rules' findings written by hand (the fields diff reads; the
    rules' logic versions `versions`, each 1 unless told)."""
    folder = tmp_path / name
    folder.mkdir()
    largest: dict[tuple[str, str], float] = {}  # (check's money at risk: per case its largest)
    for f in findings:
        if not f["waived"] and f["amount_at_risk"] is not None:
            key = (f["case_id"], f["currency"])
            largest[key] = max(largest.get(key, 0.0), f["amount_at_risk"])
    money: dict[str, float] = {}
    for (_, currency), amount in largest.items():
        money[currency] = round(money.get(currency, 0.0) + amount, 2)
    document = {
        "manifest": {"tool": "refund-audit", "format_version": FINDINGS_FORMAT,
                     "as_of": as_of, "policy": {"file": "p.yaml", "sha256": "a" * 64},
                     "sop": [{"channel": "ecommerce", "file": "e.bpmn", "process": None,
                              "sha256": sop}], "rules": ["DU001", "EV005"],
                     "rule_versions": versions or {"DU001": 1, "EV005": 1},
                     "inputs": [{"file": f"exports/log{k}.csv", "sha256": digest}
                                for k, digest in enumerate(inputs)]},
        "summary": {"findings": sum(not f["waived"] for f in findings),
                    "waived": sum(f["waived"] for f in findings), "money_at_risk": money,
                    "by_rule": {code: {"name": name, "status": "ran", "findings": sum(
                        f["rule"] == code and not f["waived"] for f in findings)}
                        for code, name in (("DU001", "duplicate-refund"),
                                           ("EV005", "refund-exceeds-charge"))},
                    "waivers": [{"rule": "EV005", "case": None if w else "A", "fingerprint": w}
                                for w in waiver_prints] + list(waivers)},
        "findings": findings, "suppressed": suppressed, "errors": [], "judged_cases": judged}
    data = json.dumps(document).encode("utf-8")
    (folder / "findings.json").write_bytes(data)
    (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(data).hexdigest()}  findings.json\n",
                                       encoding="utf-8")
    return folder


def _finding(rule: str, name: str, case: str, event: str | list[str], amount: float | None,
             timestamp: str = "2026-08-01T00:00:00+00:00", message: str = "m",
             waived: bool = False) -> dict[str, Any]:
    events = [event] if isinstance(event, str) else event
    return {"rule": rule, "name": name, "severity": "high", "case_id": case,
            "event_ids": events, "timestamp": timestamp, "message": message,
            "amount_at_risk": amount, "currency": "EUR", "waived": waived,
            "waiver_reason": "accepted" if waived else None,
            "fingerprint": fingerprint(name, case, events), "channel": "ecommerce"}


def test_suppressed_event_after_clock_and_money(tmp_path: Path) -> None:
    """A finding NEW suppressed by precedence is not resolved, nor one whose event is after
    NEW's clock; OLD's suppressed one is not new; money at risk per case its largest."""
    dup = _finding("DU001", "duplicate-refund", "A", "e1", 30.0)
    over = _finding("EV005", "refund-exceeds-charge", "A", "e2", 10.0)
    late = _finding("EV005", "refund-exceeds-charge", "B", "e3", 5.0,
                    timestamp="2026-10-15T00:00:00+00:00")
    other = _finding("EV005", "refund-exceeds-charge", "C", "e4", 5.0)
    old = _tiny(tmp_path, "old", [over, late], [{"rule": "DU001", "case": "A",
                                                 "fingerprint": dup["fingerprint"],
                                                 "suppressed_by": "EV005"}],
                ["A", "B", "C"], "2026-11-01T00:00:00+00:00")
    new = _tiny(tmp_path, "new", [dup, other],
                [{"rule": "EV005", "case": "A", "fingerprint": over["fingerprint"],
                  "suppressed_by": "DU001"}], ["A", "B", "C"], "2026-10-01T00:00:00+00:00")
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    classes = {row.finding["fingerprint"]: row.cls for row in diff.rows}
    assert classes == {over["fingerprint"]: "suppressed_in_new",
                       late["fingerprint"]: "not_rejudged",
                       dup["fingerprint"]: "suppressed_in_old",
                       other["fingerprint"]: "new"}
    assert diff.money_at_risk() == {"new": {"EUR": 5.0}, "still_open": {}, "changed": {},
                                    "resolved": {}, "not_rejudged": {"EUR": 5.0}}
    both = diff_runs(load_run(old, "OLD"), load_run(old, "NEW"))
    assert {row.cls for row in both.rows} == {"still_open"}
    assert both.money_at_risk()["still_open"] == {"EUR": 15.0}
    assert [w[:38] for w in both.warnings] == ["OLD and NEW are the same findings.json"]
    assert diff.warnings == ["NEW's clock (2026-10-01T00:00:00+00:00) is before OLD's "
                             "(2026-11-01T00:00:00+00:00): are OLD and NEW the wrong way round?"]
    other_sop = _tiny(tmp_path, "other-sop", [over, late], [], ["A", "B", "C"],
                      "2026-11-01T00:00:00+00:00", sop="c" * 64)
    told = diff_runs(load_run(old, "OLD"), load_run(other_sop, "NEW")).warnings
    assert len(told) == 1 and told[0].startswith("the runs used different SOPs for ecommerce")
    plain = _tiny(tmp_path, "plain", [over], [], ["A"], "2026-11-01T00:00:00+00:00")
    fresh = _finding("DU001", "duplicate-refund", "A", "e5", None,
                     timestamp="2026-11-15T00:00:00+00:00")
    again = _tiny(tmp_path, "again", [dup, over, other, fresh], [], ["A", "C"],
                  "2026-12-01T00:00:00+00:00")
    later = diff_runs(load_run(plain, "OLD"), load_run(again, "NEW"))
    assert later.money_at_risk() == {"new": {"EUR": 35.0}, "still_open": {"EUR": 10.0},
                                     "changed": {}, "resolved": {}, "not_rejudged": {}}
    reasons = {row.finding["fingerprint"]: (row.cls, row.reason) for row in later.rows}
    assert reasons[fresh["fingerprint"]] == (
        "new", "its event (2026-11-15T00:00:00+00:00) is after OLD's clock "
        "(2026-11-01T00:00:00+00:00)")
    assert reasons[dup["fingerprint"]] == ("new", "OLD judged its case and did not find it")
    assert reasons[other["fingerprint"]] == ("new", "its case is not among the cases OLD "
                                             "judged")


def test_same_clock_other_inputs_is_no_fix_and_warned_of(tmp_path: Path) -> None:
    """At the same clock, a finding gone from NEW whose inputs differ (a re-export missing a
    payout) is resolved "from other inputs", not as a fix; a case NEW did not judge is not
    in its inputs (not "out of its period"); the differing inputs are warned of."""
    gone = _finding("EV005", "refund-exceeds-charge", "A", "e1", 10.0)
    absent = _finding("EV005", "refund-exceeds-charge", "Z", "z1", 5.0)
    came = _finding("DU001", "duplicate-refund", "A", "e2", 3.0)
    clock = "2026-12-01T00:00:00+00:00"
    old = _tiny(tmp_path, "old", [gone, absent], [], ["A", "Z"], clock, inputs=("1" * 64,))
    new = _tiny(tmp_path, "new", [came], [], ["A"], clock, inputs=("2" * 64, "3" * 64))
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    reasons = {row.finding["fingerprint"]: (row.cls, row.reason) for row in diff.rows}
    assert reasons[gone["fingerprint"]] == (
        "resolved", "NEW judged its case and did not find it, at the same clock from other "
        "inputs: its case's events differ between the runs' inputs (a re-export or a "
        "correction, not a fix in time)")
    assert reasons[came["fingerprint"]][1].startswith(
        "OLD judged its case and did not find it, at the same clock from other inputs")
    assert reasons[absent["fingerprint"]] == (
        "not_rejudged", "its case is not among the cases NEW judged (not in its inputs: the "
        "runs' clocks are the same)")
    assert diff.warnings == [
        "the runs read different inputs (their sha256 in the manifests): another sha256: "
        "log0.csv; in NEW only: log1.csv: at the same clock, a finding resolved or new comes "
        "from the inputs (a re-export, a correction), not from a fix"]
    # An input's name holding a line break is shown on the warning's one line.
    document = json.loads((new / "findings.json").read_text(encoding="utf-8"))
    document["manifest"]["inputs"][1]["file"] = "exports/x.csv\nwarning: forged"
    (new / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    told = diff_runs(load_run(old, "OLD"), load_run(new, "NEW")).warnings
    assert any("in NEW only: x.csv[U+000A]warning: forged" in w for w in told)
    # The same inputs at the same clock: resolved as it was, no warning.
    same = _tiny(tmp_path, "same", [came], [], ["A"], clock, inputs=("1" * 64,))
    diff = diff_runs(load_run(old, "OLD"), load_run(same, "NEW"))
    assert {row.reason for row in diff.rows if row.cls == "resolved"} == {
        "NEW judged its case and did not find it"}
    assert diff.warnings == []


def test_money_bridge_per_case_adds_up_where_the_classes_do_not(tmp_path: Path) -> None:
    """A case with findings of two classes counts in each class's money; the bridge counts
    each case once: OLD's total + opened - closed + increased - decreased = NEW's total, as
    their checks summed them; a total its findings do not sum to is refused."""
    ev = "EV005", "refund-exceeds-charge"
    du = "DU001", "duplicate-refund"
    a_gone, a_kept = _finding(*ev, "A", "e1", 10.0), _finding(*du, "A", "d1", 4.0)
    a_came = _finding(*du, "A", "d2", 6.0)
    b_gone, c_came = _finding(*ev, "B", "b1", 5.0), _finding(*du, "C", "c1", 7.0)
    w_old = _finding(*ev, "W", "w1", 3.0)
    w_new = {**w_old, "waived": True, "waiver_reason": "accepted"}
    old = _tiny(tmp_path, "old", [a_gone, a_kept, b_gone, w_old], [], ["A", "B", "W"],
                "2026-09-01T00:00:00+00:00")
    new = _tiny(tmp_path, "new", [a_kept, a_came, c_came, w_new], [], ["A", "C", "W"],
                "2026-12-01T00:00:00+00:00")
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    money = diff.money_at_risk()
    assert (money["new"], money["still_open"], money["resolved"], money["not_rejudged"]) == (
        {"EUR": 13.0}, {"EUR": 4.0}, {"EUR": 10.0}, {"EUR": 5.0})  # (A in new and still open)
    assert diff.money_bridge() == {"EUR": {
        "old": 18.0, "opened": {"new": 7.0}, "closed": {"not_rejudged": 5.0,
                                                        "waived_in_new": 3.0},
        "increased": 0.0, "decreased": 4.0, "new": 13.0, "adds_up": True}}
    assert "  EUR: OLD 18.00 + opened 7.00 (new 7.00) - closed 8.00 (not rejudged 5.00, " \
        "waived in new 3.00) + increased 0.00 - decreased 4.00 = NEW 13.00" in summary_lines(diff)
    assert diff.document()["summary"]["money_bridge"] == diff.money_bridge()
    assert diff.warnings == []
    edited = json.loads((new / "findings.json").read_text(encoding="utf-8"))
    edited["summary"]["money_at_risk"]["EUR"] = 14.0
    (new / "findings.json").write_text(json.dumps(edited), encoding="utf-8")
    # (before, read, the bridge's adds_up False and a warning that EUR did not tie out)
    with pytest.raises(InputError, match=r"summary\.money_at_risk\.EUR.*14\.00, but the "
                       r"document's open findings put 13\.00 EUR at risk"):
        load_run(new, "NEW")


def test_an_edited_amount_is_refused_several_currencies_and_waivers_pass(
        tmp_path: Path) -> None:
    """summary.money_at_risk ties out per currency, to the minor unit, with the open
    findings' amounts as check sums them (per case its largest; waived findings and other
    currencies apart): untouched files pass, an amount edited by hand is refused (exit 2,
    naming summary.money_at_risk.<CUR> and both figures), where before diff warned and
    exited 0."""
    ev = "EV005", "refund-exceeds-charge"
    du = "DU001", "duplicate-refund"
    a1, a2 = _finding(*ev, "A", "a1", 0.1), _finding(*du, "A", "a2", 0.2)
    b = {**_finding(*ev, "B", "b1", 1500.0), "currency": "JPY"}
    c = {**_finding(*du, "C", "c1", 1.234), "currency": "KWD"}
    d = _finding(*ev, "D", "d1", 0.7)
    w = _finding(*du, "W", "w1", 999.0, waived=True)  # (waived: out of the money)
    findings = [a1, a2, b, c, d, w]
    old = _tiny(tmp_path, "old", findings, [], ["A", "B", "C", "D", "W"],
                "2026-09-01T00:00:00+00:00")
    new = _tiny(tmp_path, "new", findings, [], ["A", "B", "C", "D", "W"],
                "2026-12-01T00:00:00+00:00")
    for folder in (old, new):  # (as check writes it: each in its minor units, KWD's 3)
        document = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
        assert document["summary"]["money_at_risk"]["EUR"] == 0.9  # (0.2 + 0.7 in floats)
        document["summary"]["money_at_risk"] = {"EUR": 0.9, "JPY": 1500.0, "KWD": 1.234}
        data = json.dumps(document).encode("utf-8")
        (folder / "findings.json").write_bytes(data)
        (folder / "SHA256SUMS").write_text(
            f"{hashlib.sha256(data).hexdigest()}  findings.json\n", encoding="utf-8")
    result = run("diff", str(old), str(new), "--out", str(tmp_path / "same"), code=0)
    assert "does not tie out" not in result.output
    for at, amount, field, figures in (
            (4, 0.71, "EUR", "0.90, but the document's open findings put 0.91 EUR"),
            (2, 1501.0, "JPY", "1,500, but the document's open findings put 1,501 JPY"),
            (3, 1.235, "KWD", "1.234, but the document's open findings put 1.235 KWD")):
        document = json.loads((new / "findings.json").read_text(encoding="utf-8"))
        document["findings"][at]["amount_at_risk"] = amount
        edited = tmp_path / f"edited-{field}"
        edited.mkdir()
        (edited / "findings.json").write_text(json.dumps(document), encoding="utf-8")
        result = run("diff", str(old), str(edited), "--out", str(tmp_path / field), code=2)
        assert f"field 'summary.money_at_risk.{field}': {figures} at risk" in result.output
        assert not (tmp_path / field).exists()
    # (a waived finding's amount is no part of the money at risk: edited, still read)
    document = json.loads((new / "findings.json").read_text(encoding="utf-8"))
    document["findings"][5]["amount_at_risk"] = 5.0
    waived = tmp_path / "waived-edited"
    waived.mkdir()
    (waived / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    load_run(waived, "NEW")


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample's exports checked at 2026-09-01 and at 2026-12-01, and their diff:
    the folder holding old/, new/ and diff/."""
    root = tmp_path_factory.mktemp("quarter")
    exports = sorted(str(p) for p in (REPO / "sample_logs" / "refund-sample" / "exports")
                     .iterdir() if p.is_file())
    for name, clock in (("old", "2026-09-01T00:00:00+00:00"),
                        ("new", "2026-12-01T00:00:00+00:00")):
        run("check", *exports, "--as-of", clock, "--out", str(root / name), "--format", "json",
            "--fail-on", "never", code=0)
    run("diff", str(root / "old"), str(root / "new"), "--out", str(root / "diff"), code=0)
    return root


def test_money_bridge_adds_up_on_the_sample_quarter(quarter: Path) -> None:
    """OLD's and NEW's money at risk as their checks summed it, bridged case by case: it adds
    up exactly in every currency, and where it matters (EUR: cases opened and resolved)."""
    summaries = [json.loads((quarter / name / "findings.json").read_text(encoding="utf-8"))[
        "summary"]["money_at_risk"] for name in ("old", "new")]
    diff = json.loads((quarter / "diff" / "diff.json").read_text(encoding="utf-8"))
    bridge = diff["summary"]["money_bridge"]
    assert set(bridge) == set(summaries[0]) | set(summaries[1])
    for currency, row in bridge.items():
        assert (row["old"], row["new"]) == (summaries[0].get(currency, 0.0),
                                            summaries[1].get(currency, 0.0))
        total = (Decimal(repr(row["old"])) + sum(map(Decimal, map(repr, row["opened"].values())),
                                                 Decimal(0))
                 - sum(map(Decimal, map(repr, row["closed"].values())), Decimal(0))
                 + Decimal(repr(row["increased"])) - Decimal(repr(row["decreased"])))
        assert total == Decimal(repr(row["new"])) and row["adds_up"] is True, currency
    assert bridge["EUR"]["opened"].get("new", 0) > 0
    assert bridge["EUR"]["closed"].get("resolved", 0) > 0
    assert not any("does not tie out" in w for w in diff["warnings"])


def _waiver(rule: str, status: str, *, case: str | None = None, print_: str | None = None,
            reason: str = "accepted", expires: str = "2027-03-31") -> dict[str, Any]:
    """A waiver as findings.json's summary.waivers lists it."""
    return {"rule": rule, "case": case, "fingerprint": print_, "status": status,
            "matched": int(status == "used"), "expires": expires, "reason": reason,
            "approved_by": "CFO", "line": 1}


def test_waivers_named_how_they_ended_a_new_finding_waived_and_unused_ones(
        tmp_path: Path) -> None:
    """diff.json and diff.csv give each waiver's reason, approver and expiry; a waiver
    that ended is told expired (NEW's check says so) or removed (not in NEW's policy); a
    new finding NEW waives already is told so; NEW's waivers that waived nothing are
    named."""
    ev = "EV005", "refund-exceeds-charge"
    def waived(finding: dict[str, Any], reason: str) -> dict[str, Any]:
        return {**finding, "waived": True, "waiver_reason": f"{reason} (approved by CFO)"}

    a, b, c = (_finding(*ev, case, f"e{case}", 5.0) for case in "ABC")
    till = _waiver("no-prior-purchase", "used", case="A", reason="legacy till")
    till["rule"] = "refund-exceeds-charge"
    till["expires"] = "2026-10-31"
    goodwill = _waiver("EV005", "used", print_=b["fingerprint"], reason="goodwill")
    staff = _waiver("EV*", "used", case="C", reason="only staff on duty")
    nobody = _waiver("SD003", "never matched", case="X-NONE", reason="never matches")
    old = _tiny(tmp_path, "old", [waived(a, "legacy till"), waived(b, "goodwill")], [],
                ["A", "B"], "2026-09-01T00:00:00+00:00", waivers=(till, goodwill))
    new = _tiny(tmp_path, "new", [a, b, waived(c, "only staff on duty")], [],
                ["A", "B", "C"], "2026-12-01T00:00:00+00:00",
                waivers=({**till, "status": "expired", "matched": 0}, staff, nobody))
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    rows = {row.finding["case_id"]: row for row in diff.rows}
    assert {k: (r.cls, r.waiver_change, r.waiver_fields()) for k, r in rows.items()} == {
        "A": ("still_open", "waiver_ended", {
            "waiver_reason": "legacy till", "waiver_approved_by": "CFO",
            "waiver_expires": "2026-10-31", "waiver_ended": "expired"}),
        "B": ("still_open", "waiver_ended", {
            "waiver_reason": "goodwill", "waiver_approved_by": "CFO",
            "waiver_expires": "2027-03-31", "waiver_ended": "removed"}),
        "C": ("new", "", {
            "waiver_reason": "only staff on duty", "waiver_approved_by": "CFO",
            "waiver_expires": "2027-03-31", "waiver_ended": None})}
    assert rows["C"].reason.endswith("; waived in NEW already (only staff on duty, approved "
                                     "by CFO)")
    summary = diff.document()["summary"]
    assert (summary["waivers_ended"], summary["new_waived"]) == (
        {"expired": 1, "removed": 1}, 1)
    assert [w["case"] for w in summary["waivers_unused_in_new"]] == ["A", "X-NONE"]
    lines = summary_lines(diff)
    # (OLD's waived findings of A and B, their waivers ended, counted as OLD's check did)
    assert "findings: new 1 (of which 1 waived in NEW), still open 2 (of which 2 waived in " \
        "OLD), changed 0, resolved 0" in lines
    assert "waivers: added in NEW 0, ended in NEW 2 (expired 1, removed 1), on new findings " \
        "NEW waives already 1" in lines
    assert "waivers of NEW's policy that waived nothing in NEW: 2 (refund-exceeds-charge on " \
        "case A: expired; SD003 on case X-NONE: never matched)" in lines
    csv_rows = {r["case_id"]: r for r in csv.DictReader(io.StringIO(csv_text(diff.rows)))}
    assert (csv_rows["B"]["waiver_reason"], csv_rows["B"]["waiver_ended"],
            csv_rows["C"]["waiver_expires"]) == ("goodwill", "removed", "2027-03-31")


def test_a_still_open_finding_whose_amount_or_severity_changed_lists_its_changes(
        tmp_path: Path) -> None:
    """Same fingerprint in both runs, other amount, message and severity: still open, its
    changes listed as a changed finding's are (diff.json, diff.csv, the console's count)."""
    was = _finding("EV005", "refund-exceeds-charge", "A", "e1", 3.63, message="paid 23.58")
    now = {**was, "amount_at_risk": 2.21, "message": "paid 25.00", "severity": "low"}
    same = _finding("EV005", "refund-exceeds-charge", "B", "e2", 5.0)
    clock = "2026-12-01T00:00:00+00:00"
    old = _tiny(tmp_path, "old", [was, same], [], ["A", "B"], clock)
    new = _tiny(tmp_path, "new", [now, same], [], ["A", "B"], clock)
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    rows = {row.finding["fingerprint"]: row for row in diff.rows}
    assert {row.cls for row in diff.rows} == {"still_open"}
    changed, plain = rows[was["fingerprint"]], rows[same["fingerprint"]]
    assert changed.reason == "in both runs, with changes: amount at risk; severity; message"
    assert changed.differs == {"amount_at_risk": {"old": 3.63, "new": 2.21},
                               "severity": {"old": "high", "new": "low"},
                               "message": {"old": "paid 23.58", "new": "paid 25.00"}}
    assert (plain.reason, plain.differs) == ("in both runs", {})
    document = diff.document()
    assert document["summary"]["still_open_with_changes"] == 1
    listed = {f["fingerprint"]: f for f in document["findings"]}
    assert listed[was["fingerprint"]]["changes"] == changed.differs
    assert listed[was["fingerprint"]]["old_fingerprint"] is None
    assert listed[same["fingerprint"]]["changes"] is None
    lines = list(csv.DictReader(io.StringIO(csv_text(diff.rows))))
    line = next(r for r in lines if r["fingerprint"] == was["fingerprint"])
    assert (line["changes"], line["old_amount_at_risk"], line["amount_at_risk"],
            line["old_message"], line["old_fingerprint"]) == (
        "amount at risk; severity; message", "3.63", "2.21", "paid 23.58", "")
    assert "findings: new 0, still open 2 (of which 1 with changes), changed 0, resolved 0" \
        in summary_lines(diff)


def test_a_findings_json_changed_since_its_run_is_warned_of(runs: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    """The run folder's SHA256SUMS lists findings.json with the sha256 the check wrote: a
    findings.json edited since (here only re-indented) is diffed, and warned of."""
    copy = tmp_path / "new"
    shutil.copytree(runs[1], copy)
    assert run("diff", str(runs[0]), str(copy), code=0).output.count("warning: ") == 3
    document = json.loads((copy / "findings.json").read_text(encoding="utf-8"))
    (copy / "findings.json").write_text(json.dumps(document, indent=4), encoding="utf-8")
    result = run("diff", str(runs[0]), str(copy), code=0)
    assert f"warning: {copy / 'findings.json'} is not the file its run wrote: SHA256SUMS " \
        "beside it lists another sha256 (changed since the check)" in result.output
    sums = copy / "SHA256SUMS"
    sums.write_text("".join(line for line in sums.read_text(encoding="utf-8").splitlines(True)
                            if not line.endswith("  findings.json\n")), encoding="utf-8")
    result = run("diff", str(runs[0]), str(copy), code=0)
    assert f"warning: {copy / 'findings.json'} is not listed in SHA256SUMS beside it" \
        in result.output
    sums.unlink()
    result = run("diff", str(runs[0]), str(copy), code=0)
    assert f"warning: {copy / 'findings.json'}: no SHA256SUMS beside it (a check writes " \
        "one): whether it is the file its run wrote cannot be checked" in result.output


def test_a_check_into_a_diff_folder_leaves_its_files_and_names_them(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """diff's SHA256SUMS is one of this tool's (a check there replaces it, not refuses it),
    and its files are another command's: left, and warned of."""
    out = tmp_path / "both"
    run("diff", str(runs[0]), str(runs[1]), "--out", str(out), code=0)
    before = (out / "diff.csv").read_bytes()
    result = run("check", str(SAMPLE), "--out", str(out), "--format", "json",
                 "--fail-on", "never", "--as-of", "2026-11-01T00:00:00Z", code=0)
    assert "2 files this run did not write" in result.output
    assert "diff.csv, diff.json" in result.output
    assert (out / "diff.csv").read_bytes() == before


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The bundled sample checked at 2026-09-01 and at 2026-12-01: cases still running at
    the first clock go on before the second. Every case is judged as ended at its clock
    (`conformance.running_for: 0d`), so a case running at the first clock has skipped the
    SOP tasks after its last event: the findings of a case that went on (with the bundled
    running_for, a running case has none of those, see test_running_cases)."""
    root = tmp_path_factory.mktemp("diff-months")
    policy = _policy(root / "ended.yaml", running_for="0d")
    out = []
    for name, clock in (("sep", "2026-09-01T00:00:00Z"), ("dec", "2026-12-01T00:00:00Z")):
        run("check", str(SAMPLE), "--out", str(root / name), "--format", "json",
            "--fail-on", "never", "--as-of", clock, "--policy", str(policy), code=0)
        out.append(root / name)
    return out[0], out[1]


def test_a_case_that_went_on_is_changed_not_resolved(months: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    """Case 40268 was running at 2026-09-01 (skipped Close ticket, Notify customer, Reject
    refund, at its last event); by 2026-12-01 it went on and still skips Notify customer:
    its finding cites other events (another fingerprint), so it is changed, not resolved
    plus new. A case whose finding NEW does not report at all (its rule judged it, no
    finding of the rule in it) stays resolved."""
    old_doc, new_doc = (json.loads((m / "findings.json").read_text(encoding="utf-8"))
                        for m in months)
    out = tmp_path / "diff"
    result = run("diff", str(months[0]), str(months[1]), "--out", str(out), code=0)
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    before, after = _of(old_doc, "CF001", "40268"), _of(new_doc, "CF001", "40268")
    assert before["fingerprint"] != after["fingerprint"]
    (row,) = [r for r in diff["findings"] if r["case_id"] == "40268" and r["rule"] == "CF001"]
    assert (row["class"], row["old_fingerprint"], row["fingerprint"]) == (
        "changed", before["fingerprint"], after["fingerprint"])
    assert row["changes"]["event_ids"] == {
        "old": 1, "new": 2, "removed": before["event_ids"],
        "added": [e for e in after["event_ids"] if e not in before["event_ids"]]}
    assert row["changes"]["message"] == {"old": before["message"], "new": after["message"]}
    assert row["reason"].startswith("still open in NEW with other events or evidence")
    # Neither run's fingerprint of it is listed again: one row for the pair.
    prints = [r["fingerprint"] for r in diff["findings"]] + [
        r["old_fingerprint"] for r in diff["findings"] if r["old_fingerprint"]]
    assert prints.count(before["fingerprint"]) == prints.count(after["fingerprint"]) == 1
    # No resolved finding has a finding of its rule in its case left new in NEW.
    news = {(r["rule"], r["case_id"]) for r in diff["findings"] if r["class"] == "new"}
    resolved = [r for r in diff["findings"] if r["class"] == "resolved"]
    assert resolved and not [r for r in resolved if (r["rule"], r["case_id"]) in news]
    ran_on = {(f["rule"], f["case_id"]) for f in new_doc["findings"]}
    assert not [r for r in resolved if (r["rule"], r["case_id"]) in ran_on]
    # E.g. 40047: its CF001 gone in NEW, which judged the case and reports no CF001 in it.
    gone = _of(old_doc, "CF001", "40047")
    assert [r["class"] for r in diff["findings"] if r["fingerprint"] == gone["fingerprint"]] \
        == ["resolved"]
    assert "40047" in new_doc["judged_cases"]
    counts = diff["summary"]["findings"]
    assert counts["changed"] == diff["summary"]["by_rule"]["CF001"]["changed"] == 1
    assert "changed 1, resolved " in result.output
    assert "  CF001 skipped-activity           new 6, still open 5, changed 1, resolved 20" \
        in result.output
    with (out / "diff.csv").open(encoding="utf-8", newline="") as handle:
        (line,) = [r for r in csv.DictReader(handle) if r["class"] == "changed"]
    assert (line["old_fingerprint"], line["fingerprint"], line["old_events"], line["events"],
            line["old_message"], line["message"]) == (
        before["fingerprint"], after["fingerprint"], "1", "2", before["message"],
        after["message"])
    assert line["changes"] == "events 1 -> 2 (+2 -1); timestamp; message; evidence"


def test_changed_pairs_one_to_one_deterministically_money_and_waivers(tmp_path: Path) -> None:
    """Findings of a rule and case in one run only are paired: those sharing events first,
    then by time; the leftovers stay new or resolved; a case with no finding of the rule
    in NEW is resolved. A changed finding counts in money at risk (NEW's amount); a waiver
    naming its old fingerprint no longer matches and is told."""
    def f(case: str, events: list[str], amount: float | None, day: int,
          message: str = "m", waived: bool = False) -> dict[str, Any]:
        return _finding("EV005", "refund-exceeds-charge", case, events, amount,
                        timestamp=f"2026-08-{day:02d}T00:00:00+00:00", message=message,
                        waived=waived)

    # A: one finding that gained an event (an SLA breach's late payout): changed.
    a_old, a_new = f("A", ["r1"], 10.0, 1), f("A", ["r1", "p1"], 12.0, 1, message="late")
    # B: gone in NEW, which judged B and reports a DU001 there only: resolved.
    b_old = f("B", ["b1"], 7.0, 1)
    b_dup = _finding("DU001", "duplicate-refund", "B", "b9", 3.0)
    # C: two findings per run; the second of OLD shares c2 with NEW's earlier one (in time
    # order it would pair with the first).
    c1, c2 = f("C", ["c1"], 1.0, 1), f("C", ["c2"], 2.0, 2)
    c2_new, c_other = f("C", ["c2", "c3"], 5.0, 3), f("C", ["c4"], 4.0, 4)
    # D: no events shared: by time, then fingerprint; OLD's third is left resolved.
    d1, d2, d3 = f("D", ["d1"], None, 1), f("D", ["d2"], None, 2), f("D", ["d3"], None, 3)
    e1, e2 = f("D", ["e2"], None, 5), f("D", ["e1"], None, 4)
    # W: waived in OLD by a waiver naming its fingerprint; NEW's changed one is not waived.
    w_old, w_new = f("W", ["w1"], 9.0, 1, waived=True), f("W", ["w1", "w2"], 9.0, 1)
    # V: waived in both by a waiver naming the case: no change told.
    v_old, v_new = f("V", ["v1"], 8.0, 1, waived=True), f("V", ["v2"], 8.0, 2, waived=True)
    olds = [a_old, b_old, c1, c2, d1, d2, d3, w_old, v_old]
    news = [a_new, b_dup, c2_new, c_other, e1, e2, w_new, v_new]
    judged = ["A", "B", "C", "D", "W", "V"]
    pairs = {}
    for order in (1, -1):  # (the runs' order of their findings does not change the pairs)
        old = _tiny(tmp_path, f"old{order}", olds[::order], [], judged,
                    "2026-09-01T00:00:00+00:00", waiver_prints=(w_old["fingerprint"], None))
        new = _tiny(tmp_path, f"new{order}", news[::order], [], judged,
                    "2026-12-01T00:00:00+00:00", waiver_prints=(None,))
        diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
        pairs[order] = {(row.old["fingerprint"] if row.old else None,
                         row.finding["fingerprint"], row.cls) for row in diff.rows}
    assert pairs[1] == pairs[-1]
    p = {name: g["fingerprint"] for name, g in (
        ("a_old", a_old), ("a_new", a_new), ("b_old", b_old), ("b_dup", b_dup),
        ("c1", c1), ("c2", c2), ("c2_new", c2_new), ("c_other", c_other), ("d1", d1),
        ("d2", d2), ("d3", d3), ("e1", e1), ("e2", e2), ("w_old", w_old),
        ("w_new", w_new), ("v_old", v_old), ("v_new", v_new))}
    assert pairs[1] == {
        (p["a_old"], p["a_new"], "changed"), (None, p["b_old"], "resolved"),
        (None, p["b_dup"], "new"), (p["c2"], p["c2_new"], "changed"),
        (p["c1"], p["c_other"], "changed"), (p["d1"], p["e2"], "changed"),
        (p["d2"], p["e1"], "changed"), (None, p["d3"], "resolved"),
        (p["w_old"], p["w_new"], "changed"), (p["v_old"], p["v_new"], "changed")}
    rows = {row.finding["fingerprint"]: row for row in diff.rows}
    a = rows[p["a_new"]]
    assert a.differs == {"event_ids": {"old": 1, "new": 2, "added": ["p1"], "removed": []},
                         "amount_at_risk": {"old": 10.0, "new": 12.0},
                         "message": {"old": "m", "new": "late"}}
    assert a.reason == ("still open in NEW with other events or evidence (another "
                        "fingerprint): events 1 -> 2 (+1 -0); amount at risk; message")
    assert (rows[p["w_new"]].waiver_change, rows[p["v_new"]].waiver_change) == (
        "waiver_on_old_fingerprint", "")
    assert diff.waiver_changes() == {"waiver_added": 0, "waiver_ended": 0,
                                     "waiver_on_old_fingerprint": 1}
    # Changed: per case NEW's largest amount it does not waive (A 12, C 5, W 9; V waived).
    assert diff.money_at_risk() == {"new": {"EUR": 3.0}, "still_open": {},
                                    "changed": {"EUR": 26.0}, "resolved": {"EUR": 7.0},
                                    "not_rejudged": {}}
    assert diff.counts()["changed"] == 7 and diff.counts()["resolved"] == 2
    lines = summary_lines(diff)
    # (V waived in both runs, W in OLD only: OLD's waived counted as OLD's check did)
    assert "findings: new 1, still open 0, changed 7 (of which 1 waived in NEW, 2 waived in " \
        "OLD), resolved 2" in lines
    assert ("waivers: added in NEW 0, ended in NEW 0, on a changed "
            "finding's old fingerprint, not matching it in NEW (approve it again) 1") in lines
    assert any(line.startswith("money at risk: ") and line.endswith(
        "; changed 26.00 EUR; resolved 7.00 EUR; not re-judged none")
               for line in lines)


@pytest.fixture(scope="module")
def clocks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The bundled sample checked at 2026-10-01 (14 cases running at that clock, 40141
    among them: its last event 2026-09-30) and at its own clock, 2026-10-15 (none)."""
    root = tmp_path_factory.mktemp("diff-clocks")
    run("check", str(SAMPLE), "--out", str(root / "oct1"), "--format", "json", "--fail-on",
        "never", "--as-of", "2026-10-01T00:00:00+00:00", code=0)
    run("check", str(SAMPLE), "--out", str(root / "oct15"), "--format", "json", "--fail-on",
        "never", code=0)
    return root / "oct1", root / "oct15"


def test_findings_json_lists_the_running_cases(clocks: tuple[Path, Path]) -> None:
    """findings.json names the cases running at its clock (`running_cases`, one line), as
    many as summary.running_cases counts."""
    old, new = _documents(clocks)
    assert old["summary"]["running_cases"] == len(old["running_cases"]) == 14
    assert "40141" in old["running_cases"]
    assert set(old["running_cases"]) <= set(old["judged_cases"])
    assert new["summary"]["running_cases"] == 0 and new["running_cases"] == []
    text = (clocks[0] / "findings.json").read_text(encoding="utf-8")
    assert '\n  "running_cases": ["' in text and text.endswith('"]\n}\n')


def test_a_conformance_finding_of_a_case_running_at_the_other_clock_says_so(
        clocks: tuple[Path, Path], tmp_path: Path) -> None:
    """40141 ran at 2026-10-01 (its tasks after 2026-09-30 not due); idle past running_for
    at 2026-10-15, it skipped them: new to the committee, but OLD did not judge those tasks;
    the other way round (NEW's clock the earlier), its finding is gone because the case runs
    at NEW's clock, not because NEW found the tasks done."""
    from audit.rundiff import GONE_RUNNING_REASON, NEW_NOT_DUE_REASON, NEW_RUNNING_REASON

    run("diff", str(clocks[0]), str(clocks[1]), "--out", str(tmp_path / "fwd"), code=0)
    rows = json.loads((tmp_path / "fwd" / "diff.json").read_text(encoding="utf-8"))
    (row,) = [r for r in rows["findings"] if r["rule"] == "CF001" and r["case_id"] == "40141"]
    assert (row["class"], row["reason"]) == ("new", NEW_RUNNING_REASON)
    assert rows["old"]["running_cases"] == 14 and rows["new"]["running_cases"] == 0
    # (the other new findings: not of a running case's conformance, their own reasons: 40141's
    # approved-not-paid, within its grace at OLD's clock, and a breach dated after it)
    others = {(r["rule"], r["case_id"]): r["reason"] for r in rows["findings"]
              if r["class"] == "new" and r is not row}
    assert others[("EV003", "40141")] == NEW_NOT_DUE_REASON["EV003"]
    assert others[("SL001", "40287")].startswith("its event (2026-10-07T13:09:23+00:00) is "
                                                 "after OLD's clock")
    assert NEW_RUNNING_REASON not in others.values()
    run("diff", str(clocks[1]), str(clocks[0]), "--out", str(tmp_path / "back"), code=0)
    rows = json.loads((tmp_path / "back" / "diff.json").read_text(encoding="utf-8"))
    (row,) = [r for r in rows["findings"] if r["rule"] == "CF001" and r["case_id"] == "40141"]
    assert (row["class"], row["reason"]) == ("resolved", GONE_RUNNING_REASON)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: _set(d, ("running_cases",), KeyError),
     "field 'running_cases': missing, while summary.running_cases counts 14 case(s)"),
    (lambda d: _set(d, ("running_cases",), d["running_cases"][1:]),
     "field 'running_cases': 13 case(s), but summary.running_cases counts 14"),
    (lambda d: _set(d, ("running_cases", 2), 40112),
     "field 'running_cases[2]': not a text: 40112"),
    (lambda d: _set(d, ("summary", "running_cases"), "14"),
     "field 'summary.running_cases': not a whole number: '14'"),
])
def test_running_cases_missing_or_disagreeing_is_refused(
        clocks: tuple[Path, Path], tmp_path: Path, change: Any, expected: str) -> None:
    folder = _written(tmp_path, (clocks[1], clocks[0]), change)
    result = run("diff", str(clocks[1]), str(folder), code=2)
    assert result.output.startswith(f"error: {folder / 'findings.json'}: ")
    assert expected in result.output


def test_running_cases_missing_where_none_ran_is_none(clocks: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    """A findings.json without running_cases (a check before it was written) whose summary
    counts no running case is read as running none."""
    folder = _written(tmp_path, clocks, lambda d: _set(d, ("running_cases",), KeyError))
    run("diff", str(clocks[0]), str(folder), "--out", str(tmp_path / "d"), code=0)
    rows = json.loads((tmp_path / "d" / "diff.json").read_text(encoding="utf-8"))
    assert rows["new"]["running_cases"] == 0


def test_values_of_a_findings_json_never_print_a_line_of_their_own(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """A run folder's name and a policy file's name holding a line break (the values diff
    prints from the files: paths, names, currencies) are shown on their own line
    (`shown_on_one_line`), never as a forged console line."""
    document = json.loads((runs[1] / "findings.json").read_text(encoding="utf-8"))
    document["manifest"]["policy"]["file"] = "/p/policy\nFORGED POLICY.yaml"
    folder = tmp_path / "run\nFORGED PATH"
    folder.mkdir()
    (folder / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    output = run("diff", str(runs[0]), str(folder), code=0).output
    lines = output.splitlines()
    assert not any(line.startswith("FORGED") for line in lines)
    assert any("run[U+000A]FORGED PATH" in line for line in lines)
    assert any("policy[U+000A]FORGED POLICY.yaml" in line for line in lines)


@pytest.fixture(scope="module")
def december(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample checked at 2026-12-01 (40141, approved on 2026-09-30 12:56 and
    never paid, is past its 5-day grace: approved-not-paid)."""
    root = tmp_path_factory.mktemp("diff-december")
    run("check", str(SAMPLE), "--out", str(root / "dec1"), "--format", "json", "--fail-on",
        "never", "--as-of", "2026-12-01T00:00:00+00:00", code=0)
    return root / "dec1"


def test_findings_json_names_the_approved_cases_within_their_grace(
        clocks: tuple[Path, Path], december: Path) -> None:
    """not_due_cases.EV003: at 2026-10-01, 40141 (approved 11 hours before, not paid) is
    within its grace, not judged yet; at 2026-12-01 it is an approved-not-paid finding, and
    left for later no more. Every case so named is approved, not paid, not rejected since
    and approved less than the grace before the clock (read off the sample itself)."""
    old, new = _documents((clocks[0], december))
    assert "40141" in old["not_due_cases"]["EV003"]
    assert not any(f["case_id"] == "40141" for f in old["findings"] if f["rule"] == "EV003")
    assert "40141" not in new["not_due_cases"].get("EV003", [])
    assert any(f["case_id"] == "40141" for f in new["findings"] if f["rule"] == "EV003")
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame["at"] = pd.to_datetime(frame["time:timestamp"], utc=True, format="ISO8601")
    for document, clock in ((old, "2026-10-01"), (new, "2026-12-01")):
        at_clock = frame[frame["at"] <= pd.Timestamp(clock, tz="UTC")]
        expected = set()
        for case, events in at_clock.groupby("case:concept:name"):
            approved = events.loc[events["concept:name"] == "Approve refund", "at"].max()
            rejected = events.loc[events["concept:name"] == "Reject refund", "at"].max()
            paid = ((events["concept:name"] == "Execute payout")
                    & (events["payment:status"] == "succeeded")).any()
            if (pd.notna(approved) and not paid and not rejected >= approved
                    and pd.Timestamp(clock, tz="UTC") - approved <= pd.Timedelta(days=5)):
                expected.add(case)
        assert set(document["not_due_cases"].get("EV003", [])) == expected
        assert expected <= set(document["judged_cases"])
    assert len(set(old["not_due_cases"]["EV003"])) >= 3


def test_an_approved_not_paid_finding_within_its_grace_at_the_other_clock_says_so(
        clocks: tuple[Path, Path], december: Path, tmp_path: Path) -> None:
    """40141's approved-not-paid finding of 2026-12-01 is new, but at OLD's clock
    (2026-10-01) its grace had not run out: OLD did not judge it; before, "OLD judged its
    case and did not find it". NEW's clock the earlier: not re-judged, not resolved."""
    from audit.rundiff import GONE_NOT_DUE_REASON, NEW_NOT_DUE_REASON

    run("diff", str(clocks[0]), str(december), "--out", str(tmp_path / "fwd"), code=0)
    rows = json.loads((tmp_path / "fwd" / "diff.json").read_text(encoding="utf-8"))
    (row,) = [r for r in rows["findings"] if r["rule"] == "EV003" and r["case_id"] == "40141"]
    assert (row["class"], row["reason"]) == ("new", NEW_NOT_DUE_REASON["EV003"])
    assert "grace period" in row["reason"] and "OLD did not judge it" in row["reason"]
    run("diff", str(december), str(clocks[0]), "--out", str(tmp_path / "back"), code=0)
    rows = json.loads((tmp_path / "back" / "diff.json").read_text(encoding="utf-8"))
    (row,) = [r for r in rows["findings"] if r["rule"] == "EV003" and r["case_id"] == "40141"]
    assert (row["class"], row["reason"]) == ("not_rejudged", GONE_NOT_DUE_REASON["EV003"])


def test_no_new_timed_finding_between_the_clocks_is_said_judged_by_old(
        clocks: tuple[Path, Path], december: Path, tmp_path: Path) -> None:
    """Between 2026-10-01 and 2026-12-01 no new finding of a rule that waits on a clock
    (approved-not-paid, sla-breach, stage-overdue) reads "OLD judged its case and did not
    find it": each was not due, or is dated after, OLD's clock."""
    from audit.rundiff import NEW_REASON

    run("diff", str(clocks[0]), str(december), "--out", str(tmp_path / "d"), code=0)
    rows = json.loads((tmp_path / "d" / "diff.json").read_text(encoding="utf-8"))
    timed = [r for r in rows["findings"]
             if r["class"] == "new" and r["rule"] in ("EV003", "SL001", "SL002")]
    assert {r["rule"] for r in timed} >= {"EV003", "SL001"}
    assert all(r["reason"] != NEW_REASON for r in timed), timed


def test_a_wait_measured_to_the_later_clock_is_aged_not_changed(
        clocks: tuple[Path, Path], tmp_path: Path) -> None:
    """Two approved-not-paid findings of 2026-10-01 still open at 2026-10-15: their wait
    (message and evidence) grew by the clocks' 14 days, nothing else changed: aged only,
    counted apart from the findings with changes; one whose amount changed too has
    changes."""
    run("diff", str(clocks[0]), str(clocks[1]), "--out", str(tmp_path / "d"), code=0)
    diff = json.loads((tmp_path / "d" / "diff.json").read_text(encoding="utf-8"))
    aged = sorted((r["rule"], r["case_id"]) for r in diff["findings"] if r["aged_only"])
    assert aged == [("EV003", "CS0000249"), ("EV003", "RFD-66")]
    assert (diff["summary"]["still_open_with_changes"],
            diff["summary"]["still_open_aged"]) == (0, 2)
    row = next(r for r in diff["findings"] if r["aged_only"])
    assert row["class"] == "still_open" and "aged only" in row["reason"]
    assert set(row["changes"]) == {"message", "evidence"}
    cells = list(csv.DictReader(io.StringIO(
        (tmp_path / "d" / "diff.csv").read_text(encoding="utf-8"))))
    assert sorted((c["rule"], c["case_id"]) for c in cells if c["aged_only"] == "TRUE") == aged
    # (booleans as findings.csv writes them, TRUE or FALSE; before, Python's True and False)
    assert {c["aged_only"] for c in cells} == {"TRUE", "FALSE"}
    assert {c["new_waived"] for c in cells} | {c["old_waived"] for c in cells} <= {
        "TRUE", "FALSE", ""}
    assert "FALSE" in {c["new_waived"] for c in cells}
    output = run("diff", str(clocks[0]), str(clocks[1]), code=0).output
    assert "still open 90 (of which 2 aged only)" in output
    # The amount of one of them changed too: that one has changes. (Its summary's money
    # at risk summed again, as check would: an amount edited alone is refused.)
    folder = _written(tmp_path, (clocks[0], clocks[1]), lambda d: _retotalled(_set(
        d, ("findings", next(k for k, f in enumerate(d["findings"]) if (
            f["rule"], f["case_id"]) == ("EV003", "CS0000249")), "amount_at_risk"), 1.5)))
    output = run("diff", str(clocks[0]), str(folder), code=0).output
    assert "still open 90 (of which 1 with changes, 1 aged only)" in output


def _open_wait(rule: str, evidence: dict[str, Any], message: str,
               amount: float = 10.0) -> dict[str, Any]:
    found = _finding(rule, {"SL001": "sla-breach", "SL002": "stage-overdue",
                            "EV003": "approved-not-paid"}[rule], "A", "e1", amount,
                     message=message)
    return {**found, "evidence": evidence}


@pytest.mark.parametrize(("rule", "old", "new", "aged"), [
    ("SL001", ({"requested_at": "2026-09-01T00:00:00+00:00", "paid_at": None,
                "as_of": "2026-10-01T00:00:00+00:00", "open_for": "30 days 00:00:00",
                "sla": "14 days 00:00:00"},
               "no payout 30d after the request, still open at 2026-10-01 00:00:00 UTC "
               "(SLA 14d)"),
     ({"requested_at": "2026-09-01T00:00:00+00:00", "paid_at": None,
       "as_of": "2026-10-15T00:00:00+00:00", "open_for": "44 days 00:00:00",
       "sla": "14 days 00:00:00"},
      "no payout 44d after the request, still open at 2026-10-15 00:00:00 UTC (SLA 14d)"),
     True),
    # the SLA changed too (a policy's): not the clock alone
    ("SL001", ({"requested_at": "2026-09-01T00:00:00+00:00", "paid_at": None,
                "as_of": "2026-10-01T00:00:00+00:00", "open_for": "30 days 00:00:00",
                "sla": "14 days 00:00:00"}, "no payout 30d (SLA 14d)"),
     ({"requested_at": "2026-09-01T00:00:00+00:00", "paid_at": None,
       "as_of": "2026-10-15T00:00:00+00:00", "open_for": "44 days 00:00:00",
       "sla": "10 days 00:00:00"}, "no payout 44d (SLA 10d)"), False),
    # the wait grew by other than the clocks' 14 days: its start moved
    ("EV003", ({"approvals_last_time": "2026-09-01T00:00:00+00:00",
                "waiting": "30 days 00:00:00"}, "still not paid after 30d"),
     ({"approvals_last_time": "2026-09-01T00:00:00+00:00",
       "waiting": "45 days 00:00:00"}, "still not paid after 45d"), False),
    ("EV003", ({"approvals_last_time": "2026-09-01T00:00:00+00:00",
                "waiting": "30 days 00:00:00"}, "approved on 2026-09-01, after 30d"),
     ({"approvals_last_time": "2026-09-02T00:00:00+00:00",
       "waiting": "44 days 00:00:00"}, "approved on 2026-09-01, after 44d"), False),
    ("SL002", ({"late": "payout still open after 8d at 2026-10-01T00:00:00+00:00 (limit 7d)",
                "stages": [{"stage": "payout", "from": "a", "to": "b",
                            "started": "2026-09-23T00:00:00+00:00", "ended": None,
                            "open_at": "2026-10-01T00:00:00+00:00", "took": "8 days 00:00:00",
                            "limit": "7 days 00:00:00"}]},
               "payout still open after 8d at 2026-10-01 00:00:00 UTC (limit 7d)"),
     ({"late": "payout still open after 22d at 2026-10-15T00:00:00+00:00 (limit 7d)",
       "stages": [{"stage": "payout", "from": "a", "to": "b",
                   "started": "2026-09-23T00:00:00+00:00", "ended": None,
                   "open_at": "2026-10-15T00:00:00+00:00", "took": "22 days 00:00:00",
                   "limit": "7 days 00:00:00"}]},
      "payout still open after 22d at 2026-10-15 00:00:00 UTC (limit 7d)"), True),
    # a stage that ended took another time: not the clock
    ("SL002", ({"late": "payout took 8d (limit 7d)",
                "stages": [{"stage": "payout", "ended": "2026-09-30T00:00:00+00:00",
                            "took": "8 days 00:00:00"}]}, "payout took 8d (limit 7d)"),
     ({"late": "payout took 9d (limit 7d)",
       "stages": [{"stage": "payout", "ended": "2026-10-01T00:00:00+00:00",
                   "took": "9 days 00:00:00"}]}, "payout took 9d (limit 7d)"), False),
])
def test_aged_only_is_the_clock_alone(rule: str, old: tuple[dict[str, Any], str],
                                      new: tuple[dict[str, Any], str], aged: bool) -> None:
    from datetime import UTC, datetime

    from audit.rundiff import aged_only

    before, after = _open_wait(rule, *old), _open_wait(rule, *new)
    clocks = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC))
    assert aged_only(before, after, *clocks) is aged
    # the amount changed as well: never aged only
    assert not aged_only(before, {**after, "amount_at_risk": 11.0}, *clocks)


def test_an_open_sla_breach_measured_to_the_later_clock_is_aged(tmp_path: Path) -> None:
    """Case RFD-1 left at its request and evidence (no approval, payout, close): its
    sla-breach "no payout ... still open at <clock>" at 2026-10-01 and at 2026-10-15 is the
    same finding aged 14 days (SL001's open_for and as_of in its evidence)."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame = frame[~((frame["case:concept:name"] == "RFD-1") & frame["concept:name"].isin(
        ["Approve refund", "Execute payout", "Notify customer", "Close ticket"]))]
    log = tmp_path / "open.csv"
    frame.to_csv(log, index=False)
    for name, clock in (("old", "2026-10-01T00:00:00+00:00"),
                        ("new", "2026-10-15T00:00:00+00:00")):
        run("check", str(log), "--out", str(tmp_path / name), "--format", "json",
            "--fail-on", "never", "--as-of", clock, code=0)
    diff = diff_runs(load_run(tmp_path / "old", "OLD"), load_run(tmp_path / "new", "NEW"))
    (row,) = [r for r in diff.rows if r.finding["rule"] == "SL001"
              and r.finding["case_id"] == "RFD-1"]
    assert row.cls == "still_open" and row.aged and row.old is not None
    assert "still open at 2026-10-01 00:00:00 UTC" in row.old["message"]
    assert "still open at 2026-10-15 00:00:00 UTC" in row.finding["message"]
    assert diff.still_open_with_changes() == 0


def _gated(tmp_path: Path) -> tuple[Path, Path, dict[str, dict[str, Any]]]:
    """OLD and NEW of one finding per case, each a way a finding of NEW can be worse (or
    not) than in OLD: A still open as it was (high), B still open whose severity rose
    (medium -> critical), C open again (OLD waived it, its waiver expired), D new (low), E
    new and waived in NEW (critical), F still open whose severity fell (critical -> low),
    G in OLD only (resolved, critical), H changed (other events) whose severity rose
    (low -> high)."""
    ev = "EV005", "refund-exceeds-charge"
    f = {case: _finding(*ev, case, f"e{case}", 5.0) for case in "ABCDEFG"}
    h_old, h_new = (_finding(*ev, "H", events, 5.0) for events in (["h1"], ["h1", "h2"]))
    waiver = _waiver("EV005", "used", case="C", expires="2026-10-31")
    old = _tiny(tmp_path, "old", [
        f["A"], {**f["B"], "severity": "medium"}, {**f["C"], "waived": True},
        {**f["F"], "severity": "critical"}, {**f["G"], "severity": "critical"},
        {**h_old, "severity": "low"}], [], list("ABCDEFGH"), "2026-09-01T00:00:00+00:00",
        waivers=(waiver,))
    new = _tiny(tmp_path, "new", [
        f["A"], {**f["B"], "severity": "critical"}, f["C"], {**f["D"], "severity": "low"},
        {**f["E"], "severity": "critical", "waived": True}, {**f["F"], "severity": "low"},
        h_new], [], list("ABCDEFGH"), "2026-12-01T00:00:00+00:00",
        waivers=({**waiver, "status": "expired", "matched": 0},
                 _waiver("EV005", "used", case="E")))
    return old, new, f


def test_worse_in_new_is_new_open_again_or_a_severity_risen_never_waived(
        tmp_path: Path) -> None:
    """Of NEW's findings, those worse than in OLD: new (not waived in NEW), open again
    (OLD waived it), still open or changed with a higher severity; not one still open as
    it was or with a lower severity, nor one NEW waives, nor one in OLD only. diff.json's
    summary counts them per severity, each finding and diff.csv's row says why."""
    old, new, _ = _gated(tmp_path)
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    rows = {row.finding["case_id"]: row for row in diff.rows}
    assert {case: (row.cls, row.worse) for case, row in rows.items()} == {
        "A": ("still_open", ""), "B": ("still_open", "severity_rose"),
        "C": ("still_open", "waiver_ended"), "D": ("new", "new"), "E": ("new", ""),
        "F": ("still_open", ""), "G": ("resolved", ""), "H": ("changed", "severity_rose")}
    assert [row.finding["case_id"] for row in diff.failing("critical")] == ["B"]
    assert [row.finding["case_id"] for row in diff.failing("high")] == ["B", "C", "H"]
    assert [row.finding["case_id"] for row in diff.failing("info")] == ["B", "C", "H", "D"]
    assert diff.failing("never") == []
    document = diff.document()
    worse = document["summary"]["worse_in_new"]
    assert {s: {k: n for k, n in row.items() if n} for s, row in worse.items()} == {
        "info": {}, "low": {"new": 1}, "medium": {},
        "high": {"waiver_ended": 1, "severity_rose": 1}, "critical": {"severity_rose": 1}}
    assert {f["case_id"]: f["worse_in_new"] for f in document["findings"]} == {
        "A": None, "B": "severity_rose", "C": "waiver_ended", "D": "new", "E": None,
        "F": None, "G": None, "H": "severity_rose"}
    assert {r["case_id"]: r["worse_in_new"] for r in csv.DictReader(
        io.StringIO(csv_text(diff.rows)))} == {
        "A": "", "B": "severity_rose", "C": "waiver_ended", "D": "new", "E": "", "F": "",
        "G": "", "H": "severity_rose"}


def test_diff_fail_on_exits_1_on_worse_findings_0_otherwise_2_on_bad_input(
        tmp_path: Path) -> None:
    """diff --fail-on SEVERITY: exit 1 where NEW has a finding at or above it worse than in
    OLD (the console names it, and the diff's files are written all the same); 0 where it
    has none (still open as before, waived, lower severity), and without --fail-on (its
    default, never); 2 for a run it cannot read, as without it."""
    old, new, f = _gated(tmp_path)
    failed = run("diff", str(old), str(new), "--fail-on", "high", "--out",
                 str(tmp_path / "d"), code=1)
    lines = failed.output.splitlines()
    assert ("fail-on high: 3 findings of NEW at or above high new or worse than in OLD "
            "(waiver ended 1, severity rose 2)") in lines
    assert f"  EV005 case B critical (was medium) {f['B']['fingerprint']}: severity rose" \
        in lines
    assert f"  EV005 case C high {f['C']['fingerprint']}: waiver ended" in lines
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == sorted(DIFF_FILES)
    run("diff", str(old), str(new), "--fail-on", "critical", code=1)
    run("diff", str(old), str(new), code=0)
    run("diff", str(old), str(new), "--fail-on", "never", code=0)
    # NEW as OLD was, a day later: nothing new or worse; a lower severity is no failure
    again = _tiny(tmp_path, "again", [
        {**f["A"], "severity": "low"}, {**f["B"], "severity": "medium"},
        {**f["C"], "waived": True}], [], list("ABC"), "2026-09-02T00:00:00+00:00",
        waivers=(_waiver("EV005", "used", case="C"),))
    before = _tiny(tmp_path, "before", [f["A"], {**f["B"], "severity": "medium"},
                                        {**f["C"], "waived": True}], [], list("ABC"),
                   "2026-09-01T00:00:00+00:00", waivers=(_waiver("EV005", "used", case="C"),))
    passed = run("diff", str(before), str(again), "--fail-on", "info", code=0)
    assert "fail-on info: no finding of NEW at or above info is new or worse than in OLD" \
        in passed.output.splitlines()
    assert "error:" in run("diff", str(before), str(tmp_path / "nowhere"), "--fail-on",
                           "info", code=2).output
    assert "Invalid value for '--fail-on'" in run("diff", str(before), str(again),
                                                  "--fail-on", "severe", code=2).output


def test_findings_json_names_the_waiver_of_each_waived_finding(
        runs: tuple[Path, Path]) -> None:
    """check writes each finding's `waived_by`: the position in summary.waivers of the
    waiver that waived it (OLD's policy waives SD002 on case 40048, NEW's SD001 on 40021),
    null on the open ones."""
    for document, (rule, case) in zip(_documents(runs), (("SD002", "40048"),
                                                         ("SD001", "40021")), strict=True):
        waived = [f for f in document["findings"] if f["waived"]]
        assert [(f["rule"], f["case_id"], f["waived_by"]) for f in waived] == [(rule, case, 0)]
        assert document["summary"]["waivers"][0]["case"] == case
        assert document["summary"]["waivers"][0]["codes"] == [rule]
        assert {f["waived_by"] for f in document["findings"] if not f["waived"]} == {None}


def _two_waivers(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """OLD: case A's DU001 and EV005 findings waived, by a waiver of DU001 (waived_by 0)
    and one of the family EV (1); NEW's policy keeps the first only: EV005's is open."""
    dup = _finding("DU001", "duplicate-refund", "A", "e1", 30.0)
    over = _finding("EV005", "refund-exceeds-charge", "A", "e2", 10.0)
    by_dup = _waiver("DU001", "used", case="A", reason="same refund twice, by agreement")
    by_family = _waiver("EV", "used", case="A", reason="goodwill", expires="2027-06-30")
    old = _tiny(tmp_path, "old", [{**dup, "waived": True, "waived_by": 0},
                                  {**over, "waived": True, "waived_by": 1}], [], ["A"],
                "2026-09-01T00:00:00+00:00", waivers=(by_dup, by_family))
    new = _tiny(tmp_path, "new", [{**dup, "waived": True, "waived_by": 0},
                                  {**over, "waived_by": None}], [], ["A"],
                "2026-12-01T00:00:00+00:00", waivers=(by_dup,))
    return old, new, over


def test_diff_names_the_waiver_findings_json_says_waived_it(tmp_path: Path) -> None:
    """The waiver of a finding is the one its `waived_by` names, not one inferred: a
    waiver naming its rule by family (EV) is not told from summary.waivers (the inference
    took the first used waiver of its case, DU001's, and called the waiver that ended
    "no longer matches", as DU001's is still in NEW's policy)."""
    old, new, over = _two_waivers(tmp_path)
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    row = next(r for r in diff.rows if r.finding["fingerprint"] == over["fingerprint"])
    assert (row.cls, row.waiver_change, row.waiver_fields()) == (
        "still_open", "waiver_ended", {
            "waiver_reason": "goodwill", "waiver_approved_by": "CFO",
            "waiver_expires": "2027-06-30", "waiver_ended": "removed"})
    assert row.worse == "waiver_ended"


def _rewritten(folder: Path, edit: Any) -> Path:
    document = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    edit(document)
    return _run_holding(folder, document)


@pytest.mark.parametrize(("edit", "field", "words"), [
    (lambda d: d["findings"][1].update(waived_by=0), "findings[1].waived_by",
     "0, on a finding not waived"),
    (lambda d: d["findings"][0].update(waived_by=5), "findings[0].waived_by",
     "not the position of a waiver of summary.waivers (0 to 0) on a waived finding: 5"),
    (lambda d: d["findings"][0].update(waived_by=True), "findings[0].waived_by",
     "not the position of a waiver"),
    (lambda d: d["summary"]["waivers"][0].update(case="B"), "findings[0].waived_by",
     "0: summary.waivers[0] (case 'B', used) did not waive it, a finding of case 'A'"),
    (lambda d: d["summary"]["waivers"][0].update(matched=2), "summary.waivers[0].matched",
     "2, but 1 finding(s) name it in waived_by"),
    # a waiver of another rule on the finding's case: by its code or name (no `codes`) ...
    (lambda d: d["summary"]["waivers"][0].update(rule="EV005"), "findings[0].waived_by",
     "0: summary.waivers[0] (rule 'EV005') does not name the rule of this finding, DU001 "
     "(duplicate-refund)"),
    (lambda d: d["summary"]["waivers"][0].update(rule="refund-exceeds-charge"),
     "findings[0].waived_by", "0: summary.waivers[0] (rule 'refund-exceeds-charge') does "
     "not name the rule"),
    # ... or by the codes it resolved to
    (lambda d: d["summary"]["waivers"][0].update(codes=["EV001", "EV005"]),
     "findings[0].waived_by", "0: summary.waivers[0] (rule 'DU001', codes ['EV001', "
     "'EV005']) does not name the rule of this finding, DU001"),
    (lambda d: d["summary"]["waivers"][0].update(codes="DU001"), "summary.waivers[0].codes",
     "not a list of rule codes: 'DU001'"),
    (lambda d: d["summary"]["waivers"][0].pop("fingerprint"),
     "summary.waivers[0].fingerprint", "missing (a text, or null where the waiver names a "
     "case)"),
    (lambda d: d["summary"]["waivers"][0].update(fingerprint=7),
     "summary.waivers[0].fingerprint", "not a text or null: 7"),
])
def test_a_waived_by_that_disagrees_with_the_document_is_refused(
        tmp_path: Path, edit: Any, field: str, words: str) -> None:
    """A finding's `waived_by` must name a waiver of summary.waivers that was used and
    names its case or fingerprint, on a waived finding only, and each waiver's `matched`
    count the findings naming it: else the findings.json was edited (exit code 2)."""
    _, new, _ = _two_waivers(tmp_path)
    old = tmp_path / "old"
    run("diff", str(old), str(new), code=0)
    output = run("diff", str(old), str(_rewritten(new, edit)), code=2).output
    assert f"field '{field}': {words}" in output, output


@pytest.mark.parametrize("codes", [False, True])
def test_waived_by_swapped_between_two_waivers_of_one_case_is_refused(
        tmp_path: Path, codes: bool) -> None:
    """Two waivers on one case for different rules (DU001 by its code, EV by its family):
    the findings' `waived_by` swapped still name waivers of their case, but each names a
    waiver of the other rule, and diff named the wrong waiver (the family's reason on the
    DU001 finding); now refused (exit code 2) where summary.waivers gives each waiver's
    `codes`, and without them where a waiver names one rule by its code."""
    old, new, _ = _two_waivers(tmp_path)

    def swap(document: dict[str, Any]) -> None:
        if codes:
            for waiver, resolved in zip(document["summary"]["waivers"],
                                        (["DU001"], ["EV001", "EV005"]), strict=True):
                waiver["codes"] = resolved
        for finding in document["findings"]:
            finding["waived_by"] = 1 - finding["waived_by"]

    output = run("diff", str(_rewritten(old, swap)), str(new), code=2).output
    # (with codes the first finding, DU001's, names the EV family's waiver; without them
    # only the second, EV005's naming the waiver of DU001 by its code, is told)
    field, words = (("findings[0].waived_by", "1: summary.waivers[1] (rule 'EV', codes "
                     "['EV001', 'EV005']) does not name the rule of this finding, DU001")
                    if codes else
                    ("findings[1].waived_by", "0: summary.waivers[0] (rule 'DU001') does "
                     "not name the rule of this finding, EV005"))
    assert f"field '{field}': {words}" in output, output


def test_a_waiver_by_family_or_pattern_without_codes_is_not_judged_by_its_rule(
        tmp_path: Path) -> None:
    """Without `codes` (a findings.json before them) a waiver naming a family or a pattern
    is not checked against the finding's rule: only the registry of the version that wrote
    it knows what it resolved to. With them, its codes decide."""
    old, new, _ = _two_waivers(tmp_path)
    for rule in ("SD", "approvals", "XX*"):
        _rewritten(old, lambda d, rule=rule: d["summary"]["waivers"][1].update(rule=rule))
        run("diff", str(old), str(new), code=0)
    _rewritten(old, lambda d: d["summary"]["waivers"][1].update(codes=["SD001"]))
    output = run("diff", str(old), str(new), code=2).output
    assert ("field 'findings[1].waived_by': 1: summary.waivers[1] (rule 'XX*', codes "
            "['SD001']) does not name the rule of this finding, EV005") in output, output


def test_the_sums_are_worked_out_once_per_diff(tmp_path: Path) -> None:
    """The money bridge, the money at risk per class and the counts per rule, which the
    tie-out check, diff.json and the console each read, are worked out once per diff (the
    same object each time: at 260k findings each pass over the rows took seconds), and
    are what they were: the money at risk per class of NEW's findings it does not waive
    (OLD's of the resolved), per case its largest amount."""
    old, new, _ = _gated(tmp_path)
    diff = diff_runs(load_run(old, "OLD"), load_run(new, "NEW"))
    assert diff.money_bridge() is diff.money_bridge()
    assert diff.money_at_risk() is diff.money_at_risk()
    assert diff.by_rule() is diff.by_rule()
    document = diff.document()
    assert document["summary"]["money_at_risk"] is diff.money_at_risk()
    assert diff.money_at_risk() == {"new": {"EUR": 5.0}, "still_open": {"EUR": 20.0},
                                    "changed": {"EUR": 5.0}, "resolved": {"EUR": 5.0},
                                    "not_rejudged": {}}
    assert diff.by_rule() == {"EV005": {"name": "refund-exceeds-charge", "new": 2,
                                        "still_open": 4, "changed": 1, "resolved": 1,
                                        **dict.fromkeys(("not_rejudged", "not_comparable",
                                                         "suppressed_in_new",
                                                         "suppressed_in_old"), 0),
                                        "not_comparable_by_run": {"OLD": 0, "NEW": 0},
                                        "waived": {"NEW": 1, "OLD": 1}}}
    assert diff.rule_waived() is diff.rule_waived()
    # (OLD's waived finding on case C, still open in NEW, counted as OLD's check counts it)
    assert diff.rule_waived() == {"EV005": {"NEW": {"new": 1}, "OLD": {"still_open": 1}}}


@pytest.fixture(scope="module")
def not_due(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The bundled sample with RFD-55's second-level approval (2026-10-01 07:55) and its
    `evidence:usage` removed, checked at 2026-10-01 (RFD-55 approved once on 2026-09-29,
    not paid, its last event less than running_for before the clock: neither rule judges
    it yet) and at 2026-12-01 (paid on 2026-10-01 15:03 on one approval and without its
    usage: missing-second-approval and missing-evidence)."""
    root = tmp_path_factory.mktemp("diff-not-due")
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame = frame[frame["event:id"] != "jira:RFD-55:5000484"]
    frame.loc[frame["event:id"] == "jira:RFD-55:5000481", "evidence:usage"] = ""
    log = root / "log.csv"
    frame.to_csv(log, index=False)
    for name, clock in (("oct1", "2026-10-01T00:00:00Z"), ("dec1", "2026-12-01T00:00:00Z")):
        run("check", str(log), "--out", str(root / name), "--format", "json",
            "--fail-on", "never", "--as-of", clock, code=0)
    return root / "oct1", root / "dec1"


def test_findings_json_names_the_cases_each_rule_left_for_a_later_clock(
        not_due: tuple[Path, Path]) -> None:
    """findings.json's not_due_cases: per rule that leaves cases for later, the cases it did
    not judge yet at its clock, each among judged_cases; RFD-55 at 2026-10-01 for both
    rules, at 2026-12-01 (paid) for neither."""
    old, new = _documents(not_due)
    assert set(old["not_due_cases"]) == {"AP003", "EV001", "EV003"}
    assert "RFD-55" in old["not_due_cases"]["AP003"]
    assert "RFD-55" in old["not_due_cases"]["EV001"]
    assert not any("RFD-55" in cases for cases in new["not_due_cases"].values())
    for document in (old, new):
        for cases in document["not_due_cases"].values():
            assert set(cases) <= set(document["judged_cases"])
    # No case left for later has a finding of that rule in that run.
    for document in (old, new):
        for finding in document["findings"]:
            assert finding["case_id"] not in document["not_due_cases"].get(finding["rule"], [])


def test_a_finding_of_a_case_not_yet_due_at_the_other_clock_says_so(
        not_due: tuple[Path, Path], tmp_path: Path) -> None:
    """RFD-55's AP003 and EV001 findings of 2026-12-01 are new, but OLD (2026-10-01) did not
    judge the case for either rule (not paid then): their reasons say so, not "OLD judged
    its case and did not find it". The other way round, NEW (2026-10-01) did not judge
    them either: not re-judged, not resolved."""
    from audit.rundiff import GONE_NOT_DUE_REASON, NEW_NOT_DUE_REASON

    run("diff", str(not_due[0]), str(not_due[1]), "--out", str(tmp_path / "fwd"), code=0)
    rows = json.loads((tmp_path / "fwd" / "diff.json").read_text(encoding="utf-8"))
    found = {r["rule"]: r for r in rows["findings"] if r["case_id"] == "RFD-55"}
    assert set(found) == {"AP003", "EV001"}
    for rule in ("AP003", "EV001"):
        assert (found[rule]["class"], found[rule]["reason"]) == ("new",
                                                                 NEW_NOT_DUE_REASON[rule])
        assert "not yet due for judgement at OLD's clock" in found[rule]["reason"]
    # (the other new findings, of other cases, keep their own reasons: 40141's
    # approved-not-paid, within its grace at OLD's clock, has that rule's)
    others = {(r["rule"], r["case_id"]): r["reason"] for r in rows["findings"]
              if r["class"] == "new" and r["case_id"] != "RFD-55"}
    assert others[("EV003", "40141")] == NEW_NOT_DUE_REASON["EV003"]
    assert not {NEW_NOT_DUE_REASON["AP003"], NEW_NOT_DUE_REASON["EV001"]} & set(
        others.values())
    run("diff", str(not_due[1]), str(not_due[0]), "--out", str(tmp_path / "back"), code=0)
    rows = json.loads((tmp_path / "back" / "diff.json").read_text(encoding="utf-8"))
    found = {r["rule"]: r for r in rows["findings"] if r["case_id"] == "RFD-55"}
    for rule in ("AP003", "EV001"):
        assert (found[rule]["class"], found[rule]["reason"]) == ("not_rejudged",
                                                                 GONE_NOT_DUE_REASON[rule])


def test_not_due_cases_missing_is_none_and_a_case_not_judged_is_refused(
        not_due: tuple[Path, Path], tmp_path: Path) -> None:
    """A findings.json without not_due_cases (a check before it was written) leaves no case
    for later: RFD-55's new findings are worded as before; one naming a case it did not
    judge, or not a list of texts, is refused, naming the field."""
    from audit.rundiff import NEW_REASON

    older = _written(tmp_path, (not_due[1], not_due[0]),
                     lambda d: _set(d, ("not_due_cases",), KeyError))
    run("diff", str(older), str(not_due[1]), "--out", str(tmp_path / "d"), code=0)
    rows = json.loads((tmp_path / "d" / "diff.json").read_text(encoding="utf-8"))
    assert {r["reason"] for r in rows["findings"] if r["case_id"] == "RFD-55"} == {NEW_REASON}
    for at, (change, expected) in enumerate((
            (lambda d: _set(d, ("not_due_cases", "EV001"), ["nobody"]),
             "field 'not_due_cases.EV001': case 'nobody' is not among judged_cases"),
            (lambda d: _set(d, ("not_due_cases", "AP003", 0), 55),
             "field 'not_due_cases.AP003[0]': not a text: 55"),
            (lambda d: _set(d, ("not_due_cases",), ["RFD-55"]),
             "field 'not_due_cases': not an object of rule codes"))):
        (tmp_path / str(at)).mkdir()
        folder = _written(tmp_path / str(at), (not_due[1], not_due[0]), change)
        result = run("diff", str(folder), str(not_due[1]), code=2)
        assert expected in result.output, result.output


def _standing_rejection(events: pd.DataFrame, clock: str) -> set[str]:
    """The cases of `events` (a canonical log) whose last rejection at or before `clock`
    is at or after their last approval then (or that have no approval): settled."""
    at = pd.to_datetime(events["time:timestamp"], utc=True)
    events = events[at <= pd.Timestamp(clock)].assign(at=at)
    last = {name: events[events["concept:name"].str.startswith(name)].groupby(
        "case:concept:name")["at"].max() for name in ("Approve refund", "Reject refund")}
    rejected = last["Reject refund"]
    approved = last["Approve refund"].reindex(rejected.index)
    return set(rejected.index[~(rejected < approved)])


def test_a_case_rejected_since_its_approval_is_not_left_for_a_later_clock(
        not_due: tuple[Path, Path]) -> None:
    """A standing rejection (at or after the last approval) settles a case: no money will
    leave on it, so neither missing-evidence nor missing-second-approval leaves it for a
    later clock (before, EV001 named 20 such cases of the sample at 2026-10-01, 40157
    among them). The undecided and those in progress stay (RFD-55)."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    old, new = _documents(not_due)
    for document, clock in ((old, "2026-10-01T00:00:00Z"), (new, "2026-12-01T00:00:00Z")):
        settled = _standing_rejection(frame, clock)
        assert len(settled) >= 20
        for rule in ("AP003", "EV001"):
            assert not settled & set(document["not_due_cases"][rule]), rule
    assert "40157" in _standing_rejection(frame, "2026-10-01T00:00:00Z")
    assert "RFD-55" in old["not_due_cases"]["EV001"]
    assert len(old["not_due_cases"]["EV001"]) >= 5


@pytest.fixture(scope="module")
def rejected_since(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated sample (40 cases, seed 4) whose offline case CS0000031 lost its evidence,
    payout, notification and closing: approved on 2026-08-28 and nothing since. Checked at
    2026-11-15 (`old`: missing-evidence and approved-not-paid find it); then with `Reject
    refund` on 2026-11-20 at 2026-12-15 (`rejected`), and with that rejection appealed,
    `Approve refund` again on 2026-11-25 (`appealed`)."""
    root = tmp_path_factory.mktemp("diff-rejected-since")
    run("sample", "--cases", "40", "--seed", "4", "--out", str(root / "sample"), code=0)
    frame = pd.read_csv(root / "sample" / "canonical.csv", dtype=str, keep_default_na=False)
    case = frame["case:concept:name"] == "CS0000031"
    assert case.sum() == 7
    frame = frame[~case | frame["concept:name"].isin(
        ("Record store sale", "Receive refund request", "Approve refund"))]
    (approval,) = frame.index[case.reindex(frame.index) & frame["concept:name"].eq(
        "Approve refund")]
    assert frame.loc[approval, "time:timestamp"] == "2026-08-28T10:24:46+00:00"

    approved = frame.loc[[approval]]

    def later(frame: pd.DataFrame, name: str, at: str, eid: str) -> pd.DataFrame:
        row = approved.assign(**{"concept:name": name, "time:timestamp": at, "event:id": eid})
        return pd.concat([frame, row], ignore_index=True)

    rejected = later(frame, "Reject refund", "2026-11-20T10:00:00+00:00", "h12:reject")
    logs = {"old": (frame, "2026-11-15T00:00:00Z"),
            "rejected": (rejected, "2026-12-15T00:00:00Z"),
            "appealed": (later(rejected, "Approve refund", "2026-11-25T10:00:00+00:00",
                               "h12:approve"), "2026-12-15T00:00:00Z")}
    for name, (log, clock) in logs.items():
        log.to_csv(root / f"{name}.csv", index=False)
        run("check", str(root / f"{name}.csv"), "--out", str(root / name), "--format",
            "json", "--fail-on", "never", "--as-of", clock, code=0)
    return {name: root / name for name in logs}


def test_a_finding_of_a_case_rejected_since_is_resolved_not_left_unjudged(
        rejected_since: dict[str, Path], tmp_path: Path) -> None:
    """OLD found CS0000031 approved and not paid, and without its evidence; NEW's clock
    comes after its rejection: both findings are resolved (NEW judged the case: the
    rejection settled it). Before, the missing-evidence one was not re-judged ("its case
    is not yet due for judgement at NEW's clock") while the approved-not-paid one was
    resolved, and NEW's not_due_cases named the case for EV001 and AP003. Appealed (approved
    again after the rejection, not paid), the case waits on its payout again for AP003."""
    from audit.rundiff import RESOLVED_REASON

    documents = {name: json.loads((folder / "findings.json").read_text(encoding="utf-8"))
                 for name, folder in rejected_since.items()}
    assert {f["rule"] for f in documents["old"]["findings"]
            if f["case_id"] == "CS0000031"} >= {"EV001", "EV003"}
    assert "CS0000031" in documents["old"]["not_due_cases"]["AP003"]
    assert not any("CS0000031" in cases
                   for cases in documents["rejected"]["not_due_cases"].values())
    assert "CS0000031" in documents["appealed"]["not_due_cases"]["AP003"]
    run("diff", str(rejected_since["old"]), str(rejected_since["rejected"]), "--out",
        str(tmp_path / "d"), code=0)
    rows = json.loads((tmp_path / "d" / "diff.json").read_text(encoding="utf-8"))
    found = {r["rule"]: (r["class"], r["reason"]) for r in rows["findings"]
             if r["case_id"] == "CS0000031" and r["rule"] in ("EV001", "EV003")}
    assert found == {"EV001": ("resolved", RESOLVED_REASON),
                     "EV003": ("resolved", RESOLVED_REASON)}
    assert rows["summary"]["findings"]["not_rejudged"] == 0


def test_missing_evidence_items_as_text_of_an_earlier_version_are_no_change(
        not_due: tuple[Path, Path], tmp_path: Path) -> None:
    """A findings.json of a version that wrote missing-evidence's items as text joined by
    ", " ("renewal_date, usage"; "" for none) against one writing them as lists: its
    findings still open without changes (before: "with changes: evidence" for each). An
    item that did change is still told."""
    def as_text(document: dict[str, Any], change: bool = False) -> dict[str, Any]:
        for finding in document["findings"]:
            if finding["rule"] == "EV001":
                for key in ("missing", "after_payout", "placeholder"):
                    if key in finding["evidence"]:
                        finding["evidence"][key] = ", ".join(finding["evidence"][key])
                if change:
                    finding["evidence"]["missing"] += ", photo"
        return document

    new = json.loads((not_due[1] / "findings.json").read_text(encoding="utf-8"))
    ev001 = [f for f in new["findings"] if f["rule"] == "EV001"]
    assert len(ev001) >= 3 and all(isinstance(f["evidence"]["missing"], list) for f in ev001)
    for name, change in (("same", False), ("changed", True)):
        (tmp_path / name).mkdir()
        older = _written(tmp_path / name, not_due, lambda d, c=change: as_text(d, c))
        run("diff", str(older), str(not_due[1]), "--out", str(tmp_path / f"d-{name}"), code=0)
        rows = json.loads((tmp_path / f"d-{name}" / "diff.json").read_text(encoding="utf-8"))
        told = [r for r in rows["findings"] if r["rule"] == "EV001"]
        assert len(told) == len(ev001)
        assert all(r["class"] == "still_open" for r in told)
        if change:
            assert all(r["reason"] == "in both runs, with changes: evidence" for r in told)
        else:
            assert all(r["reason"] == "in both runs" for r in told), told


FORGED = "\n# forged line" + "x" * 5000


@pytest.mark.parametrize(("change", "told"), [
    (lambda d: _set(d, ("manifest", "rule_versions", FORGED), 1),
     "is not among the rules the manifest says ran"),
    (lambda d: _set(d, ("manifest", "rules"), [*d["manifest"]["rules"], FORGED]),
     "missing: the manifest lists the rule among those that ran"),
    (lambda d: _set(_set(d, ("manifest", "rules"), [*d["manifest"]["rules"], FORGED]),
                    ("manifest", "rule_versions", FORGED), 0),
     "is not a whole number from 1: 0"),
])
def test_a_rule_code_of_the_rule_versions_is_quoted_and_cut_in_an_error(
        runs: tuple[Path, Path], tmp_path: Path, change: Any, told: str) -> None:
    """A code of `manifest.rule_versions` (or of `manifest.rules` it lacks) of a newline and
    5,000 characters went raw into the error's field: a forged console line and an error of
    5 KB (the `[:300]` cut only the words after it). Now the field is
    `manifest.rule_versions` and the code is quoted (repr) and cut short in the message, as
    a currency of summary.money_at_risk is."""
    folder = _written(tmp_path, runs, change)
    result = run("diff", str(runs[0]), str(folder), "--out", str(tmp_path / "out"), code=2)
    assert result.output.startswith(
        f"error: {folder / 'findings.json'}: field 'manifest.rule_versions': ")
    assert "'\\n# forged line" in result.output
    assert told in result.output
    assert not any(line.startswith("# forged") for line in result.output.splitlines())
    assert len(result.output) < 600


def test_runs_recording_no_rule_versions_on_both_sides_tag_no_rule(
        runs: tuple[Path, Path], tmp_path: Path) -> None:
    """OLD and NEW both of format 3 (no rule logic versions): every rule line read "(rule
    logic version unknown -> unknown)", each new and resolved finding's reason said its
    rule's version is not recorded, and summary.rule_changes listed every rule: unknown on
    both sides tells nothing of one rule against another. Now no rule is tagged; one plain
    warning says the runs record no versions. The same findings.json given twice (`diff f3
    f3`) gave the tags and that warning beside the same-file warning: now neither (one
    file: no rule changed)."""
    folders = []
    for k, source in enumerate(runs):
        document = json.loads((source / "findings.json").read_text(encoding="utf-8"))
        document["manifest"]["format_version"] = 3
        del document["manifest"]["rule_versions"]
        folder = tmp_path / f"f3-{k}"
        folder.mkdir()
        (folder / "findings.json").write_text(json.dumps(document), encoding="utf-8")
        folders.append(folder)
    out = tmp_path / "two"
    console = run("diff", str(folders[0]), str(folders[1]), "--out", str(out), code=0).output
    diff = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert diff["old"]["rule_versions"] is None and diff["new"]["rule_versions"] is None
    assert diff["summary"]["rule_changes"] == {}
    assert "(rule logic version" not in console
    assert any(f["class"] in ("new", "resolved") for f in diff["findings"])
    assert all(f["rule_version_change"] is None and "logic version" not in f["reason"]
               for f in diff["findings"])
    told = [w for w in diff["warnings"] if "rule logic versions" in w]
    assert told == [
        "OLD and NEW record no rule logic versions (findings.json OLD format 3 and NEW "
        "format 3, before format 4): whether a rule's logic changed between the runs is "
        "unknown, and a new, resolved or changed finding may come from a change of its "
        "rule, not from the refunds"]
    same = tmp_path / "same"
    console = run("diff", str(folders[0]), str(folders[0]), "--out", str(same),
                  code=0).output
    diff = json.loads((same / "diff.json").read_text(encoding="utf-8"))
    assert diff["summary"]["rule_changes"] == {}
    assert "rule logic version" not in console
    assert [w for w in diff["warnings"] if "rule logic versions" in w] == []
    assert any(w.startswith("OLD and NEW are the same findings.json") for w in diff["warnings"])


def test_the_consoles_counts_have_thousands_separators(tmp_path: Path) -> None:
    """Every count of diff's console lines is written with its thousands separator, as
    check's are ("still open 2,001", not "still open 2001"): 1,000 findings waived in both
    runs, 1,001 waived in OLD only (their waiver ended in NEW), 1,000 new."""
    both = [_finding("DU001", "duplicate-refund", f"B{k}", f"b{k}", None, waived=True)
            for k in range(1000)]
    ended_old = [_finding("DU001", "duplicate-refund", f"E{k}", f"e{k}", None, waived=True)
                 for k in range(1001)]
    ended_new = [{**f, "waived": False, "waiver_reason": None} for f in ended_old]
    arrived = [_finding("EV005", "refund-exceeds-charge", f"N{k}", f"n{k}", None)
               for k in range(1000)]
    cases = [f"B{k}" for k in range(1000)] + [f"E{k}" for k in range(1001)] + [
        f"N{k}" for k in range(1000)]
    old = _tiny(tmp_path, "old", both + ended_old, [], cases, "2026-09-01T00:00:00+00:00")
    new = _tiny(tmp_path, "new", both + ended_new + arrived, [], cases,
                "2026-09-01T00:00:00+00:00")
    lines = summary_lines(diff_runs(load_run(old, "OLD"), load_run(new, "NEW")))
    assert "findings: new 1,000, still open 2,001 (of which 1,000 waived in NEW, 2,001 " \
        "waived in OLD), changed 0, resolved 0" in lines
    assert "  DU001 duplicate-refund           still open 2,001 (of which 1,000 waived in " \
        "NEW, 2,001 waived in OLD)" in lines
    assert "  EV005 refund-exceeds-charge      new 1,000" in lines
    assert next(line for line in lines if line.startswith("waivers: ")).startswith(
        "waivers: added in NEW 0, ended in NEW 1,001 (no longer matches 1,001)"), lines
