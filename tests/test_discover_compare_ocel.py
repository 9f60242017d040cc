"""discover and compare read an OCEL 2.0 log with --object-type and --follow-o2o (and a
log of times without a zone with --assume-tz), as import and check read it. Before, both
lacked these options: an OCEL log had to be imported first, and "choose --object-type"
from discover led to "No such option" for the option check has."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import main

OCEL = Path("/work/shared/data/pm4py-tests/ocel")
JSON = OCEL / "ocel20_example.jsonocel"
XML = OCEL / "ocel20_example.xmlocel"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path}")
    return path


def _variants(out: Path) -> dict[str, int]:
    with (out / "variants.csv").open(encoding="utf-8", newline="") as file:
        return {row["sequence"]: int(row["cases"]) for row in csv.DictReader(file)}


# The OCEL 2.0 example, by hand: invoices R1 and R2 (inserted from purchase order PO1) are
# inserted and paid; R3 runs a maverick purchase order and a payment block. PO1's own
# events (its creation, e3, and the quantity change, e4) relate to no invoice, but an
# object-to-object relation ties PO1 to R1 and R2: --follow-o2o 'Purchase Order' makes them
# events of both cases.
DIRECT = {"Insert Invoice -> Insert Payment": 2,
          "Insert Invoice -> Create Purchase Order -> Set Payment Block -> "
          "Remove Payment Block -> Insert Payment": 1}
FOLLOWED = {"Create Purchase Order -> Change PO Quantity -> Insert Invoice -> "
            "Insert Payment": 2,
            "Insert Invoice -> Create Purchase Order -> Set Payment Block -> "
            "Remove Payment Block -> Insert Payment": 1}


@pytest.mark.parametrize(("follow", "expected", "events"),
                         [((), DIRECT, 9), (("--follow-o2o", "Purchase Order"), FOLLOWED, 13)])
def test_discover_reads_an_ocel_log_by_object_type(tmp_path: Path, follow: tuple[str, ...],
                                                   expected: dict[str, int],
                                                   events: int) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(_need(JSON)), "--object-type",
                                       "Invoice", *follow, "--noise", "0",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _variants(out) == expected
    summary = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert (summary["cases"], summary["events"]) == (3, events)
    options = {"assume_tz": None, "encoding": None, "object_type": "Invoice"} | (
        {"follow_o2o": ["Purchase Order"]} if follow else {})
    assert summary["import"]["options"] == options
    assert summary["import"]["not_applied"] == []
    assert "imported_earlier" not in summary["import"]  # (no canonical log: no import)
    # The import's notes, as the console prints them (before: the console's alone).
    assert summary["import"]["notes"]
    for note in summary["import"]["notes"]:
        assert note in result.output
    told = ("2 events relating to no 'Invoice' object but to 'Purchase Order' objects"
            if follow else "4 of 13 events relate to no 'Invoice' object")
    assert any(note.startswith(told) for note in summary["import"]["notes"])
    assert summary["fitness"]["fitting_cases"] == 3


def test_discover_of_the_ocel_log_is_discover_of_its_import(tmp_path: Path) -> None:
    """The same log as `import --object-type --follow-o2o` then `discover LOG.parquet`."""
    runner = CliRunner()
    log = tmp_path / "invoices.parquet"
    options = ["--object-type", "Invoice", "--follow-o2o", "Purchase Order"]
    done = runner.invoke(main, ["import", str(_need(JSON)), *options, "--out", str(log)])
    assert done.exit_code == 0, done.output
    assert runner.invoke(main, ["discover", str(log), "--miner", "dfg",
                                "--out", str(tmp_path / "a")]).exit_code == 0
    done = runner.invoke(main, ["discover", str(JSON), *options, "--miner", "dfg",
                                "--out", str(tmp_path / "b")])
    assert done.exit_code == 0, done.output
    first, second = (json.loads((tmp_path / side / "discovery.json").read_text())
                     for side in ("a", "b"))
    assert first["dfg"] == second["dfg"] and first["variants"] == second["variants"]


def test_discover_without_object_type_names_its_own_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["discover", str(_need(JSON)),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "choose --object-type: Invoice (3 objects)" in result.output
    assert "discover has no --object-type" not in result.output


def test_compare_reads_each_ocel_side_with_the_options(tmp_path: Path) -> None:
    """The example's JSON and XML encodings (the XML's times have no zone: --assume-tz)
    are one log: no difference, each side 3 cases of 2 variants, and the options are
    recorded; compare.md and the console tell what the import left out."""
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "compare", str(_need(JSON)), str(_need(XML)), "--assume-tz", "UTC",
        "--object-type", "Invoice", "--follow-o2o", "Purchase Order", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    options = {"assume_tz": "UTC", "encoding": None, "object_type": "Invoice",
               "follow_o2o": ["Purchase Order"]}
    assert summary["import_options"] == options
    for side in ("as_is", "to_be"):  # (each side an OCEL log: every option applied)
        assert summary[side]["import"] == {"options": options, "not_applied": []}
    assert summary["differences"] == []
    for side in ("as_is", "to_be"):
        assert (summary[side]["cases"], summary[side]["variants"]) == (3, 2)
    assert ("note: to-be log: 2 of 13 events relate to no 'Invoice' object, directly or "
            "through a related 'Purchase Order' object" in result.output)


def _imported(tmp_path: Path, *options: str) -> Path:
    log = tmp_path / "invoices.parquet"
    done = CliRunner().invoke(main, ["import", str(_need(JSON)), *options, "--out", str(log)])
    assert done.exit_code == 0, done.output
    return log


FOLLOWING = ["--object-type", "Invoice", "--follow-o2o", "Purchase Order"]


def test_compare_records_each_sides_options_and_warns_where_they_differ(
        tmp_path: Path) -> None:
    """A canonical log imported with --follow-o2o 'Purchase Order' against the OCEL log read
    with --object-type Invoice alone: 'Change PO Quantity' (the purchase order's event,
    brought in by --follow-o2o) is in 2 of 3 as-is cases and in no to-be case, made by the
    options alone. Before, no warning, and compare.json recorded {"object_type": "Invoice"}
    as the options of both sides, though the canonical log was not read with it (the
    console: "not used") and was built with --follow-o2o."""
    log = _imported(tmp_path, *FOLLOWING)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(log), str(JSON), "--object-type",
                                       "Invoice", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert [d["activities"] for d in summary["differences"]] == [["Change PO Quantity"]]
    assert summary["import_options"] == {"assume_tz": None, "encoding": None,
                                         "object_type": "Invoice"}
    as_is, to_be = summary["as_is"]["import"], summary["to_be"]["import"]
    # The canonical log: --object-type not applied to it; its cases made by its import's.
    assert as_is["not_applied"] == ["object_type"]
    assert as_is["options"] == {"assume_tz": None, "encoding": None, "object_type": None}
    assert as_is["imported_earlier"]["object_type"] == "Invoice"
    assert as_is["imported_earlier"]["follow_o2o"] == ["Purchase Order"]
    assert to_be == {"options": {"assume_tz": None, "encoding": None,
                                 "object_type": "Invoice"}, "not_applied": []}
    warning = ("the two logs' cases were made by different OCEL options: the as-is log's "
               "with --object-type 'Invoice' --follow-o2o 'Purchase Order' by its own "
               "import (invoices.parquet), the to-be log's with --object-type 'Invoice'; ")
    assert [w for w in summary["warnings"] if w.startswith(warning)] != []
    assert f"warning: {warning}" in result.output
    assert "compare.md" in result.output
    assert warning in (out / "compare.md").read_text(encoding="utf-8")


def test_compare_of_sides_made_alike_gives_no_reading_warning(tmp_path: Path) -> None:
    """The same canonical log against the OCEL log read with the options of its import:
    no difference, no warning; the canonical side records --object-type and --follow-o2o
    as not applied to it, its own import's as those that made its cases."""
    log = _imported(tmp_path, *FOLLOWING)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(JSON), str(log), *FOLLOWING,
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert summary["differences"] == []
    assert not any("different OCEL options" in w for w in summary["warnings"])
    assert summary["to_be"]["import"]["not_applied"] == ["object_type", "follow_o2o"]
    assert summary["as_is"]["import"]["not_applied"] == []


def test_compare_of_a_log_of_no_ocel_records_the_options_as_not_applied(
        tmp_path: Path) -> None:
    """A CSV log against the OCEL log: --object-type made the OCEL side's cases only; the
    CSV side records it as not applied, and no warning (its cases are made by no object
    type)."""
    csv_log = tmp_path / "s.csv"
    csv_log.write_text("case,activity,time\nR1,Insert Invoice,2026-07-01T08:00Z\n"
                       "R1,Insert Payment,2026-07-02T08:00Z\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(csv_log), str(JSON), "--object-type",
                                       "Invoice", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert summary["as_is"]["import"] == {
        "options": {"assume_tz": None, "encoding": None, "object_type": None},
        "not_applied": ["object_type"]}
    assert summary["to_be"]["import"]["options"]["object_type"] == "Invoice"
    assert not any("different OCEL options" in w for w in summary["warnings"])


def test_discover_records_an_option_not_applied_as_such(tmp_path: Path) -> None:
    """discover of a CSV log with --object-type: the console says "not used"; before,
    discovery.json's import.options said {"object_type": "Invoice"}, as if applied, and
    none of the import's notes. Now check's keys, null where not given or not applied,
    the option named under not_applied, and the note."""
    csv_log = tmp_path / "s.csv"
    csv_log.write_text("case,activity,time\nc1,A,2026-07-01T08:00Z\n"
                       "c1,B,2026-07-01T09:00Z\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(csv_log), "--object-type", "Invoice",
                                       "--miner", "dfg", "--out", str(out)])
    assert result.exit_code == 0, result.output
    block = json.loads((out / "discovery.json").read_text(encoding="utf-8"))["import"]
    assert block["options"] == {"assume_tz": None, "encoding": None, "object_type": None}
    assert block["not_applied"] == ["object_type"]
    note = ("--object-type Invoice: no input is an OCEL 2.0 log, the only kind it applies "
            "to: not used")
    assert note in block["notes"] and note in result.output


def test_discover_of_a_canonical_log_records_its_imports_options(tmp_path: Path) -> None:
    """A canonical log built with --follow-o2o, discovered without options: no option
    given (check's keys, all null), and the options its import made its cases by."""
    log = _imported(tmp_path, *FOLLOWING)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["discover", str(log), "--miner", "dfg",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    block = json.loads((out / "discovery.json").read_text(encoding="utf-8"))["import"]
    assert block["options"] == {"assume_tz": None, "encoding": None, "object_type": None}
    assert block["not_applied"] == []
    assert block["imported_earlier"]["follow_o2o"] == ["Purchase Order"]


def _compare(tmp_path: Path, as_is: Path, to_be: Path, *options: str,
             out: str = "out") -> tuple[dict[str, object], str]:
    folder = tmp_path / out
    result = CliRunner().invoke(main, ["compare", str(as_is), str(to_be), *options,
                                       "--out", str(folder)])
    assert result.exit_code == 0, result.output
    return json.loads((folder / "compare.json").read_text(encoding="utf-8")), result.output


def _reimported(tmp_path: Path, log: Path, name: str) -> Path:
    """`log` (a canonical log) imported again, without options."""
    again = tmp_path / name
    done = CliRunner().invoke(main, ["import", str(log), "--out", str(again)])
    assert done.exit_code == 0, done.output
    return again


def test_compare_warns_of_a_log_imported_from_a_canonical_log(tmp_path: Path) -> None:
    """invoices.parquet imported with --follow-o2o 'Purchase Order', imported again to
    again.parquet (no option: the record's own options name no object type), against the
    OCEL log read with --object-type Invoice alone: 'Change PO Quantity' in 2 of 3 as-is
    cases, made by the first import's options. Before, no warning: the second import's
    options alone were weighed, which made no cases."""
    again = _reimported(tmp_path, _imported(tmp_path, *FOLLOWING), "again.parquet")
    summary, output = _compare(tmp_path, again, JSON, "--object-type", "Invoice")
    assert [d["activities"] for d in summary["differences"]] == [["Change PO Quantity"]]
    warning = ("warning: the two logs' cases were made by different OCEL options: the "
               "as-is log's with --object-type 'Invoice' --follow-o2o 'Purchase Order' by "
               "the import that wrote invoices.parquet, which it was imported from, the "
               "to-be log's with --object-type 'Invoice'; ")
    assert warning in output
    side = summary["as_is"]["import"]  # type: ignore[index]
    assert side["imported_earlier"]["object_type"] is None  # (the second import's own)
    assert side["cases_made_by"] == {"object_type": "Invoice",
                                     "follow_o2o": ["Purchase Order"],
                                     "log": "invoices.parquet"}
    # Read alike (the OCEL log with the first import's options): no warning, no note.
    summary, output = _compare(tmp_path, again, JSON, *FOLLOWING, out="alike")
    assert summary["differences"] == []
    assert "different OCEL options" not in output and "does not keep" not in output


def test_compare_of_a_csv_log_imported_with_object_type_gives_no_reading_warning(
        tmp_path: Path) -> None:
    """A CSV log imported with --object-type Invoice (not used: no OCEL 2.0 log), against
    the OCEL log read with --object-type Invoice --follow-o2o 'Purchase Order': the
    canonical log's cases were made by no object type, and a CSV log's are not weighed.
    Before, its record's object_type was taken as having made them, and compare warned of
    'different OCEL options': "the as-is log's with --object-type 'Invoice' by its own
    import (csvlog.parquet)", which made no case."""
    csv_log = tmp_path / "s.csv"
    csv_log.write_text("case,activity,time\nR1,Insert Invoice,2026-07-01T08:00Z\n"
                       "R1,Insert Payment,2026-07-02T08:00Z\n", encoding="utf-8")
    log = tmp_path / "csvlog.parquet"
    done = CliRunner().invoke(main, ["import", str(csv_log), "--object-type", "Invoice",
                                     "--out", str(log)])
    assert done.exit_code == 0, done.output
    summary, output = _compare(tmp_path, log, JSON, *FOLLOWING)
    assert "different OCEL options" not in output
    side = summary["as_is"]["import"]  # type: ignore[index]
    assert side["imported_earlier"]["object_type"] == "Invoice"  # (as its record keeps it)
    assert side["cases_made_by"] == {"object_type": None, "follow_o2o": []}
    assert not any("different OCEL options" in w
                   for w in summary["warnings"])  # type: ignore[attr-defined]
    assert "does not keep" not in output


def _record_options_dropped(log: Path, to: Path) -> None:
    """`log` written to `to` with its import's record as an older version wrote it: options
    null."""
    import pyarrow.parquet as pq

    from audit.store import IMPORT_RECORD_KEY

    table = pq.read_table(log)
    metadata = dict(table.schema.metadata)
    record = json.loads(metadata[IMPORT_RECORD_KEY])
    record["options"] = None
    metadata[IMPORT_RECORD_KEY] = json.dumps(record).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(metadata), to)


def _record_dropped(log: Path, to: Path) -> None:
    """`log` written to `to` without its import's record (a Parquet log written by hand)."""
    import pyarrow.parquet as pq

    from audit.store import IMPORT_RECORD_KEY

    table = pq.read_table(log)
    metadata = {k: v for k, v in (table.schema.metadata or {}).items()
                if k != IMPORT_RECORD_KEY}
    pq.write_table(table.replace_schema_metadata(metadata), to)


@pytest.mark.parametrize("strip", [_record_options_dropped, _record_dropped])
def test_compare_notes_a_side_whose_cases_options_are_not_kept(tmp_path: Path,
                                                               strip: object) -> None:
    """A canonical log of the OCEL log whose record keeps no options (an older version's) or
    that has no record, against the OCEL log read with --object-type Invoice: whether both
    sides' cases were made alike cannot be told, and a note says so. Before, nothing was
    said (and no warning: it cannot be weighed)."""
    log = tmp_path / "unkept.parquet"
    strip(_imported(tmp_path, *FOLLOWING), log)  # type: ignore[operator]
    summary, output = _compare(tmp_path, log, JSON, "--object-type", "Invoice")
    note = ("the as-is log's cases were made by options its record does not keep, the "
            "to-be log's with --object-type 'Invoice': whether both were made alike cannot "
            "be told")
    assert f"note: {note}" in output
    assert summary["as_is"]["import"]["cases_made_by"] is None  # type: ignore[index]
    assert note in summary["notes"]  # type: ignore[operator]
    assert "different OCEL options" not in output
    # Against a CSV log (its cases made by no OCEL options): nothing to weigh, no note.
    csv_log = tmp_path / "s.csv"
    csv_log.write_text("case,activity,time\nR1,Insert Invoice,2026-07-01T08:00Z\n"
                       "R1,Insert Payment,2026-07-02T08:00Z\n", encoding="utf-8")
    summary, output = _compare(tmp_path, csv_log, log, out="csv")
    assert "does not keep" not in output


def test_cases_made_by_inputs_that_disagree_cannot_be_told() -> None:
    """An import of an OCEL log and a CSV log together: its cases made partly by
    --object-type and partly by none, which cannot be told as one; a canonical input
    without its record likewise."""
    from audit.store import _made_by

    options = {"object_type": "Invoice", "follow_o2o": ["Purchase Order"]}
    ocel = {"file": "a.jsonocel", "system": "ocel"}
    assert _made_by({"options": options, "inputs": [ocel]}, "x.parquet") == {
        "object_type": "Invoice", "follow_o2o": ["Purchase Order"], "log": "x.parquet"}
    assert _made_by({"options": options,
                     "inputs": [ocel, {"file": "b.csv", "system": "csv"}]}, "x") is None
    assert _made_by({"options": None,
                     "inputs": [{"file": "b.parquet", "system": "parquet"}]}, "x") is None
    assert _made_by({"options": None, "inputs": [{"file": "b.csv", "system": "csv"}]},
                    "x") == {"object_type": None, "follow_o2o": []}
