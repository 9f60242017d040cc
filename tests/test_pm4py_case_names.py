"""pm4py names a case attribute with a `case:` prefix (`case:concept:name`, and a trace
attribute `channel` is its data frame's and CSV export's `case:channel`). Before, a generic
CSV, Parquet or XES log naming the refund channel so was imported without a word: the
channel was left empty (`case:channel` travelled along as an extra column), and check only
warned that the cases state no channel. Now our case attributes (refund:channel, ticket:id,
order:id) are read from those names too, where no column of our own or common name gives
them; both given and disagreeing is an input error naming the row and the columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audit import canonical as C
from audit.errors import InputError
from audit.ingest import import_sources
from audit.ingest.mapping import load_mapping

HEADER = "case:concept:name,concept:name,time:timestamp,org:resource"


def _read(path: Path) -> pd.DataFrame:
    return import_sources([(path, None)]).log.sort_values(C.SOURCE_ROW)


def test_a_pm4py_csv_case_channel_is_the_refund_channel(tmp_path: Path) -> None:
    log = tmp_path / "pm4py.csv"
    log.write_text(f"{HEADER},case:channel,case:order:id\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,ecommerce,O-1\n"
                   "C2,Receive refund request,2026-07-01T08:00:00Z,Ben,offline,O-2\n",
                   encoding="utf-8")
    result = import_sources([(log, None)])
    frame = result.log.sort_values(C.SOURCE_ROW)
    assert frame[C.CHANNEL].astype(str).tolist() == ["ecommerce", "offline"]
    assert frame[C.ORDER_ID].astype(str).tolist() == ["O-1", "O-2"]
    assert "case:channel" not in frame.columns
    # The import says which column it read the channel from.
    assert any("refund:channel <- 'case:channel'" in note for note in result.notes)


def test_a_pm4py_parquet_case_refund_channel_is_read(tmp_path: Path) -> None:
    log = tmp_path / "pm4py.parquet"
    pd.DataFrame({"case:concept:name": ["C1", "C2"],
                  "concept:name": ["Receive refund request"] * 2,
                  "time:timestamp": pd.to_datetime(["2026-07-01T08:00:00Z"] * 2),
                  "case:refund:channel": ["subscription", "ecommerce"],
                  "case:ticket:id": ["T1", "T2"]}).to_parquet(log)
    frame = _read(log)
    assert frame[C.CHANNEL].astype(str).tolist() == ["subscription", "ecommerce"]
    assert frame[C.TICKET_ID].astype(str).tolist() == ["T1", "T2"]


def test_an_xes_trace_attribute_channel_is_the_refund_channel(tmp_path: Path) -> None:
    log = tmp_path / "pm4py.xes"
    log.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<log>\n'
        '  <trace><string key="concept:name" value="C1"/>'
        '<string key="channel" value="offline"/>\n'
        '    <event><string key="concept:name" value="Receive refund request"/>'
        '<date key="time:timestamp" value="2026-07-01T08:00:00Z"/></event>\n'
        '  </trace>\n</log>\n', encoding="utf-8")
    assert _read(log)[C.CHANNEL].astype(str).tolist() == ["offline"]


def test_both_spellings_that_agree_are_one_column(tmp_path: Path) -> None:
    """Our refund:channel is read; pm4py's case:channel beside it must agree (without case,
    as channels are read) and fills a row where ours is blank; the note says so."""
    log = tmp_path / "both.csv"
    log.write_text(f"{HEADER},refund:channel,case:channel\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,ecommerce,Ecommerce\n"
                   "C1,Approve refund,2026-07-01T09:00:00Z,Nadia,,ecommerce\n"
                   "C2,Approve refund,2026-07-01T09:00:00Z,Nadia,offline,\n", encoding="utf-8")
    result = import_sources([(log, None)])
    frame = result.log.sort_values(C.SOURCE_ROW)
    assert frame[C.CHANNEL].astype(str).tolist() == ["ecommerce", "ecommerce", "offline"]
    assert ("both.csv: 'case:channel' (pm4py's name of a case attribute) agrees with "
            "'refund:channel', read as refund:channel, on every row giving both; 1 row where "
            "'refund:channel' is blank read from it") in result.notes


@pytest.mark.parametrize("header", ["refund:channel,case:channel",
                                    "Channel,case:channel",
                                    "case:refund:channel,case:channel"])
def test_both_spellings_that_disagree_are_an_input_error(tmp_path: Path, header: str) -> None:
    log = tmp_path / "both.csv"
    log.write_text(f"{HEADER},{header}\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,ecommerce,ecommerce\n"
                   "C1,Approve refund,2026-07-01T09:00:00Z,Nadia,ecommerce,offline\n",
                   encoding="utf-8")
    read, twin = header.split(",")
    with pytest.raises(InputError) as caught:
        import_sources([(log, None)])
    error = caught.value
    assert (error.file, error.row, error.field) == (str(log), 3, f"{read}, {twin}")
    assert (f"columns '{read}' and '{twin}' both give refund:channel (pm4py names a case "
            "attribute with a 'case:' prefix) and disagree on 1 row, here 'ecommerce' and "
            "'offline'") in error.message


def test_a_mapping_naming_the_channel_decides(tmp_path: Path) -> None:
    """Where the mapping names the column to read, a case:channel beside it is not read nor
    compared (the user decided): it travels along."""
    from audit.ingest.mapping import load_mapping

    log = tmp_path / "both.csv"
    log.write_text(f"{HEADER},Kanal,case:channel\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,offline,ecommerce\n",
                   encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  refund:channel: Kanal\n", encoding="utf-8")
    frame = import_sources([(log, None)], mapping=load_mapping(mapping)).log
    assert frame[C.CHANNEL].astype(str).tolist() == ["offline"]


RECEIPT = (f"{HEADER},case:channel\n"
           "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,Internet\n"
           "C2,Receive refund request,2026-07-01T08:00:00Z,Ben,Desk\n")


def test_a_case_channel_of_other_values_is_not_read_and_the_note_says_so(
        tmp_path: Path) -> None:
    """pm4py's receipt log has a `case:channel` of Internet, Desk, e-mail: another channel
    than a refund's, not ours without doubt. It is not read (not every row quarantined as
    "not one of ecommerce, subscription, offline"), travels along, and a note says why and
    how to read it (before: nothing said)."""
    log = tmp_path / "receipt.csv"
    log.write_text(RECEIPT, encoding="utf-8")
    result = import_sources([(log, None)])
    assert result.log[C.CHANNEL].isna().all()
    assert result.log["case:channel"].astype(str).tolist() == ["Internet", "Desk"]
    assert [n for n in result.notes if "not read" in n] == [
        "receipt.csv: 'case:channel' (refund:channel) not read: named as pm4py names our "
        "case attribute, but its values are not ours (a channel: ecommerce, subscription, "
        "offline); to read it, give a mapping file whose values: table translates each of "
        "its values (values: {refund:channel: {Internet: ecommerce, ...}})"]


def test_a_case_channel_a_mapping_translates_is_read(tmp_path: Path) -> None:
    from audit.ingest.mapping import load_mapping

    log = tmp_path / "receipt.csv"
    log.write_text(RECEIPT, encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("values:\n  refund:channel: {Internet: ecommerce, Desk: offline}\n",
                       encoding="utf-8")
    result = import_sources([(log, None)], mapping=load_mapping(mapping))
    frame = result.log.sort_values(C.SOURCE_ROW)
    assert frame[C.CHANNEL].astype(str).tolist() == ["ecommerce", "offline"]
    assert not [n for n in result.notes if "not read" in n]


def test_both_spellings_are_compared_as_the_mapping_translates_them(tmp_path: Path) -> None:
    """A mapping's values: table translates both spellings before they are compared: a row
    with `refund:channel` subscription and `case:channel` Abo, where the mapping says
    `Abo: subscription`, agrees (before: refused as "disagree on 2 rows, here
    'subscription' and 'Abo'"); a blank filled from `Abo` is read as subscription."""
    from audit.ingest.mapping import load_mapping

    log = tmp_path / "twin.csv"
    log.write_text(f"{HEADER},refund:channel,case:channel\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,subscription,Abo\n"
                   "C1,Approve refund,2026-07-01T09:00:00Z,Nadia,Abo,abo\n"
                   "C1,Pay refund,2026-07-01T10:00:00Z,Nadia,,Abo\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("values:\n  refund:channel: {Abo: subscription, abo: subscription}\n",
                       encoding="utf-8")
    result = import_sources([(log, None)], mapping=load_mapping(mapping))
    frame = result.log.sort_values(C.SOURCE_ROW)
    assert frame[C.CHANNEL].astype(str).tolist() == ["subscription"] * 3
    assert any("agrees with 'refund:channel'" in note for note in result.notes)


def test_both_spellings_that_disagree_once_translated_are_an_input_error(
        tmp_path: Path) -> None:
    """Translated, `Abo` is subscription: beside `ecommerce` it still disagrees, and the
    error names the values as written."""
    from audit.ingest.mapping import load_mapping

    log = tmp_path / "twin.csv"
    log.write_text(f"{HEADER},refund:channel,case:channel\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,subscription,Abo\n"
                   "C1,Approve refund,2026-07-01T09:00:00Z,Nadia,ecommerce,Abo\n",
                   encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("values:\n  refund:channel: {Abo: subscription}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_sources([(log, None)], mapping=load_mapping(mapping))
    assert caught.value.row == 3
    assert "disagree on 1 row, here 'ecommerce' and 'Abo'" in caught.value.message


def test_no_unread_note_where_the_channel_is_read_from_another_column(
        tmp_path: Path) -> None:
    """A `case:channel` of other values beside our `refund:channel`, which is read: the
    note "'case:channel' not read ... give a mapping" was printed although the channel
    was read; it is said only where no column gives the channel."""
    log = tmp_path / "twin.csv"
    log.write_text(f"{HEADER},refund:channel,case:channel\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,ecommerce,Internet\n"
                   "C2,Receive refund request,2026-07-01T08:00:00Z,Ben,offline,Desk\n",
                   encoding="utf-8")
    result = import_sources([(log, None)])
    frame = result.log.sort_values(C.SOURCE_ROW)
    assert frame[C.CHANNEL].astype(str).tolist() == ["ecommerce", "offline"]
    assert not [n for n in result.notes if "not read" in n]


def _ocel_of_refund_objects(path: Path) -> Path:
    """An OCEL 2.0 log as an analyst models refunds: the amount and currency are the refund
    object's attributes, the events state none."""
    event = ('{{"id": "{eid}", "type": "{activity}", "time": "{time}", "attributes": [], '
             '"relationships": [{{"objectId": "R1", "qualifier": "refund"}}]}}')
    events = [event.format(eid="e1", activity="Receive refund request",
                           time="2026-07-01T08:00:00Z"),
              event.format(eid="e2", activity="Pay refund", time="2026-07-02T08:00:00Z")]
    path.write_text(
        '{"objectTypes": [{"name": "Refund", "attributes": ['
        '{"name": "refund:amount", "type": "float"}, '
        '{"name": "refund:currency", "type": "string"}]}], '
        '"eventTypes": [], '
        '"objects": [{"id": "R1", "type": "Refund", "attributes": ['
        '{"name": "refund:amount", "time": "1970-01-01T00:00:00Z", "value": 25.5}, '
        '{"name": "refund:currency", "time": "1970-01-01T00:00:00Z", "value": "EUR"}]}], '
        f'"events": [{", ".join(events)}]}}', encoding="utf-8")
    return path


def test_an_event_column_spelt_as_a_case_attribute_is_not_read_and_the_note_says_so(
        tmp_path: Path) -> None:
    """An OCEL refund object's amount and currency (and an XES trace's, a pm4py frame's
    `case:refund:amount`) are the case's, not each event's: they are not read as the
    events' refund:amount, and the note names them and the mapping that reads them.
    Before, they travelled along unsaid and every payout stated no amount."""
    log = _ocel_of_refund_objects(tmp_path / "refunds.jsonocel")
    result = import_sources([(log, None)], object_type="Refund")
    frame = result.log.sort_values(C.SOURCE_ROW)
    assert frame[C.AMOUNT].isna().all()
    told = [note for note in result.notes if "not read" in note]
    assert told == [
        "refunds.jsonocel: 'case:refund:amount' (refund:amount), 'case:refund:currency' "
        "(refund:currency) not read: named as pm4py names a case attribute (an XES trace's, "
        "an OCEL object's), but they are each event's own, and no column of the events "
        "gives them: no event states them; to give each event its case's value, name each "
        "in a mapping file (columns: {refund:amount: case:refund:amount})"]
    # The mapping the note names reads them.
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  refund:amount: case:refund:amount\n"
                       "  refund:currency: case:refund:currency\n", encoding="utf-8")
    mapped = import_sources([(log, None)], object_type="Refund",
                            mapping=load_mapping(mapping))
    assert mapped.log[C.AMOUNT].astype(float).tolist() == [25.5, 25.5]
    assert not [note for note in mapped.notes if "not read" in note]


def test_no_note_of_a_case_spelt_event_column_where_the_events_give_it(
        tmp_path: Path) -> None:
    log = tmp_path / "both.csv"
    log.write_text(f"{HEADER},refund:amount,case:refund:amount\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,10.00,10.00\n",
                   encoding="utf-8")
    result = import_sources([(log, None)])
    assert not [note for note in result.notes if "not read" in note]


def test_a_plain_header_beginning_case_is_not_told_pm4py_named(tmp_path: Path) -> None:
    """`Case Amount` and `Case Channel` are matched as `case:amount`, `case:channel` (the
    comparison drops punctuation), but are no pm4py names: the notes say they are named as
    the case's attribute, not as pm4py names it (before, both were told "named as pm4py
    names ..."); a header `CASE:Currency` (pm4py's `case:`, any case) still is."""
    log = tmp_path / "plain.csv"
    log.write_text(f"{HEADER},Case Amount,Case Channel,CASE:Currency\n"
                   "C1,Receive refund request,2026-07-01T08:00:00Z,Ben,10.00,Internet,EUR\n",
                   encoding="utf-8")
    told = [note for note in import_sources([(log, None)]).notes if "not read" in note]
    assert told == [
        "plain.csv: 'Case Channel' (refund:channel) not read: named as our case attribute, "
        "but its values are not ours (a channel: ecommerce, subscription, offline); to read "
        "it, give a mapping file whose values: table translates each of its values (values: "
        "{refund:channel: {Internet: ecommerce, ...}})",
        "plain.csv: 'CASE:Currency' (refund:currency) not read: named as pm4py names a case "
        "attribute (an XES trace's, an OCEL object's), but it is each event's own, and no "
        "column of the events gives it: no event states it; to give each event its case's "
        "value, name it in a mapping file (columns: {refund:currency: CASE:Currency})",
        "plain.csv: 'Case Amount' (refund:amount) not read: named as an attribute of the "
        "case, but it is each event's own, and no column of the events gives it: no event "
        "states it; to give each event its case's value, name it in a mapping file "
        "(columns: {refund:amount: Case Amount})"]
