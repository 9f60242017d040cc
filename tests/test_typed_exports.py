"""Zendesk's and Jira's typed reading (`_typed`) against their general path, on generated
exports with known variations: the same events, quarantine rows, notes and counts, or the
general path reads the file."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from audit.errors import InputError
from audit.ingest.jsontext import read_export
from audit.sources import jira, read_source, zendesk
from audit.sources.config import load_sources_config

CFG = load_sources_config()
STAGE = "360011110001"
VALUES = ["requested", "evidence_collected", "approved", "rejected", "Customer called back",
          "", None, 7, 2.5, 1e3, True, ["a", "b"], ["a", None, 3]]
# (an object as a value the mapping reads is refused: tested on its own below)
FIELDS = [STAGE, STAGE, "status", "360011110002", "360011110003", "360011110004",
          "360011110008", "360011110009", "tags", 5, None]


def _event(rng: random.Random, number: int) -> dict[str, Any]:
    kind = rng.choice(["Create", "Change", "Change", "Comment", "Notification", 3])
    event: dict[str, Any] = {"id": number, "type": kind}
    if rng.random() < 0.1:
        del event["type"]
    if kind == "Comment":
        if rng.random() < 0.8:
            event["public"] = rng.choice([True, False, None])  # (another kind: refused)
        event["body"] = "Refund is on its way."
    elif rng.random() < 0.95:
        event["field_name"] = STAGE if rng.random() < 0.4 else rng.choice(FIELDS)
        if rng.random() < 0.9:
            event["value"] = rng.choice(VALUES) if rng.random() < 0.3 else rng.choice(
                ["requested", "approved", "approved", "closed", "EUR", "49.90", "1.234,50"])
        event["previous_value"] = "x"
    return event


def _export(rng: random.Random, n: int, *, integer_ids: bool = False) -> dict[str, Any]:
    """`integer_ids`: every ticket and audit id an integer (as a rule: the record ids made
    in Arrow, `zendesk._record_ids`), some audit ids repeated on another ticket; else ids
    of every kind, some missing."""
    audits: list[dict[str, Any]] = []
    for k in range(n):
        if integer_ids:
            ticket: object = rng.choice([100 + k % 7, 0, -7, 2**63 - 1])
            mine = {a["id"] for a in audits if a["ticket_id"] == ticket}
            others = [a["id"] for a in audits[-20:] if a["id"] not in mine]
            audit_id: object = rng.choice(others) if others and rng.random() < 0.2 else \
                rng.choice([9000 + k, -k, 2**63 - 1 - k])
        else:
            ticket = rng.choice([100 + k % 7, f"T-{k % 5}"])
            audit_id = None if k == 3 else f"a{k}" if rng.random() < 0.2 else 9000 + k
        audit: dict[str, Any] = {
            "id": audit_id,
            "ticket_id": ticket,
            "created_at": rng.choice(["2026-07-06T08:15:00Z", "2026-07-06T10:00:00+02:00",
                                      "", "  ", "not a time", 20260706]),
            "via": {"channel": "web"},
            "events": [_event(rng, 10 * k + e) for e in range(rng.randrange(5))]}
        if rng.random() < 0.1 and not integer_ids:
            del audit["id"]
        author = rng.choice([11, 12, -1, "-1", "11", 99, None, "missing"])
        if author != "missing":
            audit["author_id"] = author
        if rng.random() < 0.05:
            audit["events"] = None
        audits.append(audit)
    return {"audits": audits, "users": [{"id": 11, "name": "Amira Haddad"},
                                        {"id": "12", "name": "Zoë Rossi"},
                                        {"id": 13}, "not a user"],
            "next_page": None, "count": n}


def _both(path: Path, monkeypatch: pytest.MonkeyPatch,
          system: str = "zendesk") -> tuple[Any, Any]:
    typed = read_source(path, system, config=CFG)
    with monkeypatch.context() as patch:
        patch.setattr(zendesk if system == "zendesk" else jira, "_typed", lambda *args: None)
        general = read_source(path, system, config=CFG)
    return typed, general


def _assert_same(typed: Any, general: Any) -> None:
    (table, quarantine), (table2, quarantine2) = typed, general
    pd.testing.assert_frame_equal(table.frame, table2.frame)
    pd.testing.assert_frame_equal(quarantine, quarantine2)
    assert table.rows.tolist() == table2.rows.tolist()
    assert (table.notes, table.records_read, table.deduplicated) == (
        table2.notes, table2.records_read, table2.deduplicated)


@pytest.mark.parametrize("seed", range(12))
def test_typed_reading_equals_the_general_path(
        tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    document = _export(rng, 150)
    path = tmp_path / "audits.json"
    ascii_only = rng.random() < 0.5
    path.write_text(json.dumps(document, ensure_ascii=ascii_only), encoding="utf-8")
    # The typed layout takes this file (ids are unique), so the comparison is not the
    # general path against itself; it decodes the bytes where they are ASCII, else the text.
    content = read_export(path)
    assert isinstance(content, bytes) == ascii_only
    assert zendesk._typed(path, content, CFG.ticketing["zendesk"]) is not None
    typed, general = _both(path, monkeypatch)
    assert len(typed[0].frame) > 15 and len(typed[1]) > 0  # events and quarantine rows
    _assert_same(typed, general)


@pytest.mark.parametrize("seed", range(8))
def test_typed_reading_with_integer_ids_equals_the_general_path(
        tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every id an integer: the record ids made in Arrow, told apart by the integers (some
    # audit ids repeated, on other tickets), those of audits with an empty time filtered
    # out. (The file above has text and missing ids: its record ids are texts.)
    rng = random.Random(seed)
    document = _export(rng, 150, integer_ids=True)
    assert len({a["id"] for a in document["audits"]}) < len(document["audits"])
    path = tmp_path / "audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    made = []
    record_ids = zendesk._record_ids

    def spied(tickets: list[object], ids: list[object]) -> Any:
        made.append(record_ids(tickets, ids))
        return made[-1]

    monkeypatch.setattr(zendesk, "_record_ids", spied)
    assert zendesk._typed(path, read_export(path), CFG.ticketing["zendesk"]) is not None
    assert made and all(isinstance(keys, pa.Array) for keys in made)
    typed, general = _both(path, monkeypatch)
    assert len(typed[0].frame) > 15
    assert (typed[1]["reason"] == "empty timestamp").sum() > 5
    _assert_same(typed, general)


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d["audits"].append(dict(d["audits"][0])), "an audit id read twice"),
    (lambda d: d["audits"].append({**d["audits"][0], "created_at": "2027-01-01T00:00:00Z"}),
     "an audit id read twice, with other content"),
    (lambda d: d["audits"][1].update(ticket_id=1.5), "a ticket id that is not an id"),
    (lambda d: d["audits"][1].update(author_id=True), "an author id that is a boolean"),
    (lambda d: d["audits"][1].update(events={}), "events that are an empty object"),
    (lambda d: d["audits"][1]["events"].append("x"), "an event that is not an object"),
    (lambda d: d.update(users={}), "users that are an empty object"),
    (lambda d: d["audits"][1].update(created_at="2026-07-06T08:15:00Z \ud83d\ude00"),
     "an escaped surrogate pair"),
    (lambda d: d["audits"][1].pop("events"), "an audit without events"),
])
def test_the_general_path_reads_what_the_typed_layout_does_not_take(
        tmp_path: Path, change: Any, why: str) -> None:
    document = _export(random.Random(1), 20)
    for k, audit in enumerate(document["audits"]):
        audit["id"], audit["events"] = 5000 + k, audit["events"] or []
    _hands_over(tmp_path, "zendesk", document, change, why)


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d["audits"].append(dict(d["audits"][0])), "an audit id read twice"),
    (lambda d: d["audits"].append({**d["audits"][5], "created_at": ""}),
     "an audit id read twice, once with an empty time"),
])
def test_integer_ids_hand_over_to_the_general_path(tmp_path: Path, change: Any,
                                                    why: str) -> None:
    # (the record ids made in Arrow: a repeated one told by the integers)
    _hands_over(tmp_path, "zendesk", _export(random.Random(3), 20, integer_ids=True),
                change, why)


def _hands_over(tmp_path: Path, system: str, document: dict[str, Any], change: Any,
                why: str) -> None:
    """The export as generated is taken by the typed layout; `change` makes it hand over to
    the general path, which then gives its records or its error (an InputError, whose record
    and field tests/test_sources_ticketing.py checks), never another exception."""
    typed = (zendesk if system == "zendesk" else jira)._typed
    cfg = CFG.ticketing[system]
    path = tmp_path / f"{system}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert typed(path, read_export(path), cfg) is not None
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")
    assert typed(path, read_export(path), cfg) is None, why
    with contextlib.suppress(InputError):
        read_source(path, system, config=CFG)


def test_json_lines_and_bare_lists_are_read_by_the_general_path(tmp_path: Path) -> None:
    document = _export(random.Random(2), 10)
    for k, audit in enumerate(document["audits"]):
        audit["id"] = 7000 + k
    lines = tmp_path / "audits.jsonl"
    lines.write_text("\n".join(json.dumps(a) for a in document["audits"]), encoding="utf-8")
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(document["audits"]), encoding="utf-8")
    cfg = CFG.ticketing["zendesk"]
    for path in (lines, bare):
        assert zendesk._typed(path, read_export(path), cfg) is None
    # Both read as the export without users would be.
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"audits": document["audits"]}), encoding="utf-8")
    assert zendesk._typed(wrapped, read_export(wrapped), cfg) is not None
    expected = read_source(wrapped, "zendesk", config=CFG)[0].frame
    for path in (lines, bare):
        pd.testing.assert_frame_equal(read_source(path, "zendesk", config=CFG)[0].frame,
                                      expected)


STATUSES = ["Evidence Collected", "Pro-rata Calculated", "Approved", "Rejected", "Closed",
            "Customer Notified", "Waiting", None, 3, True, 1e3]


def _history(rng: random.Random, number: int) -> Any:
    history: dict[str, Any] = {
        "id": rng.choice([str(number), number, None]),
        "author": rng.choice([{"displayName": "Ben Carter"}, {"name": "Zoë"},
                              {"accountId": "5b10"}, {}, None, "Ben"]),
        "created": "2026-07-06T11:00:00.000+0200" if rng.random() < 0.7 else rng.choice(
            ["2026-07-06T11:00:00Z", "", "7 July", 5, None]),
        "items": [{"field": rng.choice(["status", "status", "Pro-rata amount", "Usage",
                                        "Renewal date", "Approved amount", 4]),
                   "fieldtype": "jira", "fromString": None,
                   "toString": rng.choice([*STATUSES, "19.99", "1.234,50"]),
                   **({"fieldId": rng.choice(["customfield_10060", "customfield_10050", "",
                                              None])}
                      if rng.random() < 0.3 else {})}
                  for _ in range(rng.randrange(3))]}
    for name in ("id", "author", "created", "items"):
        if rng.random() < 0.08:
            del history[name]
    return history


def _issues(rng: random.Random, n: int) -> dict[str, Any]:
    issues = []
    for k in range(n):
        fields: dict[str, Any] = {
            "summary": "Refund request", "status": {"name": "Closed"},
            "created": rng.choice(["2026-07-06T10:15:00.000+0200", "", None, "yesterday"]),
            "reporter": rng.choice([{"displayName": "Ben Carter"}, None]),
            "customfield_10050": rng.choice(["SU-O7001", "", None, 7001]),
            "customfield_10051": rng.choice(["EUR", "USD", ""]),
            "customfield_10052": rng.choice(["19.99", "", None, 19.99, "1.234,50"])}
        changelog: Any = {"startAt": 0, "histories": [
            _history(rng, 100 * k + h) for h in range(rng.randrange(5))]}
        if rng.random() < 0.05:
            changelog = rng.choice([None, {}, {"histories": None}])
        issues.append({"key": rng.choice([f"RFD-{k}", f"RFD-{k}", k]), "fields": fields,
                       "changelog": changelog})
    issues.insert(20, json.loads(json.dumps(issues[3])))  # exported twice: deduplicated
    twin = json.loads(json.dumps(issues[5]))
    twin["fields"]["summary"] = "Changed"  # same key, other content: quarantined
    issues.insert(10, twin)  # (early: bad times read later are put after its row)
    return {"startAt": 0, "maxResults": n, "total": n, "issues": issues}


@pytest.mark.parametrize("seed", range(12))
def test_jira_typed_reading_equals_the_general_path(
        tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    path = tmp_path / "issues.json"
    ascii_only = rng.random() < 0.5
    path.write_text(json.dumps(_issues(rng, 60), ensure_ascii=ascii_only), encoding="utf-8")
    content = read_export(path)
    assert isinstance(content, bytes) == ascii_only
    assert jira._typed(path, content, CFG.ticketing["jira"]) is not None
    typed, general = _both(path, monkeypatch, "jira")
    assert len(typed[0].frame) > 15 and len(typed[1]) > 0 and typed[0].deduplicated
    _assert_same(typed, general)


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d["issues"][1].update(key=1.5), "a key that is not a key"),
    (lambda d: d["issues"][1].update(fields=[]), "fields that are an empty list"),
    (lambda d: d["issues"][1].update(changelog=0), "a changelog that is zero"),
    (lambda d: d["issues"][1].update(changelog={"histories": {}}), "histories as an object"),
    (lambda d: d["issues"][1].update(changelog={"histories": [{"items": [1]}]}),
     "an item that is not an object"),
    (lambda d: d["issues"][1].pop("changelog"), "an issue without changelog"),
    (lambda d: d["issues"][1]["fields"].update(summary="\ud83d\ude00"),
     "an escaped surrogate pair"),
    (lambda d: d.update(issues=None), "issues that are null"),
])
def test_jira_general_path_reads_what_the_typed_layout_does_not_take(
        tmp_path: Path, change: Any, why: str) -> None:
    _hands_over(tmp_path, "jira", _issues(random.Random(1), 10), change, why)


HOSTILE_IDS = [True, False, 1.5, 1e3, ["10001"], {"id": 10001}]


def _read_both(path: Path, system: str) -> list[str]:
    """The outcome of reading `path` on the typed path and on the general one: each the
    InputError's text (either is refused), the same for both."""
    outcomes = []
    module = zendesk if system == "zendesk" else jira
    for typed in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            if not typed:
                patch.setattr(module, "_typed", lambda *args: None)
            with pytest.raises(InputError) as caught:
                read_source(path, system, config=CFG)
        outcomes.append(str(caught.value))
    assert outcomes[0] == outcomes[1]
    return outcomes


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_a_jira_history_id_that_is_no_id_is_refused_on_both_paths(
        tmp_path: Path, value: object) -> None:
    # (not jira:RFD-0:True or jira:RFD-0:{'id': 10001}: Zendesk refuses such an id too)
    document = _issues(random.Random(1), 10)
    document["issues"][2]["changelog"] = {"histories": [
        {"id": "1", "created": "2026-07-06T11:00:00.000+0200", "items": []},
        {"id": value, "created": "2026-07-06T11:00:00.000+0200", "items": []}]}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    message = _read_both(path, "jira")[0]
    assert "record 3 (line 1): field 'changelog.histories[1].id': not an id (a number or a text)" \
        in message


NOT_NAMES = [True, 1.5, ["Amira"], {"name": "Amira"}]


@pytest.mark.parametrize("value", NOT_NAMES)
def test_a_zendesk_user_name_that_is_no_text_is_refused_on_both_paths(
        tmp_path: Path, value: object) -> None:
    # (not the person "True" or "{'name': 'Amira'}" for every audit of that author)
    document = _export(random.Random(1), 10)
    for k, audit in enumerate(document["audits"]):
        audit["id"] = 5000 + k
    document["users"][1]["name"] = value
    path = tmp_path / "audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert "field 'users[1].name': not a user's name (a text)" in _read_both(
        path, "zendesk")[0]


@pytest.mark.parametrize("value", [True, 1.5, [11], {"id": 11}])
def test_a_zendesk_user_id_that_is_no_id_is_refused(tmp_path: Path, value: object) -> None:
    document = _export(random.Random(1), 10)
    document["users"][0]["id"] = value
    path = tmp_path / "audits.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert "field 'users[0].id': not an id (a number or a text)" in _read_both(
        path, "zendesk")[0]


def test_zendesk_users_without_a_usable_name_are_named_by_their_id(tmp_path: Path) -> None:
    """A null, empty or blank name, or none: the author is shown by the id, never as
    "None"; a user with a null id names no one. JSON lines of users read alike."""
    audits = [{"id": 1, "ticket_id": 7, "created_at": "2026-07-06T08:15:00Z",
               "author_id": author,
               "events": [{"type": "Change", "field_name": STAGE, "value": "approved"}]}
              for author in (21, 22, 23, 24, "None")]
    for k, audit in enumerate(audits):
        audit["id"] = 100 + k
    users: list[Any] = [{"id": 21, "name": None}, {"id": 22, "name": ""},
                        {"id": 23, "name": "  "}, {"id": 24}, {"id": None, "name": "Ghost"}]
    expected = ["21", "22", "23", "24", "None"]
    document = tmp_path / "audits.json"
    document.write_text(json.dumps({"audits": audits, "users": users}), encoding="utf-8")
    lines = tmp_path / "audits.jsonl"
    lines.write_text("\n".join([*(json.dumps({"user": u}) for u in users),
                                *(json.dumps(a) for a in audits)]), encoding="utf-8")
    for path in (document, lines):
        frame = read_source(path, "zendesk", config=CFG)[0].frame
        assert frame["org:resource"].tolist() == expected, path.name


@pytest.mark.parametrize("value", NOT_NAMES)
def test_a_jira_display_name_that_is_no_text_is_refused_on_both_paths(
        tmp_path: Path, value: object) -> None:
    document = _issues(random.Random(1), 10)
    document["issues"][2]["changelog"] = {"histories": [
        {"id": "1", "created": "2026-07-06T11:00:00.000+0200", "items": [],
         "author": {"displayName": value, "accountId": "5b10"}}]}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert ("record 3 (line 1): field 'changelog.histories[0].author.displayName': not a "
            "person's name (a text)") in _read_both(path, "jira")[0]
    document["issues"][2]["changelog"] = {"histories": []}
    document["issues"][2]["fields"]["reporter"] = {"name": value}
    path.write_text(json.dumps(document), encoding="utf-8")
    assert "record 3 (line 1): field 'fields.reporter.name': not a person's name (a text)" in \
        _read_both(path, "jira")[0]


ORDER = "360011110002"  # (the Zendesk mapping's order field; tags are read too)
VOUCHER = "360011110009"  # (its evidence field of the payment voucher)


def _audit_with(tmp_path: Path, name: str, value: object) -> Path:
    """One audit requesting a refund, changing field `name` to `value` as well."""
    events = [{"type": "Create", "field_name": STAGE, "value": "requested"},
              {"type": "Create", "field_name": name, "value": value}]
    path = tmp_path / "audits.json"
    path.write_text(json.dumps({"audits": [
        {"id": 1, "ticket_id": 7, "created_at": "2026-07-06T08:15:00Z", "author_id": 11,
         "events": events}]}).replace('"1E3"', "1e3"), encoding="utf-8")
    return path


@pytest.mark.parametrize(("value", "read"), [
    (7001, "7001"), (2.5, "2.5"), ("1E3", "1000"), (True, "true"), (False, "false"),
    ("  ", "  "), (123456789012345678901234567890, "123456789012345678901234567890")])
def test_zendesk_values_of_other_kinds_are_read_as_json_writes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: object, read: str) -> None:
    # (true as "true", not Python's "True"; a whole float without ".0"; null tags skipped)
    typed, general = _both(_audit_with(tmp_path, ORDER, value), monkeypatch)
    _assert_same(typed, general)
    assert typed[0].frame["order:id"].tolist() == [read]


def test_a_zendesk_list_is_joined_where_read_so_and_quarantined_where_one_value_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A list in an evidence field is read as its items joined by spaces (tags, a
    multi-select), null items skipped; in the order field, read as one value, it was read
    so too ("EC 7"): now that value is quarantined naming the field, and its audit read
    without it (an order the audit stated before the list taken back: the list is its last
    word), on the typed path as on the general one. Before this, the whole audit was
    quarantined, its request with it."""
    typed, general = _both(_audit_with(tmp_path, VOUCHER, ["EC", None, 7]), monkeypatch)
    _assert_same(typed, general)
    assert typed[0].frame["evidence:payment_voucher"].tolist() == ["EC 7"]
    path = _audit_with(tmp_path, ORDER, ["EC", None, 7])
    document = json.loads(path.read_text(encoding="utf-8"))
    document["audits"][0]["events"].insert(1, {"type": "Create", "field_name": ORDER,
                                               "value": "EC-O1"})
    later = {**document["audits"][0], "id": 2, "created_at": "2026-07-06T09:00:00Z"}
    later["events"] = [{"type": "Comment", "public": True, "body": "Refunded."}]
    document["audits"].append(later)
    path.write_text(json.dumps(document), encoding="utf-8")
    typed, general = _both(path, monkeypatch)
    _assert_same(typed, general)
    table, quarantine = typed
    assert quarantine[["row", "field", "value"]].values.tolist() == [
        [1, ORDER, '["EC", null, 7]']]
    assert quarantine["reason"].tolist() == [
        "a list where an order number is expected (the mapping reads this field as one "
        "value); this field alone is not read: the audit is read without it"]
    assert table.frame["concept:name"].tolist() == ["Receive refund request",
                                                    "Notify customer"]
    assert table.frame["order:id"].isna().all()
    assert zendesk._typed(path, read_export(path), CFG.ticketing["zendesk"]) is not None


@pytest.mark.parametrize(("name", "value"), [
    (ORDER, {"a": 1}), (VOUCHER, [["EC"]]), (VOUCHER, [{"a": 1}])])
def test_a_zendesk_value_that_is_an_object_is_refused_where_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: object) -> None:
    # (not the order id "{'a': 1}"); a field the mapping does not read may hold one
    message = _read_both(_audit_with(tmp_path, name, value), "zendesk")[0]
    assert "record 1 (line 1): field 'events[1].value': not a field's value (a text, a number, " \
        "true/false or a list of them)" in message
    typed, general = _both(_audit_with(tmp_path, "subject", value), monkeypatch)
    _assert_same(typed, general)
    assert len(typed[0].frame) == 1


def _history_with(tmp_path: Path, value: object, field: str = "status") -> Path:
    document = _issues(random.Random(1), 10)
    document["issues"][2]["changelog"] = {"histories": [
        {"id": "1", "created": "2026-07-06T11:00:00.000+0200", "items": [
            {"field": "Usage", "toString": "x"}, {"field": field, "toString": value}]}]}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document).replace('"1E3"', "1e3"), encoding="utf-8")
    return path


@pytest.mark.parametrize(("value", "read"), [
    (True, "true"), (3, "3"), ("1E3", "1000"), (2.5, "2.5")])
def test_jira_item_values_of_other_kinds_read_as_json_writes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: object, read: str) -> None:
    # (an unmapped status stays visible as its own activity: "true", not Python's "True")
    typed, general = _both(_history_with(tmp_path, value), monkeypatch, "jira")
    _assert_same(typed, general)
    assert read in typed[0].frame["concept:name"].tolist()


@pytest.mark.parametrize("value", [{"a": 1}, ["Approved"]])
def test_a_jira_item_value_that_is_an_object_is_refused_where_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: object) -> None:
    assert "record 3 (line 1): field 'changelog.histories[0].items[1].toString': not a text" in \
        _read_both(_history_with(tmp_path, value), "jira")[0]
    typed, general = _both(_history_with(tmp_path, value, "Summary"), monkeypatch, "jira")
    _assert_same(typed, general)


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_audit_or_history_id_is_no_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    """As a null one: each record is named by its place in the file, none quarantined as
    the same id (zendesk:7: for every audit of ticket 7)."""
    audits = [{"id": blank, "ticket_id": 7, "created_at": f"2026-07-0{day}T08:15:00Z",
               "author_id": 11,
               "events": [{"type": "Change", "field_name": STAGE, "value": "approved"}]}
              for day in (6, 7, 8)]
    path = tmp_path / "audits.json"
    path.write_text(json.dumps({"audits": audits}), encoding="utf-8")
    typed, general = _both(path, monkeypatch)
    _assert_same(typed, general)
    assert typed[0].frame["event:id"].tolist() == [f"zendesk:7:row{k}" for k in (1, 2, 3)]
    assert typed[1].empty
    document = _issues(random.Random(1), 10)
    document["issues"][2]["changelog"] = {"histories": [
        {"id": blank, "created": f"2026-07-0{day}T11:00:00.000+0200",
         "items": [{"field": "status", "toString": "Approved"}]} for day in (6, 7)]}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    typed, general = _both(path, monkeypatch, "jira")
    _assert_same(typed, general)
    ids = typed[0].frame["event:id"].tolist()
    key = document["issues"][2]["key"]
    assert f"jira:{key}:" + blank not in ids and len(
        [i for i in ids if i.startswith(f"jira:{key}:row")]) == 2


@pytest.mark.parametrize("created", [None, "", "  ", False, 0, [], "missing"])
def test_a_jira_issue_whose_creation_has_no_time_is_quarantined(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, created: object) -> None:
    """Its creation (Receive refund request, with the requested amount) is not lost
    without a line: quarantined at the issue's record, naming fields.created."""
    document = _issues(random.Random(1), 10)
    issue = document["issues"][2]
    issue["changelog"] = {"histories": []}
    issue["fields"]["created"] = "2026-07-06T10:15:00.000+0200"
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    table = read_source(path, "jira", config=CFG)[0]
    creation = f"jira:{issue['key']}:created"
    row = int(table.rows[table.frame["event:id"].tolist().index(creation)])
    if created == "missing":
        del issue["fields"]["created"]
    else:
        issue["fields"]["created"] = created
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    typed, general = _both(path, monkeypatch, "jira")
    _assert_same(typed, general)
    lines = typed[1][typed[1]["case"] == str(issue["key"])]
    assert lines[["row", "field"]].values.tolist() == [[row, "fields.created"]]
    assert creation not in typed[0].frame["event:id"].tolist()


@pytest.mark.parametrize(("created", "text"), [
    (None, None), (True, "true"), ({"a": 1}, '{"a": 1}'), (["x", None], '["x", null]')])
def test_a_zendesk_time_of_another_kind_is_shown_as_json_writes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, created: object,
        text: str | None) -> None:
    """A null created_at is an empty timestamp, quarantined by the reader (not the time
    "None"); another kind reaches the normaliser, which quarantines it showing its text,
    as JSON writes it (not Python's "True" or "{'a': 1}")."""
    path = _audit_with(tmp_path, ORDER, "EC-1")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["audits"][0]["created_at"] = created
    path.write_text(json.dumps(document), encoding="utf-8")
    typed, general = _both(path, monkeypatch)
    _assert_same(typed, general)
    if text is None:
        assert typed[1][["row", "field", "value", "reason"]].values.tolist() == [
            [1, "created_at", "", "empty timestamp"]]
    else:
        assert typed[0].frame["time:timestamp"].tolist() == [text]


@pytest.mark.parametrize(("created", "text"), [
    (True, "true"), ({"a": 1}, '{"a": 1}'), (None, ""), (1e3, "1000.0")])
def test_a_jira_time_of_another_kind_is_quarantined_showing_its_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, created: object, text: str) -> None:
    document = _issues(random.Random(1), 10)
    document["issues"][2]["changelog"] = {"histories": [
        {"id": "1", "created": created, "items": [{"field": "status", "toString": "x"}]}]}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    typed, general = _both(path, monkeypatch, "jira")
    _assert_same(typed, general)
    key = str(document["issues"][2]["key"])
    lines = typed[1][(typed[1]["case"] == key) & (typed[1]["field"] == "created")]
    assert lines["value"].tolist() == [text]


@pytest.mark.parametrize("public", ["false", "no", 0, 1, [], {"a": 1}])
def test_a_zendesk_comment_public_that_is_no_boolean_is_refused(
        tmp_path: Path, public: object) -> None:
    # (not a public comment for "false", as bool("false") took it: a customer notified)
    path = _audit_with(tmp_path, ORDER, "EC-1")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["audits"][0]["events"].append({"type": "Comment", "public": public})
    path.write_text(json.dumps(document), encoding="utf-8")
    assert "record 1 (line 1): field 'events[2].public': not true or false" in _read_both(
        path, "zendesk")[0]


@pytest.mark.parametrize(("public", "shown"), [(True, True), (False, False), (None, False)])
def test_a_zendesk_comment_public_true_false_or_null(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, public: object, shown: bool) -> None:
    path = _audit_with(tmp_path, ORDER, "EC-1")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["audits"][0]["events"] = [{"type": "Comment", "public": public}]
    path.write_text(json.dumps(document), encoding="utf-8")
    typed, general = _both(path, monkeypatch)
    _assert_same(typed, general)
    frame = typed[0].frame
    assert (len(frame) > 0 and "Notify customer" in frame["concept:name"].tolist()) == shown


@pytest.mark.parametrize(("author", "person"), [
    ("Ben Carter", "Ben Carter"), (5010, "5010"), (None, None), ("  ", None),
    (True, "refused"), (1.5, "refused"), (["Ben"], "refused")])
def test_a_jira_author_that_is_no_object(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, author: object,
        person: str | None) -> None:
    """A text (or a whole number) is the person, as an object's displayName would be;
    another kind is refused naming the field, not read as no one."""
    document = _issues(random.Random(1), 10)
    document["issues"][2]["changelog"] = {"histories": [
        {"id": "1", "created": "2026-07-06T11:00:00.000+0200", "author": author,
         "items": [{"field": "status", "toString": "Approved"}]}]}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    if person == "refused":
        assert ("record 3 (line 1): field 'changelog.histories[0].author': not a person"
                in _read_both(path, "jira")[0])
        return
    typed, general = _both(path, monkeypatch, "jira")
    _assert_same(typed, general)
    frame = typed[0].frame
    row = frame[frame["event:id"] == f"jira:{document['issues'][2]['key']}:1"]
    assert len(row) == 1
    if person is None:
        assert row["org:resource"].isna().all()
    else:
        assert row["org:resource"].tolist() == [person]


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_zendesk_author_id_names_no_one(
        tmp_path: Path, blank: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty or blank `author_id` states no person, as a null one: before, it became
    the person named by blanks (whom a four-eyes check takes for one person), on every
    Zendesk path: the typed layout, the general path, JSON lines and the ticket events."""
    audits = [{"id": 100 + k, "ticket_id": 7, "created_at": f"2026-07-06T0{k}:15:00Z",
               "author_id": author,
               "events": [{"type": "Change", "field_name": STAGE, "value": "approved"}]}
              for k, author in enumerate([blank, 11, None])]
    document = tmp_path / "audits.json"
    document.write_text(json.dumps({"audits": audits, "users": [{"id": 11, "name": "A"}]}),
                        encoding="utf-8")
    typed, general = _both(document, monkeypatch)
    lines = tmp_path / "audits.jsonl"
    lines.write_text("\n".join(json.dumps(a) for a in audits), encoding="utf-8")
    events = tmp_path / "ticket_events.json"
    events.write_text(json.dumps({"ticket_events": [
        {"id": 9000 + k, "ticket_id": 7, "created_at": audit["created_at"],
         "updater_id": audit["author_id"], "event_type": "Audit", "child_events": [
             {"id": 90000 + k, "event_type": "Change",
              "custom_ticket_fields": {STAGE: "approved"}}]}
        for k, audit in enumerate(audits)]}), encoding="utf-8")
    for name, table in (("typed", typed[0]), ("general", general[0]),
                        ("lines", read_source(lines, "zendesk", config=CFG)[0]),
                        ("events", read_source(events, "zendesk", config=CFG)[0])):
        resources = table.frame["org:resource"].tolist()
        assert pd.isna(resources[0]) and pd.isna(resources[2]), (name, resources)
        assert resources[1] in ("A", "11"), (name, resources)


@pytest.mark.parametrize(("author", "person"), [
    ({"displayName": "Ben Carter", "name": "ben", "accountId": "5b10"}, "Ben Carter"),
    ({"displayName": "  ", "name": "ben", "accountId": "5b10"}, "ben"),
    ({"displayName": None, "name": "", "accountId": "5b10"}, "5b10"),
    ({"displayName": 7, "accountId": "5b10"}, "7"),
    ({"accountId": 5010, "self": "https://x", "avatarUrls": {"48x48": "a.png"}}, "5010"),
    ({"displayName": ""}, None),
    # (a deleted account: its account id tells it from another; the typed loop's shortcut
    # for a displayName once took "Former user" as the person)
    ({"displayName": "Former user", "accountId": "557058:aa"}, "Former user (557058:aa)"),
    ({"displayName": " former USER ", "accountId": "unknown"}, None),
    ({}, None)])
def test_a_jira_author_read_by_the_typed_layout_is_named_as_the_general_path_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, author: dict[str, object],
        person: str | None) -> None:
    """The typed layout keeps of a history's author only the names it reads (displayName,
    else name, else accountId, the first stated): the person is the general path's, and
    the typed layout reads the file (no hand-over)."""
    document = _issues(random.Random(1), 10)
    key = document["issues"][2]["key"]
    document["issues"][2]["changelog"] = {"histories": [
        {"id": "1", "created": "2026-07-06T11:00:00.000+0200", "author": author,
         "items": [{"field": "status", "toString": "Approved"}]}]}
    _read_alike(tmp_path, monkeypatch, document, f"jira:{key}:1", person)


def test_zendesk_audits_left_out_keep_the_updates_after_them_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit quarantined by the typed loop (a blank time) is no update, and one with a
    list for one value an update without that field: the updates after them keep their own
    changes, ids and rows (the loop collects the updates column-wise and numbers the
    changes by the updates made)."""
    audits = [{"id": 100 + k, "ticket_id": 7 + k % 2, "created_at": created,
               "author_id": 11, "events": events}
              for k, (created, events) in enumerate([
                  ("2026-07-06T08:15:00Z", [{"type": "Create", "field_name": STAGE,
                                             "value": "requested"},
                                            {"type": "Create", "field_name": ORDER,
                                             "value": "EC-1"}]),
                  ("  ", [{"type": "Change", "field_name": STAGE, "value": "approved"}]),
                  ("2026-07-06T09:15:00Z", [{"type": "Change", "field_name": STAGE,
                                             "value": "evidence_collected"},
                                            {"type": "Change", "field_name": ORDER,
                                             "value": ["EC-2", "EC-3"]}]),
                  ("2026-07-06T10:15:00Z", [{"type": "Change", "field_name": STAGE,
                                             "value": "approved"},
                                            {"type": "Comment", "public": True}]),
                  ("2026-07-06T11:15:00Z", [{"type": "Change", "field_name": STAGE,
                                             "value": "rejected"}])])]
    path = tmp_path / "audits.json"
    path.write_text(json.dumps({"audits": audits}), encoding="utf-8")
    assert zendesk._typed(path, read_export(path), CFG.ticketing["zendesk"]) is not None
    typed, general = _both(path, monkeypatch)
    _assert_same(typed, general)
    table, quarantine = typed
    assert quarantine["row"].tolist() == [2, 3]
    frame = table.frame
    assert frame[["event:id", "concept:name", "order:id"]].to_dict("list") == {
        "event:id": ["zendesk:7:100", "zendesk:7:102", "zendesk:7:104", "zendesk:8:103"],
        "concept:name": ["Receive refund request", "Collect evidence", "Reject refund",
                         "Approve refund"],
        "order:id": ["EC-1", "EC-1", "EC-1", None]}
    assert table.rows.tolist() == [1, 3, 5, 4]


@pytest.mark.parametrize(("reporter", "person"), [
    ({"displayName": "Ben Carter", "name": "ben"}, "Ben Carter"),
    ({"displayName": "  ", "name": "ben"}, "ben"),
    ({"displayName": None, "accountId": "5b10"}, "5b10"),
    ({"displayName": 7}, "7"), ("Ben", "Ben"), (5010, "5010"), ({}, None), (None, None),
    ({"displayName": "Former user", "accountId": "557058:bb"}, "Former user (557058:bb)")])
def test_a_jira_reporter_names_the_issue_s_creation_as_the_general_path_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reporter: object,
        person: str | None) -> None:
    document = _issues(random.Random(1), 10)
    issue = document["issues"][2]
    issue["fields"].update(reporter=reporter, created="2026-07-06T10:15:00.000+0200")
    _read_alike(tmp_path, monkeypatch, document, f"jira:{issue['key']}:created", person)


def _read_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: dict[str, Any],
                event_id: str, person: str | None) -> None:
    """`document` written as a Jira export is read by the typed layout as by the general
    path, and the event `event_id` names `person` (None: no one)."""
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert jira._typed(path, read_export(path), CFG.ticketing["jira"]) is not None
    typed, general = _both(path, monkeypatch, "jira")
    _assert_same(typed, general)
    frame = typed[0].frame
    row = frame[frame["event:id"] == event_id]
    assert len(row) == 1
    if person is None:
        assert row["org:resource"].isna().all()
    else:
        assert row["org:resource"].tolist() == [person]


def test_jira_authors_named_again_are_the_general_paths_persons(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Authors named again in the typed loop: a name, the same name with spaces, two
    deleted accounts (each time by its account id) and names of other kinds, each named as
    the general path names it, however often and in whatever order they come (one person
    of one accountId: two of one name are told apart, a test of its own)."""
    authors: list[tuple[dict[str, object], str | None]] = [
        ({"displayName": "Ben Carter", "accountId": "5b10"}, "Ben Carter"),
        ({"displayName": "Former user", "accountId": "557058:aa"}, "Former user (557058:aa)"),
        ({"displayName": " Ben Carter ", "accountId": "5b10"}, " Ben Carter "),
        ({"displayName": "Former user", "accountId": "557058:bb"}, "Former user (557058:bb)"),
        ({"displayName": "Former user", "accountId": "unknown"}, None),
        ({"displayName": "  ", "name": "Ben Carter"}, "Ben Carter"),
        ({"displayName": 7, "accountId": "5b10"}, "7"),
        ({"displayName": "Ben Carter", "accountId": "5b10"}, "Ben Carter")]
    order = [*range(len(authors)), *reversed(range(len(authors))), 1, 3, 1, 0, 0]
    document = _issues(random.Random(2), 10)
    key = document["issues"][4]["key"]
    document["issues"][4]["changelog"] = {"histories": [
        {"id": str(h), "created": f"2026-07-06T11:{h:02d}:00.000+0200",
         "author": authors[k][0], "items": [{"field": "status", "toString": "Approved"}]}
        for h, k in enumerate(order)]}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert jira._typed(path, read_export(path), CFG.ticketing["jira"]) is not None
    typed, general = _both(path, monkeypatch, "jira")
    _assert_same(typed, general)
    frame = typed[0].frame.set_index("event:id")
    got = [frame.at[f"jira:{key}:{h}", "org:resource"] for h in range(len(order))]
    assert [None if pd.isna(p) else p for p in got] == [authors[k][1] for k in order]


@pytest.mark.parametrize(("second", "typed_reads", "ids"), [
    ((7, 100), False, None),  # the same id on the same ticket: the general path's to tell
    ((8, 100), True, ["zendesk:7:100", "zendesk:8:100"]),  # one id on two tickets: two ids
    ((7, 2 ** 70), True, ["zendesk:7:100", f"zendesk:7:{2 ** 70}"]),  # beyond 64 bits
    ((7, "100"), False, None),  # an integer and a text of the same id: one record id
    ((-7, -100), True, ["zendesk:-7:-100", "zendesk:7:100"]),
])
def test_zendesk_record_ids_of_integer_ids_are_the_general_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: tuple[object, object],
        typed_reads: bool, ids: list[str] | None) -> None:
    """The typed loop makes the record ids of integer ticket and audit ids column-wise (in
    Arrow) and tells a repeated id by the integers: the ids, and the audits it hands over,
    are the general path's."""
    ticket, audit_id = second
    audits = [{"id": audit_id_, "ticket_id": ticket_, "created_at": created,
               "author_id": 11,
               "events": [{"type": "Change", "field_name": STAGE, "value": "approved"}]}
              for (ticket_, audit_id_), created in (((7, 100), "2026-07-06T08:15:00Z"),
                                                    ((ticket, audit_id),
                                                     "2026-07-06T09:15:00Z"))]
    path = tmp_path / "audits.json"
    path.write_text(json.dumps({"audits": audits}), encoding="utf-8")
    took = zendesk._typed(path, read_export(path), CFG.ticketing["zendesk"])
    assert (took is not None) == typed_reads
    typed, general = _both(path, monkeypatch)
    _assert_same(typed, general)
    if ids is not None:
        assert sorted(typed[0].frame["event:id"].astype(str)) == ids
