"""JSON exports that escape half a character (a lone UTF-16 surrogate such as \\ud800).

Python's JSON decoder turns such an escape into a lone surrogate, which no Arrow column,
CSV, XLSX or HTML file can hold; the import used to fail with a traceback deep in pandas.
It now refuses the file with the record and the field, exit code 2. Surrogate pairs (how
JSON escapes an emoji) are one character and import as such.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.errors import InputError
from audit.ingest import import_sources
from audit.ingest.jsontext import lone_surrogate, may_hold
from audit.ingest.ocel import read_ocel

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "tests" / "data" / "sources"
OCEL = ROOT.parent / "shared" / "data" / "pm4py-tests" / "ocel" / "ocel20_example.jsonocel"


def _zendesk(tmp_path: Path, order: str, name: str = "Ann") -> Path:
    document = {"audits": [
        {"id": 1, "ticket_id": 101, "created_at": "2026-07-06T08:15:00Z", "author_id": 11,
         "events": [{"type": "Create", "field_name": "360011110001", "value": "requested"}]},
        {"id": 2, "ticket_id": 101, "created_at": "2026-07-06T09:15:00Z", "author_id": 11,
         "events": [{"type": "Change", "field_name": "360011110002", "value": order}]}],
        "users": [{"id": 11, "name": name}]}
    path = tmp_path / "zendesk_ticket_audits.json"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")  # ensure_ascii: \\u
    return path


def _second_audit_line(path: Path) -> int:
    """The line the second audit opens on (indent=1: an audit's "{" alone, two spaces in)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [k for k, line in enumerate(lines, start=1) if line == "  {"][1]


def test_a_lone_surrogate_in_zendesk_is_refused_with_record_and_field(tmp_path: Path) -> None:
    path = _zendesk(tmp_path, "EC-\ud800")
    assert "\\ud800" in path.read_text(encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_sources([(path, "zendesk")])
    assert (caught.value.record, caught.value.field) == (2, "events[0].value")
    assert caught.value.row == _second_audit_line(path) > 2, caught.value
    assert "lone UTF-16 surrogate" in caught.value.message
    assert "EC-\\ud800" in caught.value.message  # shown as an escape, printable


def test_a_lone_surrogate_in_a_zendesk_user_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        import_sources([(_zendesk(tmp_path, "EC-O1", name="An\udc00n"), "zendesk")])
    assert caught.value.field is not None and caught.value.field.startswith("users")


def test_a_surrogate_pair_is_one_character_and_imports(tmp_path: Path) -> None:
    path = _zendesk(tmp_path, "EC-O1 \U0001F600")
    assert "\\ud83d\\ude00" in path.read_text(encoding="utf-8")
    result = import_sources([(path, "zendesk")])
    assert "EC-O1 \U0001F600" in set(result.log["order:id"].dropna())


def test_a_lone_surrogate_in_jira_is_refused(tmp_path: Path) -> None:
    document = json.loads((SOURCES / "jira" / "issues.json").read_text(encoding="utf-8"))
    document["issues"][1]["changelog"]["histories"][0]["author"]["displayName"] = "\udfff"
    path = tmp_path / "jira_issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_sources([(path, "jira")])
    assert caught.value.record == 2
    assert caught.value.field == "changelog.histories[0].author.displayName"


@pytest.mark.skipif(not OCEL.is_file(), reason="needs ../shared/data")
def test_a_lone_surrogate_in_ocel_json_is_refused(tmp_path: Path) -> None:
    document = json.loads(OCEL.read_text(encoding="utf-8"))
    document["objects"][0]["id"] = "o\ud801"
    path = tmp_path / "log.jsonocel"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_ocel(path, "Invoice")
    assert caught.value.field == "objects[0].id"
    # Encoded surrogate bytes (not an escape) are not UTF-8: refused as such.
    raw = tmp_path / "raw.jsonocel"
    raw.write_bytes(OCEL.read_bytes().replace(b'"Invoice"', b'"Inv\xed\xa0\x80oice"', 1))
    with pytest.raises(InputError, match="not UTF-8"):
        read_ocel(raw, "Invoice")


def test_the_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    path = _zendesk(tmp_path, "EC-\ud800")
    result = CliRunner().invoke(main, ["import", str(path), "--out",
                                       str(tmp_path / "log.parquet")])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"{path}: record 2 (line {_second_audit_line(path)}): field 'events[0].value': " \
        "a text holds a lone UTF-16 surrogate" in lines[0], lines


def test_the_walk_reports_the_first_in_document_order() -> None:
    value = {"a": ["ok", {"b": "x\ud800"}], "c": "\udc00"}
    assert lone_surrogate(value) == ("a[1].b", "x\ud800")
    assert lone_surrogate({"k\ud800": 1}) == ("k\\ud800", "k\ud800")
    assert lone_surrogate({"a": ["\U0001F600"]}) is None
    assert may_hold('{"a": "\\ud83d\\ude00"}') and not may_hold('{"a": "\\u00e9"}')
