"""An evidence column of the log spelt otherwise than the policy's required one
(`evidence:Photo`, `evidence:payment-voucher`, `Evidence:usage` for `evidence:photo`,
`evidence:payment_voucher`, `evidence:usage`): missing-evidence reads the policy's columns as
written, so every case holding the item under the other spelling was found without it, with
nothing saying the item sat in the log. The run now warns, naming both columns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from audit.cli import main

HEAD = ["case:concept:name", "concept:name", "time:timestamp", "org:resource", "org:role",
        "refund:amount", "refund:currency", "refund:channel", "ticket:id", "order:id",
        "payment:charge_id", "payment:method", "payment:status"]
STEPS = [("Capture payment", "2026-08-20T10:00:00Z", "sys", "system"),
         ("Receive refund request", "2026-09-01T09:00:00Z", "Ann Agent", "customer-service"),
         ("Collect evidence", "2026-09-01T10:00:00Z", "Ann Agent", "customer-service"),
         ("Approve refund", "2026-09-02T10:00:00Z", "Sam Super", "supervisor"),
         ("Execute payout", "2026-09-03T10:00:00Z", "Pat Pay", "payments")]


def _log(path: Path, evidence: dict[str, dict[str, str]]) -> Path:
    """One paid case per channel; its `Collect evidence` holds `evidence[channel]`."""
    columns = sorted({c for items in evidence.values() for c in items})
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*HEAD, *columns])
        for n, (channel, items) in enumerate(evidence.items()):
            case = f"C{n}"
            for activity, time, who, role in STEPS:
                paying = activity in ("Capture payment", "Execute payout")
                writer.writerow([case, activity, time, who, role, "60.00", "EUR", channel,
                                 case, f"O{n}", f"CH{n}", "card" if paying else "",
                                 "succeeded" if paying else "",
                                 *[items.get(c, "") if activity == "Collect evidence" else ""
                                   for c in columns]])
    return path


def _run(tmp_path: Path, log: Path) -> tuple[list[str], dict[str, str]]:
    out = tmp_path / f"out-{log.stem}"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--format",
                                       "json", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    run = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    told = [w for w in run["manifest"]["warnings"] if "missing-evidence reads" in w]
    missing = {f["case_id"]: f["evidence"]["missing"] for f in run["findings"]
               if f["rule"] == "EV001"}
    return told, missing


def test_an_evidence_column_spelt_otherwise_is_told(tmp_path: Path) -> None:
    log = _log(tmp_path / "spelt.csv", {
        "ecommerce": {"evidence:order": "o.pdf", "evidence:payment-voucher": "v.pdf"},
        "subscription": {"evidence:renewal_date": "2026-08-20", "Evidence:usage": "3 of 30"},
        "offline": {"evidence:receipt": "r.jpg", "evidence:Photo": "p.jpg"}})
    told, missing = _run(tmp_path, log)
    # The findings stand as before (the column the policy names is missing) ...
    assert missing == {"C0": ["payment_voucher"], "C1": ["usage"], "C2": ["photo"]}
    # ... and the run says where the item is.
    assert told == [
        "the log's column 'Evidence:usage' (1 event with a value) is no column the policy's "
        "evidence requires, but is spelt like the required 'evidence:usage' (subscription): "
        "missing-evidence reads the policy's column as written, so a case whose item is in "
        "'Evidence:usage' is found without it; rename the column in the export (or a "
        "--mapping), or the policy's evidence entry",
        "the log's column 'evidence:Photo' (1 event with a value) is no column the policy's "
        "evidence requires, but is spelt like the required 'evidence:photo' (offline): "
        "missing-evidence reads the policy's column as written, so a case whose item is in "
        "'evidence:Photo' is found without it; rename the column in the export (or a "
        "--mapping), or the policy's evidence entry",
        "the log's column 'evidence:payment-voucher' (1 event with a value) is no column the "
        "policy's evidence requires, but is spelt like the required "
        "'evidence:payment_voucher' (ecommerce): missing-evidence reads the policy's column "
        "as written, so a case whose item is in 'evidence:payment-voucher' is found without "
        "it; rename the column in the export (or a --mapping), or the policy's evidence "
        "entry"]


def test_columns_spelt_as_required_or_unlike_any_are_not_told(tmp_path: Path) -> None:
    log = _log(tmp_path / "right.csv", {
        "ecommerce": {"evidence:order": "o.pdf", "evidence:payment_voucher": "v.pdf",
                      "evidence:chat_log": "c.txt"},
        "offline": {"evidence:receipt": "r.jpg", "evidence:photo": "p.jpg"}})
    assert _run(tmp_path, log) == ([], {})
