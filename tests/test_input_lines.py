"""Errors in a file that is no table name a line, not a row: OCEL 2.0 JSON, the ticketing
systems' JSON exports, and YAML (the policy, a --mapping file, anything `load_yaml` reads).
A JSON export's record is named as the record it is and the line it starts on ("record 3
(line 17)"); "row" is left to tables (CSV, XLSX, Parquet). Before, every one of these said
"row N", N a line for YAML and a record's ordinal for JSON."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.errors import InputError
from audit.ingest.jsontext import line_of_value, record_line
from audit.ingest.mapping import load_mapping
from audit.ingest.ocel import read_ocel
from audit.policy import load_policy
from audit.sources import read_source


def _line_of(text: str, needle: str, nth: int = 0) -> int:
    """The line (1-based) holding the `nth` occurrence of `needle`, found by hand."""
    found = [k for k, line in enumerate(text.splitlines(), start=1) if needle in line]
    return found[nth]


def _ocel(events: list[dict[str, object]]) -> str:
    """An OCEL 2.0 JSON log, pretty-printed: each event over several lines."""
    return json.dumps({"objectTypes": [{"name": "order", "attributes": []}], "eventTypes": [],
                       "objects": [{"id": "o1", "type": "order"}], "events": events},
                      indent=2)


def _event(eid: str, **more: object) -> dict[str, object]:
    return {"id": eid, "type": "pay", "time": "2022-01-01T10:00:00Z", "attributes": [],
            "relationships": [{"objectId": "o1"}], **more}


def test_an_ocel_json_event_is_named_by_record_and_line(tmp_path: Path) -> None:
    events = [_event("e1"), _event("e2"), _event("e3")]
    del events[2]["type"]
    text = _ocel(events)
    path = tmp_path / "log.jsonocel"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_ocel(path, "order")
    line = _line_of(text, '"id": "e3"') - 1  # (the event's "{" is the line before its id)
    assert (caught.value.record, caught.value.row, caught.value.field) == (3, line, "type")
    assert str(caught.value) == (f"{path}: record 3 (line {line}): field 'type': event 'e3': "
                                 "'type' is missing")


def test_an_ocel_event_refused_when_flattened_names_its_line(tmp_path: Path) -> None:
    """An error found after reading (an event id given twice) names the event's line too:
    in JSON the record's, in XML its element's."""
    text = _ocel([_event("e1"), _event("e2"), _event("e1")])
    path = tmp_path / "twice.jsonocel"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="given to two events") as caught:
        read_ocel(path, "order")
    line = _line_of(text, '"id": "e1"', 1) - 1
    assert f"twice.jsonocel: record 3 (line {line}): field 'id': " in str(caught.value)

    xml = "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>', "<log>",
        "<object-types><object-type name=\"order\"><attributes/></object-type></object-types>",
        "<event-types><event-type name=\"pay\"><attributes/></event-type></event-types>",
        '<objects><object id="o1" type="order"><attributes/></object></objects>',
        "<events>",
        *[f'<event id="{eid}" type="pay" time="2022-01-01T10:00:00Z">\n'
          '  <objects><relationship object-id="o1" qualifier=""/></objects>\n</event>'
          for eid in ("e1", "e2", "e1")],
        "</events>", "</log>"])
    path = tmp_path / "twice.xmlocel"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(InputError, match="given to two events") as caught:
        read_ocel(path, "order")
    line = _line_of(xml, '<event id="e1"', 1)
    assert f"twice.xmlocel: record 3 (line {line}): field 'id': " in str(caught.value)


def test_a_zendesk_json_lines_audit_is_named_by_its_line(tmp_path: Path) -> None:
    """JSON lines number their audits by line: "line 3", no record."""
    audit = {"id": 1, "ticket_id": 5, "created_at": "2026-07-06T08:15:00Z", "events": []}
    lines = [json.dumps(audit), "", json.dumps({**audit, "id": 2, "events": {"a": 1}})]
    path = tmp_path / "audits.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_source(path, "zendesk")
    assert (caught.value.record, caught.value.unit, caught.value.row) == (None, "line", 3)
    assert str(caught.value).startswith(f"{path}: line 3: field 'events': not a list")


def test_a_zendesk_audit_of_a_document_is_named_by_record_and_line(tmp_path: Path) -> None:
    audit = {"id": 1, "ticket_id": 5, "created_at": "2026-07-06T08:15:00Z", "events": []}
    text = json.dumps({"audits": [audit, {**audit, "id": 2, "author_id": True}]}, indent=2)
    path = tmp_path / "audits.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_source(path, "zendesk")
    line = _line_of(text, '"id": 2') - 1
    assert f"audits.json: record 2 (line {line}): field 'author_id': not " in str(caught.value)


def test_a_jira_issue_is_named_by_record_and_line(tmp_path: Path) -> None:
    issue = {"key": "A-1", "fields": {}, "changelog": {"histories": []}}
    text = json.dumps({"issues": [issue, {**issue, "key": "A-2", "fields": 5}]}, indent=2)
    path = tmp_path / "issues.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_source(path, "jira")
    line = _line_of(text, '"key": "A-2"') - 1
    assert f"issues.json: record 2 (line {line}): field 'fields': not an object" in str(
        caught.value)


def test_a_mapping_yaml_error_names_its_line_through_the_cli(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  case: order\ncolour: blue\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_mapping(mapping)
    assert (caught.value.unit, caught.value.row, caught.value.field) == ("line", 3, "colour")
    log = tmp_path / "log.csv"
    log.write_text("order,activity,timestamp\n1,a,2024-01-01T10:00:00Z\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(log), "--mapping", str(mapping),
                                       "--out", str(tmp_path / "log.parquet")])
    assert result.exit_code == 2, result.output
    assert f"{mapping}: line 3: field 'colour': unknown key 'colour'" in result.output


def test_a_yaml_file_that_does_not_parse_names_its_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nthresholds:\n  a: [1, 2\nsla: {}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_policy(policy)
    assert caught.value.unit == "line" and caught.value.record is None
    assert str(caught.value).startswith(f"{policy}: line {caught.value.row}: not valid YAML")
    assert caught.value.row in (3, 4)  # (the list left open on line 3; PyYAML sees it at 4)


def test_an_error_with_record_and_line_crosses_processes_whole() -> None:
    """A worker process's error (parallel import) arrives naming its record and line."""
    error = InputError("bad", file="a.json", record=3, line=17, field="x")
    again = pickle.loads(pickle.dumps(error))
    assert (again.record, again.unit, again.row, str(again)) == (
        3, "line", 17, "a.json: record 3 (line 17): field 'x': bad")
    assert str(pickle.loads(pickle.dumps(InputError("bad", file="a.json", record=3)))) == \
        "a.json: record 3: bad"
    assert str(error.again(field="y")) == "a.json: record 3 (line 17): field 'y': bad"
    with pytest.raises(ValueError, match="not both"):
        InputError("bad", row=2, record=3)


def test_a_json_value_and_record_are_found_by_their_line() -> None:
    text = '{"a": 1,\n "events": [\n  {"id": 1},\n  {"id": 2,\n   "x": [1,\n    2]}\n ]}'
    assert [line_of_value(text, ["events", k]) for k in range(3)] == [3, 4, None]
    assert line_of_value(text, ["events", 1, "x", 1]) == 6
    assert line_of_value(text, ["nothing"]) is None
    assert line_of_value('{"a": [\n1], "a": [2,\n3]}', ["a", 1]) == 3  # (the last "a")
    pages = '{"result": [\n{}]}\n{"records": [\n{},\n{}]}\n{"result":\n{}}'
    assert [record_line(pages, ("records", "result"), k) for k in range(1, 6)] == [
        2, 4, 5, 7, None]
    assert record_line('[\n{},\n\n{}]', ("audits",), 2) == 4
    assert record_line('{"audits": [\n{},\n{', ("audits",), 2) is None  # (broken before)


def test_an_ocel_sqlite_event_is_named_by_its_event_tables_row(tmp_path: Path) -> None:
    """An OCEL SQLite log is tables: an event refused once read is named by its row there."""
    import shutil
    import sqlite3

    path = tmp_path / "twice.sqlite"
    shutil.copy(Path(__file__).resolve().parents[2] / "shared" / "data" / "pm4py-tests"
                / "ocel" / "ocel20_example.sqlite", path)
    with sqlite3.connect(path) as connection:  # " e1" is e1 read stripped: an id twice
        connection.execute("INSERT INTO event VALUES (' e1', 'Create Purchase Requisition')")
        connection.execute("INSERT INTO event_CreatePurchaseRequisition SELECT ' e1', "
                           "ocel_time, pr_creator FROM event_CreatePurchaseRequisition "
                           "WHERE ocel_id = 'e1'")
        rows = connection.execute("SELECT count(*) FROM event").fetchone()[0]
    with pytest.raises(InputError, match="given to two events") as caught:
        read_ocel(path, "Purchase Requisition")
    assert (caught.value.unit, caught.value.row, caught.value.record) == ("row", rows, None)
    assert f"twice.sqlite: row {rows}: field 'id': " in str(caught.value)
