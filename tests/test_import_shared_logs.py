"""Importing the real logs in ../shared/data through the whole import path: documented counts,
nothing quarantined. The counts are the ones in docs/import.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import canonical as C
from audit.errors import InputError
from audit.ingest import import_sources

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pm4py-tests"


def _data(name: str) -> Path:
    path = DATA / name
    assert path.exists(), f"shared test data missing: {path} (see ../shared/data/README.md)"
    return path


@pytest.mark.parametrize("name,cases,events", [
    ("running-example.xes", 6, 42),
    ("08_receipt.xes.gz", 1434, 8577),
    ("helpdesk.xes.gz", 4580, 21348),
    pytest.param("bpic2012.xes.gz", 13087, 262200, marks=pytest.mark.slow),
])
def test_xes_logs_import_with_documented_counts(name: str, cases: int, events: int) -> None:
    result = import_sources([(_data(name), None)])
    assert result.quarantined == 0
    assert (result.read, result.imported) == (events, events)
    assert result.log[C.CASE].nunique() == cases
    assert C.validate(result.log) == []


@pytest.mark.parametrize("name,tz", [("ocel20_example.jsonocel", None),
                                     ("ocel20_example.xmlocel", "Europe/Amsterdam"),
                                     ("ocel20_example.sqlite", "Europe/Amsterdam")])
@pytest.mark.parametrize("object_type,cases,rows", [("Invoice", 3, 9), ("Payment", 3, 3),
                                                    ("Purchase Order", 2, 5),
                                                    ("Purchase Requisition", 1, 3)])
def test_ocel_example_flattens_with_documented_counts(
        name: str, tz: str | None, object_type: str, cases: int, rows: int) -> None:
    result = import_sources([(_data("ocel/" + name), None)], object_type=object_type,
                            assume_tz=tz)
    assert result.quarantined == 0
    assert result.imported == rows
    assert result.log[C.CASE].nunique() == cases
    assert C.validate(result.log) == []
    # The three encodings describe the same instants once the naive ones get their zone.
    reference = import_sources([(_data("ocel/ocel20_example.jsonocel"), None)],
                               object_type=object_type)
    assert sorted(result.log[C.TIMESTAMP]) == sorted(reference.log[C.TIMESTAMP])


def test_ocel_xml_without_time_zone_says_so() -> None:
    with pytest.raises(InputError, match="no time zone"):
        import_sources([(_data("ocel/ocel20_example.xmlocel"), None)], object_type="Invoice")


def test_ocel_without_object_type_lists_the_types() -> None:
    with pytest.raises(InputError, match="Invoice"):
        import_sources([(_data("ocel/ocel20_example.jsonocel"), None)])
