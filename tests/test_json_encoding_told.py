"""--encoding decodes CSV inputs (generic logs, CSV exports, role histories); a JSON export
(Zendesk, Jira, a ServiceNow JSON pull) is read as UTF-8, as JSON is exchanged (RFC 8259),
whatever --encoding names. Before, an import or check given --encoding with a Zendesk or
Jira export recorded it as in effect without a word (discover's and compare's `import`
listed it among the options in effect, not in `not_applied`); now the import's notes say
it was not used, or decoded the CSVs only, naming the JSON exports, and `read_with` lists
it as not applied where no input read is decoded by it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from audit.cli import main
from audit.ingest import import_sources
from audit.store import read_with

EXPORTS = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample" / "exports"
ZENDESK = EXPORTS / "zendesk_ticket_audits.json"
JIRA = EXPORTS / "jira_issues.json"


def test_an_import_of_json_exports_alone_says_the_encoding_was_not_used(
        tmp_path: Path) -> None:
    for export in (ZENDESK, JIRA):
        result = CliRunner().invoke(main, ["import", str(export), "--encoding", "cp1252",
                                           "--out", str(tmp_path / f"{export.stem}.parquet")])
        assert result.exit_code == 0, result.output
        assert ("--encoding cp1252: no input is a CSV, the only kind it decodes (a JSON "
                "export is read as UTF-8, as JSON is written; an XES, OCEL or Parquet log "
                "states its own): not used") in result.output, result.output


def test_a_check_beside_csvs_names_the_json_exports_not_decoded(tmp_path: Path) -> None:
    result = import_sources([(ZENDESK, None), (JIRA, None),
                             (EXPORTS / "stripe_charges.csv", None),
                             (EXPORTS / "role_history.csv", None)], encoding="utf-8")
    told = [n for n in result.notes if n.startswith("--encoding")]
    assert told == ["--encoding utf-8 decodes the CSV inputs only: "
                    "zendesk_ticket_audits.json, jira_issues.json (JSON exports) read as "
                    "UTF-8, as JSON is written, not by it"]
    # CSVs alone: every input decoded by it, nothing told
    result = import_sources([(EXPORTS / "stripe_charges.csv", None),
                             (EXPORTS / "stripe_refunds.csv", None)], encoding="utf-8")
    assert not [n for n in result.notes if "--encoding" in n]


def test_read_with_lists_the_encoding_of_a_json_export_as_not_applied() -> None:
    """discovery.json's and compare.json's `import` of a log read from a JSON export: the
    encoding in `not_applied`, null among the options (as of a Parquet log); of a CSV
    export, in effect."""
    given = {"encoding": "cp1252"}
    for export, applied in ((ZENDESK, False), (JIRA, False),
                            (EXPORTS / "servicenow_sys_audit.csv", True)):
        imported = import_sources([(export, None)], encoding=given["encoding"])
        read = read_with(export, imported, given)
        assert read["not_applied"] == ([] if applied else ["encoding"]), (export, read)
        assert read["options"]["encoding"] == ("cp1252" if applied else None)
