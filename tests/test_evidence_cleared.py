"""A ticket's evidence item cleared by an update of its own (a store's refund ticket whose
photo is removed after it was recorded: ServiceNow writes the field's change to an empty
`newvalue`). No event carries the removal, and the item is still read as recorded by the
update that stated it, so the update is quarantined naming the field and the ticket, as an
update stating an item without an activity is. Before, it was skipped as an update of
nothing mapped, without a word: the auditor saw a photo on a refund whose photo had been
withdrawn before the payout."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit.cli import main

HEADER = ["sys_id", "tablename", "documentkey", "fieldname", "oldvalue", "newvalue", "user",
          "sys_created_on", "record_checkpoint", "reason"]


def _export(tmp_path: Path, last: list[tuple[str, str, str]]) -> Path:
    """One ticket: requested, its receipt and photo recorded, approved; then `last`, an
    update of its own (field, old value, new value)."""
    updates = [("10:00:00", [("number", "", "CS1"), ("u_order_number", "", "O-1"),
                             ("u_currency", "", "EUR"), ("state", "", "1"),
                             ("u_refund_stage", "", "requested"),
                             ("u_requested_amount", "", "40.00")]),
               ("10:05:00", [("u_refund_stage", "requested", "evidence_collected"),
                             ("u_receipt", "", "BER-01/1/000113"),
                             ("u_photo", "", "IMG_2013.jpg")]),
               ("11:00:00", [("u_refund_stage", "evidence_collected", "approved"),
                             ("u_approved_amount", "", "40.00")]),
               ("11:30:00", last)]
    rows = [HEADER]
    for checkpoint, (time, changes) in enumerate(updates):
        for field, old, new in changes:
            rows.append([f"s{checkpoint}{field}", "sn_customerservice_case", "doc1", field, old,
                         new, "anna.klein", f"2026-07-14 {time}", str(checkpoint), ""])
    path = tmp_path / "sys_audit.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _imported(tmp_path: Path, export: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, ["import", "--source", f"servicenow:{export}",
                                       "--assume-tz", "Europe/Berlin", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (result.output, pd.read_parquet(out),
            pd.read_csv(tmp_path / "log.quarantine.csv", dtype=str, keep_default_na=False))


def test_an_update_clearing_an_evidence_item_is_quarantined(tmp_path: Path) -> None:
    output, log, quarantine = _imported(
        tmp_path, _export(tmp_path, [("u_photo", "IMG_2013.jpg", "")]))
    assert "read 4 = imported 3 + quarantined 1" in output
    assert quarantine[["row", "field", "value", "case", "record_read"]].values.tolist() == [
        ["13", "u_photo", "", "CS1", "no"]]
    reason = quarantine["reason"].iloc[0]
    assert reason.startswith("the evidence item evidence:photo cleared (changed to empty) by "
                             "an update that states no activity")
    assert "the item is still read as recorded by the update that stated it" in reason
    # the photo as the log holds it: recorded by the evidence update
    assert log["evidence:photo"].dropna().tolist() == ["IMG_2013.jpg"]


def test_an_update_of_nothing_mapped_is_still_skipped(tmp_path: Path) -> None:
    # an assignment changed (nothing the sources configuration maps): no event, no line
    output, _, quarantine = _imported(
        tmp_path, _export(tmp_path, [("assignment_group", "", "Store BER-01")]))
    assert "read 3 = imported 3 + quarantined 0" in output
    assert quarantine.empty


def test_the_cleared_line_names_the_fields_row(tmp_path: Path) -> None:
    # the update's first row (13) changes the assignment; its photo's change is row 14
    output, _, quarantine = _imported(tmp_path, _export(
        tmp_path, [("assignment_group", "", "X"), ("u_photo", "IMG_2013.jpg", "")]))
    assert "read 4 = imported 3 + quarantined 1" in output
    assert quarantine[["row", "field", "case"]].values.tolist() == [["14", "u_photo", "CS1"]]


def test_an_empty_field_at_a_tickets_creation_clears_nothing(tmp_path: Path) -> None:
    """Zendesk's first audit of a ticket names each field with a Create event, null where
    the field has no value yet: an evidence item never recorded is not cleared. Before,
    every ticket created before its refund stage was set was quarantined for it. A later
    update clearing the recorded item still is."""
    def event(i: int, name: str, value: str | None, kind: str = "Create") -> dict[str, object]:
        return {"type": kind, "field_name": name, "value": value, "id": 8200000000 + i}

    def audit(i: int, time: str, events: list[dict[str, object]]) -> dict[str, object]:
        return {"id": i, "ticket_id": 40001, "created_at": f"2026-07-01T{time}Z",
                "author_id": 1, "via": {"channel": "web"}, "events": events}

    audits = [audit(1, "08:00:00", [event(1, "status", "new"), event(2, "360011110002", "EC-1"),
                                     event(3, "360011110003", "EUR"),
                                     event(4, "360011110001", None),
                                     event(5, "360011110004", None),
                                     event(6, "360011110008", None)]),
              audit(2, "09:00:00", [event(8, "360011110001", "requested", "Change"),
                                    event(9, "360011110004", "95.25", "Change")])]
    path = tmp_path / "z.json"

    def imported(name: str) -> tuple[str, pd.DataFrame]:
        path.write_text(json.dumps({"audits": audits, "users": [{"id": 1, "name": "Ann"}],
                                    "next_page": None, "count": len(audits)}),
                        encoding="utf-8")
        result = CliRunner().invoke(main, ["import", "--source", f"zendesk:{path}", "--out",
                                           str(tmp_path / f"{name}.parquet")])
        assert result.exit_code == 0, result.output
        return result.output, pd.read_csv(tmp_path / f"{name}.quarantine.csv", dtype=str,
                                          keep_default_na=False)

    output, quarantine = imported("created")
    assert "imported 1 + quarantined 0" in output
    assert quarantine.empty
    # the order evidence recorded at 09:30, removed at 10:00: that removal is told
    audits.append(audit(3, "09:30:00", [event(10, "360011110008", "EC-1", "Change"),
                                        event(11, "360011110001", "evidence_collected",
                                              "Change")]))
    audits.append(audit(4, "10:00:00", [event(12, "360011110008", None, "Change")]))
    output, quarantine = imported("removed")
    assert quarantine["field"].tolist() == ["360011110008"], output
    assert quarantine["reason"].iloc[0].startswith("the evidence item evidence:order cleared")
