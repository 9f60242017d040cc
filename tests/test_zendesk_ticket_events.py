"""Zendesk's incremental ticket event export read as the audits are.

The exports here are synthetic: hand-made from the layouts Zendesk documents (see
tests/data/zendesk_ticket_events/README.md), not exported from an account.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.errors import InputError
from audit.ingest import ImportResult, import_sources
from audit.sources import detect_system, read_source
from audit.sources.pipeline import import_and_correlate

DATA = Path(__file__).parent / "data" / "zendesk_ticket_events"
AUDITS = DATA / "synthetic_pair_audits.json"
EVENTS = DATA / "synthetic_pair_ticket_events.json"


def _pages(path: Path = EVENTS) -> list[dict[str, Any]]:
    """The pages of a file of pages saved one after the other."""
    text, decode, pages, at = path.read_text(encoding="utf-8"), json.JSONDecoder().raw_decode, \
        [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return pages
        page, at = decode(text, at)
        pages.append(page)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _as_lines(pages: list[dict[str, Any]], path: Path) -> Path:
    return _write(path, "".join(json.dumps(p) + "\n" for p in pages))


def _events(result: ImportResult) -> pd.DataFrame:
    """The canonical events, without where in its file each was read."""
    return result.log.drop(columns=[C.SOURCE_FILE, C.SOURCE_ROW]).reset_index(drop=True)


def _layouts(tmp_path: Path) -> dict[str, Path]:
    """The synthetic export saved in each layout an auditor may keep the pages in."""
    pages = _pages()
    merged = dict(pages[-1])
    by_id = {e["id"]: e for p in pages for e in p["ticket_events"]}  # (the overlap once)
    merged["ticket_events"] = list(by_id.values())
    merged["users"] = pages[0]["users"]
    return {
        "pages one after another": EVENTS,
        "a page a line (.jsonl)": _as_lines(pages, tmp_path / "events.jsonl"),
        "a list of pages": _write(tmp_path / "list.json", json.dumps(pages, indent=1)),
        "one page": _write(tmp_path / "page.json", json.dumps(merged)),
    }


@pytest.mark.parametrize("layout", ["pages one after another", "a page a line (.jsonl)",
                                    "a list of pages", "one page"])
def test_one_history_as_audits_and_as_ticket_events_gives_the_same_events(
        tmp_path: Path, layout: str) -> None:
    path = _layouts(tmp_path)[layout]
    assert detect_system(path) == "zendesk"
    from_audits = import_sources([(AUDITS, None)])
    from_events = import_sources([(path, None)])  # detected, as `import` and `check` do
    expected = _events(from_audits)
    assert len(expected) == 7 and expected[C.TIMESTAMP].dt.tz is not None
    pd.testing.assert_frame_equal(_events(from_events), expected)
    assert from_events.log[C.EVENT_ID].tolist() == from_audits.log[C.EVENT_ID].tolist()
    pd.testing.assert_frame_equal(_events(import_and_correlate([(path, None)])),
                                  _events(import_and_correlate([(AUDITS, None)])))
    audits_file, events_file = from_audits.files[0], from_events.files[0]
    assert (events_file.imported, events_file.quarantined) == (
        audits_file.imported, audits_file.quarantined) == (7, 0)
    # (pages give the event at their boundary again, read and dropped: part of `read`)
    again = 0 if layout == "one page" else 1
    assert (audits_file.read, audits_file.deduplicated) == (7, 0)
    assert (events_file.read, events_file.deduplicated) == (7 + again, again)
    # The tags and assignee update and the private comment are no events, here as there.
    assert [n for n in from_events.notes if "state no activity" in n] == [
        f"{path.name}: 2 record(s) state no activity (no mapped change) and are not events"]


def test_what_the_events_carry() -> None:
    log = import_sources([(EVENTS, "zendesk")]).log.set_index(C.EVENT_ID)
    assert log.loc["zendesk:301:9301", C.RESOURCE] == "Amira Haddad"  # from the users list
    assert log.loc["zendesk:302:9307", C.RESOURCE] == "99"  # no user record: the id
    assert pd.isna(log.loc["zendesk:301:9306", C.RESOURCE])  # -1: Zendesk itself
    # `timestamp` (Unix seconds) where the event has no created_at: UTC.
    assert log.loc["zendesk:302:9307", C.TIMESTAMP] == pd.Timestamp("2026-08-04T08:00Z")
    assert log.loc["zendesk:301:9305", C.ACTIVITY] == "Notify customer"  # public comment
    assert log.loc["zendesk:301:9302", "evidence:payment_voucher"] == "voucher-301.pdf"
    assert log.loc["zendesk:301:9301", C.AMOUNT] == 80.0


def test_the_overlap_of_pages_is_dropped_by_event_id_and_told() -> None:
    table, quarantine = read_source(EVENTS, "zendesk")
    assert table.deduplicated == 1 and quarantine.empty
    assert table.frame[C.EVENT_ID].tolist().count("zendesk:301:9304") == 1
    assert (f"{EVENTS.name}: 1 ticket event(s) given again on a later page (the incremental "
            "export repeats the events at a page's boundary), dropped by event id (the first: "
            "event 9304, page 1 and page 2)") in table.notes
    result = import_sources([(EVENTS, None)])
    assert result.files[0].deduplicated == 1


def test_an_event_id_given_again_with_other_content_is_quarantined(tmp_path: Path) -> None:
    pages = _pages()
    again = pages[1]["ticket_events"][0]
    assert again["id"] == 9304
    again["child_events"][0]["custom_ticket_fields"]["360011110001"] = "rejected"
    path = _as_lines(pages, tmp_path / "events.jsonl")
    table, quarantine = read_source(path, "zendesk")
    assert table.deduplicated == 0
    assert quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [7, "ticket_id, id", "301, 9304", "same id as row 6 with different content"]]
    assert not [n for n in table.notes if "given again" in n]
    # The first is kept: the approval, not the rejection.
    kept = table.frame.set_index(C.EVENT_ID).loc["zendesk:301:9304", C.ACTIVITY]
    assert kept == "Approve refund"


def test_a_comment_told_without_the_comment_events_sideload(tmp_path: Path) -> None:
    pages = _pages()
    notify = pages[1]["ticket_events"][2]
    assert notify["id"] == 9305
    notify["child_events"] = [{"id": 93051, "via": "Web form", "via_reference_id": None,
                               "comment_present": True, "comment_public": True}]
    private = pages[0]["ticket_events"][4]
    assert private["id"] == 9308
    private["child_events"] = [{"id": 93081, "via": "Web form", "via_reference_id": None,
                                "comment_present": True, "comment_public": False}]
    path = _as_lines(pages, tmp_path / "events.jsonl")
    pd.testing.assert_frame_equal(_events(import_sources([(path, None)])),
                                  _events(import_sources([(AUDITS, None)])))


def test_an_audits_export_naming_ticket_events_in_a_comment_is_still_audits(
        tmp_path: Path) -> None:
    document = json.loads(AUDITS.read_text(encoding="utf-8"))
    document["audits"][0]["events"][0]["body"] = '{"ticket_events": []}'
    lines = [json.dumps(a) for a in document["audits"]]
    for path in (_write(tmp_path / "audits.json", json.dumps(document)),
                 _write(tmp_path / "audits.jsonl", "\n".join(lines))):
        assert detect_system(path) == "zendesk"
        assert len(import_sources([(path, None)]).log) == 7


def test_a_timestamp_that_is_empty_or_unreadable_is_quarantined(tmp_path: Path) -> None:
    pages = _pages()
    first = pages[0]["ticket_events"]
    first[1]["created_at"] = ""  # 9302
    first[5]["created_at"] = "4 Aug 2026"  # 9304, given again on page 2 with its time
    del pages[1]["ticket_events"][0]
    path = _as_lines(pages, tmp_path / "events.jsonl")
    result = import_sources([(path, None)])
    quarantine = result.quarantine
    assert quarantine[["row", "field", "value"]].values.tolist()[0] == [2, "created_at", ""]
    assert quarantine["reason"].tolist()[0] == "empty timestamp"
    assert quarantine["row"].tolist() == [2, 6]
    assert (result.files[0].read, result.files[0].quarantined) == (7, 2)
    assert set(result.log[C.EVENT_ID]).isdisjoint({"zendesk:301:9302", "zendesk:301:9304"})


def test_a_list_where_one_value_is_read_is_quarantined(tmp_path: Path) -> None:
    """A ticket event's amount given as a list (`[80]`) was read as 80, its items joined as
    tags are: now the amount is quarantined naming the custom field and the event read
    without it (before this, the whole event was quarantined, its request with it); the tags
    list of another event is read as before."""
    pages = _pages()
    first = pages[0]["ticket_events"][0]
    first["child_events"][5]["custom_ticket_fields"]["360011110004"] = [80]
    path = _as_lines(pages, tmp_path / "events.jsonl")
    before, result = import_sources([(EVENTS, None)]), import_sources([(path, None)])
    assert result.quarantine[["row", "field", "value", "reason"]].values.tolist() == [
        [1, "360011110004", "[80]",
         "a list where an amount is expected (the mapping reads this field as one value; "
         "Zendesk's [49.9], [\"EUR\"]); the amount alone is not read: the update is read "
         "as Receive refund request, of no amount"]]
    # (the event imported, its amount alone not read: counted apart, not as a row read again
    # and quarantined, which made read exceed the file's events by one)
    counts, was_counts = result.files[0], before.files[0]
    assert (counts.read, counts.imported, counts.quarantined, counts.fields_unread) == (
        was_counts.read, was_counts.imported, was_counts.quarantined, 1)
    log, was = result.log.set_index(C.EVENT_ID), before.log.set_index(C.EVENT_ID)
    assert log.at["zendesk:301:9301", C.ACTIVITY] == was.at["zendesk:301:9301", C.ACTIVITY]
    assert pd.isna(log.at["zendesk:301:9301", C.AMOUNT])
    assert pd.notna(was.at["zendesk:301:9301", C.AMOUNT])


def _refused(tmp_path: Path, text: str) -> InputError:
    path = _write(tmp_path / "events.jsonl", text)
    with pytest.raises(InputError) as caught:
        import_sources([(path, "zendesk")])
    return caught.value


def test_a_page_cut_short_is_an_input_error_naming_the_page(tmp_path: Path) -> None:
    pages = _pages()
    text = json.dumps(pages[0]) + "\n" + json.dumps(pages[1])[:-40] + "\n"
    error = _refused(tmp_path, text)
    assert (error.file, error.row) == (str(tmp_path / "events.jsonl"), None)
    assert error.message.startswith(
        "page 2 of the incremental ticket event export (at line 2) is not JSON: ")
    # The command line: one line naming the file, exit code 2.
    path = tmp_path / "events.jsonl"
    result = CliRunner().invoke(main, ["check", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "events.jsonl: page 2 of the incremental ticket event export" in result.output


@pytest.mark.parametrize(("page2", "row", "field", "says"), [
    ({"ticket_events": 5}, None, "ticket_events", "not a list (page 2 (line 2))"),
    ({"ticket_events": [], "users": {"11": "Ann"}}, None, "users", "not a list"),
    ({"ticket_events": [7]}, 7, None, "not a Zendesk ticket event"),
    ({"ticket_events": [{"id": 1, "ticket_id": 5, "created_at": "2026-08-06T00:00:00Z"}]},
     7, None, "(page 2, ticket_events[0])"),
    ({"ticket_events": [{"id": 1, "ticket_id": 5, "created_at": "2026-08-06T00:00:00Z",
                         "child_events": {"status": "open"}}]}, 7, "child_events",
     "not a list of child events"),
    ({"ticket_events": [{"id": 1, "ticket_id": 5, "created_at": "2026-08-06T00:00:00Z",
                         "child_events": [{"event_type": "Change", "status": "open"}, 3]}]},
     7, "child_events[1]", "not a child event"),
    ({"ticket_events": [{"id": 1, "ticket_id": 5, "created_at": "2026-08-06T00:00:00Z",
                         "child_events": [{"event_type": "Change",
                                           "custom_ticket_fields": ["360011110001"]}]}]},
     7, "child_events[0].custom_ticket_fields", "not an object of custom field id"),
    ({"ticket_events": [{"id": [1], "ticket_id": 5, "created_at": "2026-08-06T00:00:00Z",
                         "child_events": []}]}, 7, "id", "not an id"),
    ({"ticket_events": [{"id": 1, "ticket_id": 5, "created_at": "2026-08-06T00:00:00Z",
                         "updater_id": True, "child_events": []}]}, 7, "updater_id",
     "not an id"),
    (["ticket_events"], None, None, "page 2 (line 2) is not a page"),
], ids=["events-not-list", "users-not-list", "event-not-object", "no-child-events",
        "children-not-list", "child-not-object", "custom-not-object", "id-not-id",
        "updater-bool", "page-not-object"])
def test_a_malformed_page_is_refused_naming_file_record_and_field(
        tmp_path: Path, page2: object, row: int | None, field: str | None,
        says: str) -> None:
    """A page of another shape: an error naming the file, the ticket event (its ordinal in
    the file, across pages: the first page holds 6) and the field, exit code 2."""
    error = _refused(tmp_path, json.dumps(_pages()[0]) + "\n" + json.dumps(page2) + "\n")
    assert (error.file, error.record, error.field) == (
        str(tmp_path / "events.jsonl"), row, field)
    if row is not None:  # (the record's line: page 2, one line)
        assert error.row == 2 and f"events.jsonl: record {row} (line 2): " in str(error)
    assert says in error.message


def test_a_last_page_short_of_the_end_of_the_stream_is_told(tmp_path: Path) -> None:
    path = _as_lines(_pages()[:1], tmp_path / "events.jsonl")
    result = import_sources([(path, None)])
    assert [n for n in result.notes if "end_of_stream" in n] == [
        "events.jsonl: its last page says end_of_stream false: the stream goes on after it "
        "(its next_page: https://example.zendesk.com/api/v2/incremental/ticket_events.json?"
        "include=comment_events&start_time=1785837600); unless another input holds the pages "
        "after it, the events after it are not read"]
    assert not [n for n in import_sources([(EVENTS, None)]).notes if "end_of_stream" in n]


def _event(event_id: int, ticket: int, time: str, updater: int,
           *children: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "ticket_id": ticket, "created_at": time, "updater_id": updater,
            "via": "Web form", "event_type": "Audit", "child_events": list(children)}


def _custom(field_id: str, value: str, kind: str = "Change") -> dict[str, Any]:
    return {"id": 1, "via": "Web form", "via_reference_id": None,
            "custom_ticket_fields": {field_id: value}, "event_type": kind}


def test_a_refund_approved_by_its_requester_is_found_by_check(tmp_path: Path) -> None:
    """One refund case, pulled as ticket events, through `check`: its requester approved
    it, which self-approval reports."""
    stage, order, currency, amount = "360011110001", "360011110002", "360011110003", \
        "360011110004"
    page = {"ticket_events": [
        _event(9501, 501, "2026-08-10T08:00:00Z", 31, _custom(stage, "requested", "Create"),
               _custom(order, "EC-O5001", "Create"), _custom(currency, "EUR", "Create"),
               _custom(amount, "40.00", "Create")),
        _event(9502, 501, "2026-08-10T09:00:00Z", 32, _custom(stage, "evidence_collected"),
               _custom("360011110008", "EC-O5001"), _custom("360011110009", "v-501.pdf")),
        _event(9503, 501, "2026-08-10T10:00:00Z", 31, _custom(stage, "approved"),
               _custom("360011110006", "40.00")),
    ], "users": [{"id": 31, "name": "Lena Berg"}, {"id": 32, "name": "Ivo Kral"}],
        "next_page": None, "count": 3, "end_time": 1786356000, "end_of_stream": True}
    path = _write(tmp_path / "ticket_events.json", json.dumps(page))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(path), "--out", str(out), "--format",
                                       "json", "--fail-on", "critical"])
    assert result.exit_code == 1, result.output
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]
    found = [f for f in findings if f["name"] == "self-approval"]
    assert [(f["case_id"], f["resources"], f["event_ids"]) for f in found] == [
        ("501", ["Lena Berg"], ["zendesk:501:9501", "zendesk:501:9503"])]


def test_import_reads_the_pages_named_zendesk(tmp_path: Path) -> None:
    """`import --format zendesk` (and a file name no layout check would take: .txt)."""
    path = _write(tmp_path / "events.txt", EVENTS.read_text(encoding="utf-8"))
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, ["import", str(path), "--format", "zendesk", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    assert "read 8 = imported 7 + quarantined 0 + 1 duplicate dropped" in result.output
    assert "1 ticket event(s) given again on a later page" in result.output
    log = pd.read_parquet(out)
    assert sorted(log[C.EVENT_ID]) == sorted(import_sources([(AUDITS, None)]).log[C.EVENT_ID])


def test_a_lone_surrogate_is_refused_naming_the_event_and_field(tmp_path: Path) -> None:
    text = EVENTS.read_text(encoding="utf-8").replace(
        '"body": "Refund approved."', '"body": "Refund \\ud800approved."')
    error = _refused(tmp_path, text)
    assert (error.record, error.field) == (9, "child_events[0].body")
    # (the ninth event: the third of page 2, whose first line is 80)
    assert error.row == 98 and ": record 9 (line 98): " in str(error)
    assert "lone UTF-16 surrogate" in error.message


@pytest.mark.parametrize(("stamp", "reason"), [
    (1785744000.5, "not a Unix time (an integer of seconds)"),
    ("1785744000", "not a Unix time (an integer of seconds)"),
    (10 ** 15, "a Unix time beyond the years a time holds"),
    # (a year Python's datetime holds but a timestamp does not: 2286, and 1653)
    (10 ** 10, "a Unix time beyond the years a time holds"),
    (-10 ** 10, "a Unix time beyond the years a time holds"),
    (None, "empty timestamp"),
    # (a compact date was read as Unix seconds of 1970: 20260301 as 1970-08-23 11:51:41)
    (20260301, "a Unix time before 1973 (under 9 digits), which no Zendesk time is: a date "
               "without separators (YYYYMMDD)?"),
    (-1, "a Unix time before 1973 (under 9 digits), which no Zendesk time is: a date "
         "without separators (YYYYMMDD)?"),
])
def test_a_unix_time_that_cannot_be_read_is_quarantined_naming_the_field(
        tmp_path: Path, stamp: object, reason: str) -> None:
    pages = _pages()
    creation = pages[0]["ticket_events"][3]
    assert creation["id"] == 9307 and "created_at" not in creation
    creation["timestamp"] = stamp
    result = import_sources([(_as_lines(pages, tmp_path / "events.jsonl"), None)])
    assert result.quarantine[["row", "field", "value", "reason", "case"]].values.tolist() == [
        [4, "timestamp", "" if stamp is None else str(stamp), reason, "302"]]
    assert "zendesk:302:9307" not in set(result.log[C.EVENT_ID])


def test_pages_saved_as_several_files_give_the_events_of_one_file(tmp_path: Path) -> None:
    """Each page in a file of its own (no users list, as the endpoint documents none): the
    event the second page repeats is a record exported twice, dropped and counted."""
    pages = _pages()
    del pages[0]["users"]
    whole = import_and_correlate([(_as_lines(pages, tmp_path / "all.jsonl"), None)])
    first = _write(tmp_path / "page1.json", json.dumps(pages[0]))
    second = _write(tmp_path / "page2.json", json.dumps(pages[1]))
    split = import_and_correlate([(first, None), (second, None)])
    # The order and currency a ticket's first event states reach the second file's events
    # by correlation, as for audits delivered in parts (what each record itself stated, the
    # `stated:*` columns, differs by design).
    kept = [c for c in _events(whole).columns if not c.startswith("stated:")]
    pd.testing.assert_frame_equal(_events(split)[kept], _events(whole)[kept])
    assert split.log[C.ORDER_ID].notna().all()
    assert [(f.read, f.quarantined, f.deduplicated) for f in split.files] == [
        (4, 0, 0), (4, 0, 1)]
    assert split.log.set_index(C.EVENT_ID).loc["zendesk:301:9304", C.RESOURCE] == "13"


def test_a_page_is_named_by_the_line_it_begins_on(tmp_path: Path) -> None:
    text = EVENTS.read_text(encoding="utf-8")
    second = text.splitlines().index("{", 1) + 1  # the pretty-printed second page
    broken = text[:text.rindex("{\n")] + "\n\n" + '["ticket_events"]\n'
    error = _refused(tmp_path, broken)
    assert error.message.startswith(f"page 2 (line {second + 2}) is not a page")
    from audit.sources.zendesk_events import pages_of
    assert [(n, line) for n, line, _ in pages_of(EVENTS, text) or []] == [(1, 1), (2, second)]


@pytest.mark.parametrize("seed", range(40))
def test_mutated_pages_are_imported_or_refused(tmp_path: Path, seed: int) -> None:
    """As tests/test_hostile_exports.py does for the other exports: values replaced by other
    JSON kinds, lines cut, repeated or corrupted, bytes flipped; never a crash."""
    from tests.test_hostile_exports import _mutate_json, _mutate_text

    rng = random.Random(seed)
    target = tmp_path / "events.jsonl"
    if seed % 2:
        pages = _pages()
        for _ in range(rng.randint(1, 3)):
            _mutate_json(pages, rng)
        target.write_text("".join(json.dumps(p) + "\n" for p in pages), encoding="utf-8")
    else:
        target.write_bytes(_mutate_text(EVENTS.read_text(encoding="utf-8"), rng))
    try:
        import_and_correlate([(target, "zendesk")])
    except InputError as exc:
        assert exc.file is not None and Path(exc.file).name == target.name, exc


@pytest.mark.parametrize(("rule", "activity"), [
    (("assignee_id", "12"), "Assign the refund"), (("tags", "refund vip"), "Flag as VIP")])
def test_an_assignee_or_tags_change_the_sources_file_maps_is_the_same_event(
        rule: tuple[str, str], activity: str) -> None:
    """Where the sources configuration maps an assignee or a tags change to an activity,
    the ticket event gives the event the audit gives (tags: the new list, space-joined)."""
    from dataclasses import replace

    from audit.sources.config import ActivityRule, load_sources_config

    config = load_sources_config()
    zendesk = config.ticketing["zendesk"]
    mapped = replace(zendesk, activities=(ActivityRule(*rule, activity), *zendesk.activities))
    config = replace(config, ticketing={**config.ticketing, "zendesk": mapped})
    from_audits = import_sources([(AUDITS, None)], sources_config=config)
    from_events = import_sources([(EVENTS, None)], sources_config=config)
    pd.testing.assert_frame_equal(_events(from_events), _events(from_audits))
    log = from_events.log.set_index(C.EVENT_ID)
    assert (log.loc["zendesk:301:9303", C.ACTIVITY], log.loc["zendesk:301:9303", C.RESOURCE]) \
        == (activity, "Nadia Rossi")


def test_the_next_page_told_is_printable(tmp_path: Path) -> None:
    """The URL of a last page short of the stream's end is told as printable text: a lone
    surrogate in it (in no event, so not refused) crashed the import's printing."""
    pages = _pages()[:1]
    pages[0]["next_page"] = "https://example.zendesk.com/\ud800" + "x" * 400
    path = _write(tmp_path / "events.jsonl", json.dumps(pages[0]) + "\n")
    result = CliRunner().invoke(main, ["import", str(path), "--out", str(tmp_path / "l.parquet")])
    assert result.exit_code == 0, result.output
    told = [line for line in result.output.splitlines() if "end_of_stream" in line]
    assert len(told) == 1 and "https://example.zendesk.com/\\ud800xxx" in told[0]
    assert "x" * 300 not in told[0] and "x..." in told[0]


@pytest.mark.parametrize("value", [True, 1.5, ["Amira"], {"name": "Amira"}])
def test_a_user_name_that_is_no_text_is_refused(tmp_path: Path, value: object) -> None:
    # (not the person "True" or "{'name': 'Amira'}" for every event of that updater)
    pages = _pages()
    pages[0]["users"][1]["name"] = value
    with pytest.raises(InputError) as caught:
        read_source(_as_lines(pages, tmp_path / "events.jsonl"), "zendesk")
    assert caught.value.field == "users[1].name"
    assert caught.value.message == "not a user's name (a text)"


def test_a_user_with_a_null_name_is_shown_by_the_id(tmp_path: Path) -> None:
    pages = _pages()
    pages[0]["users"] = [{**user, "name": None} for user in pages[0]["users"]]
    frame = read_source(_as_lines(pages, tmp_path / "events.jsonl"), "zendesk")[0].frame
    # (99: an updater without a user record, as before)
    assert set(frame[C.RESOURCE].dropna()) == {"11", "12", "13", "99"}


def _first_custom(pages: list[dict[str, Any]]) -> tuple[int, int, dict[str, Any]]:
    """(record number, child position, custom fields) of the first custom field change."""
    number = 0
    for page in pages:
        for event in page["ticket_events"]:
            number += 1
            for k, child in enumerate(event["child_events"]):
                if "custom_ticket_fields" in child:
                    return number, k, child["custom_ticket_fields"]
    raise AssertionError("no custom field change")


@pytest.mark.parametrize("value", [{"a": 1}, [["x"]]])
def test_a_read_value_that_is_an_object_is_refused(tmp_path: Path, value: object) -> None:
    # (not the value "{'a': 1}"), naming the record and the custom field
    pages = _pages()
    number, k, custom = _first_custom(pages)
    field_id = next(iter(custom))
    custom[field_id] = value
    with pytest.raises(InputError) as caught:
        read_source(_as_lines(pages, tmp_path / "events.jsonl"), "zendesk")
    assert (caught.value.row, caught.value.field) == (
        number, f"child_events[{k}].custom_ticket_fields.{field_id}")
    custom.pop(field_id)
    custom["999"] = value  # a field the mapping does not read: read as without it
    read_source(_as_lines(pages, tmp_path / "events.jsonl"), "zendesk")


def test_a_true_value_reads_as_json_writes_it(tmp_path: Path) -> None:
    # (an order id stated as true reads "true", as JSON writes it, not Python's "True")
    pages = _pages()
    orders = [child["custom_ticket_fields"] for page in pages for event in
              page["ticket_events"] for child in event["child_events"]
              if "360011110002" in child.get("custom_ticket_fields", {})]
    orders[0]["360011110002"] = True
    frame = read_source(_as_lines(pages, tmp_path / "events.jsonl"), "zendesk")[0].frame
    assert "true" in set(frame[C.ORDER_ID]) and "True" not in set(frame[C.ORDER_ID])


@pytest.mark.parametrize("blank", [None, "", " "])
def test_ticket_events_with_an_empty_id_are_named_by_their_place(
        tmp_path: Path, blank: object) -> None:
    # (not zendesk:<ticket>: for every event of a ticket, all but the first quarantined)
    pages = _pages()
    for page in pages:
        for event in page["ticket_events"]:
            event["id"] = blank
    table, quarantine = read_source(_as_lines(pages, tmp_path / "events.jsonl"), "zendesk")
    assert not quarantine["reason"].str.contains("same id").any()
    assert table.frame[C.EVENT_ID].str.contains(r":row\d+$").all()
    # (the event a later page gives again, dropped by its id, is one more without one)
    original = read_source(EVENTS, "zendesk")[0]
    assert original.deduplicated and \
        len(table.frame) == len(original.frame) + original.deduplicated


def test_a_comment_public_that_is_no_boolean_is_refused(tmp_path: Path) -> None:
    # (bool("false") took it for a public comment: a customer notified)
    pages = _pages()
    number = 0
    for page in pages:
        for event in page["ticket_events"]:
            number += 1
            comments = [k for k, c in enumerate(event["child_events"])
                        if c.get("event_type") == "Comment"]
            if comments:
                event["child_events"][comments[0]]["public"] = "false"
                break
        else:
            continue
        break
    with pytest.raises(InputError) as caught:
        read_source(_as_lines(pages, tmp_path / "events.jsonl"), "zendesk")
    assert (caught.value.row, caught.value.field, caught.value.message) == (
        number, f"child_events[{comments[0]}].public", "not true or false")
