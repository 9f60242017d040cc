"""A canonical log checked again beside the next exports, whose date ranges overlap it (the
auditor's monthly run: last month's log and this month's exports). A record in both is one
event: the log's, whatever the order the inputs are given in; the export's copy is dropped
and counted where it agrees on every value it states, and quarantined, naming the log, where
it does not. Each test runs beside a log that keeps what its records stated (its events of
exports taken back and correlated again with the new records) and, where the fixture
`canonical` gives it, beside an older log without that (its events keep their cases and the
ids correlation filled in, which the new records join)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit import ingest
from audit.cli import main
from audit.errors import InputError
from audit.ingest import ImportResult, import_sources
from audit.sources.config import load_sources_config
from audit.sources.pipeline import import_and_correlate
from tests.sample_exports import case_of, edited

_READ_ONE = ingest._read_one
REPO = Path(__file__).resolve().parents[1]
EXPORTS = REPO / "sample_logs" / "refund-sample" / "exports"
COMPARED = [C.EVENT_ID, C.CASE, C.ACTIVITY, C.TIMESTAMP, C.RESOURCE, C.ROLE, C.AMOUNT,
            C.CURRENCY, C.CHANNEL, C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID, C.REFUND_ID,
            C.SOURCE_SYSTEM, C.SOURCE_FILE, C.SOURCE_ROW]


@pytest.fixture(scope="module", params=[True, False],
                ids=["log keeping stated ids", "older log"])
def canonical(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
              ) -> Path:
    """The sample's exports (role history included) imported into a canonical log: one
    that keeps what its records stated (`stated:*`), whose events of exports are taken back
    and correlated again beside new exports, or one as written before it kept that, whose
    events keep their cases, which new records join."""
    out = tmp_path_factory.mktemp("canonical") / "canonical.parquet"
    result = CliRunner().invoke(main, ["import", *sorted(str(p) for p in EXPORTS.iterdir()),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    if not request.param:
        older(out)
    return out


def older(path: Path) -> None:
    """The canonical log at `path` as one written before it kept the `stated:*` columns."""
    log = pd.read_parquet(path)
    assert set(C.STATED.values()) <= set(log.columns)
    log.drop(columns=list(C.STATED.values())).to_parquet(path, index=False)


def keeps_stated(log: Path) -> bool:
    return set(C.STATED.values()) <= set(pd.read_parquet(log).columns)


def events(log: pd.DataFrame) -> pd.DataFrame:
    """The log's standard columns as texts, one row per event, by event id."""
    return (log[COMPARED].astype("string").fillna("").sort_values(C.EVENT_ID)
            .reset_index(drop=True))


def first_record(name: str) -> tuple[list[str], list[str]]:
    """A sample export's header and its first record (cells to edit)."""
    with (EXPORTS / name).open(newline="", encoding="utf-8") as f:
        header, first, *_ = csv.reader(f)
    return header, first


def write_export(path: Path, header: list[str], *rows: list[str]) -> Path:
    """A CSV export of `rows` at `path` (its folder made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def checked(tmp_path: Path, name: str, inputs: Sequence[Path | str]) -> list[dict[str, Any]]:
    """The findings of `refund-audit check` of `inputs` (written into tmp_path / name)."""
    out = tmp_path / name
    done = CliRunner().invoke(main, ["check", *map(str, inputs), "--out", str(out),
                                     "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    findings: list[dict[str, Any]] = json.loads(
        (out / "findings.json").read_text(encoding="utf-8"))["findings"]
    return findings


def fingerprints(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["fingerprint"] for f in findings)


def counts(result: ImportResult, name: str) -> tuple[int, int, int, int]:
    [found] = [f for f in result.files if f.file == name]
    return found.read, found.imported, found.quarantined, found.deduplicated


@pytest.mark.parametrize("log_first", [True, False], ids=["log first", "exports first"])
def test_the_exports_again_beside_their_canonical_log_add_nothing(
        canonical: Path, log_first: bool) -> None:
    """Every export of the sample again, beside the log made of them: the same events with
    the same cases, ids, people and roles; nothing quarantined. Before, 2,174 records were
    quarantined as conflicts in either order (the log's cases, filled-in ids and people
    against the export's provisional cases and logins): with the log first the exports'
    rows, with the exports first the log's events, and the log's 22 copies of shared
    charges then came twice."""
    exports = [(p, None) for p in sorted(EXPORTS.iterdir())]
    sources = [(canonical, None), *exports] if log_first else [*exports, (canonical, None)]
    result = import_and_correlate(sources)
    assert result.quarantine.empty
    pd.testing.assert_frame_equal(events(result.log), events(pd.read_parquet(canonical)))
    for path in EXPORTS.iterdir():
        if path.name == "role_history.csv":
            continue
        read, _imported, quarantined, dropped = counts(result, path.name)
        assert quarantined == 0 and dropped > 0
        # Every record read: dropped as a repeat, or imported or quarantined (none here).
        assert read == dropped == import_sources([(path, None)]).files[0].read
    # Also the charges a refund shares with other cases, which the log holds once per case
    # under "<id>@<case>": their export records are repeats too, not sales to leave out.
    assert sum(counts(result, p.name)[1] for p in EXPORTS.iterdir()
               if p.name != "role_history.csv") == 0
    assert not [note for note in result.notes if "are sales" in note]


@pytest.mark.parametrize("log_first", [True, False], ids=["log first", "exports first"])
def test_a_record_changed_since_the_log_is_quarantined_and_the_log_kept(
        canonical: Path, log_first: bool, tmp_path: Path) -> None:
    """A refund whose amount differs in the new export from the log's record: the new row is
    quarantined, the reason naming the kept event's place (the export row it was read from,
    in the log), in either order; the log's event stays in its case with its amount."""
    header, first = first_record("stripe_refunds.csv")
    amount = str(int(first[header.index("amount")]) + 100)
    changed = write_export(tmp_path / "stripe_refunds.csv", header,
                           edited(header, first, {"amount": amount}))
    sources: list[tuple[Path, str | None]] = [(canonical, None), (changed, None)]
    result = import_and_correlate(sources if log_first else sources[::-1])
    label = changed.name
    assert result.quarantine[["file", "row", "field", "value", "reason"]].values.tolist() == [
        [label, 2, "id", first[0],
         f"duplicate event id stripe:{first[0]} (the correlated event at stripe_refunds.csv "
         "row 2 in canonical.parquet is kept)"]]
    assert counts(result, label) == (1, 0, 1, 0)
    pd.testing.assert_frame_equal(events(result.log), events(pd.read_parquet(canonical)))


def test_two_exports_of_one_record_still_compare_every_value(tmp_path: Path) -> None:
    """Between two exports the relaxed compare does not apply: a record stating less in the
    second export (its order id left empty) is a conflict, quarantined, as before."""
    header, first = first_record("stripe_refunds.csv")
    less = edited(header, first, {"order_id (metadata)": ""})
    again = write_export(tmp_path / "later" / "stripe_refunds.csv", header, less)
    result = import_and_correlate([(EXPORTS / "stripe_refunds.csv", None), (again, None)])
    assert result.quarantine[["file", "row", "reason"]].values.tolist() == [
        ["later/stripe_refunds.csv", 2,
         f"duplicate event id stripe:{first[0]} (first at exports/stripe_refunds.csv row 2)"]]


def charge_held_per_case(log: pd.DataFrame) -> tuple[str, int, list[str], list[str]]:
    """A charge the log holds once per case ("<id>@<case>"): its id, the source row of its
    first copy, and the sample's stripe_charges.csv header and record of it."""
    copies = log[log[C.EVENT_ID].astype(str).str.startswith("stripe:ch_")
                 & log[C.EVENT_ID].astype(str).str.contains("@")]
    charge = str(copies[C.EVENT_ID].iloc[0]).removeprefix("stripe:").partition("@")[0]
    with (EXPORTS / "stripe_charges.csv").open(newline="", encoding="utf-8") as f:
        header, *records = csv.reader(f)
    [record] = [r for r in records if r[0] == charge]
    return charge, int(copies[C.SOURCE_ROW].iloc[0]), header, record


def test_a_changed_record_of_a_charge_the_log_holds_per_case_is_quarantined(
        canonical: Path, tmp_path: Path) -> None:
    """A charge refunded in two cases is in the log twice, as "<id>@<case>". Its export record
    again, unchanged, is a repeat (dropped, counted); with another amount, it is quarantined
    naming the first copy's place, and the log's copies stay as they were."""
    log = pd.read_parquet(canonical)
    charge, row, header, record = charge_held_per_case(log)
    for change, expected in ((0, (1, 0, 0, 1)), (100, (1, 0, 1, 0))):
        amount = str(int(record[header.index("amount")]) + change)
        export = write_export(tmp_path / f"plus{change}" / "stripe_charges.csv", header,
                              edited(header, record, {"amount": amount}))
        result = import_and_correlate([(export, None), (canonical, None)])
        assert counts(result, export.name) == expected
        pd.testing.assert_frame_equal(events(result.log), events(log))
        quarantined = result.quarantine[["row", "value", "reason"]].values.tolist()
        reason = (f"duplicate event id stripe:{charge} (the correlated event at "
                  f"stripe_charges.csv row {row} in canonical.parquet is kept)")
        assert quarantined == ([[2, charge, reason]] if change else [])


def test_a_changed_charge_in_two_exports_beside_the_log_is_quarantined_twice(
        canonical: Path, tmp_path: Path) -> None:
    """The same changed record of a charge the log holds per case, in two exports: each is
    compared with the log's event and quarantined naming it (before, beside an older log,
    the second export's record was compared with the first's, which was then dropped, and
    counted as a repeat of it: nothing in the log held its amount)."""
    log = pd.read_parquet(canonical)
    charge, row, header, record = charge_held_per_case(log)
    amount = str(int(record[header.index("amount")]) + 100)
    exports = [write_export(tmp_path / name / "stripe_charges.csv", header,
                            edited(header, record, {"amount": amount})) for name in "ab"]
    result = import_and_correlate([*((e, None) for e in exports), (canonical, None)])
    for name in ("a/stripe_charges.csv", "b/stripe_charges.csv"):
        assert counts(result, name) == (1, 0, 1, 0)
    pd.testing.assert_frame_equal(events(result.log), events(log))
    reason = (f"duplicate event id stripe:{charge} (the correlated event at "
              f"stripe_charges.csv row {row} in canonical.parquet is kept)")
    assert sorted(result.quarantine[["file", "value", "reason"]].values.tolist()) == [
        [f"{name}/stripe_charges.csv", charge, reason] for name in "ab"]


def test_a_new_refund_for_a_ticket_only_the_log_has_joins_its_case(
        canonical: Path, tmp_path: Path) -> None:
    """Next month's refunds export holds a second payout for a ticket of last month, which
    this month's ticketing export does not hold: the payout joins the ticket's case in the
    log (its ids given as the case's), so the rules see a second payout in that case, not a
    payout without a ticket. A refund naming a ticket neither holds stays a case of its own,
    its reference in the correlation problems, as before."""
    header, first = first_record("stripe_refunds.csv")
    again = edited(header, first, {"id": "re_90000001", "created": "2026-09-20 06:45:20"})
    stray = edited(header, first, {"id": "re_90000002", "created": "2026-09-20 06:45:20",
                                   "ticket_id (metadata)": "99999", "charge": "ch_90000002"})
    export = write_export(tmp_path / "next" / "stripe_refunds.csv", header, again, stray)
    ticket = first[header.index("ticket_id (metadata)")]

    result = import_and_correlate([(canonical, None), (export, None)])
    log = result.log.astype({C.EVENT_ID: str, C.CASE: str})
    before = pd.read_parquet(canonical).astype({C.CASE: str})
    joined = log[log[C.EVENT_ID] == "stripe:re_90000001"].iloc[0]
    case = before[before[C.CASE] == ticket].iloc[0]
    assert joined[C.CASE] == ticket
    for name in (C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID):
        assert joined[name] == case[name], name
    assert log[log[C.EVENT_ID] == "stripe:re_90000002"][C.CASE].tolist() == ["re_90000002"]
    assert set(log[C.CASE]) == set(before[C.CASE]) | {"re_90000002"}
    assert result.correlation_problems is not None
    assert result.correlation_problems[["field", "value"]].values.tolist() == [
        [C.TICKET_ID, "99999"], [C.CHARGE_ID, "ch_90000002"]]

    alone, beside = ({(f["rule"], f["case_id"]) for f in checked(tmp_path, name, inputs)}
                     for name, inputs in (("alone", [canonical]),
                                          ("beside", [canonical, export])))
    assert alone <= beside
    # The second payout in the ticket's case: a duplicate refund, more paid than approved,
    # a payout after the ticket was closed. The stray one: a payout without a ticket.
    assert {f for f in beside - alone if f[1] == ticket} == {
        ("DU001", ticket), ("AP005", ticket), ("CF002", ticket)}
    assert ("EV002", "re_90000002") in beside - alone
    assert not [f for f in beside - alone if f[1] not in (ticket, "re_90000002")]


def test_a_new_refund_naming_no_ticket_joins_the_case_of_its_order_in_the_log(
        canonical: Path, tmp_path: Path) -> None:
    """A refund naming no ticket belongs to the one ticket that names its order; where no
    ticket of the run's exports names it, to the log's case of that order. Its charge, in
    the log only, is a reference the log resolves: no correlation problem."""
    header, first = first_record("stripe_refunds.csv")
    unnamed = edited(header, first, {"id": "re_90000003", "created": "2026-09-21 06:45:20",
                                     "ticket_id (metadata)": ""})
    export = write_export(tmp_path / "stripe_refunds.csv", header, unnamed)
    result = import_and_correlate([(export, None), (canonical, None)])
    log = result.log.astype({C.EVENT_ID: str, C.CASE: str})
    joined = log[log[C.EVENT_ID] == "stripe:re_90000003"].iloc[0]
    assert joined[C.CASE] == first[header.index("ticket_id (metadata)")]
    assert joined[C.TICKET_ID] == joined[C.CASE]
    assert joined[C.ORDER_ID] == first[header.index("order_id (metadata)")]
    assert log[C.CASE].nunique() == pd.read_parquet(canonical)[C.CASE].nunique()
    # Its charge is in the log (last month's charges export): not a reference to nothing.
    assert result.correlation_problems is not None and result.correlation_problems.empty
    # Not a payout case: those are the log's own, noted where its events are correlated
    # again (taken back as their records stated them), as at once.
    before = pd.read_parquet(canonical)
    payouts = before.loc[before[C.TICKET_ID].isna(), C.CASE].nunique()
    assert payouts and [note for note in result.notes if "without a ticket" in note] == (
        [f"correlation: {payouts} payout case(s) without a ticket (kept as their own cases, "
         "named by their first refund id)"] if keeps_stated(canonical) else [])


@pytest.mark.parametrize("roles_given", [True, False],
                         ids=["role history given", "role history of the log"])
def test_a_month_then_the_next_finds_what_both_at_once_find(tmp_path: Path,
                                                            roles_given: bool) -> None:
    """The monthly run end to end: the refunds paid before a day go into month one's
    canonical log with every other export; month two's refunds export starts two weeks
    earlier (overlapping) and holds the rest. Checking month one's log beside month two's
    export finds exactly what checking all exports at once finds (the same fingerprints),
    though month two's refunds name tickets and charges only the log holds. The role
    history is given with the month, as docs/sources.md says: the roles of month two's
    records come from it (without it, unauthorized-performer could not judge the payouts
    supervisors executed, and said so) or, not given, from the one the log's import applied,
    stored in the log."""
    with (EXPORTS / "stripe_refunds.csv").open(newline="", encoding="utf-8") as f:
        header, *body = csv.reader(f)
    created = header.index("created")
    times = sorted(row[created] for row in body)
    cut, overlap = times[len(times) // 2], times[len(times) // 3]
    first, second = tmp_path / "month1", tmp_path / "month2"
    first.mkdir()
    for path in EXPORTS.iterdir():
        if path.name != "stripe_refunds.csv":
            (first / path.name).write_bytes(path.read_bytes())
    write_export(first / "stripe_refunds.csv", header, *[r for r in body if r[created] < cut])
    later = write_export(second / "stripe_refunds.csv", header,
                         *[r for r in body if r[created] >= overlap])
    assert 0 < len(list(later.open())) - 1 < len(body)
    log = tmp_path / "month1.parquet"
    done = CliRunner().invoke(main, ["import", *sorted(map(str, first.iterdir())),
                                     "--out", str(log)])
    assert done.exit_code == 0, done.output
    whole = fingerprints(checked(tmp_path, "whole", sorted(EXPORTS.iterdir())))
    if roles_given:
        roles = EXPORTS / "role_history.csv"
        assert fingerprints(checked(tmp_path, "split", [log, later, roles])) == whole
        return
    split = checked(tmp_path, "split", [log, later])
    assert fingerprints(split) == whole
    notes = json.loads((tmp_path / "split" / "findings.json").read_text(
        encoding="utf-8"))["manifest"]
    assert ("month1.parquet: no role history given; the role history its import applied "
            "(role_history.csv) gives the other inputs' records their roles"
            ) in notes["import_notes"]
    # Without it (a log written before the role history was kept), the month's payouts have
    # no role: what unauthorized-performer judged on them is missing.
    table = pq.read_table(log)
    bare = tmp_path / "bare.parquet"
    pq.write_table(table.replace_schema_metadata(
        {k: v for k, v in (table.schema.metadata or {}).items()
         if k != b"refund-audit:role-history"}), bare)
    assert fingerprints(checked(tmp_path, "bare", [bare, later])) != whole


def test_a_new_charge_of_an_order_only_the_log_has_joins_its_case_as_at_once(
        canonical: Path, tmp_path: Path) -> None:
    """A second charge for an order whose ticket only the log holds (a renewal captured the
    month after): beside the log it joins the ticket's case, as it does when every export,
    this charge included, is checked at once; the findings are the same either way. Before,
    it was left out as a sale."""
    header, first = first_record("stripe_charges.csv")
    again = edited(header, first, {"id": "ch_90000009", "created": "2026-09-24 22:41:03",
                                   "amount": "500"})
    alone = write_export(tmp_path / "next" / "stripe_charges.csv", header, again)
    whole = tmp_path / "whole"
    whole.mkdir()
    for path in EXPORTS.iterdir():
        (whole / path.name).write_bytes(path.read_bytes())
    with (whole / "stripe_charges.csv").open("a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(again)

    beside = import_and_correlate([(canonical, None), (alone, None)])
    at_once = import_and_correlate([(p, None) for p in sorted(whole.iterdir())])
    cases = [log.loc[log[C.EVENT_ID].astype(str) == "stripe:ch_90000009", C.CASE]
             .astype(str).tolist() for log in (beside.log, at_once.log)]
    assert cases[0] == cases[1] and len(cases[0]) == 1
    assert not [note for note in beside.notes if "are sales" in note]

    assert fingerprints(checked(tmp_path, "beside", [canonical, alone])) == fingerprints(
        checked(tmp_path, "at_once", sorted(whole.iterdir())))


def with_records(folder: Path, name: str, *records: list[str]) -> Path:
    """The sample's exports copied into `folder`, `records` appended to export `name`."""
    folder.mkdir(parents=True)
    for path in EXPORTS.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    with (folder / name).open("a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(records)
    return folder


def test_a_new_refund_naming_only_its_charge_joins_the_charges_case_in_the_log(
        canonical: Path, tmp_path: Path) -> None:
    """A Stripe refund states its charge; the ticket and order are metadata a shop may not
    set. Next month's refund of a charge that only the log holds (last month's charges
    export) joins the case that holds the charge, as it does when every export is checked
    at once, and the findings are the same either way. Before, it was a payout case of its
    own: an orphan payout (EV002) that was not one, the case's second payout (DU001) not
    found, and its charge listed as a reference no payment export contains."""
    header, first = first_record("stripe_refunds.csv")
    bare = edited(header, first, {"id": "re_90000004", "created": "2026-09-21 06:45:20",
                                  "ticket_id (metadata)": "", "order_id (metadata)": ""})
    alone = write_export(tmp_path / "next" / "stripe_refunds.csv", header, bare)
    whole = with_records(tmp_path / "whole", "stripe_refunds.csv", bare)

    beside = import_and_correlate([(canonical, None), (alone, None)])
    at_once = import_and_correlate([(p, None) for p in sorted(whole.iterdir())])
    ticket = first[header.index("ticket_id (metadata)")]
    assert case_of(beside.log, "stripe:re_90000004") == case_of(
        at_once.log, "stripe:re_90000004") == [ticket]
    joined = beside.log[beside.log[C.EVENT_ID].astype(str) == "stripe:re_90000004"].iloc[0]
    assert [joined[C.TICKET_ID], joined[C.ORDER_ID]] == [
        ticket, first[header.index("order_id (metadata)")]]
    assert beside.correlation_problems is not None and beside.correlation_problems.empty

    findings = checked(tmp_path, "beside", [canonical, alone])
    assert fingerprints(findings) == fingerprints(
        checked(tmp_path, "at_once", sorted(whole.iterdir())))
    assert ("DU001", ticket) in {(f["rule"], f["case_id"]) for f in findings}
    assert not [f for f in findings if f["case_id"] == "re_90000004"]


def test_without_order_correlation_a_refund_naming_only_a_charge_joins_its_payout_case(
        tmp_path: Path) -> None:
    """With `ticket_to_charge: none` a ticket takes no charge by its order, and a refund
    naming no ticket is in the payout case of its charge. Beside a log imported so, such a
    refund joins the log's payout case of its charge, not a ticket's case that holds the
    charge because another refund named the ticket: the cases correlation gives when the
    exports are read at once."""
    config = replace(load_sources_config(), ticket_to_charge="none")
    log = import_and_correlate([(p, None) for p in sorted(EXPORTS.iterdir())],
                               sources_config=config).log
    # A payout case: a refund naming no ticket, its case named by its refund id.
    payouts = log[log[C.REFUND_ID].notna() & log[C.TICKET_ID].isna()
                  & (log[C.CASE].astype(str) == log[C.REFUND_ID].astype(str))]
    orphan_charge = str(payouts[C.CHARGE_ID].dropna().iloc[0])
    header, first = first_record("stripe_refunds.csv")
    ticketed_charge = first[header.index("charge")]
    assert ticketed_charge in set(log.loc[log[C.TICKET_ID].notna(), C.CHARGE_ID].astype(str))
    canonical = tmp_path / "none.parquet"
    log.to_parquet(canonical, index=False)
    records = [edited(header, first, {"id": f"re_9000001{k}", "charge": charge,
                                      "created": "2026-09-22 06:45:20",
                                      "ticket_id (metadata)": "", "order_id (metadata)": ""})
               for k, charge in enumerate((orphan_charge, ticketed_charge))]
    alone = write_export(tmp_path / "next" / "stripe_refunds.csv", header, *records)
    whole = with_records(tmp_path / "whole", "stripe_refunds.csv", *records)

    beside = import_and_correlate([(canonical, None), (alone, None)], sources_config=config)
    at_once = import_and_correlate([(p, None) for p in sorted(whole.iterdir())],
                                   sources_config=config)
    payout_case = str(payouts.loc[payouts[C.CHARGE_ID].astype(str) == orphan_charge,
                                  C.CASE].iloc[0])
    for event_id, expected in (("stripe:re_90000010", payout_case),
                               ("stripe:re_90000011", "re_90000011")):
        assert case_of(beside.log, event_id) == case_of(at_once.log, event_id) == [expected]
    assert beside.correlation_problems is not None and beside.correlation_problems.empty


def problems_of(result: ImportResult, file: str, row: int) -> list[list[object]]:
    """The correlation problems (field, value, reason) of one export record (`row`: its
    line)."""
    problems = result.correlation_problems
    assert problems is not None
    mine = problems[(problems["file"].astype(str) == file) & (problems["row"] == row)]
    return mine[["field", "value", "reason"]].values.tolist()


def sample_rows(name: str) -> int:
    with (EXPORTS / name).open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def shared_charge(canonical: Path) -> str:
    """A charge the log holds in two cases (refunded in both: `<id>@<case>` copies)."""
    log = pd.read_parquet(canonical)
    return str(log.loc[log[C.EVENT_ID].astype(str).str.contains("@"), C.CHARGE_ID].iloc[0])


@pytest.mark.parametrize("scenario", [
    "names only a charge the log holds in two cases",
    "names a ticket no export or log holds",
    "states an order no ticket names",
    "names only a charge the log holds in a ticket case and a payout case",
])
def test_a_new_refund_of_a_charge_only_the_log_holds_gets_its_case_as_at_once(
        canonical: Path, tmp_path: Path, scenario: str) -> None:
    """A refund of next month naming a charge that only last month's log holds gets the
    case (and the correlation problems) it gets when both months' exports are read at
    once. Before: a refund naming a ticket no export holds joined the log's ticket case of
    its charge (at once: a payout case of its own); one stating an order no ticket names
    joins, as at once, the ticket of its charge's order (docs/sources.md, rule 2), the
    other order among the correlation problems;
    a charge the log holds in a ticket case and in its payout case kept a refund naming
    only it apart, as "held in several cases" (at once: the ticket case of its order)."""
    header, first = first_record("stripe_refunds.csv")
    charge = first[header.index("charge")]
    month_one = canonical
    earlier: list[list[str]] = []
    cells = {"id": "re_90000020", "created": "2026-09-24 06:45:20",
             "ticket_id (metadata)": "", "order_id (metadata)": ""}
    if scenario == "names only a charge the log holds in two cases":
        cells["charge"] = shared_charge(canonical)
    elif scenario == "names a ticket no export or log holds":
        cells["ticket_id (metadata)"] = "T-NOWHERE"
    elif scenario == "states an order no ticket names":
        cells["order_id (metadata)"] = "ORD-NOWHERE"
    else:  # last month a refund of the charge named a ticket no export holds: a payout case
        earlier = [edited(header, first, {"id": "re_90000019", "created": "2026-08-24 06:45:20",
                                          "ticket_id (metadata)": "T-NOWHERE"})]
        one = with_records(tmp_path / "month-one", "stripe_refunds.csv", *earlier)
        month_one = tmp_path / "month-one.parquet"
        import_and_correlate([(p, None) for p in sorted(one.iterdir())]).log.to_parquet(
            month_one, index=False)
    record = edited(header, first, cells)
    alone = write_export(tmp_path / "next" / "stripe_refunds.csv", header, record)
    whole = with_records(tmp_path / "whole", "stripe_refunds.csv", *earlier, record)

    beside = import_and_correlate([(month_one, None), (alone, None)])
    at_once = import_and_correlate([(p, None) for p in sorted(whole.iterdir())])
    expected = case_of(at_once.log, "stripe:re_90000020")
    assert case_of(beside.log, "stripe:re_90000020") == expected
    if scenario == "names only a charge the log holds in a ticket case and a payout case":
        assert len(set(case_of(pd.read_parquet(month_one), f"stripe:{charge}@"
                                + first[header.index("ticket_id (metadata)")]))) == 1
        assert expected == [first[header.index("ticket_id (metadata)")]]
    elif scenario == "states an order no ticket names":  # its charge's order decides
        assert expected == [first[header.index("ticket_id (metadata)")]]
    else:
        assert expected == ["re_90000020"]
    # Rows are the records' lines (the header is line 1).
    problems = problems_of(beside, "stripe_refunds.csv", 2)
    assert problems == problems_of(
        at_once, "stripe_refunds.csv", sample_rows("stripe_refunds.csv") + len(earlier) + 2)
    assert problems == ([[C.TICKET_ID, "T-NOWHERE", "refund names a ticket no ticketing "
                          "export contains (kept as a case of its own)"]]
                        if scenario == "names a ticket no export or log holds" else
                        [[C.ORDER_ID, "ORD-NOWHERE", "refund states another order than its "
                          f"charge {charge}'s ({first[header.index('order_id (metadata)')]}):"
                          " its charge's order decides its case"]]
                        if scenario == "states an order no ticket names" else
                        shared_order_problem(canonical, cells["charge"])
                        if scenario == "names only a charge the log holds in two cases" else [])


def shared_order_problem(canonical: Path, charge: str) -> list[list[object]]:
    """The correlation problem of a refund naming no ticket whose charge `charge` the log
    holds in the cases of two tickets naming its order: which ticket it pays cannot be told
    (before, nothing said so beside its payout case)."""
    log = pd.read_parquet(canonical)
    held = log[log[C.CHARGE_ID].astype("string") == charge]
    tickets = set(held[C.TICKET_ID].dropna().astype(str))
    orders = set(held[C.ORDER_ID].dropna().astype(str))
    assert len(tickets) == 2 and len(orders) == 1
    return [[C.ORDER_ID, orders.pop(), "refund names no ticket, and several tickets name its "
             "order: kept as a payout case of its own"]]


@pytest.mark.parametrize("stated", [True, False], ids=["log keeping stated ids", "older log"])
def test_a_refund_naming_only_a_charge_of_two_orders_in_the_log_gets_its_case_as_at_once(
        tmp_path: Path, stated: bool) -> None:
    """Last month a refund in another ticket's case named the charge too, so the log holds
    it in two cases of two orders, and each event carries its case's order. The log keeps
    the order the charge's record stated (`stated:order:id`, where it is not its case's):
    taken back and correlated again, a refund naming only the charge joins the ticket of
    the charge's own order, as when the exports are read at once. An older log cannot tell
    which order is the charge's own: the refund is kept as a case of its own, and the
    correlation problems say why."""
    header, first, second = (lambda rows: (rows[0], rows[1], rows[2]))(
        list(csv.reader((EXPORTS / "stripe_refunds.csv").open(newline="", encoding="utf-8"))))
    charge = first[header.index("charge")]
    assert second[header.index("order_id (metadata)")] != first[header.index(
        "order_id (metadata)")]
    other = edited(header, second, {"id": "re_90000021", "charge": charge,
                                    "created": "2026-08-24 06:45:20"})
    one = with_records(tmp_path / "month-one", "stripe_refunds.csv", other)
    month_one = tmp_path / "month-one.parquet"
    import_and_correlate([(p, None) for p in sorted(one.iterdir())]).log.to_parquet(
        month_one, index=False)
    if not stated:
        older(month_one)
    bare = edited(header, first, {"id": "re_90000022", "created": "2026-09-24 06:45:20",
                                  "ticket_id (metadata)": "", "order_id (metadata)": ""})
    alone = write_export(tmp_path / "next" / "stripe_refunds.csv", header, bare)
    beside = import_and_correlate([(month_one, None), (alone, None)])
    if stated:
        at_once = import_and_correlate([(p, None) for p in sorted(one.iterdir())]
                                       + [(alone, None)])
        assert case_of(beside.log, "stripe:re_90000022") == case_of(
            at_once.log, "stripe:re_90000022") == [first[header.index("ticket_id (metadata)")]]
        assert problems_of(beside, "stripe_refunds.csv", 2) == []
        return
    assert case_of(beside.log, "stripe:re_90000022") == ["re_90000022"]
    assert problems_of(beside, "stripe_refunds.csv", 2) == [
        [C.CHARGE_ID, charge, "refund names a charge that the log given holds in cases of "
                              "several orders (kept as a case of its own)"]]


def _read_and_record(source: tuple[Path, str], **options: Any) -> Any:
    """`_read_one`, writing down which process read which file (the file named by
    READ_BY; worker processes inherit it)."""
    with open(os.environ["READ_BY"], "a", encoding="utf-8") as f:
        f.write(f"{source[0].name}\t{os.getpid()}\n")
    return _READ_ONE(source, **options)


def test_a_log_read_in_this_process_while_workers_read_the_exports_gives_the_same_result(
        canonical: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A canonical log with a core's share of the work or more is read in the main process
    while worker processes read the exports (a worker would send the whole log back through
    a pipe): the result is the one of reading every file here, one after another."""
    sources: list[tuple[Path, str | None]] = [
        *((p, None) for p in sorted(EXPORTS.iterdir())), (canonical, None)]
    alone = import_sources(sources, workers=1, sort=True)
    monkeypatch.setenv("READ_BY", str(tmp_path / "read_by.tsv"))
    monkeypatch.setattr(ingest, "_read_one", _read_and_record)
    beside = import_sources(sources, workers=2, sort=True)
    readers = dict(line.split("\t") for line in
                   (tmp_path / "read_by.tsv").read_text(encoding="utf-8").splitlines())
    assert int(readers.pop(canonical.name)) == os.getpid()
    assert len(readers) == 7 and all(int(pid) != os.getpid() for pid in readers.values())
    pd.testing.assert_frame_equal(beside.log, alone.log)
    pd.testing.assert_frame_equal(beside.quarantine, alone.quarantine)
    assert [(f.read, f.imported, f.quarantined) for f in beside.files] == [
        (f.read, f.imported, f.quarantined) for f in alone.files]


def test_a_broken_log_read_in_this_process_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "canonical.parquet"
    broken.write_bytes(b"PAR1 not parquet" * 100_000)
    sources: list[tuple[Path, str | None]] = [
        (broken, None), *((p, None) for p in sorted(EXPORTS.iterdir()))]
    with pytest.raises(InputError) as caught:
        import_sources(sources, workers=2)
    assert caught.value.file == str(broken)
    assert "not a readable Parquet file" in caught.value.message


def test_a_log_and_exports_correlated_together_hold_each_text_column_in_one_chunk(
        canonical: Path, tmp_path: Path) -> None:
    """The log read and the exports' correlated events are joined and sorted: each text
    column then comes in one Arrow chunk, as from the exports alone (the rules take columns
    in their own order, and Arrow joins a column's chunks first at every take). Before, the
    join's chunks stayed: two per column at 1M cases (a month's exports), and here, where
    every record of the export repeats the log's (an empty chunk for the exports' part)."""
    header, first = first_record("stripe_refunds.csv")
    new = write_export(tmp_path / "next" / "stripe_refunds.csv", header, edited(
        header, first, {"id": "re_90000006", "created": "2026-09-20 06:45:20"}))
    for export in (EXPORTS / "stripe_refunds.csv", new):
        log = import_and_correlate([(canonical, None), (export, None)]).log
        texts = {name: log[name].array._pa_array.num_chunks for name in log.columns
                 if isinstance(log[name].array, pd.arrays.ArrowStringArray)}
        assert C.EVENT_ID in texts and C.CASE in texts
        assert set(texts.values()) == {1}, (export, texts)


def test_a_log_made_beside_an_older_log_keeps_no_stated_ids(canonical: Path,
                                                            tmp_path: Path) -> None:
    """Correlated beside an older log (which does not keep what its records stated), the
    new records' `stated:*` values are not kept either: in the log written, they would read
    as if the older log's events had stated their cases' ids, and the next month's run
    would take those back as stated. Beside a log that keeps them, the log keeps them."""
    header, first = first_record("stripe_refunds.csv")
    refund = edited(header, first, {"id": "re_90000031", "created": "2026-09-21 06:45:20"})
    export = write_export(tmp_path / "stripe_refunds.csv", header, refund)
    result = import_and_correlate([(canonical, None), (export, None)])
    kept = [name for name in C.STATED.values() if name in result.log.columns]
    assert kept == (list(C.STATED.values()) if keeps_stated(canonical) else [])


def test_a_non_export_log_beside_exports_keeps_the_stated_ids(tmp_path: Path) -> None:
    """Events of an input that is no export (a plain event log) read beside exports are not
    correlated and state nothing: the log correlation makes keeps the exports' stated ids,
    and those events carry them empty."""
    plain = tmp_path / "plain.csv"
    plain.write_text("case,activity,timestamp\nP1,Open,2026-07-01T10:00:00Z\n",
                     encoding="utf-8")
    result = import_and_correlate([(plain, None), *((p, None) for p in sorted(
        EXPORTS.iterdir()))])
    assert set(C.STATED.values()) <= set(result.log.columns)
    mine = result.log[result.log[C.CASE].astype(str) == "P1"]
    assert len(mine) == 1 and mine[list(C.STATED.values())].isna().all(axis=None)


def test_a_finding_keeps_its_fingerprint_when_another_case_refunds_its_charge_next_month(
        canonical: Path, tmp_path: Path) -> None:
    """Case 40024's refund went to another instrument than its purchase (EV006, citing the
    charge ch_8299146480). Next month a refund of the same charge names ticket 40115:
    correlation copies the charge into both cases, and 40024's copy is named
    `stripe:ch_8299146480@40024`. The finding of 40024, the same purchase and refund, got
    another fingerprint (68317dc9f82a8d08 -> 0c0b1989eaaeeb9a), so a month's tracking read
    it as closed and new, and a waiver by its fingerprint stopped matching. It keeps it now."""
    header, first = first_record("stripe_refunds.csv")
    later = write_export(tmp_path / "oct" / "stripe_refunds_oct.csv", header, edited(
        header, first, {"id": "re_90000501", "charge": "ch_8299146480", "amount": "1000",
                        "currency": "gbp", "created": "2026-10-05 10:00:34",
                        "ticket_id (metadata)": "40115", "refund_method (metadata)": "paypal",
                        "order_id (metadata)": ""}))

    def mismatch(findings: list[dict[str, Any]]) -> dict[str, Any]:
        [found] = [f for f in findings if f["case_id"] == "40024" and f["rule"] == "EV006"]
        return found

    month = mismatch(checked(tmp_path, "month", [canonical]))
    assert month["event_ids"] == ["stripe:ch_8299146480", "stripe:re_00000022"]
    grown = mismatch(checked(tmp_path, "grown", [canonical, later,
                                                 EXPORTS / "role_history.csv"]))
    # The charge is copied now (beside an older log, a log charge is not copied into a
    # case that a new record joins: docs/sources.md).
    assert ("stripe:ch_8299146480@40024" in grown["event_ids"]) == keeps_stated(canonical)
    assert grown["fingerprint"] == month["fingerprint"]
