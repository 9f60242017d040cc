"""Each finding names the files and rows its cited events were read from (`sources`) in
findings.json, findings.csv and findings.xlsx: before, only report.html's case pages did,
and an auditor handing a CSV of violations on could not point at the export rows behind a
finding. Checked against the bundled sample's export files themselves, read here."""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from dataclasses import replace
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from audit import canonical as C
from audit.checkrun import CheckRun, run_check, run_check_log
from audit.findings import Finding, Source, cited_sources, fingerprint
from audit.policy import default_policy_path
from audit.sources.pipeline import import_and_correlate
from audit.store import write_import
from reports.writers import write_reports
from reports.xlsx import FINDINGS_SHEET

EXPORTS = files("sample_logs").joinpath("refund-sample", "exports")


@pytest.fixture(scope="module")
def run() -> CheckRun:
    with ExitStack() as stack:
        exports = sorted((Path(stack.enter_context(as_file(item))) for item in EXPORTS.iterdir()
                          if item.is_file() and not item.name.startswith(".")),
                         key=lambda p: p.name)
        return run_check_log(import_and_correlate([(p, None) for p in exports]), exports,
                             default_policy_path())


@pytest.fixture(scope="module")
def out(run: CheckRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    write_reports(run, folder, ["json", "csv", "xlsx"])
    return folder


def _json_findings(folder: Path) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(
        (folder / "findings.json").read_text(encoding="utf-8"))["findings"]
    return findings


def _csv_findings(folder: Path) -> list[dict[str, str]]:
    with (folder / "findings.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _xlsx_findings(folder: Path) -> list[dict[str, Any]]:
    sheet = openpyxl.load_workbook(folder / "findings.xlsx", read_only=True)[FINDINGS_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _texts(sources: list[dict[str, Any]]) -> str:
    return "; ".join(f"{s['file']}:{s['row']}" for s in sources)


def _bare(event_id: str, case_id: str) -> str:
    """An event id without its case's copy suffix (`<id>@<case>`: the record's id)."""
    return event_id.removesuffix("@" + case_id)


def test_sources_are_the_export_rows_of_the_cited_events(out: Path) -> None:
    """The ground truth is the export files themselves: a Stripe CSV source's row (the
    spreadsheet row, the header row 1) holds the charge or refund the finding cites, a
    Zendesk JSON source's row is the ordinal of the audit it cites; and every cited
    Stripe and Zendesk event's row is among the sources."""
    with as_file(EXPORTS.joinpath("zendesk_ticket_audits.json")) as path:
        audits = json.loads(path.read_text(encoding="utf-8"))["audits"]
    tables: dict[str, list[dict[str, str]]] = {}
    for name in ("stripe_charges.csv", "stripe_refunds.csv"):
        with as_file(EXPORTS.joinpath(name)) as path, path.open(encoding="utf-8",
                                                               newline="") as handle:
            tables[name] = list(csv.DictReader(handle))
    checked = 0
    findings = _json_findings(out)
    assert len(findings) == 93
    for finding in findings:
        ids = {_bare(i, finding["case_id"]) for i in finding["event_ids"]}
        read: set[str] = set()
        for source in finding["sources"]:
            if source["file"] == "zendesk_ticket_audits.json":
                audit = audits[source["row"] - 1]
                read.add(f"zendesk:{audit['ticket_id']}:{audit['id']}")
            elif source["file"] in tables:
                read.add(f"stripe:{tables[source['file']][source['row'] - 2]['id']}")
            else:
                continue
            checked += 1
        assert read == {i for i in ids if i.startswith(("zendesk:", "stripe:"))}, finding
    assert checked >= 70  # (73 rows of the two files)
    # One by hand: the self-approval of case 40021 cites the request and the approval,
    # audits 482 and 494 of the Zendesk export.
    (sd001,) = [f for f in findings if f["rule"] == "SD001" and f["case_id"] == "40021"]
    assert sd001["sources"] == [{"file": "zendesk_ticket_audits.json", "row": 482},
                                {"file": "zendesk_ticket_audits.json", "row": 494}]
    assert audits[481]["id"] == 8100000482 and audits[493]["id"] == 8100000494
    assert {audits[481]["ticket_id"], audits[493]["ticket_id"]} == {40021}


def test_sources_are_the_logs_rows_of_the_cited_events(run: CheckRun, out: Path) -> None:
    """Of every input (PayPal, Adyen, Jira, ServiceNow too): each finding's sources are
    the distinct `source:file` and `source:row` of its cited events in the log, by file
    name, then row (here looked up event by event)."""
    log = run.imported.log.set_index(C.EVENT_ID)
    several = 0
    for finding in _json_findings(out):
        where = {(str(log.at[i, C.SOURCE_FILE]), int(log.at[i, C.SOURCE_ROW]))
                 for i in finding["event_ids"]}
        assert [(s["file"], s["row"]) for s in finding["sources"]] == sorted(where)
        several += len({s["file"] for s in finding["sources"]}) > 1
    assert several > 0  # findings citing events of several files


def test_csv_xlsx_and_json_give_the_same_sources(out: Path) -> None:
    """findings.csv and findings.xlsx hold one column, `sources`, right after `event_ids`:
    the JSON's sources as `file:row` joined by '; '."""
    given = _json_findings(out)
    in_csv = _csv_findings(out)
    in_xlsx = _xlsx_findings(out)
    header = list(in_csv[0])
    assert header[header.index("event_ids") + 1] == "sources"
    assert [r["fingerprint"] for r in in_csv] == [f["fingerprint"] for f in given]
    assert [r["sources"] for r in in_csv] == [_texts(f["sources"]) for f in given]
    assert [r["sources"] for r in in_xlsx] == [_texts(f["sources"]) or None for f in given]
    many = [r["sources"] for r in in_csv if r["sources"].count("; ") >= 2]
    assert many and all(s.split("; ") == sorted(set(s.split("; ")),
                                                 key=lambda t: (t.rpartition(":")[0],
                                                                int(t.rpartition(":")[2])))
                        for s in many)


def test_sources_are_no_part_of_the_fingerprint(run: CheckRun, out: Path) -> None:
    for finding in _json_findings(out):
        assert finding["fingerprint"] == fingerprint(finding["name"], finding["case_id"],
                                                     finding["event_ids"])
    assert {f.fingerprint for f in run.result.findings} == {
        f["fingerprint"] for f in _json_findings(out)}


def test_a_finding_citing_no_event_has_no_sources(run: CheckRun, tmp_path: Path) -> None:
    """No cited event, or an id the log does not hold: an empty cell (not 'nan' or
    'None') and an empty list in findings.json."""
    first = run.result.findings[0]
    lone = [replace(first, event_ids=[], activities=[], resources=[], fingerprint="",
                    sources=[]),
            replace(first, case_id="NOPE", event_ids=["nowhere:1"], activities=["x"],
                    resources=[], fingerprint="", sources=[])]
    mine = replace(run, result=replace(run.result, findings=[*lone, first]), memo={})
    write_reports(mine, tmp_path, ["json", "csv", "xlsx"])
    assert [f["sources"] for f in _json_findings(tmp_path)][:2] == [[], []]
    assert [r["sources"] for r in _csv_findings(tmp_path)][:2] == ["", ""]
    assert [r["sources"] for r in _xlsx_findings(tmp_path)][:2] == [None, None]
    assert _json_findings(tmp_path)[2]["sources"] == [
        s.as_json() for s in run.result.findings[0].sources] != []


@pytest.fixture(scope="module")
def canonical(run: CheckRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "canonical.parquet"
    write_import(run.imported, path)
    return path


def test_a_canonical_log_imported_earlier_gives_its_exports_rows(
        run: CheckRun, out: Path, canonical: Path, tmp_path: Path) -> None:
    """Checked from the canonical log `import` wrote, the sources are the original
    exports' files and rows the log kept, not the log's own rows."""
    again = run_check([canonical], default_policy_path())
    write_reports(again, tmp_path, ["json"])
    before = {f["fingerprint"]: f["sources"] for f in _json_findings(out)}
    after = {f["fingerprint"]: f["sources"] for f in _json_findings(tmp_path)}
    assert after == before
    assert all(s["file"] != canonical.name for sources in after.values() for s in sources)


def test_a_formula_like_file_name_is_neutralised(canonical: Path, tmp_path: Path) -> None:
    """A file name a spreadsheet would run (`=...`) is neutralised in findings.csv as any
    other cell (an apostrophe before it) and quoted in findings.xlsx; findings.json keeps
    it as it is."""
    log = pd.read_parquet(canonical)
    hostile = "=HYPERLINK(\"http://x\")audits.json"
    log[C.SOURCE_FILE] = log[C.SOURCE_FILE].astype(str).replace(
        "zendesk_ticket_audits.json", hostile)
    path = tmp_path / "hostile.parquet"
    log.to_parquet(path)
    mine = run_check([path], default_policy_path())
    write_reports(mine, tmp_path, ["json", "csv", "xlsx"])
    given = _json_findings(tmp_path)
    at = [k for k, f in enumerate(given) if f["sources"] and f["sources"][0]["file"] == hostile]
    assert at
    cells = [r["sources"] for r in _csv_findings(tmp_path)]
    assert all(cells[k] == "'" + _texts(given[k]["sources"]) for k in at)
    book = openpyxl.load_workbook(tmp_path / "findings.xlsx")
    sheet = book[FINDINGS_SHEET]
    column = [c.value for c in sheet[1]].index("sources") + 1
    assert all(sheet.cell(k + 2, column).value == _texts(given[k]["sources"])
               and sheet.cell(k + 2, column).quotePrefix for k in at)


@pytest.mark.parametrize("arrow", [True, False])
def test_cited_sources_orders_dedupes_and_leaves_out_the_unknown(arrow: bool) -> None:
    """By file name (code point), then row as a number; a file and row cited twice (a
    shared record's copies) once; an id the log does not hold, or held without a row,
    adds none; an id the log holds twice: its first row. On Arrow strings (the canonical
    log's ids) and on Python objects alike."""
    kind = "string[pyarrow]" if arrow else object
    ids = pd.Series(["a", "b", "c", "c@2", "d", "e", "a"], dtype=kind)
    names = pd.Series(["z.csv", "b:x.json", "z.csv", "z.csv", "z.csv", "z.csv", "y.csv"],
                      dtype="category")
    rows = pd.Series([10, 3, 9, 9, 100, None, 1], dtype="Int64")

    def finding(event_ids: list[str]) -> Finding:
        return Finding(rule="SD001", name="self-approval", severity="high", case_id="2",
                       event_ids=event_ids, activities=[], resources=[], timestamp=None,
                       message="m")

    found = cited_sources([finding(["d", "a", "b", "c", "c@2", "gone"]), finding([]),
                           finding(["e", "gone"]), finding(["a"])], ids, names, rows)
    assert found == [["b:x.json:3", "z.csv:9", "z.csv:10", "z.csv:100"], [], [], ["z.csv:10"]]
    assert [(s.file, s.row) for s in found[0]][:1] == [("b:x.json", 3)]
    assert all(type(s) is Source for s in found[0])
    assert found[0][2] is found[3][0]  # one object per distinct file and row


def test_rows_beyond_any_export_are_ordered_as_numbers() -> None:
    """A canonical log is input too: rows as large as int64 holds, in several files, are
    ordered and kept apart as numbers (no sum of file and row that could overflow)."""
    big = 2**62
    ids = pd.Series(["a", "b", "c", "d"], dtype="string[pyarrow]")
    names = pd.Series(["y.csv", "x.csv", "y.csv", "x.csv"], dtype="category")
    rows = pd.Series([big, big + 1, 2, 1], dtype="int64")
    found = cited_sources([Finding(rule="SD001", name="self-approval", severity="high",
                                   case_id="1", event_ids=["a", "b", "c", "d"],
                                   activities=[], resources=[], timestamp=None,
                                   message="m")], ids, names, rows)
    assert found == [["x.csv:1", f"x.csv:{big + 1}", "y.csv:2", f"y.csv:{big}"]]
    # A file's name Arrow cannot hold (a lone surrogate, as an undecodable byte of a
    # file name reads): its sources made all the same.
    names = pd.Series(["y.csv", "x\udcff.csv", "y.csv", "x\udcff.csv"], dtype=object)
    again = cited_sources([Finding(rule="SD001", name="self-approval", severity="high",
                                   case_id="1", event_ids=["d", "a"], activities=[],
                                   resources=[], timestamp=None, message="m")],
                          ids, names, rows)
    assert again == [["x\udcff.csv:1", f"y.csv:{big}"]]


def test_a_finding_msgspec_refuses_gives_the_same_sources(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A finding msgspec refuses is written by json's encoder (`_record`): its sources are
    objects there too; and findings.json's sources read back into a finding
    (`Finding.from_dict`)."""
    from reports.writers import _finding_encoder
    from tests.encoders import refuse_msgspec

    finding = Finding(rule="SD001", name="self-approval", severity="high", case_id="1",
                      event_ids=["a"], activities=[], resources=[], timestamp=None,
                      message="m", sources=[Source.of("a:b.csv", 7)])
    fast = _finding_encoder()(finding)

    refuse_msgspec(monkeypatch)
    slow = _finding_encoder()(finding)
    assert slow != fast  # (json's spacing: the other encoder wrote it)
    assert json.loads(fast)["sources"] == json.loads(slow)["sources"] == [
        {"file": "a:b.csv", "row": 7}]
    again = Finding.from_dict(json.loads(slow))
    assert again.sources == ["a:b.csv:7"] and again.sources[0].file == "a:b.csv"
    assert again.fingerprint == finding.fingerprint


def test_waived_is_true_or_false_as_documented(run: CheckRun, tmp_path: Path) -> None:
    """findings.csv writes `waived` as docs/reports.md and the Columns sheet name it, TRUE
    or FALSE (as a spreadsheet writes a boolean to CSV), not Python's True/False; both the
    column-at-once path and the one-row path (`csv_row`); the XLSX keeps real booleans."""
    from reports.writers import csv_row

    first = run.result.findings[0]
    both = [replace(first, waived=False), replace(first, waived=True, waiver_reason="agreed")]
    mine = replace(run, result=replace(run.result, findings=both), memo={})
    write_reports(mine, tmp_path, ["csv", "xlsx"])
    assert [r["waived"] for r in _csv_findings(tmp_path)] == ["FALSE", "TRUE"]
    header = list(_csv_findings(tmp_path)[0])
    assert [csv_row(f)[header.index("waived")] for f in both] == ["FALSE", "TRUE"]
    assert [r["waived"] for r in _xlsx_findings(tmp_path)] == [False, True]


def test_cited_sources_agree_with_a_lookup_per_finding() -> None:
    """The column-by-column lookup gives what looking each finding's ids up one by one
    gives, on a random log with ids held twice, (file, row) pairs held twice, rows and
    files missing, and findings citing unknown ids and the same id twice."""
    import random

    rng = random.Random(11)
    size = 400
    ids = [f"e{rng.randrange(size)}" for _ in range(size)]
    files = [rng.choice(["b.csv", "a.json", "a.csv", None]) for _ in range(size)]
    rows = [rng.choice([None, *range(2, 60)]) for _ in range(size)]
    first: dict[str, int] = {}
    for at, event in enumerate(ids):
        first.setdefault(event, at)
    findings = [Finding(rule="SD001", name="self-approval", severity="high", case_id=str(k),
                        event_ids=[f"e{rng.randrange(size + 40)}"
                                   for _ in range(rng.randrange(6))],
                        activities=[], resources=[], timestamp=None, message="m")
                for k in range(300)]
    expected = []
    for one in findings:
        pairs = {(files[first[e]], rows[first[e]]) for e in one.event_ids
                 if e in first and files[first[e]] is not None and rows[first[e]] is not None}
        expected.append([f"{file}:{row}" for file, row in sorted(pairs)])
    found = cited_sources(findings, pd.Series(ids, dtype="string[pyarrow]"),
                          pd.Series(files, dtype="category"), pd.Series(rows, dtype="Int64"))
    assert found == expected
    assert sum(map(len, expected)) > 300  # the check compares many sources, not none


@pytest.mark.parametrize("arrow_names", [True, False])
def test_a_source_tables_joined_texts_are_its_lists_joined(arrow_names: bool) -> None:
    """What findings.csv writes after `write_reports` forked (`SourceTable.joined`, made by
    Arrow from the arrays, no Source made) is each finding's `lists` joined by '; ', on a
    random log with ids held twice, rows and files missing, file names holding ':' (and,
    where Arrow cannot hold a name, a lone surrogate: the texts made by Python), findings
    citing no event, unknown ids and the same id twice."""
    import random

    from audit.findings import source_table

    rng = random.Random(5)
    size = 500
    names = ["b.csv", "a:x.json", "a.csv", None] if arrow_names else \
        ["b.csv", "a\udcff.json", "a.csv", None]
    ids = [f"e{rng.randrange(size)}" for _ in range(size)]
    logged = [rng.choice(names) for _ in range(size)]
    rows = [rng.choice([None, *range(2, 80)]) for _ in range(size)]
    findings = [Finding(rule="SD001", name="self-approval", severity="high", case_id=str(k),
                        event_ids=[f"e{rng.randrange(size + 40)}"
                                   for _ in range(rng.randrange(6))],
                        activities=[], resources=[], timestamp=None, message="m")
                for k in range(300)]
    table = source_table(findings, pd.Series(ids, dtype="string[pyarrow]"),
                         pd.Series(logged, dtype=object), pd.Series(rows, dtype="Int64"))
    assert isinstance(table.texts, list) is not arrow_names
    lists = table.lists()
    assert lists == cited_sources(findings, pd.Series(ids, dtype="string[pyarrow]"),
                                  pd.Series(logged, dtype=object),
                                  pd.Series(rows, dtype="Int64"))
    assert table.joined("; ") == ["; ".join(sources) for sources in lists]
    assert "" in table.joined("; ") and sum(map(len, lists)) > 200
    # No finding (a log of no event to judge): none.
    for log in ([], ids):
        none = source_table([], pd.Series(log, dtype="string[pyarrow]"),
                            pd.Series(logged[:len(log)], dtype=object),
                            pd.Series(rows[:len(log)], dtype="Int64"))
        assert none.lists() == none.joined("; ") == []


def test_forked_reports_write_the_same_sources(run: CheckRun, out: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked (`write_reports` from FORK_XLSX_FROM findings: the sources made as arrays
    before the fork, findings.csv's texts joined from them, the copy's writers making the
    Sources), the reports hold the sources the unforked ones do: findings.csv byte for
    byte, findings.json's and findings.xlsx's findings."""
    import reports.writers as writers
    from audit.forked import can_fork

    if not can_fork():
        pytest.skip("processes do not fork here")
    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 1)
    mine = replace(run, result=replace(run.result, findings=[
        replace(f, sources=[]) for f in run.result.findings]), memo={})
    # (with the HTML, as `check` writes them all: the copy writes the XLSX and the JSON,
    # this process the CSV from the arrays, no Source made here)
    write_reports(mine, tmp_path, ["json", "csv", "xlsx", "html"])
    assert "finding_sources" not in mine.memo
    assert all(f.sources == [] for f in mine.result.findings)
    assert (tmp_path / "findings.csv").read_bytes() == (out / "findings.csv").read_bytes()
    assert _json_findings(tmp_path) == _json_findings(out)
    assert _xlsx_findings(tmp_path) == _xlsx_findings(out)
    assert any(f["sources"] for f in _json_findings(tmp_path))
