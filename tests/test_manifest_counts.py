"""The run manifest's per-input counts: the rows each input held, those dropped as read twice
(a canonical log beside its byte copy, an export given twice under two names), the events
each input's records became; and `sample --first-case`'s upper limit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from audit.cli import main
from audit.sample import SampleSpec, write_sample
from audit.store import import_record, imported_earlier_text


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="all", cases=20, seed=3, violation_rate=0.3), out)
    return out / "exports"


@pytest.fixture(scope="module")
def log(exports: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "log.parquet"
    run("-q", "import", *sorted(str(p) for p in exports.iterdir()), "--out", str(path))
    return path


def manifest_of(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document["manifest"], document["summary"]


def adds_up(entry: dict[str, Any]) -> bool:
    return bool(entry["read"] == entry["imported"] + entry["quarantined"]
                + entry["duplicates_dropped"])


def test_a_byte_copy_of_the_log_beside_it_says_its_rows_were_read_and_dropped(
        log: Path, tmp_path: Path) -> None:
    """`check log.parquet copy.parquet` gave the copy `read 0` in the manifest (and its
    140 duplicates dropped beside, not of it), though its rows were read, each dropped as
    the log's: the per-file counts did not add up to the rows the file holds. Now `read`
    counts them: read = imported + quarantined + duplicates_dropped, per input and in
    total, on the console too."""
    copy = tmp_path / "copy.parquet"
    shutil.copyfile(log, copy)
    events = import_record(log)["events"]  # type: ignore[index]
    out = tmp_path / "out"
    result = run("check", str(log), str(copy), "--out", str(out), "--format", "json",
                 "--fail-on", "never")
    manifest, summary = manifest_of(out)
    counts = [(i["read"], i["imported"], i["quarantined"], i["duplicates_dropped"])
              for i in manifest["inputs"]]
    assert counts == [(events, events, 0, 0), (events, 0, 0, events)]
    assert all(adds_up(i) for i in manifest["inputs"])
    assert [i["events"] for i in manifest["inputs"]] == [events, 0]
    assert (summary["read"], summary["imported"], summary["duplicates_dropped"]) == (
        2 * events, events, events)
    assert (f"(read {2 * events} = imported {events} + quarantined 0 + {events} duplicates "
            "dropped)") in result.output


def test_an_export_given_twice_under_two_names_counts_its_rows_in_both(
        exports: Path, tmp_path: Path) -> None:
    """The same Stripe refunds CSV given twice (two names): the second said `read 0 =
    imported 0 + quarantined 0 (+ 6 duplicates dropped)`. Now `read 6 = imported 0 +
    quarantined 0 + 6 duplicates dropped`, in `check`'s manifest, in `import`'s lines and
    in the log's record."""
    again = tmp_path / "refunds_again.csv"
    shutil.copyfile(exports / "stripe_refunds.csv", again)
    inputs = [*sorted(str(p) for p in exports.iterdir()), str(again)]
    out = tmp_path / "out"
    run("check", *inputs, "--out", str(out), "--format", "json", "--fail-on", "never")
    manifest, summary = manifest_of(out)
    by_name = {Path(i["file"]).name: i for i in manifest["inputs"]}
    first, second = by_name["stripe_refunds.csv"], by_name["refunds_again.csv"]
    rows = first["read"]
    assert rows > 0 and first["duplicates_dropped"] == 0
    assert (second["read"], second["imported"], second["quarantined"],
            second["duplicates_dropped"], second["events"]) == (rows, 0, 0, rows, 0)
    assert all(adds_up(i) for i in manifest["inputs"] if i["read"] is not None)
    assert summary["read"] == sum(i["read"] for i in manifest["inputs"]
                                  if i["read"] is not None)
    assert summary["read"] == (summary["imported"] + summary["quarantined"]
                               + summary["duplicates_dropped"])

    path = tmp_path / "log.parquet"
    result = run("import", *inputs, "--out", str(path))
    assert (f"refunds_again.csv (stripe): read {rows} = imported 0 + quarantined 0 + "
            f"{rows} duplicates dropped") in result.output.splitlines()
    record = import_record(path)
    assert record is not None
    entry = next(i for i in record["inputs"] if i["file"] == "refunds_again.csv")
    assert (entry["read"], entry["duplicates_dropped"], entry["events"]) == (rows, rows, 0)
    assert record["read"] == (record["imported"] + record["quarantined"]
                              + record["duplicates_dropped"])


def test_each_input_s_events_are_in_the_manifest(exports: Path, tmp_path: Path) -> None:
    """"N records imported -> M events" (a charge refunded in several cases is an event
    in each; a charge left out as a sale none) was on import's console only: check's
    manifest holds it (inputs[].events), as the log's record does per input, and the
    inputs' events add up to the events audited."""
    inputs = sorted(str(p) for p in exports.iterdir())
    out = tmp_path / "out"
    run("check", *inputs, "--out", str(out), "--format", "json", "--fail-on", "never")
    manifest, summary = manifest_of(out)
    counted = [i for i in manifest["inputs"] if i["read"] is not None]
    assert sum(i["events"] for i in counted) == summary["events"]
    other = [i for i in counted if i["events"] != i["imported"]]
    assert other, "the sample should hold a charge refunded in two cases"
    imported = run("import", *inputs, "--out", str(tmp_path / "log.parquet")).output
    for entry in other:
        assert (f"{entry['imported']} records imported -> {entry['events']} events"
                in imported)
    record = import_record(tmp_path / "log.parquet")
    assert record is not None
    assert {i["file"]: i["events"] for i in record["inputs"] if i["system"] != "roles"} == {
        Path(i["file"]).name: i["events"] for i in counted}
    assert record["events"] == sum(i["events"] for i in record["inputs"])
    roles = [i for i in manifest["inputs"] if i["read"] is None]  # (the role history)
    assert [Path(i["file"]).name for i in roles] == ["role_history.csv"]
    assert roles[0]["events"] is None


def test_a_record_of_an_older_import_adds_its_duplicates_to_its_rows(
        log: Path, tmp_path: Path) -> None:
    """A log imported by an earlier version holds `read` without the duplicates dropped
    (read = imported + quarantined): `check` tells the rows it was made from with them
    (`rows_read`), as it does of a record written now."""
    record = dict(import_record(log) or {})
    imported = record["imported"]
    older = {**record, "read": imported, "duplicates_dropped": 2}
    newer = {**record, "read": imported + 2, "duplicates_dropped": 2}
    for each in (older, newer):
        text = imported_earlier_text(log, each)
        assert (f"imported earlier from {imported + 2:,} rows: {imported:,} imported + 0 "
                "quarantined + 2 duplicates dropped") in text, text


def test_the_largest_first_case_keeps_the_exports_numbers_sane(tmp_path: Path) -> None:
    """At the most (1,000,000,000) with the most cases after it, every number the Zendesk
    export holds as a JSON number stays below 2^53, a ticket id within 32 bits."""
    from audit.cli import MAX_FIRST_CASE, MAX_SAMPLE_CASES

    out = tmp_path / "s"
    write_sample(SampleSpec(channel="ecommerce", cases=5, seed=1,
                            first_case=MAX_FIRST_CASE + MAX_SAMPLE_CASES - 5), out)
    document = json.loads((out / "exports" / "zendesk_ticket_audits.json").read_text(
        encoding="utf-8"))
    numbers: list[int] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, int) and not isinstance(value, bool):
            numbers.append(value)

    walk(document)
    tickets = [a["ticket_id"] for a in document["audits"]]
    assert max(tickets) < 2**31 and max(numbers) < 2**53
