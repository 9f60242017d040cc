"""A ticket's evidence item cleared by an update of its own (a store's refund ticket whose
photo is removed after it was recorded: ServiceNow writes the field's change to an empty
`newvalue`). No event carries the removal, and the item is still read as recorded by the
update that stated it, so the update is quarantined naming the field and the ticket, as an
update stating an item without an activity is. Before, it was skipped as an update of
nothing mapped, without a word: the auditor saw a photo on a refund whose photo had been
withdrawn before the payout."""

from __future__ import annotations

import csv
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
