"""`check --sources-config`: a US merchant's PayPal download checked in one run.

A PayPal Activity Download of a US account writes its dates month-first; one whose dates
are all up to the 12th in both places (1 to 12 November: 11/05/2026) cannot tell its order
and is refused until the sources file sets the paypal `date_format`. Before, `check` had no
--sources-config: such a download had to be imported first (`import --sources-config`), then
checked, two steps; the error said "check has no --sources-config". The sources file given
is recorded in findings.json's manifest (`sources_config`: the path as given and its
sha256), enters the run id (another file, or an edited one, another run id; a run given none
keeps the run id it had), and `diff` names it among the parts that differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from audit.cli import main
from audit.digest import sha256_of
from audit.runid import identity_changes, run_id, run_identity
from audit.sources.config import default_sources_path

HEADER = ("Date,Time,TimeZone,Name,Type,Status,Currency,Gross,Fee,Net,From Email Address,"
          "To Email Address,Transaction ID,Reference Txn ID,Invoice Number,Custom Number,Note,"
          "Funding Source,Balance Impact")
ROWS = [
    "11/02/2026,09:30:00,PST,Jane Doe,Subscription Payment,Completed,USD,19.99,-0.74,19.25,"
    "jane@example.org,billing@example.com,4SX12345AB678901C,,SU-O7001,,,card,Credit",
    "11/05/2026,10:00:00,PST,Jane Doe,Payment Refund,Completed,USD,-9.33,0.00,-9.33,"
    "billing@example.com,jane@example.org,8UZ11111ZX432109E,4SX12345AB678901C,SU-O7001,"
    "RFD-7,Wanda Maier,card,Debit",
]


def run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def _us_download(folder: Path) -> Path:
    path = folder / "activity.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def _sources_file(folder: Path, name: str, date_format: str, extra: str = "") -> Path:
    """A copy of the bundled sources file with the paypal date_format set (the bundled one
    holds it as a comment), `extra` appended."""
    text = default_sources_path().read_text(encoding="utf-8")
    commented = '    # date_format: "%m/%d/%Y"'
    assert text.count(commented) == 1
    path = folder / name
    path.write_text(text.replace(commented, f'    date_format: "{date_format}"') + extra,
                    encoding="utf-8")
    return path


def _check(source: Path, out: Path, *extra: str) -> dict[str, Any]:
    run("check", str(source), "--out", str(out), "--fail-on", "never", "--format", "json",
        "--as-of", "2026-12-01T00:00:00Z", *extra, code=0)
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


def test_a_us_paypal_download_is_checked_with_its_sources_file(tmp_path: Path) -> None:
    download = _us_download(tmp_path)
    told = run("check", str(download), "--out", str(tmp_path / "refused"), "--as-of",
               "2026-12-01T00:00:00Z", code=2).output
    assert "row 2: field 'Date': every date is up to the 12th in both places" in told
    assert "given with --sources-config" in told and "has no" not in told, told
    us = _sources_file(tmp_path, "us.yaml", "%m/%d/%Y")
    document = _check(download, tmp_path / "out", "--sources-config", str(us))
    manifest = document["manifest"]
    # (read month-first: 2 and 5 November, not 11 February and 11 May)
    assert manifest["events_period"] == {"first": "2026-11-02T17:30:00+00:00",
                                         "last": "2026-11-05T18:00:00+00:00"}
    assert manifest["sources_config"] == {"file": str(us), "sha256": sha256_of(us)}
    assert manifest["run_id"] == run_id(manifest)
    assert run_identity(manifest)["sources_config"] == sha256_of(us)
    said = run("verify", str(tmp_path / "out"), code=0).output
    assert "verified" in said


def test_the_sources_file_enters_the_run_id_and_diff_names_it(tmp_path: Path) -> None:
    """A download whose dates show their order (the 13th) reads alike without a sources
    file and with one setting its order: the same findings, but the run ids differ (the
    file decides how exports are read), and so do those of two files one byte apart;
    `diff` names the sources config as the part of the run id that differs."""
    download = tmp_path / "activity.csv"
    download.write_text("\n".join([HEADER, ROWS[0], ROWS[1].replace("11/05/", "11/13/")])
                        + "\n", encoding="utf-8")
    us = _sources_file(tmp_path, "us.yaml", "%m/%d/%Y")
    edited = _sources_file(tmp_path, "us-edited.yaml", "%m/%d/%Y", "# edited\n")
    runs = {name: _check(download, tmp_path / name, *extra) for name, extra in [
        ("none", ()), ("us", ("--sources-config", str(us))),
        ("edited", ("--sources-config", str(edited)))]}
    assert runs["none"]["manifest"]["sources_config"] is None
    assert "sources_config" not in run_identity(runs["none"]["manifest"])
    assert [d["summary"] for d in runs.values()].count(runs["none"]["summary"]) == 3
    ids = {name: d["manifest"]["run_id"] for name, d in runs.items()}
    assert len(set(ids.values())) == 3, ids
    for old, new, was in (("none", "us", None), ("us", "edited", "us")):
        out = tmp_path / f"diff-{old}-{new}"
        said = run("diff", str(tmp_path / old), str(tmp_path / new), "--out", str(out),
                   code=0).output
        change = json.loads((out / "diff.json").read_text(encoding="utf-8"))["summary"][
            "run_id_change"]
        assert change["differs"] == ["sources_config"], change
        assert change["parts"]["sources_config"]["old"] == (
            None if was is None else {"file": str(us), "sha256": sha256_of(us)})
        assert "sources config: " in said, said


def test_a_sources_file_no_input_is_read_with_is_told_not_used(tmp_path: Path) -> None:
    """The sources file is read only for source-system exports: a canonical log (its events
    read with the sources file of its import) checked with --sources-config does not use
    it. Before, such a run said nothing and its run id changed with the file, as if it had
    decided the findings. Now the import's notes (console, the manifest's `import_notes`)
    say it was not used, the manifest records it with `used` false, and the run id is that
    of the run given none."""
    us = _sources_file(tmp_path, "us.yaml", "%m/%d/%Y")
    log = tmp_path / "log.parquet"
    run("import", str(_us_download(tmp_path)), "--sources-config", str(us), "--out", str(log),
        code=0)
    plain = _check(log, tmp_path / "plain")
    told = run("check", str(log), "--out", str(tmp_path / "given"), "--fail-on", "never",
               "--format", "json", "--as-of", "2026-12-01T00:00:00Z", "--sources-config",
               str(us), code=0).output
    given = json.loads((tmp_path / "given" / "findings.json").read_text(encoding="utf-8"))
    manifest = given["manifest"]
    assert manifest["sources_config"] == {"file": str(us), "sha256": sha256_of(us),
                                          "used": False}
    assert "sources_config" not in run_identity(manifest)
    assert manifest["run_id"] == run_id(manifest) == plain["manifest"]["run_id"]
    note = (f"--sources-config {us}: no input is a source-system export (Zendesk, Jira, "
            "ServiceNow, Stripe, PayPal, Adyen), the only kind it is read for: not used, and "
            "no part of the run id")
    assert any(n.startswith(note) for n in manifest["import_notes"]), manifest["import_notes"]
    assert note in " ".join(told.split()), told
    assert plain["manifest"]["sources_config"] is None
    assert not any("--sources-config" in n for n in plain["manifest"]["import_notes"])
    run("verify", str(tmp_path / "given"), code=0)
    # (to diff, a file not used is none: against the same file used, only that differs)
    used = {**manifest, "sources_config": {"file": str(us), "sha256": sha256_of(us)}}
    assert identity_changes(used, manifest) == {"sources_config": {
        "old": {"file": str(us), "sha256": sha256_of(us)}, "new": None}}
