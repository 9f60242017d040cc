"""`check LOG.parquet` of a log `import` wrote: the rows that import quarantined (in
LOG.quarantine.csv beside the log) are counted per case among the cases with findings, as
`check` of the raw exports counts its own quarantined rows, apart from the check's own
`read = imported + quarantined` (the rows of the log), and only from a file that is beside
the log, is the one its import wrote (the sha256 the log's record holds) and holds as many
rows as the record says."""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from audit.cli import main

EXPORTS = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample's exports with the Stripe refund of ticket 40219 made bad (an unknown
    currency: quarantined; its case has findings), imported into w/log.parquet: (the
    exports' folder, the log)."""
    root = tmp_path_factory.mktemp("earlier")
    exports = root / "exports"
    exports.mkdir()
    for path in EXPORTS.iterdir():
        (exports / path.name).write_bytes(path.read_bytes())
    refunds = exports / "stripe_refunds.csv"
    lines = refunds.read_text(encoding="utf-8").splitlines(keepends=True)
    assert ",eur," in lines[1] and ",40219," in lines[1]
    lines[1] = lines[1].replace(",eur,", ",xxx,")
    refunds.write_text("".join(lines), encoding="utf-8")
    log = root / "w" / "log.parquet"
    run("import", *map(str, sorted(exports.iterdir())), "--out", str(log))
    return exports, log


NOT_WRITTEN = ("log.quarantine.csv is not the file the log's import wrote: its sha256 is not "
               "the one the log's record holds (another import's file, or edited since)")


def summary_of(out: Path) -> dict[str, Any]:
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return {"summary": document["summary"], "manifest": document["manifest"]}


def test_the_earlier_imports_quarantined_rows_are_counted_in_cases_with_findings(
        imported: tuple[Path, Path], tmp_path: Path) -> None:
    """Before: `check log.parquet` said nothing of the quarantined refund of 40219, whose
    case has findings (summary 0, console and report silent), while `check` of the raw
    exports counted it (1 of them in cases with findings)."""
    exports, log = imported
    raw = tmp_path / "raw"
    run("check", *map(str, sorted(exports.iterdir())), "--out", str(raw), "--format", "json",
        "--fail-on", "never")
    assert summary_of(raw)["summary"]["quarantined_in_cases_with_findings"] == 1
    # (no canonical log among the inputs: the earlier import's keys are there, none counted)
    assert {k: v for k, v in summary_of(raw)["summary"].items() if k.startswith("earlier")} \
        == {"earlier_quarantined": 0, "earlier_quarantined_in_cases_with_findings": 0,
            "earlier_quarantined_not_counted": 0, "earlier_quarantined_cases_with_findings": [],
            "earlier_quarantined_not_verified": 0}
    out = tmp_path / "out"
    result = run("check", str(log), "--out", str(out), "--format", "json,html,xlsx",
                 "--fail-on", "never")
    document = summary_of(out)
    summary = document["summary"]
    # The check's own rows (the log's events): none quarantined, read = imported + 0.
    assert (summary["read"], summary["quarantined"]) == (summary["imported"], 0)
    assert summary["quarantined_in_cases_with_findings"] == 0
    # The earlier import's: 1 quarantined, in a case with findings, as the raw check says.
    assert summary["earlier_quarantined"] == 1
    assert summary["earlier_quarantined_in_cases_with_findings"] == 1
    assert summary["earlier_quarantined_not_counted"] == 0
    assert summary["earlier_quarantined_cases_with_findings"] == ["40219"]
    assert summary["earlier_quarantined_not_verified"] == 0
    told = document["manifest"]["inputs"][0]["earlier_quarantine"]
    digest = hashlib.sha256(log.with_name("log.quarantine.csv").read_bytes()).hexdigest()
    assert told == {"file": "log.quarantine.csv", "quarantined": 1, "status": "read",
                    "detail": None, "sha256": digest, "verified": True,
                    "in_cases_with_findings": 1, "cases": ["40219"]}
    assert document["manifest"]["inputs"][0]["imported_earlier"]["quarantine_sha256"] == digest
    assert ("quarantined (see " + str(log.with_name("log.quarantine.csv")) + "); of its 1 "
            "quarantined row, 1 is in a case with findings (case 40219), whose findings may "
            "rest on incomplete records; no correlation problems") in result.output
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert ("log.parquet was imported earlier from 2,185 rows: 2,184 imported + 1 quarantined "
            "(rows and reasons: log.quarantine.csv beside it); of its 1 quarantined row, 1 is "
            "in a case with findings (case 40219)") in page
    rows = {r[0]: r[1] for r in load_workbook(out / "findings.xlsx", read_only=True)[
        "Summary"].iter_rows(values_only=True) if len(r) > 1 and r[0]}
    assert rows["Earlier import's quarantined rows"] == 1
    assert rows["Earlier import's quarantined rows in cases with findings"] == 1
    assert rows["Earlier quarantine"] == ("Of its 1 quarantined row, 1 is in a case with "
                                          "findings (case 40219), whose findings may rest on "
                                          "incomplete records")


@pytest.mark.parametrize("change", ["missing", "extra row", "moved"])
def test_an_earlier_quarantine_not_matching_its_record_is_told_and_not_counted(
        imported: tuple[Path, Path], tmp_path: Path, change: str) -> None:
    """The log's quarantine file missing, holding a row its record does not count (another
    import's, or edited), or the log copied under another name (its own side file is then
    LOG2.quarantine.csv, not the original's): nothing is counted, and the check says why,
    never a count guessed from another file."""
    _, original = imported
    folder = tmp_path / "w"
    folder.mkdir()
    name = "copy.parquet" if change == "moved" else "log.parquet"
    log = folder / name
    log.write_bytes(original.read_bytes())
    quarantine = original.with_name("log.quarantine.csv").read_text(encoding="utf-8")
    if change == "extra row":
        quarantine += "stripe_refunds.csv,3,currency,xxx,unknown currency,40220,no\n"
    if change != "missing":
        (folder / "log.quarantine.csv").write_text(quarantine, encoding="utf-8")
    out = tmp_path / "out"
    result = run("check", str(log), "--out", str(out), "--format", "json,xlsx",
                 "--fail-on", "never")
    summary = summary_of(out)["summary"]
    assert summary["earlier_quarantined"] == 1
    assert summary["earlier_quarantined_in_cases_with_findings"] == 0
    assert summary["earlier_quarantined_not_counted"] == 1
    assert summary["earlier_quarantined_cases_with_findings"] == []
    stem = Path(name).stem
    detail = (NOT_WRITTEN if change == "extra row"
              else f"{stem}.quarantine.csv not found beside {name}")
    assert (f"; its 1 quarantined row not counted among the cases with findings: {detail}"
            in result.output)
    told = summary_of(out)["manifest"]["inputs"][0]["earlier_quarantine"]
    assert told["in_cases_with_findings"] is None
    assert told["status"] == ("does not match the record" if change == "extra row"
                              else "not found")
    rows = {r[0]: r[1] for r in load_workbook(out / "findings.xlsx", read_only=True)[
        "Summary"].iter_rows(values_only=True) if len(r) > 1 and r[0]}
    assert rows["Earlier import's quarantined rows not counted (file missing or not "
                "matching)"] == 1


@pytest.mark.parametrize("change", ["edited", "another import's"])
def test_a_quarantine_of_as_many_rows_not_written_by_the_logs_import_is_not_counted(
        imported: tuple[Path, Path], tmp_path: Path, change: str) -> None:
    """Before, the file was matched to the log by its count of rows alone: one edited since
    (a reason changed) or another import's of as many rows (left beside a log of the same
    name imported again from other exports, or copied there) was counted as this log's.
    Now the record holds the sha256 of the bytes the import wrote, and a file of other
    bytes is not counted, and the check says why."""
    _, original = imported
    folder = tmp_path / "w"
    folder.mkdir()
    log = folder / "log.parquet"
    log.write_bytes(original.read_bytes())
    text = original.with_name("log.quarantine.csv").read_text(encoding="utf-8")
    header, row = text.splitlines()
    if change == "edited":
        assert "40219" in row
        text = text.replace("unknown currency", "unknown currency (checked)")
    else:  # (one row too, of another case with findings)
        text = header + "\nstripe_refunds.csv,7,currency,xxx,unknown currency,40220,no\n"
    (folder / "log.quarantine.csv").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = run("check", str(log), "--out", str(out), "--format", "json,html",
                 "--fail-on", "never")
    document = summary_of(out)
    summary = document["summary"]
    assert (summary["earlier_quarantined"], summary["earlier_quarantined_not_counted"]) == (1, 1)
    assert summary["earlier_quarantined_in_cases_with_findings"] == 0
    assert summary["earlier_quarantined_cases_with_findings"] == []
    told = document["manifest"]["inputs"][0]["earlier_quarantine"]
    assert told == {"file": "log.quarantine.csv", "quarantined": 1,
                    "status": "does not match the record", "detail": NOT_WRITTEN,
                    "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    "verified": False, "in_cases_with_findings": None, "cases": []}
    told_line = f"; its 1 quarantined row not counted among the cases with findings: {NOT_WRITTEN}"
    assert told_line in result.output
    assert told_line in html.unescape((out / "report.html").read_text(encoding="utf-8"))


def without_quarantine_digest(log: Path, to: Path) -> None:
    """`log` written to `to` with its import's record as an older version wrote it: no
    quarantine_sha256."""
    import pyarrow.parquet as pq

    from audit.store import IMPORT_RECORD_KEY

    table = pq.read_table(log)
    metadata = dict(table.schema.metadata)
    record = json.loads(metadata[IMPORT_RECORD_KEY])
    del record["quarantine_sha256"]
    metadata[IMPORT_RECORD_KEY] = json.dumps(record).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(metadata), to)


def test_a_log_of_an_older_version_has_its_quarantine_counted_by_its_rows_as_unverified(
        imported: tuple[Path, Path], tmp_path: Path) -> None:
    """A record written before the quarantine's sha256 was kept: its file is counted where
    it holds as many rows as the record says, as before, but the manifest (`verified`
    false, its `detail`), the summary (`earlier_quarantined_not_verified`), the console,
    report.html and findings.xlsx say that it could not be verified as the import's."""
    _, original = imported
    folder = tmp_path / "w"
    folder.mkdir()
    log = folder / "log.parquet"
    without_quarantine_digest(original, log)
    from audit.store import import_record

    record = import_record(log)
    assert record is not None and "quarantine_sha256" not in record
    quarantine = original.with_name("log.quarantine.csv").read_bytes()
    (folder / "log.quarantine.csv").write_bytes(quarantine)
    out = tmp_path / "out"
    result = run("check", str(log), "--out", str(out), "--format", "json,html,xlsx",
                 "--fail-on", "never")
    document = summary_of(out)
    summary = document["summary"]
    assert summary["earlier_quarantined_in_cases_with_findings"] == 1
    assert summary["earlier_quarantined_cases_with_findings"] == ["40219"]
    assert summary["earlier_quarantined_not_counted"] == 0
    assert summary["earlier_quarantined_not_verified"] == 1
    told = document["manifest"]["inputs"][0]["earlier_quarantine"]
    detail = ("log.quarantine.csv is not verified as the file the log's import wrote: the "
              f"log's record (written by refund-audit {record['version']}) holds no sha256 "
              "of it, so it is counted as it holds as many rows as the record says; import "
              "the log again to have it verified")
    assert told == {"file": "log.quarantine.csv", "quarantined": 1, "status": "read",
                    "detail": detail, "sha256": hashlib.sha256(quarantine).hexdigest(),
                    "verified": False, "in_cases_with_findings": 1, "cases": ["40219"]}
    said = ("of its 1 quarantined row, 1 is in a case with findings (case 40219), whose "
            f"findings may rest on incomplete records ({detail})")
    assert said in result.output
    assert said in html.unescape((out / "report.html").read_text(encoding="utf-8"))
    rows = {r[0]: r[1] for r in load_workbook(out / "findings.xlsx", read_only=True)[
        "Summary"].iter_rows(values_only=True) if len(r) > 1 and r[0]}
    assert rows["Earlier import's quarantined rows counted unverified (no sha256 in the "
                "record)"] == 1
    assert said[0].upper() + said[1:] in rows["Earlier quarantine"]
    # Its count of rows is still checked: a row more, and nothing is counted.
    (folder / "log.quarantine.csv").write_bytes(
        quarantine + b"stripe_refunds.csv,7,currency,xxx,unknown currency,40220,no\n")
    result = run("check", str(log), "--out", str(tmp_path / "out2"), "--format", "json",
                 "--fail-on", "never")
    assert ("its 1 quarantined row not counted among the cases with findings: "
            "log.quarantine.csv holds 2 rows, the log's record 1") in result.output
    assert summary_of(tmp_path / "out2")["summary"]["earlier_quarantined_not_verified"] == 0


def test_a_record_holding_no_sha256_as_its_quarantines_is_not_told(tmp_path: Path) -> None:
    """A quarantine_sha256 that is not a sha256 (edited metadata): the record is not read,
    as one of other counts is not, rather than a file matched against nothing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from audit.store import IMPORT_RECORD_KEY, import_record

    record = {"read": 2, "imported": 1, "quarantined": 1, "duplicates_dropped": 0,
              "left_out": 0, "quarantine_file": "log.quarantine.csv", "correlation_file": None}
    log = tmp_path / "log.parquet"
    for digest, read in ((None, True), ("ab" * 32, True), ("AB" * 32, False), ("abc", False),
                         (5, False)):
        table = pa.table({"x": [1]}).replace_schema_metadata({IMPORT_RECORD_KEY: json.dumps(
            {**record, "quarantine_sha256": digest}).encode("utf-8")})
        pq.write_table(table, log)
        assert (import_record(log) is not None) == read, digest


def test_a_failed_write_of_the_log_leaves_the_earlier_imports_quarantine(
        imported: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quarantine is written (and hashed) before the log, under a name of its own, and
    moved into LOG.quarantine.csv only once the log is written: an import that fails
    writing the log leaves the earlier import's file, and no other."""
    import pyarrow.parquet as pq

    exports, original = imported
    folder = tmp_path / "w"
    folder.mkdir()
    before = original.with_name("log.quarantine.csv").read_bytes()
    (folder / "log.quarantine.csv").write_bytes(before)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    result = run("import", *map(str, sorted(exports.iterdir())), "--out",
                 str(folder / "log.parquet"), code=2)
    assert "No space left on device" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["log.quarantine.csv"]
    assert (folder / "log.quarantine.csv").read_bytes() == before


def test_a_neutralised_case_in_the_earlier_quarantine_is_read_as_its_case(
        tmp_path: Path) -> None:
    """The quarantine is written with formula-like cells prefixed by an apostrophe
    (`'=c3`): read back, the row names case `=c3`, whose findings it touches."""
    from audit.store import read_earlier_quarantine

    log = tmp_path / "log.parquet"
    (tmp_path / "log.quarantine.csv").write_text(
        "file,row,field,value,reason,case\n"
        "g.csv,3,timestamp,bad,not a timestamp,'=c3\n"
        "g.csv,3,amount,x,not a number,'=c3\n"
        "g.csv,4,timestamp,bad,not a timestamp,'plain\n", encoding="utf-8")
    told, rows = read_earlier_quarantine(log, {"quarantined": 2})
    assert (told["status"], told["verified"]) == ("read", False)  # (no sha256 recorded)
    assert rows is not None
    assert rows["case"].tolist() == ["=c3", "=c3", "'plain"]
    told, rows = read_earlier_quarantine(log, {"quarantined": 3})
    assert (told["status"], rows) == ("does not match the record", None)


def test_a_case_starting_with_an_apostrophe_reads_back_as_it_is(tmp_path: Path) -> None:
    """Before, `=c3` and `'=c3` were both written `'=c3` (the apostrophe added only before a
    formula start), and read back both as `=c3`: the row of case `'=c3` was counted for
    case `=c3`. Now a text of apostrophes before a formula start gets one more (`''=c3`),
    and every case reads back as it is."""
    import pandas as pd

    from audit.store import read_earlier_quarantine, write_quarantine

    cases = ["=c3", "'=c3", "''=c3", "' -1", "-1", "'plain", "plain", "'", " =y", "' =y",
             "'\t@z", "a'=b"]
    frame = pd.DataFrame({"file": "g.csv", "row": range(2, len(cases) + 2),
                          "field": "timestamp", "value": "bad", "reason": "not a timestamp",
                          "case": cases})
    log = tmp_path / "log.parquet"
    write_quarantine(frame, tmp_path / "log.quarantine.csv")
    written = (tmp_path / "log.quarantine.csv").read_text(encoding="utf-8")
    assert ",''=c3\n" in written and ",'''=c3\n" in written and ",'plain\n" in written
    # (as the record of an import of now holds it: the file's sha256)
    digest = hashlib.sha256((tmp_path / "log.quarantine.csv").read_bytes()).hexdigest()
    told, rows = read_earlier_quarantine(log, {"quarantined": len(cases),
                                               "quarantine_sha256": digest})
    assert told["status"] == "read" and rows is not None
    assert rows["case"].tolist() == cases


def test_a_log_given_as_a_link_names_the_quarantine_it_counts(
        imported: tuple[Path, Path], tmp_path: Path) -> None:
    """`check current.parquet`, a link to w/log.parquet: its rows are counted from
    log.quarantine.csv (the linked log's, as the console line names it); report.html and
    findings.xlsx said 'rows and reasons: current.quarantine.csv beside it', a file that is
    not there, beside a count read from another."""
    _, log = imported
    link = log.with_name("current.parquet")
    link.symlink_to(log.name)
    try:
        out = tmp_path / "out"
        result = run("check", str(link), "--out", str(out), "--format", "json,html,xlsx",
                     "--fail-on", "never")
    finally:
        link.unlink()
    assert f"(see {log.with_name('log.quarantine.csv')}); of its 1 quarantined row, 1 is" \
        in result.output
    told = ("current.parquet was imported earlier from 2,185 rows: 2,184 imported + 1 "
            "quarantined (rows and reasons: log.quarantine.csv beside it)")
    assert told in html.unescape((out / "report.html").read_text(encoding="utf-8"))
    rows = {r[0]: r[1] for r in load_workbook(out / "findings.xlsx", read_only=True)[
        "Summary"].iter_rows(values_only=True) if len(r) > 1 and r[0]}
    assert rows["Imported earlier"].startswith(told)


def test_more_cases_than_named_send_to_findings_json_only_where_it_is_written(
        tmp_path: Path) -> None:
    """Of more than ten cases, ten are named and the others sent to findings.json: said
    also by a run that wrote no findings.json (`--format html,xlsx`), whose report.html,
    findings.xlsx and console then pointed at a file that is not there. Such a run says
    how to have it written, as a cut XLSX cell's note does."""
    import csv

    from audit.sample import SampleSpec, write_sample

    write_sample(SampleSpec(channel="offline", cases=40, seed=5, violation_rate=0.3), tmp_path)
    with (tmp_path / "canonical.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    time, case = rows[0].index("time:timestamp"), rows[0].index("case:concept:name")
    spoilt: set[str] = set()
    for row in rows[1:]:
        if row[case] not in spoilt and len(spoilt) < 15:
            spoilt.add(row[case])
            row[time] = "not a time"
    with (tmp_path / "bad.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    log = tmp_path / "w" / "log.parquet"
    run("import", str(tmp_path / "bad.csv"), "--out", str(log))
    for formats, told in (("json,html,xlsx", "findings.json lists them"),
                          ("html,xlsx", "findings.json lists them; check --format json "
                           "writes it")):
        out = tmp_path / formats.replace(",", "-")
        result = run("check", str(log), "--out", str(out), "--format", formats,
                     "--fail-on", "never")
        more = f"and 5 more ({told})"
        assert more in result.output
        assert more in html.unescape((out / "report.html").read_text(encoding="utf-8"))
        rows_shown = {r[0]: r[1] for r in load_workbook(out / "findings.xlsx", read_only=True)[
            "Summary"].iter_rows(values_only=True) if len(r) > 1 and r[0]}
        assert more in rows_shown["Earlier quarantine"]


def test_a_quarantine_of_an_older_version_reads_its_cases_by_its_rule(tmp_path: Path) -> None:
    """An older version (its record holds no sha256 of the quarantine) added an apostrophe
    only before a formula start: it wrote case `''=c3` as it is, and `=c3` as `'=c3`. Read
    by the rule of now (one apostrophe off wherever apostrophes come before a formula
    start), its `''=c3` was read as case `'=c3`, and that row was not counted for its case.
    A file whose record holds its sha256 is read by the rule it was written with."""
    from audit.store import read_earlier_quarantine

    log = tmp_path / "log.parquet"
    quarantine = tmp_path / "log.quarantine.csv"
    quarantine.write_text(
        "file,row,field,value,reason,case\n"
        "g.csv,3,timestamp,bad,not a timestamp,''=c3\n"
        "g.csv,4,timestamp,bad,not a timestamp,'=c3\n"
        "g.csv,5,timestamp,bad,not a timestamp,'plain\n", encoding="utf-8")
    told, rows = read_earlier_quarantine(log, {"quarantined": 3})
    assert told["verified"] is False and rows is not None
    assert rows["case"].tolist() == ["''=c3", "=c3", "'plain"]
    digest = hashlib.sha256(quarantine.read_bytes()).hexdigest()
    told, rows = read_earlier_quarantine(log, {"quarantined": 3, "quarantine_sha256": digest})
    assert told["verified"] is True and rows is not None
    assert rows["case"].tolist() == ["'=c3", "=c3", "'plain"]


def test_a_findings_count_of_its_cases_quarantined_rows_includes_the_logs_own_import(
        imported: tuple[Path, Path], tmp_path: Path) -> None:
    """The findings of case 40219, whose Stripe refund was quarantined, each count that
    row, whether the raw exports are checked or the canonical log imported from them (its
    import's quarantine beside it); the other cases' findings count none, and report.html's
    details of the case name the row. Before, no finding said it."""
    exports, log = imported
    counts = {}
    for name, inputs in (("raw", sorted(map(str, exports.iterdir()))), ("log", [str(log)])):
        out = tmp_path / name
        run("check", *inputs, "--out", str(out), "--format", "json,html",
            "--as-of", "2026-10-15T00:00:00Z", "--fail-on", "never")
        findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]
        counts[name] = sorted({(f["case_id"], f["case_quarantined_rows"]) for f in findings
                               if f["case_quarantined_rows"]})
        assert {f["case_quarantined_rows"] for f in findings if f["case_id"] != "40219"} \
            == {0}
        page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
        assert ("1 input row of this case was quarantined, not imported: its findings may "
                "rest on incomplete records.") in page
        assert "stripe_refunds.csv</span> row 2: currency: " in page
    assert counts["raw"] == counts["log"] == [("40219", 1)]


def test_a_record_nested_past_the_stack_is_no_record(tmp_path: Path) -> None:
    """Hostile Parquet metadata: an import record of 100,000 nested lists is a log of no
    record (as any record that is not one), not a RecursionError out of json.loads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from audit.store import IMPORT_RECORD_KEY, import_record

    log = tmp_path / "deep.parquet"
    deep = ("[" * 100_000 + "]" * 100_000).encode("ascii")
    pq.write_table(pa.table({"x": [1]}).replace_schema_metadata({IMPORT_RECORD_KEY: deep}),
                   log)
    assert import_record(log) is None
