"""A check's folder as filed: `check` and `demo` print the run id, and `refund-audit verify
DIR` shows whether the folder still holds what its run wrote.

With a real check of the demo's bundled exports (8 files, 300 cases): `verify` exits 0 for
the folder as written (and with its run id given by --run-id); 1 naming a changed or
missing file, a manifest edited with its SHA256SUMS rewritten to match, another run id than
--run-id's; 2 for a folder without SHA256SUMS or findings.json, a SHA256SUMS line that is
not sha256sum's or names a path outside the folder, a findings.json that is not a check's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.cli import main
from tests.test_run_id_parts import _check, _exports


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`base`: a check of the demo's exports; `other`: of the same at another clock."""
    root = tmp_path_factory.mktemp("filed")
    exports = _exports(root / "a")
    return {"base": (root / "base", *_check(exports, root / "base")),
            "other": (root / "other", *_check(exports, root / "other", "--as-of",
                                              "2026-10-16T00:00:00Z"))}


def test_check_prints_its_run_id(runs: dict[str, Any]) -> None:
    _, document, output = runs["base"]
    assert f"run id: {document['manifest']['run_id']} (" in output


def test_demo_prints_its_run_id(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert done.exit_code == 0, (done.output, done.exception)
    manifest = json.loads((tmp_path / "demo" / "findings.json").read_text("utf-8"))["manifest"]
    assert f"  run id: {manifest['run_id']} (" in done.output


def _verify(folder: Path, *extra: str) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["verify", str(folder), *extra])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, done.output


def _filed(runs: dict[str, Any], tmp_path: Path) -> Path:
    folder = tmp_path / "filed"
    shutil.copytree(runs["base"][0], folder)
    return folder


def test_verify_holds_for_the_folder_as_written(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = _filed(runs, tmp_path)
    run_id = runs["base"][1]["manifest"]["run_id"]
    code, output = _verify(folder, "--run-id", run_id)
    assert code == 0, output
    sums = hashlib.sha256((folder / "SHA256SUMS").read_bytes()).hexdigest()
    listed = len((folder / "SHA256SUMS").read_text("utf-8").splitlines())
    assert f"{listed} of {listed} files listed hold the sha256" in output
    assert f"its own sha256 {sums}" in output and f"run id {run_id}" in output
    assert "verified: every file listed holds its sha256" in output


def test_verify_names_a_tampered_file(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = _filed(runs, tmp_path)
    with (folder / "findings.csv").open("ab") as out:
        out.write(b"SD001,self-approval,critical,99999\r\n")
    (folder / "note.txt").write_text("added later", encoding="utf-8")
    code, output = _verify(folder)
    assert code == 1, output
    assert "differs: " in output and "findings.csv: sha256 " in output
    assert "changed since the run wrote it" in output
    assert "not verified): note.txt" in output and "NOT verified: 1 difference" in output


def test_verify_names_a_missing_file(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = _filed(runs, tmp_path)
    (folder / "report.html").unlink()
    code, output = _verify(folder)
    assert code == 1 and "report.html: listed in SHA256SUMS, not in the folder" in output


def test_verify_names_findings_json_removed_as_a_difference(runs: dict[str, Any],
                                                             tmp_path: Path) -> None:
    """findings.json listed in SHA256SUMS and gone: a difference (exit code 1), not a folder
    that cannot be read (2, as one a check wrote without json is)."""
    folder = _filed(runs, tmp_path)
    (folder / "findings.json").unlink()
    code, output = _verify(folder)
    assert code == 1, output
    assert "findings.json: listed in SHA256SUMS, not in the folder" in output
    assert "findings.json: its run id cannot be recomputed" in output


def test_verify_tells_a_manifest_edited_with_its_sums_rewritten(runs: dict[str, Any],
                                                                tmp_path: Path) -> None:
    """The clock edited in findings.json and SHA256SUMS rewritten to match: every file holds
    its sha256, but the run id is not the manifest's (and SHA256SUMS' own sha256 differs
    from the one recorded at filing)."""
    folder = _filed(runs, tmp_path)
    path = folder / "findings.json"
    document = json.loads(path.read_text("utf-8"))
    document["manifest"]["as_of"] = "2026-09-30T00:00:00+00:00"
    path.write_text(json.dumps(document), encoding="utf-8")
    sums = folder / "SHA256SUMS"
    before = hashlib.sha256(sums.read_bytes()).hexdigest()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sums.write_text("".join(
        (f"{digest}  findings.json" if line.endswith("  findings.json") else line) + "\n"
        for line in sums.read_text("utf-8").splitlines()), encoding="utf-8")
    code, output = _verify(folder)
    assert code == 1, output
    assert "files listed hold the sha256" in output and before not in output
    assert (f"findings.json: run id {document['manifest']['run_id']} recorded, " in output
            and "the manifest was edited since its check" in output)


def test_verify_tells_another_run_id_than_the_one_filed(runs: dict[str, Any],
                                                        tmp_path: Path) -> None:
    folder = _filed(runs, tmp_path)
    other = runs["other"][1]["manifest"]["run_id"]
    code, output = _verify(folder, "--run-id", other)
    assert code == 1 and f"not the {other} given (--run-id)" in output


@pytest.mark.parametrize(("damage", "said"), [
    (lambda f: (f / "SHA256SUMS").unlink(), "no SHA256SUMS"),
    (lambda f: (f / "SHA256SUMS").write_text(f"{'0' * 64}  ../../etc/passwd\n"),
     "SHA256SUMS: line 1: names '../../etc/passwd', not a file of the folder"),
    (lambda f: (f / "SHA256SUMS").write_text("not a sum\n"), "SHA256SUMS: line 1: not a line"),
    (lambda f: (f / "SHA256SUMS").write_text(f"{'0' * 64}  a\0b\n"),
     "SHA256SUMS: line 1: names 'a\\x00b', not a file of the folder"),
    (lambda f: [(f / "findings.json").unlink(), (f / "SHA256SUMS").write_text("".join(
        line + "\n" for line in (f / "SHA256SUMS").read_text().splitlines()
        if not line.endswith("  findings.json")))], "no findings.json"),
    (lambda f: (f / "findings.json").write_text("[1, 2]"),
     "findings.json: not a findings.json of refund-audit check (no manifest object)"),
])
def test_verify_refuses_what_it_cannot_read(runs: dict[str, Any], tmp_path: Path,
                                            damage: Any, said: str) -> None:
    folder = _filed(runs, tmp_path)
    damage(folder)
    code, output = _verify(folder)
    assert code == 2, output
    assert said in output


def test_verify_refuses_a_folder_that_is_not_there(tmp_path: Path) -> None:
    code, output = _verify(tmp_path / "nowhere")
    assert code == 2 and "not a folder" in output


@pytest.mark.parametrize("report", ["report.html", "findings.xlsx"])
def test_verify_tells_another_runs_report_with_its_sums_rewritten(
        runs: dict[str, Any], tmp_path: Path, report: str) -> None:
    """Another run's report.html (or findings.xlsx) put in the folder and SHA256SUMS
    rewritten to match: every file holds its sha256 and findings.json its run id, but the
    report names another run id than findings.json's."""
    folder = _filed(runs, tmp_path)
    shutil.copyfile(runs["other"][0] / report, folder / report)
    digest = hashlib.sha256((folder / report).read_bytes()).hexdigest()
    sums = folder / "SHA256SUMS"
    sums.write_text("".join(
        (f"{digest}  {report}" if line.endswith(f"  {report}") else line) + "\n"
        for line in sums.read_text("utf-8").splitlines()), encoding="utf-8")
    code, output = _verify(folder)
    run_id = runs["base"][1]["manifest"]["run_id"]
    assert code == 1, output
    assert f"{report}: does not name run id {run_id}, findings.json's" in output
    assert "NOT verified: 1 difference" in output
    other = "findings.xlsx" if report == "report.html" else "report.html"
    assert f"{other}: names run id {run_id}" in output


def _rewrite_sums(folder: Path) -> None:
    """SHA256SUMS written again for the files it lists, as they are now (as `sha256sum`)."""
    sums = folder / "SHA256SUMS"
    names = [line.split("  ", 1)[1] for line in sums.read_text("utf-8").splitlines()]
    sums.write_text("".join(
        f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n"
        for name in names), encoding="utf-8")


def test_verify_tells_a_finding_removed_with_its_sums_rewritten(runs: dict[str, Any],
                                                                tmp_path: Path) -> None:
    """A finding removed from findings.json and its row from findings.csv, SHA256SUMS
    rewritten: the run id is as filed (it names the run, not its files), so --run-id holds;
    findings.json's summary counts one finding more than it lists, and SHA256SUMS' sha256
    is not the one recorded at filing (--sums-sha256). Before, `verify --run-id` printed
    'verified', exit 0."""
    folder = _filed(runs, tmp_path)
    filed_sums = hashlib.sha256((folder / "SHA256SUMS").read_bytes()).hexdigest()
    path = folder / "findings.json"
    document = json.loads(path.read_text("utf-8"))
    listed = len(document["findings"])
    del document["findings"][0]
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    rows = (folder / "findings.csv").read_bytes().split(b"\r\n")
    (folder / "findings.csv").write_bytes(b"\r\n".join(rows[:1] + rows[2:]))
    _rewrite_sums(folder)
    run_id = document["manifest"]["run_id"]
    code, output = _verify(folder, "--run-id", run_id)
    assert code == 1, output
    assert (f"findings.json: field 'summary.findings': the document lists {listed - 1} "
            in output and f"its summary counts {listed} open" in output)
    assert "not the " + run_id not in output
    code, output = _verify(folder, "--run-id", run_id, "--sums-sha256", filed_sums)
    assert code == 1, output
    assert f"not the {filed_sums} given (--sums-sha256): not the files filed" in output
    assert "NOT verified: 2 differences" in output


def test_verify_holds_with_the_sums_sha256_filed(runs: dict[str, Any],
                                                 tmp_path: Path) -> None:
    folder = _filed(runs, tmp_path)
    filed_sums = hashlib.sha256((folder / "SHA256SUMS").read_bytes()).hexdigest()
    code, output = _verify(folder, "--sums-sha256", filed_sums.upper())
    assert code == 0, output
    assert "SHA256SUMS is the one filed (--sums-sha256)" in output
    code, output = _verify(folder)
    assert code == 0 and "only --sums-sha256 (SHA256SUMS' sha256 recorded at filing)" in output
    code, output = _verify(folder, "--sums-sha256", "4b1f")
    assert code == 2 and "field '--sums-sha256': not a sha256 (64 hex digits)" in output


def _listed_as_is(folder: Path, name: str, digest: str) -> None:
    with (folder / "SHA256SUMS").open("a", encoding="utf-8") as sums:
        sums.write(f"{digest}  {name}\n")


def test_verify_does_not_follow_a_symbolic_link_out_of_the_folder(runs: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    """A name SHA256SUMS lists that is a symbolic link to a file outside the folder, listed
    with that file's sha256: a difference, the link not followed. Before, the file outside
    was read and verified (exit 0)."""
    folder = _filed(runs, tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the run's\n", encoding="utf-8")
    (folder / "link.txt").symlink_to(Path("..") / "outside.txt")
    _listed_as_is(folder, "link.txt", hashlib.sha256(outside.read_bytes()).hexdigest())
    code, output = _verify(folder)
    assert code == 1, output
    assert "link.txt: listed in SHA256SUMS, here a symbolic link (not followed" in output


@pytest.mark.parametrize("report", ["findings.json", "report.html"])
def test_verify_does_not_follow_a_report_linked_elsewhere(runs: dict[str, Any],
                                                          tmp_path: Path, report: str) -> None:
    """findings.json or report.html a symbolic link to the very file, kept outside the folder
    (SHA256SUMS lists its sha256): a difference, not read through the link."""
    folder = _filed(runs, tmp_path)
    (folder / report).rename(tmp_path / report)
    (folder / report).symlink_to(tmp_path / report)
    code, output = _verify(folder)
    assert code == 1, output
    assert f"{report}: listed in SHA256SUMS, here a symbolic link" in output


def test_verify_does_not_wait_on_a_fifo(runs: dict[str, Any], tmp_path: Path) -> None:
    """A FIFO SHA256SUMS lists (nobody writing into it): a difference at once. Before,
    verify waited on it for ever (run here in a process of its own, so that the test fails
    at the timeout rather than hangs)."""
    import os
    import subprocess
    import sys

    folder = _filed(runs, tmp_path)
    os.mkfifo(folder / "pipe")
    _listed_as_is(folder, "pipe", "0" * 64)
    done = subprocess.run([sys.executable, "-m", "audit", "verify", str(folder)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "pipe: listed in SHA256SUMS, here a FIFO, not a file" in done.stdout


def _sheet_entry(data: bytes, signature: bytes) -> int:
    """Where in workbook bytes `data` the zip header of `signature` (local b'PK\\x03\\x04',
    central b'PK\\x01\\x02') of the Summary sheet (xl/worksheets/sheet1.xml) begins."""
    name = b"xl/worksheets/sheet1.xml"
    at = data.find(signature)
    while at >= 0:
        if signature == b"PK\x01\x02":
            length, start = int.from_bytes(data[at + 28:at + 30], "little"), at + 46
        else:
            length, start = int.from_bytes(data[at + 26:at + 28], "little"), at + 30
        if data[start:start + length] == name:
            return at
        at = data.find(signature, at + 4)
    raise AssertionError("no Summary sheet in the workbook")


def _corrupt_deflate(data: bytearray) -> None:
    at = _sheet_entry(bytes(data), b"PK\x03\x04")
    start = at + 30 + int.from_bytes(data[at + 26:at + 28], "little") + int.from_bytes(
        data[at + 28:at + 30], "little")
    data[start:start + 8] = b"\xff" * 8  # (a deflate block of a reserved type)


def _flag_encrypted(data: bytearray) -> None:
    data[_sheet_entry(bytes(data), b"PK\x01\x02") + 8] |= 1


def _unknown_compression(data: bytearray) -> None:
    at = _sheet_entry(bytes(data), b"PK\x01\x02")
    data[at + 10:at + 12] = (99).to_bytes(2, "little")


@pytest.mark.parametrize("damage", [_corrupt_deflate, _flag_encrypted, _unknown_compression])
def test_verify_tells_a_workbook_it_cannot_read(runs: dict[str, Any], tmp_path: Path,
                                                damage: Any) -> None:
    """findings.xlsx whose Summary sheet is a corrupt deflate stream, flagged encrypted, or of
    a compression zipfile does not read, SHA256SUMS rewritten: a difference ('cannot be
    read', exit 1). Before, an internal error with a traceback (zlib.error, RuntimeError,
    NotImplementedError; exit 2)."""
    folder = _filed(runs, tmp_path)
    data = bytearray((folder / "findings.xlsx").read_bytes())
    damage(data)
    (folder / "findings.xlsx").write_bytes(bytes(data))
    _rewrite_sums(folder)
    code, output = _verify(folder)
    assert code == 1, output
    assert "findings.xlsx: cannot be read (its run id not found)" in output
    assert "NOT verified: 1 difference" in output


def test_verify_tells_a_run_id_not_of_hex_digits(runs: dict[str, Any], tmp_path: Path) -> None:
    """A manifest's run id edited to 'dée', SHA256SUMS rewritten: the run id is not the
    manifest's (exit 1), the reports not searched for it. Before, an internal error
    (UnicodeEncodeError, exit 2)."""
    folder = _filed(runs, tmp_path)
    path = folder / "findings.json"
    document = json.loads(path.read_text("utf-8"))
    document["manifest"]["run_id"] = "dée"
    path.write_text(json.dumps(document), encoding="utf-8")
    _rewrite_sums(folder)
    code, output = _verify(folder)
    assert code == 1, output
    assert "findings.json: run id dée recorded, " in output
    assert "NOT verified: 1 difference" in output


def _unlist(folder: Path, name: str) -> None:
    sums = folder / "SHA256SUMS"
    sums.write_text("".join(line + "\n" for line in sums.read_text("utf-8").splitlines()
                            if not line.endswith(f"  {name}")), encoding="utf-8")


@pytest.mark.parametrize("report", ["report.html", "findings.csv", "sop-ecommerce.svg"])
def test_verify_tells_a_report_altered_and_unlisted(runs: dict[str, Any], tmp_path: Path,
                                                    report: str) -> None:
    """A report altered and its line removed from SHA256SUMS: a difference even with -q
    (a check lists every report it writes). Before, an info line that -q silenced, exit 0;
    a file of no report's name (note.txt) stays an info line."""
    folder = _filed(runs, tmp_path)
    with (folder / report).open("ab") as out:
        out.write(b"<!-- altered -->\n")
    _unlist(folder, report)
    (folder / "note.txt").write_text("added later", encoding="utf-8")
    done = CliRunner().invoke(main, ["-q", "verify", str(folder)])
    assert done.exit_code == 1, done.output
    assert f"{report}: a check's report, not listed in SHA256SUMS" in done.output
    assert "NOT verified: 1 difference" in done.output and "note.txt" not in done.output


def test_verify_tells_findings_json_unlisted_once(runs: dict[str, Any], tmp_path: Path) -> None:
    """findings.json's line removed from SHA256SUMS: one difference (its manifest cannot be
    shown the run's), not that and 'a check's report, not listed' beside it."""
    folder = _filed(runs, tmp_path)
    sums = folder / "SHA256SUMS"
    sums.write_text("".join(line + "\n" for line in sums.read_text().splitlines()
                            if not line.endswith("  findings.json")))
    code, output = _verify(folder)
    assert code == 1, output
    assert "findings.json: not listed in SHA256SUMS" in output
    assert "findings.json: a check's report" not in output
    assert "NOT verified: 1 difference" in output, output


def test_verify_runs_where_the_system_has_no_nonblocking_open(
        runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on Windows with Python 3.11 (no os.O_NONBLOCK, no os.set_blocking): the folder as
    written verifies (before, every verify ended in an internal error there)."""
    import os
    monkeypatch.delattr(os, "O_NONBLOCK", raising=False)
    monkeypatch.delattr(os, "set_blocking", raising=False)
    code, output = _verify(_filed(runs, tmp_path))
    assert code == 0, output


def _held_inputs(runs: dict[str, Any]) -> list[Path]:
    """The files the base run read, as its manifest records them (the auditor's exports)."""
    return [Path(entry["file"]) for entry in runs["base"][1]["manifest"]["inputs"]]


def test_verify_holds_for_the_inputs_the_run_read(runs: dict[str, Any], tmp_path: Path) -> None:
    """The auditor's copies of the exports, one renamed, and the policy: each holds the
    sha256 the run recorded (a renamed one by its bytes, named). Before, `verify` had no
    --inputs (a usage error, exit 2): which files the run read could not be shown."""
    folder = _filed(runs, tmp_path)
    held = tmp_path / "held"
    held.mkdir()
    for path in _held_inputs(runs):
        shutil.copyfile(path, held / path.name)
    (held / "paypal_activity.csv").rename(held / "paypal-2026-q3.csv")
    policy = Path(runs["base"][1]["manifest"]["policy"]["file"])
    given = sorted(held.iterdir())
    code, output = _verify(folder, "--inputs", *map(str, given), str(policy))
    assert code == 0, output
    count = len(_held_inputs(runs))
    assert (f"inputs: {count + 1} of {count + 1} files given hold the sha256 of a file the "
            f"run read, as findings.json's manifest records it ({count} of the run's {count} "
            "inputs)") in output
    assert "paypal-2026-q3.csv (read by the run as paypal_activity.csv)" in output
    assert "policy.default.yaml (the run's policy)" in output
    assert "each input it read is given (--inputs)" in output


def test_verify_tells_inputs_changed_missing_and_extra(runs: dict[str, Any],
                                                      tmp_path: Path) -> None:
    """One export changed (a refund's amount), one left out, one the run did not read:
    each a difference, named (exit 1)."""
    folder = _filed(runs, tmp_path)
    held = tmp_path / "held"
    held.mkdir()
    for path in _held_inputs(runs):
        shutil.copyfile(path, held / path.name)
    refunds = held / "stripe_refunds.csv"
    recorded = hashlib.sha256(refunds.read_bytes()).hexdigest()
    text = refunds.read_text("utf-8")
    assert ",9525,eur," in text
    refunds.write_text(text.replace(",9525,eur,", ",9999,eur,", 1), encoding="utf-8")
    changed = hashlib.sha256(refunds.read_bytes()).hexdigest()
    (held / "jira_issues.json").unlink()
    (held / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    code, output = _verify(folder, "--inputs", *map(str, sorted(held.iterdir())))
    assert code == 1, output
    assert (f"input {refunds}: sha256 {changed}, not the {recorded} the run recorded for "
            "input stripe_refunds.csv: another file than the run's") in output
    assert "input jira_issues.json: read by the run (sha256 " in output
    assert f"input {held / 'notes.csv'}: sha256 " in output
    assert "not a file the run read" in output
    assert "NOT verified: 3 differences" in output


def test_verify_refuses_an_input_it_cannot_read(runs: dict[str, Any], tmp_path: Path) -> None:
    folder = _filed(runs, tmp_path)
    code, output = _verify(folder, "--inputs", str(tmp_path / "nowhere.csv"))
    assert code == 2 and "nowhere.csv: no such file (given with --inputs)" in output
    code, output = _verify(folder, "--inputs", str(tmp_path))
    assert code == 2 and "a folder, not a file" in output
    code, output = _verify(folder, "--inputs")
    assert code == 2 and "--inputs names no file" in output
    code, output = _verify(folder, str(_held_inputs(runs)[0]))
    assert code == 2 and "give the run's inputs after --inputs" in output

def test_verify_refuses_a_run_id_not_of_hex_digits(runs: dict[str, Any],
                                                   tmp_path: Path) -> None:
    """A --run-id that is no run id is a usage error (exit 2), as a --sums-sha256 that is
    no sha256 is. Before, it was a difference (exit 1), as if the folder were another
    run's."""
    folder = _filed(runs, tmp_path)
    code, output = _verify(folder, "--run-id", "4b1f")
    assert code == 2, output
    assert "field '--run-id': not a run id (64 hex digits)" in output
    run_id = runs["base"][1]["manifest"]["run_id"]
    code, output = _verify(folder, "--run-id", f" {run_id.upper()} ")
    assert code == 0, output


def test_verify_refuses_a_sums_file_larger_than_a_checks(runs: dict[str, Any],
                                                         tmp_path: Path) -> None:
    """A SHA256SUMS of 15,000 well-formed lines (1.3 MB; a check's lists a few dozen files):
    refused from its size, exit 2, not read. Before, it was read whole (a hostile folder's
    of gigabytes filled memory) and each of its lines looked for (exit 1)."""
    folder = _filed(runs, tmp_path)
    with (folder / "SHA256SUMS").open("a", encoding="utf-8") as sums:
        for number in range(15_000):
            sums.write(f"{'0' * 64}  planted-{number:05}.csv\n")
    size = (folder / "SHA256SUMS").stat().st_size
    assert size > 1 << 20
    code, output = _verify(folder)
    assert code == 2, output[-500:]
    assert (f"SHA256SUMS: {size:,} bytes or more, over the 1,048,576 verify reads (a check "
            "lists a few dozen files): not a check's (not read)") in output


def test_verify_refuses_a_findings_json_over_its_bound(runs: dict[str, Any], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """findings.json over verify's bound (1 GiB; here the bound lowered below the run's own
    findings.json, a few hundred kB, so as not to write a gigabyte): refused from its size,
    exit 2, naming it. Before, no bound: read whole, twice."""
    import audit.verify

    folder = _filed(runs, tmp_path)
    size = (folder / "findings.json").stat().st_size
    assert audit.verify.FINDINGS_LIMIT == 1 << 30
    monkeypatch.setattr(audit.verify, "FINDINGS_LIMIT", size - 1)
    code, output = _verify(folder)
    assert code == 2, output
    assert f"findings.json: {size:,} bytes or more, over the {size - 1:,} verify reads" in output
    monkeypatch.setattr(audit.verify, "FINDINGS_LIMIT", size)
    code, output = _verify(folder)
    assert code == 0, output


def test_the_reports_point_to_verify_to_check_the_run_id(runs: dict[str, Any]) -> None:
    """report.html's run details and findings.xlsx's Summary ('Run id is') tell the reader
    of the filed report to check it with `refund-audit verify` (the folder's files and run
    id, and with --inputs the inputs). Before, they pointed to `python -m audit.runid
    findings.json`, which recomputes the manifest's id alone."""
    import html
    import re

    import openpyxl

    folder = runs["base"][0]
    sheet = openpyxl.load_workbook(folder / "findings.xlsx", read_only=True)["Summary"]
    said = {row[0]: row[1] for row in sheet.iter_rows(values_only=True)
            if len(row) > 1 and row[0]}["Run id is"]
    page = html.unescape((folder / "report.html").read_text(encoding="utf-8"))
    details = re.search(r'<dt id="run-id">.*?</dd>', page, re.S)
    assert details is not None
    for text in (said, details.group(0)):
        assert "refund-audit verify DIR, of the folder as filed, recomputes it from the " \
            "manifest, checks each file's sha256 against SHA256SUMS and, with --inputs " \
            "FILE..., the inputs' against those the manifest records" in text
        assert "python -m audit.runid" not in text



def _share_strings(path: Path) -> None:
    """Workbook `path` with each sheet's inline texts (`t="inlineStr"`, as the tool and
    openpyxl write them) moved to xl/sharedStrings.xml, each cell a shared string's index
    (`t="s"`), as Excel and LibreOffice save a workbook."""
    import re
    import zipfile

    shared: list[str] = []

    def share(match: re.Match[str]) -> str:
        shared.append(match.group(3))
        return f'<c {match.group(1)}t="s"{match.group(2)}><v>{len(shared) - 1}</v></c>'

    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    for name in sorted(parts):
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(r'<c ([^>]*?)t="inlineStr"([^>]*)><is>(.*?)</is></c>', share,
                                 parts[name].decode("utf-8"), flags=re.S).encode("utf-8")
    assert shared and all(b"inlineStr" not in data for name, data in parts.items()
                          if name.startswith("xl/worksheets/"))
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
        f'openxmlformats.org/spreadsheetml/2006/main" count="{len(shared)}" uniqueCount='
        f'"{len(shared)}">' + "".join(f"<si>{text}</si>" for text in shared)
        + "</sst>").encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)


@pytest.mark.parametrize(("move", "shared"), [(0, False), (1, False), (0, True), (1, True)])
def test_verify_finds_the_run_id_in_a_workbook_saved_again(
        runs: dict[str, Any], tmp_path: Path, move: int, shared: bool) -> None:
    """findings.xlsx opened and saved again (openpyxl), with its Summary moved after the
    Findings sheet (no longer sheet1.xml), and with its texts moved to shared strings (as
    Excel and LibreOffice save it), SHA256SUMS rewritten: its Summary still names the run
    id, found by the sheet's name and through its shared strings. Before, only sheet1.xml
    was searched, for the id inline: 'does not name run id ...: another run's report'
    (exit 1) for the run's own workbook, moved or saved with shared strings."""
    import openpyxl

    folder = _filed(runs, tmp_path)
    book = openpyxl.load_workbook(folder / "findings.xlsx")
    if move:
        book.move_sheet("Summary", offset=1)
    book.save(folder / "findings.xlsx")
    if shared:
        _share_strings(folder / "findings.xlsx")
    _rewrite_sums(folder)
    run_id = runs["base"][1]["manifest"]["run_id"]
    code, output = _verify(folder)
    assert code == 0, output
    assert f"findings.xlsx: names run id {run_id}, findings.json's" in output


def test_verify_tells_a_workbook_whose_summary_names_another_run(runs: dict[str, Any],
                                                                tmp_path: Path) -> None:
    """The run's workbook with its Summary's run id replaced by another run's, the run's id
    put in a sheet after it, saved with shared strings, SHA256SUMS rewritten: the Summary
    names another run (exit 1), whatever another sheet's shared strings hold."""
    import openpyxl

    folder = _filed(runs, tmp_path)
    run_id = runs["base"][1]["manifest"]["run_id"]
    other = runs["other"][1]["manifest"]["run_id"]
    book = openpyxl.load_workbook(folder / "findings.xlsx")
    for row in book["Summary"].iter_rows():
        for cell in row:
            if cell.value == run_id:
                cell.value = other
    book["Columns"]["A1"].value = run_id  # (a shared string of the workbook, not Summary's)
    book.save(folder / "findings.xlsx")
    _share_strings(folder / "findings.xlsx")
    _rewrite_sums(folder)
    code, output = _verify(folder)
    assert code == 1, output
    assert f"findings.xlsx: does not name run id {run_id}, findings.json's" in output
    assert "NOT verified: 1 difference" in output


def test_a_findings_json_diff_cannot_read_is_named_by_its_unit(tmp_path: Path) -> None:
    """`_consistent` names where diff's reading of findings.json failed as the error names
    it (`findings.json: line 2: ...`, the unit the error gives). Before, it put every row,
    line or record as '(line N)' after the message, a record's number lost. (Through
    `verify` a findings.json that is not JSON is refused before, exit 2, from its manifest:
    this calls the check itself.)"""
    from audit.verify import _consistent

    path = tmp_path / "findings.json"
    data = b'{"manifest": {},\n  "findings": [1,,]}'
    path.write_bytes(data)
    told = _consistent(path, [data])
    assert told is not None and told.startswith("findings.json: line 2: not JSON: "), told
    assert "(line " not in told


def test_verify_holds_for_a_canonical_logs_side_files_and_exports(tmp_path: Path) -> None:
    """A check of the demo's canonical log: its own quarantine (counted by the run, part of
    its run id; where the import quarantined nothing, the sha256 the log's record gives it)
    and the exports the log's record says it was imported from, given beside the log, are
    the run's. Before, each was told 'not a file the run read' (exit 1)."""
    demo = tmp_path / "demo"
    done = CliRunner().invoke(main, ["demo", "--out", str(demo)])
    assert done.exit_code == 0, (done.output, done.exception)
    document, _ = _check([demo / "canonical.parquet"], tmp_path / "out")
    (entry,) = document["manifest"]["inputs"]
    assert entry["earlier_quarantine"]["status"] == "read"
    exports = [e["file"] for e in entry["imported_earlier"]["inputs"]]
    with as_file(files("sample_logs").joinpath("refund-sample", "exports")) as folder:
        given = [demo / "canonical.parquet", demo / "canonical.quarantine.csv",
                 *(folder / name for name in exports)]
        code, output = _verify(tmp_path / "out", "--inputs", *map(str, given))
    assert code == 0, output
    assert ("canonical.quarantine.csv (the run's quarantine of canonical.parquet, by the sha256 "
            "the log's record gives it: its import quarantined nothing)") in output
    assert "stripe_refunds.csv (the run's export canonical.parquet was imported from)" in output
    assert f"inputs: {len(given)} of {len(given)} files given hold" in output


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _bombed_workbook(path: Path, run_id: str, filler: int) -> int:
    """A workbook `path` whose Summary names `run_id` through a shared string, its parts
    xl/workbook.xml (7 MB), the sheet and xl/sharedStrings.xml (`filler` bytes each)
    padded with empty elements `<x/>` before what is looked for in each (a deflate bomb: a
    few dozen kB as filed): the bytes its parts unpack to."""
    import zipfile

    pad = b"<x/>" * (filler // 4)
    parts = {
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships">').encode() + b"<x/>" * (7 << 18)
        + b'<sheets><sheet name="Summary" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": (
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
            b'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            b"</Relationships>"),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
            ).encode() + pad + b'<c r="B1" t="s"><v>1</v></c></row></sheetData></worksheet>',
        "xl/sharedStrings.xml": (f'<sst xmlns="{MAIN_NS}"><si><t>Run id</t></si>'.encode()
                                 + pad + f"<si><t>{run_id}</t></si></sst>".encode()),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return sum(map(len, parts.values()))


def test_verify_reads_a_workbook_bomb_in_bounded_memory(runs: dict[str, Any],
                                                        tmp_path: Path) -> None:
    """findings.xlsx a deflate bomb (its workbook.xml, Summary sheet and shared strings
    padded with millions of empty elements `<x/>`: under 200 kB unpacking to 39 MB), the run
    id in a shared string its Summary uses after them, SHA256SUMS rewritten: verify finds
    the id (exit 0), its memory (a process of its own, its peak resident size) growing by
    less than 48 MB. Before, each part was parsed into a tree kept whole (the elements
    looked for cleared, never removed, the others never cleared): 780 MB more."""
    import subprocess
    import sys

    folder = _filed(runs, tmp_path)
    run_id = runs["base"][1]["manifest"]["run_id"]
    unpacked = _bombed_workbook(folder / "findings.xlsx", run_id, 16 << 20)
    assert (folder / "findings.xlsx").stat().st_size < 200_000 and unpacked > 39 << 20
    _rewrite_sums(folder)
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "import lxml.etree\n"
        "from audit.verify import verify_folder\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "told = verify_folder(Path(sys.argv[1]))\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(grown * 1024, told.differs, told.lines)\n")
    done = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True,
                          text=True, timeout=600, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    grown, told = done.stdout.split(" ", 1)
    assert f"findings.xlsx: names run id {run_id}, findings.json's" in told, told
    assert told.startswith("[] "), told  # (no difference)
    assert int(grown) < 48 << 20, f"{int(grown):,} bytes more resident reading {unpacked:,}"


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/sharedStrings.xml"])
def test_verify_tells_a_workbook_part_declaring_a_doctype(runs: dict[str, Any],
                                                          tmp_path: Path, part: str) -> None:
    """A workbook part declaring a DOCTYPE (here an entity standing for the run id, which a
    parser telling its target the text expands): cannot be read (exit 1), nothing expanded.
    A workbook has no DOCTYPE (ECMA-376 forbids one)."""
    import zipfile

    folder = _filed(runs, tmp_path)
    run_id = runs["base"][1]["manifest"]["run_id"]
    _bombed_workbook(folder / "findings.xlsx", run_id, 0)
    with zipfile.ZipFile(folder / "findings.xlsx") as book:
        parts = {name: book.read(name) for name in book.namelist()}
    root = parts[part].split(b" ", 1)[0][1:].decode()
    declared = f'<!DOCTYPE {root} [<!ENTITY id "{run_id}">]>'.encode()
    parts[part] = declared + parts[part].replace(run_id.encode(), b"&id;")
    with zipfile.ZipFile(folder / "findings.xlsx", "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    _rewrite_sums(folder)
    code, output = _verify(folder)
    assert code == 1, output
    assert "findings.xlsx: cannot be read (its run id not found)" in output


def test_verify_compares_a_logs_empty_quarantine_whatever_the_name_checked(
        tmp_path: Path) -> None:
    """The demo's canonical log (its import quarantined nothing) checked as q3.parquet: a
    q3.quarantine.csv of planted rows given beside it differs from the sha256 the log's
    record gives its quarantine (exit 1); the import's own canonical.quarantine.csv holds
    it (exit 0). Before, the planted file was counted among those holding the run's sha256
    ('no sha256 recorded ...; not compared'), 'verified', exit 0, and the import's own
    was 'not a file the run read' (exit 1)."""
    demo = tmp_path / "demo"
    done = CliRunner().invoke(main, ["demo", "--out", str(demo)])
    assert done.exit_code == 0, (done.output, done.exception)
    held = tmp_path / "held"
    held.mkdir()
    shutil.copyfile(demo / "canonical.parquet", held / "q3.parquet")
    document, _ = _check([held / "q3.parquet"], tmp_path / "out")
    (entry,) = document["manifest"]["inputs"]
    assert entry["earlier_quarantine"]["quarantined"] == 0
    assert entry["earlier_quarantine"]["file"] == "q3.quarantine.csv"
    planted = held / "q3.quarantine.csv"
    planted.write_text("file,row,field,reason,case\nstripe_refunds.csv,7,amount,planted,C1\n",
                       encoding="utf-8")
    code, output = _verify(tmp_path / "out", "--inputs", str(held / "q3.parquet"), str(planted))
    assert code == 1, output
    assert (f"input {planted}: sha256 {hashlib.sha256(planted.read_bytes()).hexdigest()}, not "
            f"the {entry['imported_earlier']['quarantine_sha256']} ") in output
    assert "inputs: 1 of 2 files given hold" in output
    assert "not compared" not in output and "verified: every" not in output
    own = demo / "canonical.quarantine.csv"
    code, output = _verify(tmp_path / "out", "--inputs", str(held / "q3.parquet"), str(own))
    assert code == 0, output
    assert ("canonical.quarantine.csv (the run's quarantine of q3.parquet, by the sha256 the "
            "log's record gives it: its import quarantined nothing)") in output
    assert "inputs: 2 of 2 files given hold" in output


def test_a_quarantine_no_sha256_is_recorded_of_is_told_not_compared(tmp_path: Path) -> None:
    """A canonical log's quarantine the run and the log's record give no sha256 of (its
    import quarantined nothing; a record written before the sha256 was kept), given: told
    on a line of its own as not compared, not verified, and not counted among the files
    holding the sha256 of a file the run read. Before, it was counted among them ('2 of 2
    files given hold'), and the folder 'verified'."""
    from audit.verify import Verified, compare_inputs, given_digests

    log = tmp_path / "q3.parquet"
    log.write_bytes(b"the log")
    quarantine = tmp_path / "q3.quarantine.csv"
    quarantine.write_text(_EMPTY_QUARANTINE, encoding="utf-8")  # (as its import writes it)
    manifest = {"inputs": [{
        "file": str(log), "sha256": hashlib.sha256(b"the log").hexdigest(),
        "earlier_quarantine": {"file": "q3.quarantine.csv", "quarantined": 0,
                               "status": "read", "sha256": None},
        "imported_earlier": {"quarantine_file": "q3.quarantine.csv", "inputs": []}}]}
    out = Verified()
    compare_inputs(manifest, given_digests([log, quarantine]), out)
    assert out.differs == []
    assert out.uncompared == [f"{quarantine} (of the name of the run's quarantine of "
                              "q3.parquet: its import quarantined nothing, and neither the "
                              "run nor the log's record gives its sha256)"]
    assert out.lines[0].startswith("inputs: 1 of 2 files given hold the sha256 of a file the "
                                   "run read, as findings.json's manifest records it (1 of "
                                   "the run's 1 inputs): q3.parquet (its record")
    assert out.lines[1] == (f"inputs: 1 of 2 files given not compared (no sha256 to compare "
                            f"with), not verified: {out.uncompared[0]}")


def test_verify_holds_for_the_sources_config_the_run_read(tmp_path: Path) -> None:
    """A check with --sources-config (its sha256 in the manifest's `sources_config`, part
    of the run id): the file given with the exports is the run's (exit 0); the file edited
    differs from it (exit 1). Before, it was 'not a file the run read' (exit 1) either way."""
    exports = _exports(tmp_path / "exports")
    with as_file(files("sample_logs").joinpath("refund-sample", "sample_sources.yaml")) as yml:
        config = tmp_path / "sources.yaml"
        shutil.copyfile(yml, config)
    document, _ = _check(exports, tmp_path / "out", "--sources-config", str(config))
    assert document["manifest"]["sources_config"]["sha256"] == hashlib.sha256(
        config.read_bytes()).hexdigest()
    code, output = _verify(tmp_path / "out", "--inputs", *map(str, exports), str(config))
    assert code == 0, output
    assert "sources.yaml (the run's sources config)" in output
    assert f"inputs: {len(exports) + 1} of {len(exports) + 1} files given hold" in output
    config.write_text(config.read_text("utf-8") + "\n# edited\n", encoding="utf-8")
    code, output = _verify(tmp_path / "out", "--inputs", *map(str, exports), str(config))
    assert code == 1, output
    assert (f"input {config}: sha256 {hashlib.sha256(config.read_bytes()).hexdigest()}, not "
            f"the {document['manifest']['sources_config']['sha256']} the run recorded for "
            "sources.yaml (sources config): another file than the run's") in output


@pytest.mark.parametrize("copy_first", [True, False])
def test_verify_tells_a_second_copy_of_an_input_as_such(runs: dict[str, Any], tmp_path: Path,
                                                        copy_first: bool) -> None:
    """The run's exports given with a second copy of stripe_refunds.csv (renamed), before
    them or after: the file of the run's name holds the input, the copy is told as a second
    file of its bytes, whatever the order. Before, the copy given first took the input
    (read by the run as stripe_refunds.csv) and the export of its own name was told 'not a
    file the run read (its manifest records no input ... of this name or these bytes)'."""
    folder = _filed(runs, tmp_path)
    held = tmp_path / "held"
    held.mkdir()
    for path in _held_inputs(runs):
        shutil.copyfile(path, held / path.name)
    copy = tmp_path / "refunds-copy.csv"
    shutil.copyfile(held / "stripe_refunds.csv", copy)
    exports = sorted(held.iterdir())
    given = [copy, *exports] if copy_first else [*exports, copy]
    code, output = _verify(folder, "--inputs", *map(str, given))
    assert code == 1, output
    assert (f"input {copy}: a second file of the bytes of the run's input stripe_refunds.csv "
            f"(already held by {held / 'stripe_refunds.csv'}): given twice") in output
    assert "not a file the run read" not in output and "read by the run as" not in output
    assert "NOT verified: 1 difference" in output


def test_verify_keeps_no_copy_of_findings_json_while_diff_checks_it(
        runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While findings.json's document is checked as diff reads it (`rundiff._checked`), the
    bytes verify read it from are no longer held (memory as diff's reading of one run, as
    docs/reports.md says). Before, verify_folder kept them to the end of the check
    (load_run's `del data` freed its own reference alone)."""
    import tracemalloc

    import audit.rundiff
    import audit.verify

    folder = _filed(runs, tmp_path)
    size = (folder / "findings.json").stat().st_size
    held: list[int] = []
    checked = audit.rundiff._checked

    def watched(*args: Any, **kwargs: Any) -> Any:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, audit.verify.__file__)])
        held.append(sum(stat.size for stat in snapshot.statistics("filename")))
        return checked(*args, **kwargs)

    monkeypatch.setattr(audit.rundiff, "_checked", watched)
    tracemalloc.start()
    try:
        found = audit.verify.verify_folder(folder)
    finally:
        tracemalloc.stop()
    assert found.differs == [] and len(held) == 1
    assert held[0] < size // 4, f"{held[0]:,} bytes of verify's held, findings.json {size:,}"


def test_verify_refuses_an_input_it_cannot_read_without_findings_json(
        runs: dict[str, Any], tmp_path: Path) -> None:
    """A file given with --inputs that is not there, of a folder whose findings.json is gone
    (listed in SHA256SUMS): an error, exit 2, naming it, as with findings.json there. Before,
    the file was never read: 'inputs: not compared ...' among the differences, exit 1."""
    folder = _filed(runs, tmp_path)
    (folder / "findings.json").unlink()
    code, output = _verify(folder, "--inputs", str(tmp_path / "nowhere.csv"))
    assert code == 2, output
    assert "nowhere.csv: no such file (given with --inputs)" in output
    code, output = _verify(folder, "--inputs", str(_held_inputs(runs)[0]))
    assert code == 1, output
    assert "inputs: not compared with the run's (no findings.json to read them from)" in output


def test_verify_does_not_verify_a_quarantine_it_cannot_compare(tmp_path: Path) -> None:
    """The demo's canonical log, its record rewritten without the quarantine's sha256 (as a
    record written before it was kept), checked as q3.parquet, given with a
    q3.quarantine.csv: the log holds the run's input, the quarantine is told on a line of
    its own as not compared, and 'verified' says one file given was not. Before, it was
    counted among the files holding the run's sha256 and 'each file given holds a file the
    run read'."""
    import pyarrow.parquet as pq

    from audit.store import IMPORT_RECORD_KEY

    demo = tmp_path / "demo"
    done = CliRunner().invoke(main, ["demo", "--out", str(demo)])
    assert done.exit_code == 0, (done.output, done.exception)
    table = pq.read_table(demo / "canonical.parquet")
    metadata = dict(table.schema.metadata)
    record = json.loads(metadata[IMPORT_RECORD_KEY])
    assert record["quarantined"] == 0
    del record["quarantine_sha256"]
    metadata[IMPORT_RECORD_KEY] = json.dumps(record).encode("utf-8")
    held = tmp_path / "held"
    held.mkdir()
    pq.write_table(table.replace_schema_metadata(metadata), held / "q3.parquet")
    _check([held / "q3.parquet"], tmp_path / "out")
    quarantine = held / "q3.quarantine.csv"
    quarantine.write_text(_EMPTY_QUARANTINE, encoding="utf-8")  # (as its import writes it)
    code, output = _verify(tmp_path / "out", "--inputs", str(held / "q3.parquet"),
                           str(quarantine))
    assert code == 0, output
    assert "inputs: 1 of 2 files given hold the sha256 of a file the run read" in output
    assert (f"inputs: 1 of 2 files given not compared (no sha256 to compare with), not "
            f"verified: {quarantine} (of the name of the run's quarantine of q3.parquet: its "
            "import quarantined nothing, and neither the run nor the log's record gives its "
            "sha256)") in output
    assert "; each file given but 1 holds a file the run read" in output
    assert "each file given holds" not in output
    quarantine.write_text(_EMPTY_QUARANTINE + "x.csv,7,amount,,planted,C1,\n", encoding="utf-8")
    code, output = _verify(tmp_path / "out", "--inputs", str(held / "q3.parquet"),
                           str(quarantine))
    assert code == 1, output
    assert (f"input {quarantine}: holds 1 data row, where the log's record says the import "
            "quarantined nothing: not the run's q3.quarantine.csv (quarantine of q3.parquet) "
            "(no sha256 recorded to compare with)") in output
    assert "not compared" not in output


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _one_sheet_book(path: Path, shared: str, sheets: str = "") -> None:
    """A workbook of a Summary sheet whose one cell is shared string 0, its
    xl/sharedStrings.xml `shared` (and its workbook.xml's sheets `sheets`, where given)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as book:
        book.writestr("xl/workbook.xml", f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>'
                      + (sheets or '<sheet name="Summary" r:id="rId1"/>') + "</sheets></workbook>")
        book.writestr("xl/_rels/workbook.xml.rels",
                      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                      'relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
                      '<Relationship Id="rId2" Target="worksheets/sheet2.xml"/></Relationships>')
        for name in ("sheet1", "sheet2"):
            book.writestr(f"xl/worksheets/{name}.xml", f'<worksheet xmlns="{_MAIN}"><sheetData>'
                          '<row><c t="s"><v>0</v></c></row></sheetData></worksheet>')
        book.writestr("xl/sharedStrings.xml", f'<sst xmlns="{_MAIN}">{shared}</sst>')


def test_a_shared_strings_text_outside_its_items_is_not_theirs(tmp_path: Path) -> None:
    """Shared strings whose first item is 'another run', the run id before it outside any
    item (in an extLst), or in the item's phonetic run (not shown): the Summary cell naming
    item 0 does not name the run id; the id in the item's text (a run of it) does. Before,
    the text read since the last item's end was counted as the next one's: named."""
    from audit.verify import _names

    run_id = "c" * 64
    book = tmp_path / "book.xlsx"
    for shared, names in ((f"<extLst>{run_id}</extLst><si><t>another run</t></si>", False),
                          (f"<si><t>another run</t><rPh><t>{run_id}</t></rPh></si>", False),
                          (f"<si><t>another run</t></si>{run_id}", False),
                          (f"<si><r><t>run </t></r><r><t>{run_id}</t></r></si>", True)):
        _one_sheet_book(book, shared)
        assert _names(book, "Summary", run_id) is names, shared


def test_the_first_sheet_of_a_name_is_the_one_read(tmp_path: Path) -> None:
    """A workbook.xml naming two sheets Summary (sheet1.xml, then sheet2.xml): the first is
    read, as where they are in different blocks of the part. Before, the last of a block
    was: sheet2.xml."""
    import zipfile

    from audit.verify import _sheet_parts

    book = tmp_path / "book.xlsx"
    _one_sheet_book(book, "<si><t>x</t></si>", '<sheet name="Summary" r:id="rId1"/>'
                    '<sheet name="Summary" r:id="rId2"/>')
    with zipfile.ZipFile(book) as archive:
        assert _sheet_parts(archive, "Summary") == ("xl/worksheets/sheet1.xml",
                                                    "xl/sharedStrings.xml")


_EMPTY_QUARANTINE = "file,row,field,value,reason,case,record_read\n"
"""A quarantine as a log's import writes it where it quarantined nothing: its header."""


def _shown(manifest: dict[str, Any], given: list[Path]) -> Any:
    from audit.verify import Verified, compare_inputs, given_digests

    out = Verified()
    compare_inputs(manifest, given_digests(given), out)
    return out


def _quarantine_manifest(log: Path, quarantine_sha256: str | None) -> dict[str, Any]:
    """A manifest of canonical log `log` (b"the log") whose import quarantined nothing, the
    log's record giving its quarantine's sha256 `quarantine_sha256` (None: none)."""
    imported: dict[str, Any] = {"quarantine_file": "canonical.quarantine.csv", "inputs": []}
    if quarantine_sha256 is not None:
        imported["quarantine_sha256"] = quarantine_sha256
    return {"inputs": [{"file": str(log), "sha256": hashlib.sha256(b"the log").hexdigest(),
                        "earlier_quarantine": {"file": "q3.quarantine.csv", "quarantined": 0,
                                               "status": "read", "sha256": None},
                        "imported_earlier": imported}]}


def test_a_second_copy_of_a_quarantine_is_named_as_the_run_recorded_it(tmp_path: Path) -> None:
    """The import's empty quarantine (the sha256 the log's record gives it) given twice as
    q3.quarantine.csv, and a third of its name and other bytes: the copy is 'a second file
    of the bytes of the run's q3.quarantine.csv (quarantine of q3.parquet, by the sha256
    ...)', the other of its name likewise. Before, 'of the run's quarantine of q3.parquet,
    by the sha256 ...: its import quarantined nothing q3.quarantine.csv (already held'."""
    log = tmp_path / "q3.parquet"
    log.write_bytes(b"the log")
    given = []
    for folder, text in (("d1", _EMPTY_QUARANTINE), ("d2", "other"), ("d3", _EMPTY_QUARANTINE)):
        (tmp_path / folder).mkdir()
        given.append(tmp_path / folder / "q3.quarantine.csv")
        given[-1].write_text(text, encoding="utf-8")
    out = _shown(_quarantine_manifest(log, hashlib.sha256(_EMPTY_QUARANTINE.encode())
                                      .hexdigest()), [log, *given])
    told = ("q3.quarantine.csv (quarantine of q3.parquet, by the sha256 the log's record gives "
            "it: its import quarantined nothing)")
    assert out.differs == [
        f"input {given[1]}: sha256 {hashlib.sha256(b'other').hexdigest()}: a second file of "
        f"the name of the run's {told}, of other bytes (already held by {given[0]}): not a "
        "file the run read",
        f"input {given[2]}: a second file of the bytes of the run's {told} (already held by "
        f"{given[0]}): given twice"]


def test_two_quarantines_not_compared_are_each_told_so(tmp_path: Path) -> None:
    """Two q3.quarantine.csv given (each as its import writes it, of other line ends) where
    no sha256 of it is recorded: each is told not compared. Before, the first by path was,
    and the second was told 'already held by' the first, which was never compared."""
    log = tmp_path / "q3.parquet"
    log.write_bytes(b"the log")
    given = []
    for folder, end in (("d1", "\n"), ("d2", "\r\n")):
        (tmp_path / folder).mkdir()
        given.append(tmp_path / folder / "q3.quarantine.csv")
        given[-1].write_bytes(_EMPTY_QUARANTINE.replace("\n", end).encode())
    out = _shown(_quarantine_manifest(log, None), [log, *given])
    assert out.differs == []
    assert out.uncompared == [
        f"{path} (of the name of the run's quarantine of q3.parquet: its import quarantined "
        "nothing, and neither the run nor the log's record gives its sha256)" for path in given]
    assert out.lines[1].startswith("inputs: 2 of 3 files given not compared")
    assert "held" not in " ".join(out.uncompared)


@pytest.mark.parametrize(("text", "rows"), [
    ("x.csv,7,amount,,planted,C1,\ny.csv,2,amount,,planted,C2,\n", "2 data rows"),
    ("\n\n", None), ("", None), ("x.csv,\"7\n", "1 data row"),
    ("x" * (1 << 20), "at least 1 data row")])
def test_a_quarantine_of_rows_where_none_were_is_a_difference(
        tmp_path: Path, text: str, rows: str | None) -> None:
    """A q3.quarantine.csv given, where the log's record says its import quarantined nothing
    and gives no sha256: with data rows after its header (a quote left open, a row past the
    bytes read, counted), a difference naming them; blank lines after it, or the header
    alone, not compared. Before, each was told not compared (exit 0)."""
    log = tmp_path / "q3.parquet"
    log.write_bytes(b"the log")
    quarantine = tmp_path / "q3.quarantine.csv"
    quarantine.write_text(_EMPTY_QUARANTINE + text, encoding="utf-8")
    out = _shown(_quarantine_manifest(log, None), [log, quarantine])
    if rows is None:
        assert out.differs == [] and len(out.uncompared) == 1
        return
    assert out.uncompared == []
    assert out.differs == [
        f"input {quarantine}: holds {rows}, where the log's record says the import "
        "quarantined nothing: not the run's q3.quarantine.csv (quarantine of q3.parquet) (no "
        "sha256 recorded to compare with)"]


def test_a_second_file_of_an_inputs_name_is_told_so(tmp_path: Path) -> None:
    """Two files named a.csv given, both of other bytes than the run's input a.csv: the first
    differs from it, the second is a second file of its name. Before, the second was told
    'its manifest records no input ... of this name', though it does."""
    given = []
    for folder, data in (("d1", b"Y"), ("d2", b"Z")):
        (tmp_path / folder).mkdir()
        given.append(tmp_path / folder / "a.csv")
        given[-1].write_bytes(data)
    out = _shown({"inputs": [{"file": "/x/a.csv", "sha256": hashlib.sha256(b"X").hexdigest()}]},
                 given)
    assert len(out.differs) == 2 and "another file than the run's" in out.differs[0]
    assert out.differs[1] == (
        f"input {given[1]}: sha256 {hashlib.sha256(b'Z').hexdigest()}: a second file of the "
        f"name of the run's input a.csv, of other bytes (the first, {given[0]}, told above): "
        "not a file the run read")
