"""A conformance finding names its SOP as the policy names it, not by the path it was read
from: the same policy and SOP files in two folders give the same findings.csv and the same
findings.json but for the manifest (docs/reports.md's promise of the same bytes in another
folder), and no local path reaches the evidence an auditor is handed. The manifest holds
each SOP's full path and sha256."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample"
SOPS = ("ecommerce.bpmn", "subscription.bpmn", "offline.bpmn")


def _check(policy: Path, out: Path) -> None:
    exports = sorted((SAMPLE / "exports").iterdir())
    done = CliRunner().invoke(main, ["check", *map(str, exports), "--policy", str(policy),
                                     "--format", "json,csv", "--out", str(out),
                                     "--fail-on", "never", "-q"])
    assert done.exit_code == 0, (done.output, done.exception)


def test_the_same_policy_and_sops_in_two_folders_give_the_same_findings(
        tmp_path: Path) -> None:
    models = default_policy_path().parent
    folders = []
    for name in ("one", "elsewhere/deeper"):
        folder = tmp_path / name / "policy"
        folder.mkdir(parents=True)
        shutil.copyfile(default_policy_path(), folder / "policy.yaml")
        for sop in SOPS:
            shutil.copyfile(models / sop, folder / sop)
        _check(folder / "policy.yaml", tmp_path / name / "out")
        folders.append(folder)
    one, other = (tmp_path / "one" / "out", tmp_path / "elsewhere/deeper" / "out")
    assert (one / "findings.csv").read_bytes() == (other / "findings.csv").read_bytes()

    documents = [json.loads((out / "findings.json").read_text(encoding="utf-8"))
                 for out in (one, other)]
    assert documents[0]["findings"] == documents[1]["findings"]
    assert documents[0]["summary"] == documents[1]["summary"]
    # The conformance findings name the SOP as the policy does (`ecommerce.bpmn`).
    with (one / "findings.csv").open(encoding="utf-8", newline="") as handle:
        cited = {json.loads(row["evidence"])["sop"] for row in csv.DictReader(handle)
                 if row["rule"].startswith("CF")}
    assert cited == set(SOPS)
    for folder, document in zip(folders, documents, strict=True):
        assert str(tmp_path) not in json.dumps(document["findings"])
        assert str(tmp_path) not in json.dumps(document["summary"])
        assert {c["sop"] for c in document["summary"]["conformance"].values()} == set(SOPS)
        # The manifest: each SOP's full path and sha256.
        assert {(s["channel"], s["file"], s["sha256"]) for s in document["manifest"]["sop"]} \
            == {(sop[:-len(".bpmn")], str(folder / sop),
                 hashlib.sha256((folder / sop).read_bytes()).hexdigest()) for sop in SOPS}


def test_an_sop_given_by_its_absolute_path_is_named_by_its_file_name(tmp_path: Path) -> None:
    """A policy whose `sop:` entries are absolute paths (or `check --sop FILE`): the
    findings name the file alone; a relative entry with a folder, as written."""
    from audit.policy import load_policy

    folder = tmp_path / "p"
    (folder / "sops").mkdir(parents=True)
    for sop in SOPS:
        shutil.copyfile(default_policy_path().parent / sop, folder / "sops" / sop)
    text = default_policy_path().read_text(encoding="utf-8")
    written = text.replace("  ecommerce: ecommerce.bpmn",
                           f"  ecommerce: {folder / 'sops' / 'ecommerce.bpmn'}")
    written = written.replace("  offline: offline.bpmn", "  offline: sops/offline.bpmn#Offline")
    assert written != text
    (folder / "policy.yaml").write_text(written, encoding="utf-8")
    policy = load_policy(folder / "policy.yaml")
    assert policy.sop_name("ecommerce") == "ecommerce.bpmn"
    assert policy.sop_name("offline") == "sops/offline.bpmn#Offline"
    assert policy.sop_name("subscription") == "subscription.bpmn"
    assert policy.sop_name(None) is None
    # The dask engine reads copies of the SOPs on its workers: named as the policy does.
    from audit.engines.dask_engine import _localise, ship_policy

    shipped, sops = ship_policy(policy)
    local, _back = _localise(shipped, sops)
    assert local.sop["offline"] != policy.sop["offline"]
    for channel in ("ecommerce", "offline", "subscription"):
        assert local.sop_name(channel) == policy.sop_name(channel)


def test_check_sop_names_the_file_given(tmp_path: Path) -> None:
    """`check --sop FILE` (one SOP for every channel): its findings name the file."""
    from audit.checkrun import checked_policy

    model = tmp_path / "deep" / "one.bpmn"
    model.parent.mkdir()
    shutil.copyfile(default_policy_path().parent / "ecommerce.bpmn", model)
    policy = checked_policy(default_policy_path(), model)
    assert policy.sop_path("offline") == model.resolve()
    assert policy.sop_name("offline") == policy.sop_name(None) == "one.bpmn"
