"""write_reports: every report of a run, findings.xlsx in a forked process beside the others
when there are many findings; the same files either way, and its errors raised here."""

from __future__ import annotations

import threading
import zipfile
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest

import reports.writers as writers
from audit.checkrun import CheckRun, run_check_log
from audit.errors import InputError
from audit.forked import Forked, can_fork
from audit.policy import default_policy_path
from audit.sources.pipeline import import_and_correlate

pytestmark = pytest.mark.skipif(not can_fork(), reason="forks on Linux only")


@pytest.fixture(scope="module")
def run() -> CheckRun:
    folder = files("sample_logs").joinpath("refund-sample", "exports")
    with ExitStack() as stack:
        exports = sorted((Path(stack.enter_context(as_file(item))) for item in folder.iterdir()
                          if item.is_file() and not item.name.startswith(".")),
                         key=lambda p: p.name)
        return run_check_log(import_and_correlate([(p, None) for p in exports]), exports,
                             default_policy_path())


def _parts(path: Path) -> dict[str, bytes]:
    """The workbook's parts but its creation time (docProps/core.xml)."""
    with zipfile.ZipFile(path) as book:
        return {name: book.read(name) for name in book.namelist()
                if name != "docProps/core.xml"}


def test_the_forked_xlsx_is_the_workbook_written_in_process(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["json", "xlsx", "csv", "html", "graphs"]
    seconds: dict[str, float] = {}
    (tmp_path / "alone").mkdir()
    alone = writers.write_reports(run, tmp_path / "alone", names, seconds=seconds)
    assert set(seconds) == set(names)
    forked_in: list[Any] = []
    real = Forked.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        forked_in.append((args[0].__name__, list(args[3])))
        real(self, *args, **kwargs)

    from reports import graphs

    drawn_after: list[int] = []  # forks before each drawing (the HTML draws SVG and PNG at once;
    draw = graphs.render_dots  # the graphs writer then takes them from the run's memo)

    def drawing(dot: str, formats: Any) -> dict[str, bytes]:
        drawn_after.append(len(forked_in))
        return draw(dot, formats)

    computed: list[tuple[int, bool]] = []  # (forks before, summary counted) per computation
    compute = graphs._run_graphs

    def computing(run: CheckRun) -> Any:
        computed.append((len(forked_in), "summary" in run.memo))
        return compute(run)

    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 0)
    monkeypatch.setattr(Forked, "__init__", spy)
    monkeypatch.setattr(graphs, "render_dots", drawing)
    monkeypatch.setattr(graphs, "_run_graphs", computing)
    run.memo.pop("graphs", None)  # computed again, as in a new run
    run.memo.pop("drawings", None)  # and drawn again
    run.memo.pop("summary", None)
    run.memo.pop("finding_columns", None)
    (tmp_path / "forked").mkdir()
    seconds.clear()
    paths = writers.write_reports(run, tmp_path / "forked", names, seconds=seconds)
    # The fork was taken once, for the XLSX and the JSON (the shares nearest to even).
    assert forked_in == [("_write_in_copy", ["xlsx", "json"])]
    assert drawn_after and set(drawn_after) == {1}  # the graphs drawn beside the copy
    assert computed == [(1, True)]  # their data computed once, beside it; the counts before
    assert list(seconds)[:3] == ["html", "graphs", "csv"]  # here: what draws first
    assert set(seconds) == set(names)
    assert [p.name for p in paths] == [p.name for p in alone] == [
        "findings.json", "findings.xlsx", "findings.csv", "report.html", "dfg.svg"]
    assert _parts(tmp_path / "forked" / "findings.xlsx") == \
        _parts(tmp_path / "alone" / "findings.xlsx")
    for name in ("findings.csv", "findings.json", "report.html", "dfg.svg"):
        assert (tmp_path / "forked" / name).read_bytes() == \
            (tmp_path / "alone" / name).read_bytes(), name


EIGHTEENTH_COST = {"xlsx": 13.2, "csv": 4.7, "html": 6.1, "json": 4.3, "graphs": 3.4}
"""WRITER_COST of the eighteenth session: the copy wrote the JSON after the XLSX."""


@pytest.mark.parametrize(("chosen", "copied"), [
    (["json", "csv", "xlsx", "graphs", "html"], ["xlsx", "json"]),  # 13.7 s here against
    # 8.0; with the JSON there 9.8 s against 11.9, with the CSV too 14.3 s
    (["csv", "xlsx", "html", "graphs", "json"], ["xlsx", "json"]),  # in its own order
    (["xlsx", "json"], ["xlsx"]),  # the JSON with the XLSX: 9.8 s against 8.0
    (["xlsx", "json", "csv"], ["xlsx"]),  # either with the XLSX: longer than 8.0 s
    (["xlsx", "csv", "html", "graphs"], ["xlsx"]),  # the CSV there: 12.5 s against 11.9
    (["xlsx", "html"], ["xlsx"]),  # the HTML draws the graphs computed here: never copied
])
def test_the_copy_takes_the_writers_that_even_out_the_two_shares(
        chosen: list[str], copied: list[str]) -> None:
    assert writers._shares(chosen) == copied


@pytest.mark.parametrize(("chosen", "copied"), [
    (["json", "csv", "xlsx", "graphs", "html"], ["xlsx", "json"]),  # 17.5 s against 14.2 s
    (["csv", "xlsx", "html", "graphs", "json"], ["xlsx", "json"]),  # in its own order
    (["xlsx", "json", "csv"], ["xlsx"]),  # either with the XLSX: longer than 13.2 s
    (["xlsx", "csv", "html", "graphs"], ["xlsx"]),  # the CSV there: 17.9 s against 14.2
])
def test_the_copy_takes_the_json_where_this_process_has_more_to_write(
        chosen: list[str], copied: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With the costs of the eighteenth session (the HTML slower: 6.1 s), the copy wrote
    the JSON after the XLSX: the shares are balanced by the table, not fixed."""
    monkeypatch.setattr(writers, "WRITER_COST", EIGHTEENTH_COST)
    assert writers._shares(chosen) == copied


def test_a_writer_in_the_copy_reports_its_own_seconds(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    def slow_json(run: CheckRun, out: Path) -> Path:
        time.sleep(0.3)
        (out / "findings.json").write_text(str(os.getpid()))  # which process wrote it
        return out / "findings.json"

    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 0)
    monkeypatch.setattr(writers, "WRITER_COST", EIGHTEENTH_COST)  # the JSON in the copy
    monkeypatch.setitem(writers.WRITERS, "json", slow_json)
    seconds: dict[str, float] = {}
    paths = writers.write_reports(run, tmp_path, None, seconds=seconds)
    assert [p.name for p in paths] == ["findings.json", "findings.csv", "findings.xlsx",
                                       "dfg.svg", "report.html"]
    assert seconds["json"] >= 0.3  # the writer's own seconds, sent back by the copy
    written_by = int((tmp_path / "findings.json").read_text())
    assert written_by != os.getpid()  # the forked copy ran the (patched) JSON writer


def test_few_findings_or_the_xlsx_alone_are_written_here(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("forked")

    monkeypatch.setattr(Forked, "__init__", refuse)
    assert len(run.result.findings) < writers.FORK_XLSX_FROM
    writers.write_reports(run, tmp_path, ["csv", "xlsx"])
    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 0)
    assert [p.name for p in writers.write_reports(run, tmp_path, ["xlsx"])] == [
        "findings.xlsx"]


class Unpicklable(Exception):
    """An error that cannot be pickled however exceptions are reduced: it holds a lock.
    (Dropping an argument is not enough: importing distributed installs tblib's reducer,
    which rebuilds an exception without calling its __init__.)"""

    def __init__(self, a: int) -> None:
        super().__init__(a)
        self.lock = threading.Lock()


@pytest.mark.parametrize(("error", "raised", "text"), [
    (InputError("disk says no", field="out"), InputError, "disk says no"),
    (Unpicklable(1), RuntimeError, "Unpicklable: 1"),
])
def test_an_error_in_the_forked_writer_is_raised_after_the_others(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        error: Exception, raised: type[Exception], text: str) -> None:
    def broken(run: CheckRun, out: Path) -> Path:
        raise error

    broken.__name__ = "write_xlsx"
    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 0)
    monkeypatch.setattr(writers, "write_xlsx", broken)
    with pytest.raises(raised, match=text) as caught:
        writers.write_reports(run, tmp_path, ["xlsx", "csv"])
    assert (tmp_path / "findings.csv").exists()  # the other report was written meanwhile
    assert any("in the process writing a report" in note
               for note in getattr(caught.value, "__notes__", []))


def test_a_forked_writer_that_dies_is_an_error(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def dies(run: CheckRun, out: Path) -> Path:
        os._exit(3)

    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 0)
    monkeypatch.setattr(writers, "write_xlsx", dies)
    with pytest.raises(RuntimeError, match="exit code 3"):
        writers.write_reports(run, tmp_path, ["xlsx", "json"])


def test_a_failing_main_writer_stops_the_copy_and_leaves_no_partial_workbook(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from reports import ooxml

    def slow(run: CheckRun, out: Path) -> Path:
        with ooxml.Workbook(out / "findings.xlsx") as book:
            book.add_sheet("S").row([("started", ooxml.CELL)])
            time.sleep(60)
        return out / "findings.xlsx"

    def fails(run: CheckRun, out: Path) -> Path:
        time.sleep(0.5)  # the copy has begun its workbook
        raise OSError("disk full")

    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 0)
    monkeypatch.setattr(writers, "write_xlsx", slow)
    monkeypatch.setitem(writers.WRITERS, "csv", fails)
    started = time.perf_counter()
    with pytest.raises(OSError, match="disk full"):
        writers.write_reports(run, tmp_path, ["xlsx", "csv"])
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "findings.xlsx").exists()


def test_the_csv_written_in_blocks_is_the_csv_written_at_once(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """findings.csv's cells built and written a block of findings at a time: the same
    bytes as in one block (blocks of 5 or a little more, the last one shorter; header and
    every row once)."""
    import csv

    findings = run.result.findings
    block = next(b for b in range(5, 50) if len(findings) % b)  # (the last block shorter)
    assert len(findings) > block + 2
    (tmp_path / "one").mkdir()
    (tmp_path / "blocks").mkdir()
    monkeypatch.setattr(writers, "_CSV_BLOCK", len(findings))
    whole = writers.write_csv(run, tmp_path / "one").read_bytes()
    monkeypatch.setattr(writers, "_CSV_BLOCK", block)
    assert writers.write_csv(run, tmp_path / "blocks").read_bytes() == whole
    with (tmp_path / "blocks" / "findings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(writers.CSV_COLUMNS) and len(rows) == len(findings) + 1
    at = writers.CSV_COLUMNS.index("fingerprint")
    assert [r[at] for r in rows[1:]] == [f.fingerprint for f in findings]


def test_the_warnings_are_computed_once_before_the_fork(
        run: CheckRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's warnings, which the copy's JSON (its manifest) and this process's HTML show,
    are computed once, here, before the fork (0.39 s of CPU at 1M cases): before, each
    process computed them. The same findings.json and report.html either way."""
    import json
    import os

    calls = tmp_path / "calls"
    real = CheckRun._warnings

    def counted(self: CheckRun) -> list[str]:
        with calls.open("a", encoding="utf-8") as handle:  # which process computed them
            handle.write(f"{os.getpid()}\n")
        return real(self)

    monkeypatch.setattr(CheckRun, "_warnings", counted)
    (tmp_path / "alone").mkdir()
    run.memo.pop("warnings", None)
    writers.write_reports(run, tmp_path / "alone", ["json", "xlsx", "html"])  # no fork
    monkeypatch.setattr(writers, "FORK_XLSX_FROM", 0)
    monkeypatch.setattr(writers, "WRITER_COST", EIGHTEENTH_COST)  # the JSON in the copy
    run.memo.pop("warnings", None)
    calls.unlink()
    (tmp_path / "forked").mkdir()
    writers.write_reports(run, tmp_path / "forked", ["json", "xlsx", "html"])
    assert calls.read_text(encoding="utf-8").split() == [str(os.getpid())]
    document = json.loads((tmp_path / "forked" / "findings.json").read_text(encoding="utf-8"))
    assert document["manifest"]["warnings"] == run.warnings()
    assert document["manifest"]["warnings"]  # (the sample's run has some to tell)
    for name in ("findings.json", "report.html"):
        assert (tmp_path / "forked" / name).read_bytes() == \
            (tmp_path / "alone" / name).read_bytes(), name
