"""The files `import` writes beside the canonical log are named after it (LOG.quarantine.csv,
LOG.correlation.csv), and the log's Parquet metadata records the import's counts, which
`check` of the log tells: the rows a log was made without are never replaced by another
import's or by check's own quarantine.csv, and the audit's counts reach back to the raw
rows."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
from click.testing import CliRunner, Result

from audit.cli import main
from audit.sample import SampleSpec, write_sample

REPO = Path(__file__).resolve().parents[1]
EXPORTS = REPO / "sample_logs" / "refund-sample" / "exports"


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def bad_csv(tmp_path: Path) -> tuple[Path, int]:
    """A generic log of which one row cannot be imported (no time): (the file, its rows)."""
    write_sample(SampleSpec(channel="offline", cases=3, seed=4, violation_rate=0.0),
                 tmp_path / "s")
    rows = pd.read_csv(tmp_path / "s" / "canonical.csv", dtype=str, keep_default_na=False)
    rows.loc[2, "time:timestamp"] = "not a time"
    bad = tmp_path / "bad.csv"
    rows.to_csv(bad, index=False)
    return bad, len(rows)


def import_record(log: Path) -> dict[str, Any] | None:
    """The import's record in the log's metadata (audit.store.import_record)."""
    from audit import store

    return store.import_record(log)


def quarantined(path: Path) -> list[tuple[str, str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(r["file"], r["row"], r["field"]) for r in csv.DictReader(handle)]


def test_check_into_the_logs_folder_keeps_the_imports_quarantine_and_tells_it(
        tmp_path: Path) -> None:
    """`import bad.csv --out w2/log.parquet`, then `check w2/log.parquet --out w2`: before,
    check replaced the import's quarantine.csv with its own, empty one, and said "read N-1 =
    imported N-1 + quarantined 0": the rejected row was nowhere. Now the import's is
    w2/log.quarantine.csv, and check tells the log's own import (console and manifest)."""
    bad, rows = bad_csv(tmp_path)
    folder = tmp_path / "w2"
    log = folder / "log.parquet"
    imported = run("import", str(bad), "--out", str(log))
    assert f"quarantine: {folder / 'log.quarantine.csv'}" in imported.output
    assert not (folder / "quarantine.csv").exists()
    record = import_record(log)
    assert record is not None
    assert (record["read"], record["imported"], record["quarantined"]) == (rows, rows - 1, 1)
    assert record["quarantine_file"] == "log.quarantine.csv"
    assert record["correlation_file"] is None
    checked = run("check", str(log), "--out", str(folder), "--fail-on", "never")
    assert f"(read {rows - 1} = imported {rows - 1} + quarantined 0)" in checked.output
    assert (f"{log}: imported earlier from {rows} rows: {rows - 1} imported + 1 "
            f"quarantined (see {folder / 'log.quarantine.csv'})") in checked.output
    assert quarantined(folder / "log.quarantine.csv") == [("bad.csv", "4", "time:timestamp")]
    assert quarantined(folder / "quarantine.csv") == []  # (check's own: of its input, the log)
    manifest = json.loads((folder / "findings.json").read_text(encoding="utf-8"))["manifest"]
    earlier = manifest["inputs"][0]["imported_earlier"]
    assert (earlier["read"], earlier["imported"], earlier["quarantined"]) == (rows, rows - 1, 1)
    assert earlier["quarantine_file"] == "log.quarantine.csv"
    assert earlier["inputs"][0]["file"] == "bad.csv"
    # A second check into the folder removes its earlier reports, never the import's file.
    run("check", str(log), "--out", str(folder), "--format", "json", "--fail-on", "never")
    assert quarantined(folder / "log.quarantine.csv") == [("bad.csv", "4", "time:timestamp")]


def test_two_imports_into_one_folder_keep_their_own_side_files(tmp_path: Path) -> None:
    """`import bad.csv --out w/log.parquet; import exports/* --out w/from-exports.parquet`
    (as the README's examples do): before, the second replaced the first's quarantine.csv,
    and a correlation.csv stayed beside a log it did not belong to."""
    bad, _ = bad_csv(tmp_path)
    folder = tmp_path / "w"
    run("import", str(bad), "--out", str(folder / "log.parquet"))
    exports = sorted(str(p) for p in EXPORTS.iterdir())
    run("import", *exports, "--out", str(folder / "from-exports.parquet"))
    assert quarantined(folder / "log.quarantine.csv") == [("bad.csv", "4", "time:timestamp")]
    assert quarantined(folder / "from-exports.quarantine.csv") == []
    assert (folder / "from-exports.correlation.csv").is_file()
    assert not (folder / "log.correlation.csv").exists()
    assert import_record(folder / "from-exports.parquet")["correlation_file"] == (  # type: ignore[index]
        "from-exports.correlation.csv")
    # The log written again from no exports: no correlation problems of its own, so the
    # earlier import's are removed, not left beside it.
    run("import", str(bad), "--out", str(folder / "from-exports.parquet"))
    assert not (folder / "from-exports.correlation.csv").exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        "from-exports.parquet", "from-exports.quarantine.csv", "log.parquet",
        "log.quarantine.csv"]


def test_a_log_written_before_the_record_checks_as_before(tmp_path: Path) -> None:
    """A canonical log without the import's record in its metadata (written before it was
    kept, or by other tools): no line about its import, `imported_earlier` null."""
    bad, rows = bad_csv(tmp_path)
    log = tmp_path / "log.parquet"
    run("import", str(bad), "--out", str(log))
    pd.read_parquet(log).to_parquet(log, index=False)  # (as import wrote it before)
    assert import_record(log) is None
    out = tmp_path / "out"
    checked = run("check", str(log), "--out", str(out), "--fail-on", "never")
    assert f"(read {rows - 1} = imported {rows - 1} + quarantined 0)" in checked.output
    assert "imported earlier" not in checked.output
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    assert manifest["inputs"][0]["imported_earlier"] is None


def test_the_months_run_tells_the_logs_import_beside_the_new_exports(tmp_path: Path) -> None:
    """A canonical log checked beside the next exports (docs/performance.md "A month's
    run"): the log's import is told, the exports' counts are check's own."""
    log = tmp_path / "w" / "canonical.parquet"
    exports = sorted(str(p) for p in EXPORTS.iterdir())
    run("import", *exports, "--out", str(log))
    out = tmp_path / "w"
    checked = run("check", str(log), *exports, "--out", str(out), "--fail-on", "never")
    record = import_record(log)
    assert record is not None
    assert (f"{log}: imported earlier from {record['read']:,} rows: {record['imported']:,} "
            f"imported + 0 quarantined (see {out / 'canonical.quarantine.csv'}); "
            "no correlation problems") in checked.output
    assert (out / "canonical.correlation.csv").is_file() and (out / "correlation.csv").is_file()
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    assert [i["imported_earlier"] is not None for i in manifest["inputs"]] == [
        True] + [False] * len(exports)


def test_side_files_are_never_another_logs(tmp_path: Path) -> None:
    """A re-check of a43fce5: LOG.parquet and LOG.pq in one folder shared LOG.quarantine.csv
    (the second import replaced, or removed, the first's); a copy of a log under another name
    was told with the quarantine named in its record (another log's file, or "not found"
    where its own copy lay beside it); a log imported from a log told only the last import's
    quarantined rows, not the earlier import's."""
    bad, rows = bad_csv(tmp_path)
    first = tmp_path / "a" / "log.parquet"
    run("import", str(bad), "--out", str(first))
    # The same stem with the other suffix: refused, the first log's files untouched.
    twin = run("import", str(bad), "--out", str(tmp_path / "a" / "log.pq"), code=2)
    assert "log.parquet beside it would share its side files" in twin.output
    assert quarantined(tmp_path / "a" / "log.quarantine.csv") == [
        ("bad.csv", "4", "time:timestamp")]
    # A copy named otherwise, with its quarantine copied beside it: that one is told.
    copy = tmp_path / "b" / "may.parquet"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    (tmp_path / "b" / "log.quarantine.csv").write_text("file,row,field,value,reason\n",
                                                       encoding="utf-8")
    (tmp_path / "b" / "may.quarantine.csv").write_bytes(
        (tmp_path / "a" / "log.quarantine.csv").read_bytes())
    checked = run("check", str(copy), "--out", str(tmp_path / "bo"), "--fail-on", "never")
    assert f"(see {tmp_path / 'b' / 'may.quarantine.csv'})" in checked.output
    # A log imported from the log: the earlier import's quarantined row is told too.
    again = tmp_path / "c" / "log.parquet"
    run("import", str(first), "--out", str(again))
    checked = run("check", str(again), "--out", str(tmp_path / "co"), "--fail-on", "never")
    assert (f"{again}: imported earlier from {rows - 1} rows: {rows - 1} imported + 0 "
            f"quarantined") in checked.output
    assert (f"its input log.parquet was imported earlier from {rows} rows, 1 quarantined "
            "(in log.quarantine.csv beside that log)") in checked.output


def test_report_html_and_xlsx_tell_the_rows_the_logs_import_quarantined(
        tmp_path: Path) -> None:
    """`check log.parquet`: the console and the manifest told that the log was imported from
    N rows, one of them quarantined, but report.html and findings.xlsx, the files handed to
    a committee, said only "read N-1 = imported N-1 + quarantined 0": the rejected row was
    nowhere in them. Both now tell the log's import beside the check's own counts."""
    import html

    import openpyxl

    bad, rows = bad_csv(tmp_path)
    log = tmp_path / "w" / "log.parquet"
    run("import", str(bad), "--out", str(log))
    out = tmp_path / "out"
    run("check", str(log), "--out", str(out), "--format", "html,xlsx", "--fail-on", "never")
    told = (f"log.parquet was imported earlier from {rows} rows: {rows - 1} imported + 1 "
            "quarantined (rows and reasons: log.quarantine.csv beside it)")
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert page.count(told) == 2  # (the overview's scope and the run details)
    summary = openpyxl.load_workbook(out / "findings.xlsx")["Summary"]
    told_rows = [r[:2] for r in summary.iter_rows(values_only=True)
                 if r[0] == "Imported earlier"]
    assert told_rows == [("Imported earlier", told)]
    # A log written by no import of this tool (no record): nothing told.
    plain = tmp_path / "plain.parquet"
    pd.read_parquet(log).to_parquet(plain)
    run("check", str(plain), "--out", str(tmp_path / "out2"), "--format", "html,xlsx",
        "--fail-on", "never")
    assert "imported earlier" not in (tmp_path / "out2" / "report.html").read_text(
        encoding="utf-8")
    summary = openpyxl.load_workbook(tmp_path / "out2" / "findings.xlsx")["Summary"]
    assert not [r for r in summary.iter_rows(values_only=True) if r[0] == "Imported earlier"]


def test_report_html_names_the_file_of_the_rows_its_check_quarantined(
        tmp_path: Path) -> None:
    """`check bad.csv`: report.html said "read N = imported N-1 + quarantined 1" and not
    where that row is; the check writes it, with its reason, to quarantine.csv beside the
    report. The report names it; a run that quarantined nothing does not."""
    import html

    bad, _ = bad_csv(tmp_path)
    out = tmp_path / "out"
    run("check", str(bad), "--out", str(out), "--format", "html", "--fail-on", "never")
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    # (its row is of a case with findings: the report says that too)
    assert ("+ quarantined 1 (the rows, with their reasons: quarantine.csv; 1 of them in "
            "cases with findings, whose findings may rest on incomplete records)") in " ".join(
        re.sub(r"<[^>]+>", "", page).split())
    assert quarantined(out / "quarantine.csv") == [("bad.csv", "4", "time:timestamp")]
    clean = tmp_path / "s" / "canonical.csv"
    run("check", str(clean), "--out", str(tmp_path / "out2"), "--format", "html",
        "--fail-on", "never")
    assert "with their reasons: quarantine.csv" not in (tmp_path / "out2" / "report.html"
                                                        ).read_text(encoding="utf-8")


def test_discover_and_compare_tell_the_rows_the_logs_import_quarantined(
        tmp_path: Path) -> None:
    """`discover log.parquet` printed "read N-1 = imported N-1 + quarantined 0" and
    compare.md's notes said nothing, where check tells the log's own import (N rows, one
    quarantined, in log.quarantine.csv): both now tell it too."""
    bad, rows = bad_csv(tmp_path)
    log = tmp_path / "w" / "log.parquet"
    run("import", str(bad), "--out", str(log))
    discovered = run("discover", str(log), "--miner", "dfg", "--out", str(tmp_path / "d"))
    assert (f"{log}: imported earlier from {rows} rows: {rows - 1} imported + 1 "
            f"quarantined (see {tmp_path / 'w' / 'log.quarantine.csv'})") in discovered.output
    run("compare", str(log), "offline.bpmn", "--out", str(tmp_path / "c"))
    notes = (tmp_path / "c" / "compare.md").read_text(encoding="utf-8")
    assert (f"- as-is log: log.parquet was imported earlier from {rows} rows: {rows - 1} "
            "imported + 1 quarantined (rows and reasons: log.quarantine.csv beside it)") in notes


def test_the_imports_record_holds_each_inputs_sha256_and_the_imports_options(
        tmp_path: Path) -> None:
    """A check of a canonical log hashes the log; its import's record told the raw rows'
    counts but not which files they were (no digest) nor how they were read (mapping,
    --assume-tz, --encoding): a committee could not tie the log, and so the findings, to
    the exports. The record now holds each input's sha256 and the import's options (files
    by name and sha256, no folders: the log is the same wherever it was written from), and
    check's manifest shows them under inputs[].imported_earlier."""
    import hashlib

    bad, _ = bad_csv(tmp_path)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("decimal: '.'\n", encoding="utf-8")
    log = tmp_path / "w" / "log.parquet"
    run("import", str(bad), "--mapping", str(mapping), "--assume-tz", "Europe/Berlin",
        "--encoding", "utf-8", "--out", str(log))
    record = import_record(log)
    assert record is not None
    digest = hashlib.sha256(bad.read_bytes()).hexdigest()
    assert [(i["file"], i["sha256"]) for i in record["inputs"]] == [("bad.csv", digest)]
    assert record["options"] == {
        "format": None, "assume_tz": "Europe/Berlin", "encoding": "utf-8",
        "object_type": None, "sources_config": None,
        "mapping": {"file": "map.yaml",
                    "sha256": hashlib.sha256(mapping.read_bytes()).hexdigest()}}
    run("check", str(log), "--out", str(tmp_path / "out"), "--format", "json",
        "--fail-on", "never")
    manifest = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    earlier = manifest["manifest"]["inputs"][0]["imported_earlier"]
    assert earlier["inputs"][0]["sha256"] == digest
    assert earlier["options"] == record["options"]


def test_an_interrupt_while_import_writes_leaves_the_earlier_import_as_it_was(
        tmp_path: Path, monkeypatch: Any) -> None:
    """SIGTERM (as the console script raises it) while `import` writes its files, here
    midway through LOG.correlation.csv: the earlier import's log and side files stay as
    they were, and no file of this one is left. Before, the new log and quarantine were
    in place beside a LOG.correlation.csv cut short."""
    import pytest

    from audit import store
    from audit.errors import Terminated

    out = tmp_path / "out" / "log.parquet"
    exports = [str(p) for p in sorted(EXPORTS.iterdir()) if p.name != "role_history.csv"]
    run("import", *exports, "--out", str(out))
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    assert "log.correlation.csv" in before
    write = store._write_quarantine

    def cut_short(frame: pd.DataFrame, path: Path) -> str:
        if "correlation" not in path.name:
            return write(frame, path)
        with path.open("wb") as handle:
            handle.write(b"file,row,fi")
        raise Terminated(15)

    monkeypatch.setattr(store, "_write_quarantine", cut_short)
    with pytest.raises(Terminated):
        CliRunner().invoke(main, ["import", *exports, "--assume-tz", "UTC",
                                  "--out", str(out)])
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.parent.iterdir()} == before


def test_an_interrupt_between_the_imports_moves_leaves_the_earlier_import_as_it_was(
        tmp_path: Path, monkeypatch: Any) -> None:
    """The log and its side files are moved in all or none: SIGTERM after the quarantine
    was moved in and before the log was (here, as the log's move starts) puts the earlier
    import's files back. Before, they were moved one after another: the new quarantine
    stood beside the earlier log (whose record's sha256 it did not match)."""
    import os

    import pytest

    from audit.errors import Terminated

    out = tmp_path / "out" / "log.parquet"
    exports = [str(p) for p in sorted(EXPORTS.iterdir()) if p.name != "role_history.csv"]
    run("import", *exports, "--out", str(out))
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    replace = os.replace
    moved: list[str] = []

    def interrupted(source: Any, target: Any) -> None:
        if Path(target) == out and "log.parquet" not in moved:  # the new log's move, once
            moved.append("log.parquet")
            raise Terminated(15)
        moved.append(Path(target).name)
        replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(Terminated):
        CliRunner().invoke(main, ["import", *exports[:-1], "--assume-tz", "UTC",
                                  "--out", str(out)])
    monkeypatch.undo()
    assert "log.quarantine.csv" in moved  # (the quarantine was moved in before the log)
    assert {p.name: p.read_bytes() for p in out.parent.iterdir()} == before


def test_the_side_files_rows_are_told_and_a_log_without_problems_says_so(
        tmp_path: Path) -> None:
    """'correlation problems: FILE' read as if there were some where the file held its
    header only (an acceptance review): import's lines say each side file's rows, and a
    check of the log says how many problems its import recorded, or none."""
    data = REPO / "tests" / "data" / "sources"
    log = tmp_path / "log.parquet"
    imported = run("import", "--source", f"zendesk:{data / 'zendesk' / 'ticket_audits.json'}",
                   "--source", f"stripe:{data / 'stripe' / 'charges.csv'}",
                   "--source", f"stripe:{data / 'stripe' / 'refunds.csv'}", "--out", str(log))
    problems = pd.read_csv(tmp_path / "log.correlation.csv")
    assert len(problems) == 1
    assert f"correlation problems: {tmp_path / 'log.correlation.csv'} (1 row)" in \
        imported.output
    checked = run("check", str(log), "--out", str(tmp_path / "out"), "--fail-on", "never")
    assert f"; 1 correlation problem: see {tmp_path / 'log.correlation.csv'}" in \
        " ".join(checked.output.split())
