"""Where two runs differ, by the parts of their run ids.

A compliance lead files each quarter's check folder and must later prove which run, inputs
and code produced it, and, between two quarters, whether findings differ for the data or for
the tool. Here, with real checks of the demo's bundled exports (8 files, 300 cases):

- `diff` names the parts of the run id that differ (diff.json `summary.run_id_change`, the
  console's `run ids:` lines): one input changed (by name and both sha256), the policy,
  one rule's logic version (SD001 raised in this process), each alone, the others the same;
  and says whether the tool or what it read differs;
- and a run whose recorded run id is not its manifest's is warned of.

`refund-audit verify` and the run id on the console: tests/test_filed_folder.py.
"""

from __future__ import annotations

import json
import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.rules.duties.sd001_self_approval import SelfApproval
from audit.runid import RUN_ID_PARTS, identity_changes, run_identity
from tests.test_report_run_id import PINNED_MANIFEST

REPO = Path(__file__).resolve().parents[1]
CLOCK = ("--as-of", "2026-10-15T00:00:00Z")


def _check(sources: list[Path], out: Path, *extra: str) -> tuple[dict[str, Any], str]:
    done = CliRunner().invoke(main, ["check", *map(str, sources), "--out", str(out),
                                     "--fail-on", "never", *CLOCK, *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    document: dict[str, Any] = json.loads((out / "findings.json").read_text("utf-8"))
    return document, done.output


def _exports(into: Path) -> list[Path]:
    with as_file(files("sample_logs").joinpath("refund-sample", "exports")) as folder:
        shutil.copytree(folder, into)
    return sorted(p for p in into.iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Checks of the demo's exports at one clock: `base`; `input`, stripe_refunds.csv's first
    refund 95.25 -> 99.99 EUR in a copy; `policy`, the default policy with one waiver;
    `rule`, SD001's logic version raised (as a release changing the rule would)."""
    root = tmp_path_factory.mktemp("parts")
    base = _exports(root / "a")
    changed = _exports(root / "b")
    refunds = root / "b" / "stripe_refunds.csv"
    text = refunds.read_text("utf-8")
    assert ",9525,eur," in text.splitlines()[1]
    refunds.write_text(text.replace(",9525,eur,", ",9999,eur,", 1), encoding="utf-8")
    policy = yaml.safe_load((REPO / "models" / "policy.default.yaml").read_text("utf-8"))
    policy["waivers"] = [{"rule": "self-approval", "case": "40021", "reason": "accepted",
                          "expires": "2027-03-31", "approved_by": "Head of Internal Audit"}]
    policy_file = root / "waiving.yaml"
    policy_file.write_text(yaml.safe_dump(policy), encoding="utf-8")
    out: dict[str, Any] = {"root": root}
    out["base"] = (root / "base", *_check(base, root / "base"))
    out["input"] = (root / "input", *_check(changed, root / "input"))
    out["policy"] = (root / "policy", *_check(base, root / "policy", "--policy",
                                              str(policy_file)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SelfApproval, "logic_version", SelfApproval.logic_version + 1)
        out["rule"] = (root / "rule", *_check(base, root / "rule"))
    return out


def _diff(runs: dict[str, Any], other: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    done = CliRunner().invoke(main, ["diff", str(runs["base"][0]), str(runs[other][0]),
                                     "--out", str(tmp_path / other)])
    assert done.exit_code == 0, (done.output, done.exception)
    diff = json.loads((tmp_path / other / "diff.json").read_text("utf-8"))
    return diff["summary"]["run_id_change"], done.output


def test_diff_names_the_one_input_that_differs(runs: dict[str, Any], tmp_path: Path) -> None:
    change, output = _diff(runs, "input", tmp_path)
    base, other = runs["base"][1]["manifest"], runs["input"][1]["manifest"]
    sha = {Path(i["file"]).name: i["sha256"] for i in base["inputs"]}
    new_sha = {Path(i["file"]).name: i["sha256"] for i in other["inputs"]}
    assert [n for n in sha if sha[n] != new_sha[n]] == ["stripe_refunds.csv"]
    assert (change["old"], change["new"]) == (base["run_id"], other["run_id"])
    assert change["old"] != change["new"]
    assert change["old_status"] == change["new_status"] == "matches"
    assert change["differs"] == ["inputs"] and change["kinds"] == ["data"]
    inputs = change["parts"]["inputs"]
    assert [(Path(c["new_file"]).name, c["old_sha256"], c["new_sha256"])
            for c in inputs["changed"]] == [("stripe_refunds.csv",
                                             sha["stripe_refunds.csv"],
                                             new_sha["stripe_refunds.csv"])]
    assert inputs["only_in_old"] == inputs["only_in_new"] == inputs["quarantine_changed"] == []
    assert "code" in change["same"] and "policy" in change["same"]
    assert (f"  inputs: stripe_refunds.csv sha256 {sha['stripe_refunds.csv'][:12]} in OLD, "
            f"{new_sha['stripe_refunds.csv'][:12]} in NEW") in output
    assert "the tool is the same in both" in output and "comes from the inputs" in output


def test_diff_names_the_policy_that_differs(runs: dict[str, Any], tmp_path: Path) -> None:
    change, output = _diff(runs, "policy", tmp_path)
    base, other = runs["base"][1]["manifest"], runs["policy"][1]["manifest"]
    assert change["differs"] == ["policy"] and change["kinds"] == ["configuration"]
    assert change["parts"]["policy"] == {"old": base["policy"], "new": other["policy"]}
    assert base["policy"]["sha256"] != other["policy"]["sha256"]
    assert (f"  policy: policy.default.yaml sha256 {base['policy']['sha256'][:12]} in OLD, "
            f"waiving.yaml sha256 {other['policy']['sha256'][:12]} in NEW") in output


def test_diff_names_the_rule_whose_logic_version_differs(runs: dict[str, Any],
                                                         tmp_path: Path) -> None:
    change, output = _diff(runs, "rule", tmp_path)
    was = runs["base"][1]["manifest"]["rule_versions"]["SD001"]
    assert change["differs"] == ["rule_versions"] and change["kinds"] == ["tool"]
    assert change["parts"]["rule_versions"] == {"SD001": {"old": was, "new": was + 1}}
    assert f"  rules' logic versions: SD001 {was} -> {was + 1}" in output
    assert ("the inputs, policy, SOPs, mapping, sources config, options and clock are the "
            "same in both: what differs between the runs comes from the tool (rules' logic "
            "versions)") in " ".join(output.split())


def test_a_re_performance_differs_in_no_part(runs: dict[str, Any], tmp_path: Path) -> None:
    """The same exports copied elsewhere, renamed, checked again: no part differs (an input's
    name is no part of the run id), the same run id."""
    folder = runs["root"] / "a"
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "jira_issues.json").rename(copy / "jira-export.json")
    document, _ = _check(sorted(copy.iterdir()), tmp_path / "again")
    assert identity_changes(runs["base"][1]["manifest"], document["manifest"]) == {}
    done = CliRunner().invoke(main, ["diff", str(runs["base"][0]), str(tmp_path / "again")])
    assert done.exit_code == 0, done.output
    assert ("every part of the run id is the same in both (the same inputs, policy, SOPs, "
            "mapping, sources config, options, clock, rules' logic versions and code)"
            ) in " ".join(done.output.split())


def test_every_part_of_the_run_id_is_named() -> None:
    """A field added to the run id's identity must be told by `diff` too."""
    # (sources_config: only where --sources-config gave a file)
    given = {**PINNED_MANIFEST, "sources_config": {"file": "s.yaml", "sha256": "8" * 64}}
    assert set(RUN_ID_PARTS) == set(run_identity(given))
    assert set(RUN_ID_PARTS) - set(run_identity(PINNED_MANIFEST)) == {"sources_config"}


@pytest.mark.parametrize(("edit", "part", "told"), [
    (lambda m: m.update(as_of="2026-10-16T00:00:00+00:00"), "as_of",
     {"old": "2026-10-15T00:00:00+00:00", "new": "2026-10-16T00:00:00+00:00"}),
    (lambda m: m["code"].update(sha256="0" * 64), "code", {"old": "c" * 64, "new": "0" * 64}),
    (lambda m: m["sop"][0].update(sha256="1" * 64), "sop",
     {"ecommerce": {"old": {"file": "e.bpmn", "process": None, "sha256": "f" * 64},
                    "new": {"file": "e.bpmn", "process": None, "sha256": "1" * 64}}}),
    (lambda m: m["import_options"].update(assume_tz="Europe/Berlin"), "import_options",
     {"assume_tz": {"old": None, "new": "Europe/Berlin"}}),
    (lambda m: m["inputs"][0]["earlier_quarantine"].update(status="missing"), "inputs",
     {"changed": [], "only_in_old": [], "only_in_new": [], "quarantine_changed": [
         {"old_file": "log.parquet", "new_file": "log.parquet", "sha256": "b" * 64,
          "old_quarantine_sha256": "d" * 64, "new_quarantine_sha256": None}]}),
    (lambda m: m["inputs"].append({"file": "x/b.csv", "sha256": "2" * 64}), "inputs",
     {"changed": [], "quarantine_changed": [], "only_in_old": [],
      "only_in_new": [{"file": "x/b.csv", "sha256": "2" * 64}]}),
    (lambda m: m["inputs"][1].update(file="renamed.csv"), None, None),
])
def test_each_part_is_told_alone(edit: Any, part: str | None, told: Any) -> None:
    new = json.loads(json.dumps(PINNED_MANIFEST))
    edit(new)
    changes = identity_changes(PINNED_MANIFEST, new)
    assert changes == ({} if part is None else {part: told})


def test_diff_warns_of_a_run_whose_run_id_is_not_its_manifests(runs: dict[str, Any],
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "edited"
    shutil.copytree(runs["policy"][0], folder)
    document = json.loads((folder / "findings.json").read_text("utf-8"))
    document["manifest"]["run_id"] = runs["base"][1]["manifest"]["run_id"]
    (folder / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    done = CliRunner().invoke(main, ["diff", str(runs["base"][0]), str(folder)])
    assert done.exit_code == 0, done.output
    assert "NEW's run id" in done.output and "is not the one its manifest gives" in done.output
    assert "they differ in the policy" in done.output


@pytest.mark.parametrize(("part", "change", "line"), [
    ("code", {"old": None, "new": "a" * 64},
     "code digest: not recorded in OLD, aaaaaaaaaaaa in NEW (another build of the tool's code)"),
    ("rule_versions", {"old": None, "new": {"SD001": 1, "SD002": 2}},
     "rules' logic versions: not recorded in OLD, SD001 1, SD002 2 in NEW"),
    ("rule_versions", {"SD004": {"old": 1, "new": None}},
     "rules' logic versions: SD004 1 -> not run"),
    ("event_order", {"old": None, "new": 2}, "event order: not recorded in OLD, 2 in NEW"),
    ("sop", {"offline": {"old": None, "new": {"file": "/m/o.bpmn", "process": "P1",
                                              "sha256": "b" * 64}}},
     "SOPs: offline: none in OLD, o.bpmn#P1 sha256 bbbbbbbbbbbb in NEW"),
])
def test_a_part_a_run_does_not_record_is_told_so(part: str, change: Any, line: str) -> None:
    """A findings.json written before a part of the run id was recorded (no code digest, no
    rule versions, no event order: an older version's) reads "not recorded", not "None"
    nor a dump of the other run's whole table."""
    from audit.rundiff import _part_lines

    assert _part_lines(part, change) == [line]


def _older(folder: Path, into: Path) -> Path:
    """A copy of run `folder` whose findings.json is as a check before the code digest, rule
    logic versions and event order were recorded wrote it (format 3, no run id)."""
    shutil.copytree(folder, into)
    document = json.loads((into / "findings.json").read_text("utf-8"))
    document["manifest"]["format_version"] = 3
    for key in ("code", "rule_versions", "event_order", "run_id"):
        document["manifest"].pop(key)
    (into / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    return into


def test_diff_does_not_call_the_tool_the_same_where_neither_run_records_it(
        runs: dict[str, Any], tmp_path: Path) -> None:
    """Two findings.json of format 3 (no code digest, rule logic versions or event order),
    one input changed: those parts are not recorded, not the same, and the tool cannot be
    shown the same. Before, null == null read as the same: 'the tool is the same in both
    ...: what differs between the runs comes from the inputs, not from the tool'."""
    old = _older(runs["base"][0], tmp_path / "old")
    new = _older(runs["input"][0], tmp_path / "new")
    done = CliRunner().invoke(main, ["diff", str(old), str(new), "--out", str(tmp_path / "d")])
    assert done.exit_code == 0, (done.output, done.exception)
    change = json.loads((tmp_path / "d" / "diff.json").read_text("utf-8"))[
        "summary"]["run_id_change"]
    assert change["differs"] == ["inputs"]
    assert change["not_recorded"] == ["rule_versions", "event_order", "code"]
    assert not set(change["not_recorded"]) & set(change["same"])
    assert "the tool is the same in both" not in done.output
    assert ("neither run records the rules' logic versions, event order and code digest"
            in done.output)
    assert ("the tool cannot be shown the same: neither run records the rules' logic "
            "versions, event order and code digest; what differs between the runs comes "
            "from the inputs, or from the tool") in done.output
    same = CliRunner().invoke(main, ["diff", str(old), str(_older(runs["base"][0],
                                                                  tmp_path / "again"))])
    assert same.exit_code == 0, same.output
    assert "every part of the run id both record is the same in both" in same.output
    assert "the tool cannot be shown the same" in same.output
