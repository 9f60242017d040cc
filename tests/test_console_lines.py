"""No console line of any command is begun by input text.

A case id, resource, activity label or file name is the input's text: a line break in it
(`R9\\nerror: forged line`) printed what followed it as a console line of its own, one that
reads as the tool's own error, warning or summary. Each command's console (stdout and
stderr) is read here line by line: the text after a line break in the input shows inside
its line (`[U+000A]`), never at a line's start; the files keep the real values.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import main

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
AS_OF = "2026-12-01T00:00:00Z"
FORGED_CASE = "0000\nerror: forged case"
"""Sorts first: the warnings that name a few case ids name it."""
FORGED = re.compile(r"^\s*(error|warning): forged")


def forged_log(path: Path, *, cases: int = 40, step: bool = True) -> Path:
    """The sample's first `cases` cases, RFD-1 renamed `FORGED_CASE`, no role recorded (so
    the role rules warn of the events they did not judge, naming cases), a resource, an
    activity label and a timestamp with a line break (and a carriage return) in them; with
    `step`, one event of a third case labelled `Escalate\nerror: forged step` (an activity
    the log without it lacks: compare names it)."""
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    head = rows[0]
    case, role, resource, activity, time = (head.index(c) for c in (
        "case:concept:name", "org:role", "org:resource", "concept:name", "time:timestamp"))
    kept = [*sorted({r[case] for r in rows[1:]} - {"RFD-1"})[:cases - 1], "RFD-1"]
    out, dated = [head], ""
    for row in rows[1:]:
        if row[case] not in kept:
            continue
        row[role] = ""
        if row[case] == "RFD-1":
            row[case] = FORGED_CASE
        elif row[case] == kept[0]:
            row[resource] = "Eve\nerror: forged resource"
            row[activity] = "Approve refund\r\nwarning: forged activity"
        elif row[case] == kept[1] and not dated:
            row[time] = dated = "soon\nerror: forged time"
        elif row[case] == kept[2] and step:
            row[activity], step = "Escalate\nerror: forged step", False
        out.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(out)
    return path


def console(*args: str) -> list[str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return (result.stdout + result.stderr).splitlines()


def assert_no_forged_line(lines: list[str]) -> None:
    begun = [line for line in lines if FORGED.match(line)]
    assert not begun, begun
    # (the test reaches the console with the input's text: it is shown, on its line)
    assert any("forged" in line for line in lines), lines


def strings(value: object) -> set[str]:
    """Every text in a JSON document."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*map(strings, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(strings, value)) if value else set()
    return set()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[str]], Path]:
    tmp = tmp_path_factory.mktemp("console")
    log = forged_log(tmp / "forged.csv")
    # (file names are the input's too: a log's name is in the summaries, a run's inputs in
    # diff's warning of runs that read different inputs)
    parquet = tmp / "log\nerror: forged file.parquet"
    told = {"check": console("check", str(log), "--out", str(tmp / "run"), "--as-of", AS_OF),
            "import": console("import", str(log), "--out", str(parquet))}
    told["discover"] = console("discover", str(parquet), "--miner", "dfg",
                               "--out", str(tmp / "discovered"))
    other = forged_log(tmp / "other\nwarning: forged input.csv", cases=30, step=False)
    console("check", str(other), "--out", str(tmp / "run2"), "--as-of", AS_OF)
    told["diff"] = console("diff", str(tmp / "run2"), str(tmp / "run"))
    told["compare"] = console("compare", str(other), str(log), "--out", str(tmp / "compared"))
    return told, tmp


@pytest.mark.parametrize("command", ["check", "import", "discover", "diff", "compare"])
def test_no_console_line_begun_by_input_text(
        runs: tuple[dict[str, list[str]], Path], command: str) -> None:
    assert_no_forged_line(runs[0][command])


def test_the_files_keep_the_real_values(runs: tuple[dict[str, list[str]], Path]) -> None:
    """The console shows the line break; findings.json holds the case id as it is."""
    found = json.loads((runs[1] / "run" / "findings.json").read_text(encoding="utf-8"))
    assert FORGED_CASE in strings(found)


def ocel(path: Path, events: list[tuple[str, str, list[str]]],
         objects: dict[str, str]) -> Path:
    """An OCEL 2.0 JSON file: `events` as (id, time, related object ids), each a refund's
    request; `objects` id -> type."""
    document = {
        "objectTypes": [{"name": t, "attributes": []} for t in sorted(set(objects.values()))],
        "eventTypes": [],
        "objects": [{"id": oid, "type": otype} for oid, otype in objects.items()],
        "events": [{"id": eid, "type": "Receive refund request", "time": time,
                    "attributes": [], "relationships": [
                        {"objectId": oid, "qualifier": "of"} for oid in related]}
                   for eid, time, related in events]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", ["type", "event"])
def test_ocel_errors_on_one_line(tmp_path: Path, case: str) -> None:
    """An object type's name (`choose --object-type: ...`) and an event's id (the error of
    times with and without a zone) are the file's text: shown on their line."""
    if case == "type":  # (two types, none chosen: the error lists them)
        log = ocel(tmp_path / "log.jsonocel", [("e1", "2026-09-01T10:00:00Z", ["R1"])],
                   {"R1": "Refund\nerror: forged type", "O1": "Order"})
        args = ["import", str(log), "--out", str(tmp_path / "log.parquet")]
    else:
        log = ocel(tmp_path / "log.jsonocel", [
            ("e1", "2026-09-01T10:00:00Z", ["R1"]),
            ("e2\nerror: forged event", "2026-09-01T11:00:00", ["R1"])], {"R1": "Refund"})
        args = ["import", str(log), "--object-type", "Refund",
                "--out", str(tmp_path / "log.parquet")]
    lines = console(*args)
    assert_no_forged_line(lines)
    assert lines[-1].startswith("error: "), lines


def test_ocel_note_of_events_outside_the_cases(tmp_path: Path) -> None:
    """Told with thousands separators where some events relate to no object of the type,
    and not at all where none does (before: "0 of 2192 events relate to no ...")."""
    from audit.ingest.ocel import read_ocel

    def events(outside: int) -> list[tuple[str, str, list[str]]]:
        return [(f"e{n}", f"2026-09-01T10:{n % 60:02d}:00Z",
                 ["O1"] if n < outside else [f"R{n % 7}"]) for n in range(1500)]

    objects = {**{f"R{n}": "Refund" for n in range(7)}, "O1": "Order"}
    some = read_ocel(ocel(tmp_path / "some.jsonocel", events(1200), objects), "Refund")
    assert ("1,200 of 1,500 events relate to no 'Refund' object and are not part of these "
            "cases") in some.notes
    none = read_ocel(ocel(tmp_path / "none.jsonocel", events(0), objects), "Refund")
    assert not [note for note in none.notes if "relate to no" in note], none.notes


def test_diff_of_one_folder_tells_its_missing_checksums_once(
        runs: tuple[dict[str, list[str]], Path], tmp_path: Path) -> None:
    """`diff X X` of a run folder with no SHA256SUMS: the warning once, not once per side."""
    import shutil

    folder = shutil.copytree(runs[1] / "run", tmp_path / "run")
    (folder / "SHA256SUMS").unlink()
    lines = console("diff", str(folder), str(folder))
    told = [line for line in lines if "no SHA256SUMS beside it" in line]
    assert len(told) == 1, lines
