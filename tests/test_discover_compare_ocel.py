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
    options = {"object_type": "Invoice"} | (
        {"follow_o2o": ["Purchase Order"]} if follow else {})
    assert summary["import"]["options"] == options
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
    assert summary["import_options"] == {"assume_tz": "UTC", "object_type": "Invoice",
                                         "follow_o2o": ["Purchase Order"]}
    assert summary["differences"] == []
    for side in ("as_is", "to_be"):
        assert (summary[side]["cases"], summary[side]["variants"]) == (3, 2)
    assert ("note: to-be log: 2 of 13 events relate to no 'Invoice' object, directly or "
            "through a related 'Purchase Order' object" in result.output)
