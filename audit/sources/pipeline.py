"""Import several sources at once and, where they are ticketing/payment exports, correlate
them into refund cases: the one call the CLI's import, check and demo share."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.digest import LaterDigests
from audit.gcpause import paused_gc
from audit.ingest import IMPORT_IT_FIRST, ImportResult, import_sources
from audit.ingest.mapping import Mapping
from audit.ingest.normalise import (
    ABOVE_CHARGE_HINTS,
    QUARANTINE_HINTS,
    REFUND_TOTAL_HINT,
    TICKET_HINT,
)
from audit.memory import return_free_memory
from audit.sources.config import SourcesConfig, load_sources_config
from audit.words import counted


def import_and_correlate(
    sources: list[tuple[Path, str | None]],
    *,
    mapping: Mapping | None = None,
    assume_tz: str | None = None,
    encoding: str | None = None,
    object_type: str | None = None,
    follow_o2o: tuple[str, ...] = (),
    sources_config: SourcesConfig | None = None,
    format_hint: str = IMPORT_IT_FIRST,
) -> ImportResult:
    """`import_sources`, then `correlate` if any event came from a source-system export.
    `format_hint` ends the error for a file of unknown type (see `detect_format`)."""
    from audit.ingest import SOURCE_SYSTEMS, detect_format
    from audit.progress import current

    progress = current()
    config = sources_config or load_sources_config()
    resolved = [(path, fmt or (detect_format(path, mapping, hint=format_hint)
                              if path.exists() else None))
                for path, fmt in sources]
    names = ", ".join(path.name for path, _ in sources)
    progress.stage(f"reading {len(sources)} input(s): {names}")
    # Only exports (and role histories): correlation orders the events, so the import
    # does not sort them first (a take of every column).
    only_exports = all(fmt in SOURCE_SYSTEMS or fmt == "roles" for _, fmt in resolved)
    # Only events read from exports in this import are correlated: a canonical log (which
    # keeps the provenance of its exports) is already correlated.
    exported = sum(fmt in SOURCE_SYSTEMS for _, fmt in resolved)
    with paused_gc():  # millions of small objects read, none in cycles: see paused_gc
        # Where correlation follows, the files are hashed while it runs (it uses one core),
        # not by the reading workers, which use both.
        result = import_sources(sources, mapping=mapping, assume_tz=assume_tz,
                                encoding=encoding, object_type=object_type,
                                follow_o2o=follow_o2o,
                                sources_config=config, sort=not only_exports,
                                defer_digests=bool(exported), format_hint=format_hint)
    return_free_memory()  # the files' raw cells and per-file frames, before correlating
    hashing = LaterDigests(result.unhashed) if result.unhashed else None
    try:
        _correlated(result, exported, config)
    except BaseException:
        if hashing is not None:
            hashing.abandon()
        raise
    if hashing is not None:  # joined here: the check forks the process later
        result.digests.update(hashing.result())
        result.unhashed = {}
    return result


def _correlated(result: ImportResult, exported: int, config: SourcesConfig) -> None:
    """`result.log` with the events read from the import's `exported` source-system exports
    (`result.from_export`) correlated into refund cases."""
    from audit.correlate import cases_of, charges_of, correlate, fill_from_cases, ticket_orders
    from audit.progress import current

    if not exported:  # (nothing to correlate: the lines naming no case by their charge)
        _name_hinted_cases(result)
        return
    progress = current()
    progress.stage(f"correlating {exported} export(s) into refund cases")
    # By the input each event came from: a canonical log given beside exports keeps its
    # events' `source:file` from the exports it was once read from, which may share a name
    # with an export read now (its events were correlated then and are not again).
    fresh = result.from_export
    if fresh is None or len(fresh) != len(result.log):
        raise ValueError("correlation needs to know which events the exports gave")
    inputs = result.restated  # a canonical log's events taken back (restated), by input
    result.restated = None
    if fresh.all():  # the usual case: the log is handed over, not held beside its correlation
        imported = result.log
        # Empty, with the log's dtypes and no reference to its data (a slice would keep it).
        result.log = rest = pd.DataFrame({name: pd.Series([], dtype=dtype)
                                          for name, dtype in imported.dtypes.items()})
        with paused_gc():
            correlation = correlate(imported, config, release=True, inputs=inputs)
        del imported
        return_free_memory()
    else:
        rest, part = result.log[~fresh], result.log[fresh]
        known = _known_events(rest, config)
        with paused_gc():  # a refund of a ticket or order only the log has joins its case
            charges = charges_of(known, part.loc[part[C.REFUND_ID].notna(), C.CHARGE_ID])
            orders = pd.concat([part[C.ORDER_ID].astype("string"), charges["order"]],
                               ignore_index=True)
            correlation = correlate(
                part, config, known_tickets=cases_of(known, C.TICKET_ID, part[C.TICKET_ID]),
                known_orders=cases_of(known, C.ORDER_ID, orders, ticketed=True,
                                      several=True),
                known_charges=charges,
                known_ticket_orders=ticket_orders(known, part[C.TICKET_ID]),
                inputs=None if inputs is None else inputs[fresh])
            del charges, orders, known
        del part
        correlation.log = fill_from_cases(correlation.log, rest)
        # A generic log's events (a shop till's POS export: its cash refunds and sales, of
        # which no payment export holds a record) naming a ticket of the exports, or an
        # order one ticket of the exports names, are that ticket's refund case's.
        rest, joined = join_generic_events(rest, correlation.log, config,
                                           earlier=_export_events(rest, config))
        result.notes.extend(joined.notes)
        _rename_joined_lines(result, joined.moved, correlation.log, config)
        if joined.problems:
            correlation.unresolved = pd.concat(
                [correlation.unresolved, pd.DataFrame(joined.problems,
                                                      columns=correlation.unresolved.columns)],
                ignore_index=True)
        for name, n in joined.copied.items():
            correlation.repeated_by_file[name] = correlation.repeated_by_file.get(name, 0) + n
        if _unstated(rest, config):  # see _unstated
            correlation.log = correlation.log.drop(columns=list(C.STATED.values()))
    # (Correlation adds the STATED columns: the others' dtypes are compared.)
    if len(rest) or not rest.dtypes.equals(correlation.log.dtypes.reindex(rest.columns)):
        import pyarrow as pa

        log = pd.concat([rest, correlation.log], ignore_index=True)
        C.compact(log)  # categories of the two parts differ: the concat made them objects
        order = C.stable_order(log, [C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW])
        log = log.take(order).reset_index(drop=True)
        # The two parts' texts, one chunk a column (as the exports' join gives them): the
        # rules take columns in their own order, and Arrow joins a column's chunks first
        # at every take (a copy of the column each time, in both rule processes).
        for name in log.columns:
            log[name] = C.one_chunk_text(log[name])
            pa.default_memory_pool().release_unused()  # the column's two chunks
    else:  # only exports: correlate's log is already in this order, with these dtypes
        log = correlation.log
    ordered = list(C.COLUMNS) + [c for c in log.columns if c not in C.COLUMNS]
    result.log = log[ordered]
    result.from_export = None  # (the events are in another order now, and correlated)
    _name_hinted_cases(result)
    result.notes.extend(correlation.notes)
    result.correlation_problems = correlation.unresolved
    # Each input's charge records left out as sales: an export's by its label (the inputs'
    # labels differ), a canonical log's events taken back by the log's input (they keep the
    # names of the exports they were once read from, which an export here may share).
    # (and so the events each input's charges became: a charge in several cases is an event
    # in each, `FileCounts.repeated`)
    by_file, by_input = correlation.left_out_by_file, correlation.left_out_by_input
    again_file, again_input = correlation.repeated_by_file, correlation.repeated_by_input
    result.files = [replace(f, left_out=by_input.get(k, 0) + by_file.get(f.file, 0),
                            repeated=again_input.get(k, 0) + again_file.get(f.file, 0))
                    for k, f in enumerate(result.files)]
    if len(rest):  # beside a log correlated before: the log read, its part and the joined
        del rest, log, correlation  # frames, freed, given back before the rules' facts
        return_free_memory()


def _known_events(rest: pd.DataFrame, config: SourcesConfig) -> pd.DataFrame:
    """The events of `rest` (those not correlated in this run) that tell correlation which
    case an earlier ticket, order or charge is in: all but a generic log's events (a till's
    POS export, whose `source:system` is no export system of `config`) outside the case of
    the ticket they name. Such an event is joined to its ticket's case only after the
    exports are correlated (`join_generic_events`); read before, its own case (a till
    refund's order, ORD-1) was taken for the ticket's earlier case, and a card refund of
    that order naming no ticket left the ticket's case for a payout case of its own (a
    false orphan payout, EV002). A generic event already in its ticket's case (a log
    written by an earlier run, or one whose cases are the tickets) still counts."""
    if not len(rest):
        return rest
    systems = [*config.ticketing, *config.payments]
    generic = ~rest[C.SOURCE_SYSTEM].astype("string").isin(systems).fillna(False) \
        .to_numpy(dtype=bool)
    if not generic.any():
        return rest
    ticket = rest[C.TICKET_ID].astype("string")
    at_home = (ticket == rest[C.CASE].astype("string")).fillna(False).to_numpy(dtype=bool)
    # (only the columns the look-ups read: not a copy of every column of a large log)
    return rest.loc[~generic | at_home, [C.TICKET_ID, C.ORDER_ID, C.CHARGE_ID, C.CASE]]


def _export_events(rest: pd.DataFrame, config: SourcesConfig) -> pd.DataFrame:
    """The events of `rest` read from an export (a ticketing or payment system's)."""
    systems = [*config.ticketing, *config.payments]
    return rest[rest[C.SOURCE_SYSTEM].astype("string").isin(systems).fillna(False)
                .to_numpy(dtype=bool)]


def _rename_joined_lines(result: ImportResult, moved: dict[tuple[str, str], str],
                         correlated: pd.DataFrame, config: SourcesConfig) -> None:
    """The quarantine lines of a generic log's rows (a till row unread) name the ticket case
    the row would have joined: that of the ticket the row names (`TICKET_HINT`), where one
    ticket case of `correlated` holds it, else the case all the events of the line's case
    in that file joined (`Joined.moved`). Check counts a case's quarantined rows by it
    (before, the line named the row's own case, which no longer was or never had been, and
    the ticket's case counted none)."""
    lines = result.quarantine
    hints = result.quarantine_hints
    named = (hints[TICKET_HINT].to_numpy(dtype=object)
             if hints is not None and TICKET_HINT in hints.columns and len(hints) == len(lines)
             else None)
    if lines.empty or (not moved and (named is None or not (named != "").any())):
        return
    by_ticket: dict[str, str] = {}
    if named is not None and (named != "").any():
        tickets = correlated[C.SOURCE_SYSTEM].astype("string") \
            .isin(list(config.ticketing)).fillna(False).to_numpy(dtype=bool)
        pairs = pd.DataFrame({
            "id": correlated[C.TICKET_ID].astype("string").to_numpy()[tickets],
            "case": correlated[C.CASE].astype("string").to_numpy()[tickets]}) \
            .dropna().drop_duplicates()
        pairs = pairs[~pairs["id"].duplicated(keep=False)]
        by_ticket = dict(zip(pairs["id"].astype(str), pairs["case"].astype(str), strict=True))
    keys = list(zip(lines["file"].astype(str), lines["case"].astype(object).fillna("")
                    .astype(str), strict=True))
    cases = lines["case"].astype(object).to_numpy(copy=True)
    renamed = False
    for k, key in enumerate(keys):
        case = by_ticket.get(str(named[k])) if named is not None and named[k] else None
        case = case or moved.get(key)
        if case is not None and case != key[1]:
            cases[k], renamed = case, True
    if renamed:
        result.quarantine = lines.assign(case=cases)


def _name_hinted_cases(result: ImportResult) -> None:
    """The case of each quarantine line of a payment record that names no ticket (or of a
    generic log's row whose case id is blank), where correlation (or the log) put the charge
    it is or refunds (else the refund it names, as a PayPal conversion's; else its order) in
    exactly one case: a
    charge quarantined for its amount leaves its refund case without a purchase, whose
    finding (no-prior-purchase) then rests on that line. A charge or order in no case (a
    sale no refund refers to) or in several (partial refunds under different tickets)
    names none; nor is a line whose charge is in several cases named by its order (a refund
    of it that states no order leaves the order in one of them). The hints are dropped
    either way, after the lines of a chargeback or dispute named by the charge they name are
    kept (`ImportResult.disputes`)."""
    hints, result.quarantine_hints = result.quarantine_hints, None
    result.disputes = result.not_itemised = result.above_charge = None
    if hints is None or result.quarantine.empty:
        return
    # A Dashboard payment's refunded total, by the payment its line's hint names (before,
    # parsed from the reason's text, where an id holding a space was not found), picked by
    # the kind its reader gave the line (REFUND_TOTAL_HINT): before, by a phrase of the
    # reason, which a Failed payment's cell quoting it matched too (a payment told as
    # refunded and in no case)
    totals = ((hints[REFUND_TOTAL_HINT].to_numpy(dtype=object) == "yes"
               if REFUND_TOTAL_HINT in hints.columns else np.zeros(len(hints), dtype=bool))
              & (hints[QUARANTINE_HINTS[0]].to_numpy(dtype=object) != ""))
    if totals.any():
        result.not_itemised = pd.DataFrame({
            "charge": hints[QUARANTINE_HINTS[0]].to_numpy(dtype=object)[totals].astype(str),
            "file": result.quarantine["file"].to_numpy(dtype=object)[totals].astype(str),
            "row": result.quarantine["row"].to_numpy(dtype=object)[totals]})
    # A Dashboard payment refunded above its Amount: kept apart from the totals above, since
    # the check tells it whether or not another input itemises the refunds (before, a line
    # and an import note alone, no warning, nothing counted)
    # (by the kind its reader gave the line, with the export's Amount and Currency
    # (ABOVE_CHARGE_HINTS): before, by a phrase of the reason, which a Failed payment's cell
    # quoting it matched too, and only where the line named no case)
    above = (hints[ABOVE_CHARGE_HINTS[0]].to_numpy(dtype=object) != ""
             if ABOVE_CHARGE_HINTS[0] in hints.columns else np.zeros(len(hints), dtype=bool))
    if above.any():
        result.above_charge = pd.DataFrame({
            **{name: hints[hint].to_numpy(dtype=object)[above].astype(str)
               for name, hint in zip(("charge", "amount", "currency"), ABOVE_CHARGE_HINTS,
                                     strict=True)},
            **{name: result.quarantine[name].to_numpy(dtype=object)[above]
               for name in ("file", "row", "field", "value")}})
    cases = result.quarantine["case"].astype(object).fillna("").to_numpy(copy=True)
    unnamed = cases == ""
    open_lines = unnamed.copy()  # (the lines whose case is still to be looked for)
    # A line's payment hint names a charge, else a refund, of any payment system's export
    # (a hint naming a refund id goes with the refund's case: PayPal's currency conversion
    # or fee reversal of a refund names it by Reference Txn ID, where before it named
    # none), else the line's order is looked for.
    for column, by in ((QUARANTINE_HINTS[0], C.CHARGE_ID), (QUARANTINE_HINTS[0], C.REFUND_ID),
                       (QUARANTINE_HINTS[1], C.ORDER_ID)):
        wanted = open_lines & (hints[column].to_numpy() != "")
        if not wanted.any() or by not in result.log.columns:
            continue
        ids = hints[column].to_numpy()[wanted]
        log = result.log
        # (isin on the column as it is: a categorical's compares its categories alone)
        held = np.flatnonzero(log[by].isin(set(ids.tolist())).to_numpy(dtype=bool))
        pairs = pd.DataFrame({"id": log[by].take(held).astype("string").to_numpy(),
                              "case": log[C.CASE].take(held).astype("string").to_numpy()})
        pairs = pairs.drop_duplicates()
        only = pairs[~pairs["id"].duplicated(keep=False)].set_index("id")["case"]
        found = pd.Series(ids).map(only).to_numpy(dtype=object)
        named = np.array([isinstance(f, str) for f in found], dtype=bool)
        at = np.flatnonzero(wanted)[named]
        cases[at] = found[named]
        unnamed[at] = False
        # In a case (named) or in several (none named): not looked for by the order.
        open_lines[np.flatnonzero(wanted)[np.isin(ids, pairs["id"].to_numpy())]] = False
    if not unnamed.all():
        result.quarantine["case"] = cases
    # The chargebacks and disputes of a payment a case holds, named by that payment (its
    # charge): the check tells of a refund paid in such a case (paid back twice?).
    from audit.sources.payments import dispute_lines

    charges = hints[QUARANTINE_HINTS[0]].to_numpy(dtype=object)
    wanted = ((cases != "") & (charges != "")
              & dispute_lines(result.quarantine["field"], result.quarantine["value"]))
    if wanted.any():
        result.disputes = pd.DataFrame({
            "case": cases[wanted].astype(str), "charge": charges[wanted].astype(str),
            "type": result.quarantine["value"].to_numpy(dtype=object)[wanted].astype(str)})


@dataclass
class Joined:
    """What `join_generic_events` did to a generic log's events (a till's POS export)."""

    notes: list[str] = field(default_factory=list)
    moved: dict[tuple[str, str], str] = field(default_factory=dict)
    """(file, case) -> the ticket case all the generic events of that case in that file
    joined: its quarantine lines (a till row unread) name that case now."""
    problems: list[dict[str, object]] = field(default_factory=list)
    """Events naming a ticket no export holds (the correlation problems' columns)."""
    copied: dict[str, int] = field(default_factory=dict)
    """file -> events put into a further case (a sale of an order two tickets name)."""


def join_generic_events(rest: pd.DataFrame, correlated: pd.DataFrame,
                        config: SourcesConfig,
                        earlier: pd.DataFrame | None = None) -> tuple[pd.DataFrame, Joined]:
    """`rest` (the events not correlated in this run) with the events of a generic log (a
    CSV, XES, Parquet or OCEL input, whose `source:system` is no export system of `config`:
    a shop till's POS export, say) put into the refund case of a ticket of `correlated`
    (the exports' events, correlated) where they name one: by their `ticket:id`, where
    exactly one case of `correlated` holds that ticket's events; else, stating no ticket,
    by their `order:id`, where exactly one ticket case of `correlated` names that order
    (as an export's refund naming no ticket joins the only ticket of its order). Where
    several ticket cases name the order, the events stating no ticket that come before
    every event of that order joined by its ticket (the sale) go into each case those
    joined (a copy in each further case, its id `<id>@<case>`, as correlation copies a
    charge refunded under two tickets): before, the sale stayed apart and each ticket
    found no prior purchase (EV007). Only events whose own case is none of `correlated`'s
    are moved (a generic log whose cases are the tickets already shares them). The notes
    (one a generic input) count them. An event naming a ticket that neither `correlated`
    nor `earlier` (the earlier log's export events) holds is a correlation problem, with
    the ticket written alike where there is one (`cs1` for CS1), as an export's refund
    naming an unknown ticket is. Before, a POS cash refund naming its ticket stayed a case
    of its own: its ticket approved-not-paid (EV003), the refund paid without approval
    (AP001), its approver who paid it not seen (SD002)."""
    joined = Joined()
    if not len(rest) or not len(correlated):
        return rest, joined
    systems = [*config.ticketing, *config.payments]
    generic = ~rest[C.SOURCE_SYSTEM].astype("string").isin(systems).fillna(False) \
        .to_numpy(dtype=bool)
    taken = set(correlated[C.CASE].dropna().astype(str).tolist())
    generic &= ~C.text_isin(rest[C.CASE], taken)
    if not generic.any():
        return rest, joined
    tickets = correlated[C.SOURCE_SYSTEM].astype("string").isin(list(config.ticketing)) \
        .fillna(False).to_numpy(dtype=bool)

    def pairs_of(column: str, where: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({
            "id": correlated[column].astype("string").to_numpy()[where],
            "case": correlated[C.CASE].astype("string").to_numpy()[where]}) \
            .dropna().drop_duplicates()

    def sole(pairs: pd.DataFrame) -> pd.Series:
        """id -> the one case of `correlated` whose events state it."""
        pairs = pairs[~pairs["id"].duplicated(keep=False)]
        return pd.Series(pairs["case"].to_numpy(dtype=object),
                         index=pd.Index(pairs["id"].to_numpy(dtype=object)))

    ticket_pairs, order_pairs = pairs_of(C.TICKET_ID, tickets), pairs_of(C.ORDER_ID, tickets)
    by_ticket, by_order = sole(ticket_pairs), sole(order_pairs)
    shared = set(order_pairs.loc[order_pairs["id"].duplicated(keep=False), "id"].tolist())
    ticket = rest[C.TICKET_ID].astype("string").astype(object).to_numpy()
    order = rest[C.ORDER_ID].astype("string").astype(object).to_numpy()
    stated = ~pd.isna(ticket)
    via_ticket = pd.Series(ticket).map(by_ticket).to_numpy(dtype=object)
    via_order = pd.Series(order).map(by_order).to_numpy(dtype=object)
    moved_ticket = generic & stated & ~pd.isna(via_ticket)
    moved_order = generic & ~stated & ~pd.isna(via_order)
    files = rest[C.SOURCE_FILE].astype("string").astype(object).to_numpy()
    joined.problems = _unknown_tickets(rest, generic & stated & pd.isna(via_ticket),
                                       ticket_pairs, earlier, files, joined.notes)
    # An order several tickets name: its sale (the events stating no ticket before the
    # first of it joined by a ticket) into each case its events naming a ticket joined.
    sale_cases: dict[int, list[str]] = {}
    in_shared = pd.Series(order, dtype=object).isin(shared).to_numpy(dtype=bool) \
        if shared else np.zeros(len(rest), dtype=bool)
    unticketed = np.flatnonzero(generic & ~stated & in_shared)
    if len(unticketed) and (moved_ticket & in_shared).any():
        times = rest[C.TIMESTAMP].reset_index(drop=True)
        at = np.flatnonzero(moved_ticket & in_shared)
        joined_by = pd.DataFrame({"order": order[at], "case": via_ticket[at],
                                  "time": times.iloc[at].to_numpy()})
        first_of = joined_by.groupby("order")["time"].min().to_dict()
        cases_of = {name: sorted(set(group.tolist()))
                    for name, group in joined_by.groupby("order")["case"]}
        missing = times.isna().to_numpy(dtype=bool)
        for k in unticketed.tolist():
            first = first_of.get(order[k])
            if first is not None and not missing[k] and times.iat[k] < first:
                sale_cases[k] = cases_of[order[k]]
    moved_sale = np.zeros(len(rest), dtype=bool)
    moved_sale[list(sale_cases)] = True
    moved_any = moved_ticket | moved_order | moved_sale
    if not moved_any.any():
        return rest, joined
    old = rest[C.CASE].astype("string").astype(object).to_numpy()
    cases = old.copy()
    cases[moved_ticket] = via_ticket[moved_ticket]
    cases[moved_order] = via_order[moved_order]
    for k, into in sale_cases.items():
        cases[k] = into[0]
    rest = rest.copy()
    rest[C.CASE] = pd.Series(cases, index=rest.index, dtype="string")
    copies = [(k, case) for k, into in sale_cases.items() for case in into[1:]]
    if copies:
        extra = rest.iloc[[k for k, _ in copies]].copy()
        extra[C.CASE] = pd.Series([case for _, case in copies], index=extra.index,
                                  dtype="string")
        extra[C.EVENT_ID] = (extra[C.EVENT_ID].astype("string") + "@"
                             + extra[C.CASE].astype("string"))
        for k, _ in copies:
            joined.copied[files[k]] = joined.copied.get(files[k], 0) + 1
        rest = pd.concat([rest, extra], ignore_index=True)
    # Each (file, old case) whose generic events all joined one case: its quarantine lines.
    frame = pd.DataFrame({"file": files[generic], "old": old[generic],
                          "new": cases[generic]}).dropna().drop_duplicates()
    frame = frame[~frame.duplicated(["file", "old"], keep=False) & (frame["old"] != frame["new"])]
    joined.moved = {(str(f), str(o)): str(n)
                    for f, o, n in zip(frame["file"], frame["old"], frame["new"], strict=True)}
    for name in pd.unique(files[:len(moved_any)][moved_any]):
        mine = files == name
        n_ticket, n_order = int((moved_ticket & mine).sum()), int((moved_order & mine).sum())
        n_sale = int((moved_sale & mine).sum())
        first = np.flatnonzero(moved_any & mine)[0]
        parts = [f"{n_ticket:,} by the ticket they name"] if n_ticket else []
        if n_order:
            parts.append(f"{n_order:,} by the order they name, which one ticket names")
        if n_sale:
            parts.append(f"{n_sale:,} of an order several tickets name, before its events "
                         "naming a ticket: into each of those tickets' cases")
        others = int((generic & mine & ~moved_any).sum())
        notes_tail = (f"; its other {counted(others, 'event', spec=',')} keep their own cases"
                      if others else "")
        joined.notes.append(
            f"{name}: {n_ticket + n_order + n_sale:,} event(s) of this generic log joined the "
            f"refund case of a ticket of the exports ({', '.join(parts)}; the first: row "
            f"{rest[C.SOURCE_ROW].iloc[first]}, {rest[C.ACTIVITY].iloc[first]}, into "
            f"{cases[first]}){notes_tail}")
    return rest, joined


def _unknown_tickets(rest: pd.DataFrame, unknown: np.ndarray, ticket_pairs: pd.DataFrame,
                     earlier: pd.DataFrame | None, files: np.ndarray,
                     notes: list[str]) -> list[dict[str, object]]:
    """The correlation problems of a generic log's events (`unknown`, among `rest`) naming
    a ticket that no ticket case of the exports holds (`ticket_pairs`) nor the earlier
    log's export events (`earlier`): kept in their own cases, as before, now told, with
    the ticket written alike where exactly one is (`_written_alike`); a note a file."""
    from audit.correlate import _written_alike

    if not unknown.any():
        return []
    held = [pd.Index(ticket_pairs["id"].unique(), dtype="string")]
    if earlier is not None and len(earlier):
        held.append(pd.Index(earlier[C.TICKET_ID].dropna().astype("string").unique(),
                             dtype="string"))
    named = rest[C.TICKET_ID].astype("string").astype(object).to_numpy()
    known = {str(name) for index in held for name in index.tolist()}
    at = np.array([k for k in np.flatnonzero(unknown).tolist() if str(named[k]) not in known],
                  dtype=np.int64)
    if not len(at):
        return []
    unknown = np.zeros(len(rest), dtype=bool)
    unknown[at] = True
    alike_of = _written_alike(pd.unique(named[at]).tolist(), held)
    rows = rest[C.SOURCE_ROW].to_numpy(dtype=object)
    problems: list[dict[str, object]] = []
    for k in at.tolist():
        alike = alike_of.get(str(named[k]))
        problems.append({
            "file": files[k], "row": rows[k], "field": C.TICKET_ID, "value": str(named[k]),
            "reason": "event of a generic log names a ticket no ticketing export contains "
                      "(kept in its own case)" + (
                          f"; ticket {alike} is written alike (but for letter case, a "
                          "leading '#' or leading zeros): not joined to it, ids are "
                          "compared as written" if alike else "")})
    for name in pd.unique(files[at]):
        n = int((unknown & (files == name)).sum())
        notes.append(f"{name}: {counted(n, 'event', spec=',')} of this generic log naming "
                     "a ticket no ticketing export contains, kept in their own cases (see the "
                     "correlation problems)")
    return problems


def _unstated(log: pd.DataFrame, config: SourcesConfig) -> bool:
    """Whether `log` (the events not correlated in this run) holds events of exports
    without what their records stated: a canonical log written before it kept the STATED
    columns. The log made with it then keeps none of them either: a log holding them is
    taken back as its records stated them in the next month's run, and for these events
    the values would be correlation's, not the records'."""
    if set(C.STATED.values()) <= set(log.columns):
        return False
    systems = [*config.ticketing, *config.payments]
    return bool(log[C.SOURCE_SYSTEM].isin(systems).fillna(False).any())
