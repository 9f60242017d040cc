"""Ticket updates -> canonical events, shared by the Zendesk, Jira and ServiceNow adapters.

Each adapter reads its export into `Updates` (one entry per audit / changelog history /
sys_audit update); the activity, amount, currency, order number and evidence items of each
come from the system's mapping in the sources file. The updates are held and turned into
records column by column: one list per field, no object per update.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import compress
from operator import itemgetter, not_
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit import canonical as C
from audit.currency import CURRENCIES, minor_units
from audit.sources.common import (
    BadValue,
    Collector,
    money,
    object_array,
    parse_major,
    parse_major_in,
)
from audit.sources.config import TicketingConfig


@dataclass
class Update:
    ticket: str
    time: str
    """ISO 8601 with offset."""
    author: str | None
    record_id: str
    row: int
    changes: dict[str, str | None] = field(default_factory=dict)
    public_comment: bool = False
    activity: str | None = None
    """Set by the adapter when the update means an activity by itself (e.g. creation)."""
    amount: str | None = None


T = TypeVar("T")

_CANONICAL = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?\Z")
"""An amount as `money(parse_major(...))` writes it: ASCII digits, no sign, no leading
zero, no space."""
_CANONICAL_RE2 = r"\A(?:0|[1-9][0-9]*)(?:\.[0-9]+)?\z"
r"""`_CANONICAL` for Arrow's RE2 (`\z`: the end of the text, no newline before it)."""

UpdateRow = tuple[str, str, str | None, str, int, dict[str, str | None], bool, str | None,
                  str | None]
"""One update as (ticket, time, author, record_id, row, changes, public_comment, activity,
amount)."""


@dataclass
class Updates:
    """Ticket updates as columns, in reading order (entry k of each list is update k)."""

    ticket: list[str] = field(default_factory=list)
    time: list[str] = field(default_factory=list)
    """ISO 8601 with offset; empty where `time_text` holds the times instead (Jira's
    column-wise times, `_timed`): read them through `updates_to_table`."""
    author: list[str | None] = field(default_factory=list)
    record_id: list[str] | pa.Array = field(default_factory=list)
    """A list, or Arrow text where the adapter made the ids so (ServiceNow's, joined in
    Arrow; Zendesk's, of its audits' integer ids): not made as Python texts only to be
    converted back (`_taken`)."""
    row: list[int] = field(default_factory=list)
    changes: list[dict[str, str | None]] = field(default_factory=list)
    public_comment: list[bool] = field(default_factory=list)
    activity: list[str | None] = field(default_factory=list)
    """Set by the adapter when the update means an activity by itself (e.g. creation)."""
    amount: list[str | None] = field(default_factory=list)
    time_text: pa.Array | None = None
    """The times as Arrow large text, where the adapter made them so (Jira's, read
    column-wise): `time` is then left empty, and made of them only where a list is read
    (`updates_to_table`, where Arrow cannot hold a ticket)."""

    def append(self, ticket: str, time: str, author: str | None, record_id: str, row: int,
               changes: dict[str, str | None], public_comment: bool = False,
               activity: str | None = None, amount: str | None = None) -> None:
        self.ticket.append(ticket)
        self.time.append(time)
        self.author.append(author)
        self.record_id.append(record_id)
        self.row.append(row)
        self.changes.append(changes)
        self.public_comment.append(public_comment)
        self.activity.append(activity)
        self.amount.append(amount)

    @classmethod
    def of_rows(cls, rows: list[UpdateRow]) -> Updates:
        """From one tuple per update (fields in the order above): cheaper to collect."""
        if not rows:
            return cls()
        (ticket, time, author, record_id, row, changes, public_comment, activity,
         amount) = (list(column) for column in zip(*rows, strict=True))
        return cls(ticket, time, author, record_id, row, changes, public_comment, activity,
                   amount)

    @classmethod
    def of(cls, updates: list[Update]) -> Updates:
        table = cls()
        for u in updates:
            table.append(u.ticket, u.time, u.author, u.record_id, u.row, u.changes,
                         u.public_comment, u.activity, u.amount)
        return table


def _changed(changes: list[dict[str, str | None]],
             names: Iterable[str]) -> dict[str, dict[int, str | None]]:
    """For each of `names`, the updates that change it: update position -> value, in
    reading order. One pass over all updates' changes, whatever the number of names (a
    lookup of each name in every update cost a pass per name)."""
    found: dict[str, dict[int, str | None]] = {name: {} for name in names}
    get = found.get
    for k, change in enumerate(changes):
        for name, value in change.items():
            hit = get(name)
            if hit is not None:
                hit[k] = value
    return found


def _dense(changed: dict[int, str | None], n: int) -> npt.NDArray[np.object_]:
    """A field's values for all `n` updates (None where an update does not change it)."""
    values = object_array(None, n)
    if changed:
        values[np.fromiter(changed, dtype=np.intp, count=len(changed))] = \
            object_array(list(changed.values()))
    return values


def _take(values: Sequence[T], positions: list[int]) -> list[T]:
    """values[k] for each k of `positions`, looked up in C."""
    if len(positions) < 2:
        return [values[k] for k in positions]
    return list(itemgetter(*positions)(values))


def _coded(changed: dict[int, str | None], n: int) -> tuple[npt.NDArray[np.intp],
                                                            npt.NDArray[np.object_]]:
    """Each of `n` updates' value of a field as a code into the distinct values (-1: no
    change, or a change to None), so that a rule compares a code per update, not a text.
    Only the changes are factorized (not a value per update, mostly None)."""
    codes = np.full(n, -1, dtype=np.intp)
    if not changed:
        return codes, np.empty(0, dtype=object)
    values = list(changed.values())
    array = _text_array(values)
    if array is None:  # (a value not a text, or a lone surrogate): factorized by pandas
        found, distinct = pd.factorize(object_array(values))
        codes[_positions(changed)] = found
        return codes, np.asarray(distinct, dtype=object)
    # Arrow's dictionary encoding: the same codes (distinct values in order of appearance,
    # None as -1), hashed in Arrow (pandas' object hashing took twice as long).
    encoded = array.dictionary_encode()
    codes[_positions(changed)] = encoded.indices.fill_null(-1).to_numpy()
    return codes, object_array(encoded.dictionary.to_pylist())


def _positions(changed: dict[int, str | None]) -> npt.NDArray[np.intp]:
    """The updates of a field's changes (`changed`'s keys), in its order."""
    return np.fromiter(changed, dtype=np.intp, count=len(changed))


def _stating(changed: dict[int, str | None]) -> tuple[npt.NDArray[np.intp], list[str | None]]:
    """The updates of a field's changes that state a value (not None, not ''), and the
    values, in `changed`'s order."""
    values = list(changed.values())
    stated = np.fromiter(map(bool, values), dtype=np.bool_, count=len(values))
    if stated.all():
        return _positions(changed), values
    return _positions(changed)[stated], list(compress(values, stated.tolist()))


def _activities(updates: Updates, cfg: TicketingConfig,
                changed: dict[str, dict[int, str | None]],
                ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Per update: its own activity if set (non-empty), else the first rule whose field
    changed to its value (or a public comment), else the label field's value, else None.
    `changed`: the fields' changes (`_changed`), the rules' and the label's among them.
    As codes into the activities named (-1: none) and those names, so that the records'
    column is taken from a few names rather than made of a text per update."""
    n = len(updates.activity)
    codes = np.full(n, -1, dtype=np.intp)
    names: list[object] = []
    if any(updates.activity):
        own = object_array(updates.activity)
        open_ = np.fromiter(map(not_, updates.activity), dtype=np.bool_, count=n)
        found, distinct = pd.factorize(own[~open_])
        codes[~open_] = found
        names.extend(distinct.tolist())
    else:  # no update has an activity of its own (Zendesk's, ServiceNow's)
        open_ = np.ones(n, dtype=np.bool_)
    values: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]] = {}
    for rule in cfg.activities:
        if not open_.any():
            break
        if rule.field == "comment":
            if rule.value != "public":
                continue
            hit = open_ & np.asarray(updates.public_comment, dtype=bool)
        else:
            if rule.field not in values:
                values[rule.field] = _coded(changed[rule.field], n)
            field_codes, distinct = values[rule.field]
            found = np.flatnonzero(distinct == rule.value)
            if not len(found):
                continue
            hit = open_ & (field_codes == found[0])
        codes[hit] = len(names)
        names.append(rule.activity)
        open_ &= ~hit
    label = cfg.label_field
    if label is not None and open_.any():
        if label not in values:
            values[label] = _coded(changed[label], n)
        field_codes, distinct = values[label]
        if len(distinct):
            stated = np.fromiter((bool(v) for v in distinct.tolist()), dtype=np.bool_,
                                 count=len(distinct))
            hit = open_ & (field_codes >= 0) & stated[np.maximum(field_codes, 0)]
            codes[hit] = len(names) + field_codes[hit]
            names.extend(distinct.tolist())
    return codes, object_array(names)


def _activity_column(codes: npt.NDArray[np.intp], names: npt.NDArray[np.object_],
                     at: npt.NDArray[np.intp]) -> list[object] | pa.Array:
    """The activities of the updates at `at` (each has one: `codes` >= 0): an Arrow text
    column where Arrow holds every activity an update has (kept or not), else a list."""
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(names)))
    array = _text_array(names[used])
    if array is None:
        result: list[object] = names[codes[at]].tolist()
        return result
    place = np.full(len(names), -1, dtype=np.intp)
    place[used] = np.arange(len(used), dtype=np.intp)
    return array.take(pa.array(place[codes[at]]))


def fields_used(cfg: TicketingConfig) -> list[str]:
    """The change fields the mapping reads: activity rules, label, order, currency, amounts
    and evidence."""
    names = [rule.field for rule in cfg.activities if rule.field != "comment"]
    names += [name for name in (cfg.label_field, cfg.order_field, cfg.currency_field) if name]
    names += [*cfg.amount_fields, *cfg.evidence_fields]
    return list(dict.fromkeys(names))


def one_value_fields(cfg: TicketingConfig) -> dict[str, str]:
    """The change fields the mapping reads as one value each, by what that value is: the
    amounts, the currency and the order number. A list there (Zendesk's value of a
    multi-select field or of tags) is no such value: its items joined (`[49.9]` as 49.9,
    `["EUR"]` as EUR) would be read as one without a word."""
    held = dict.fromkeys(cfg.amount_fields, "an amount")
    if cfg.requested_amount_field:
        held[cfg.requested_amount_field] = "an amount"
    if cfg.currency_field:
        held[cfg.currency_field] = "a currency"
    if cfg.order_field:
        held[cfg.order_field] = "an order number"
    return held


def _text_array(values: Sequence[str | None] | npt.NDArray[np.object_]) -> pa.Array | None:
    """The texts as an Arrow column, or None where Arrow cannot hold one (a lone surrogate
    has no UTF-8)."""
    try:
        return pa.array(values, type=pa.large_string())
    except (pa.ArrowException, UnicodeError):
        return None


def update_order(tickets: list[str], times: list[str], rows: list[int], *,
                 texts: tuple[pa.Array | None, pa.Array | None] | None = None) -> list[int]:
    """Positions of the updates by ticket, time (both as texts, compared as Python compares
    them), row, then position: equal keys keep their reading order. `texts`: the tickets and
    times as Arrow columns (`_text_array`), if made already."""
    ranked: list[int] = _order(tickets, times, rows,
                               texts or (_text_array(tickets), _text_array(times))).tolist()
    return ranked


def _order(tickets: list[str], times: list[str], rows: list[int],
           texts: tuple[pa.Array | None, pa.Array | None],
           coded: pa.DictionaryArray | None = None) -> npt.NDArray[np.intp]:
    """`update_order` as an array; `texts` as `_text_array` gives them (None: not held).
    `coded`: the tickets' text dictionary-encoded, without null, where made already."""
    n = len(tickets)
    ticket_text, time_text = texts
    if coded is not None and time_text is not None and not time_text.null_count:
        by_ticket = _order_by_ticket(coded, time_text, rows)
        if by_ticket is not None:
            return by_ticket
    if ticket_text is None or time_text is None:  # e.g. a lone surrogate
        ticket_codes = pd.factorize(object_array(tickets), sort=True)[0]
        time_codes = pd.factorize(object_array(times), sort=True)[0]
        return np.lexsort((np.arange(n), np.asarray(rows, dtype=np.int64), time_codes,
                           ticket_codes)).astype(np.intp, copy=False)
    table = pa.table({"ticket": ticket_text, "time": time_text,
                      "row": pa.array(rows, type=pa.int64())})
    # Arrow's sort is stable and compares UTF-8 bytes, which order as the code points do.
    ranked = pc.sort_indices(table, sort_keys=[
        ("ticket", "ascending"), ("time", "ascending"), ("row", "ascending")])
    return np.asarray(ranked.to_numpy(), dtype=np.intp)


def _order_by_ticket(coded: pa.DictionaryArray, time_text: pa.Array,
                     rows: list[int]) -> npt.NDArray[np.intp] | None:
    """`_order` where each ticket's updates are read in the order of their times and rows
    already (every export so far, its tickets interleaved or not in the tickets' order): a
    stable sort of the tickets' ranks (their codes in `coded`, by the sorted dictionary),
    an integer sort, told right by comparing the times and rows of the neighbours of the
    same ticket; None where some ticket's updates are not read in that order (the sort by
    ticket, time and row is then made). The three-key sort of the texts cost twice as
    much."""
    n = len(coded)
    if n < 2:
        return np.arange(n, dtype=np.intp)
    dictionary = coded.dictionary
    rank = np.empty(len(dictionary), dtype=np.intp)
    rank[np.asarray(pc.sort_indices(dictionary).to_numpy(), dtype=np.intp)] = \
        np.arange(len(dictionary), dtype=np.intp)
    ranks = rank[coded.indices.to_numpy()]
    if (ranks[1:] >= ranks[:-1]).all():
        by_ticket = np.arange(n, dtype=np.intp)
    else:
        by_ticket = np.argsort(ranks, kind="stable").astype(np.intp, copy=False)
        ranks = ranks[by_ticket]
    same = ranks[1:] == ranks[:-1]
    times = time_text.take(by_ticket)
    before, after = times.slice(0, n - 1), times.slice(1)
    earlier = pc.less(after, before).to_numpy(zero_copy_only=False)
    if (same & earlier).any():
        return None
    equal = pc.equal(after, before).to_numpy(zero_copy_only=False)
    row = np.asarray(rows, dtype=np.int64)[by_ticket]
    if (same & equal & (row[1:] < row[:-1])).any():
        return None
    return by_ticket


def _taken(values: Sequence[str | None] | pa.Array,
           at: npt.NDArray[np.intp]) -> list[object] | pa.Array:
    """values[k] for each k of `at`: an Arrow text column where Arrow holds every value
    (taken in Arrow, not made of a list taken first), else a list. `values` may be Arrow's
    text already."""
    if isinstance(values, pa.Array):
        return values.take(at)
    array = _text_array(values)
    if array is None:
        return _take(values, at.tolist())
    return array.take(at)


def _listed_ids(ids: list[str] | pa.Array) -> list[str]:
    """The record ids as a list (`Updates.record_id` may be Arrow's)."""
    if isinstance(ids, pa.Array):
        listed: list[str] = ids.to_pylist()
        return listed
    return ids


def _codes_of(tickets: pa.DictionaryArray, own: dict[str, str],
              ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """Of `own`'s tickets, those among `tickets` (dictionary-encoded): their places in
    `own` and their codes. None where Arrow cannot hold a ticket."""
    keys = _text_array(list(own))
    if keys is None:
        return None
    found = pc.index_in(keys, value_set=tickets.dictionary)
    return (np.flatnonzero(found.is_valid().to_numpy(zero_copy_only=False)),
            np.asarray(found.drop_null().to_numpy(), dtype=np.intp))


def _first_per_ticket(tickets: pa.DictionaryArray, at: npt.NDArray[np.intp],
                      stating: tuple[npt.NDArray[np.intp], list[str | None]],
                      own: dict[str, str],
                      own_codes: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None,
                      ) -> pa.Array | None:
    """Of the updates at `at`, each one's ticket's value of a field, null where none: what
    `_per_ticket` looks up in `_stated`'s dict, found by the tickets' codes (`tickets`: all
    updates' tickets, dictionary-encoded, no null) rather than by converting the dict's
    tickets to Arrow. The ticket's own value (`own`; `own_codes`: `_codes_of` it), else
    the first its updates state (`stating`). None where Arrow cannot hold a value."""
    positions, values = stating
    codes = tickets.indices.to_numpy()
    slot = np.full(len(tickets.dictionary), -1, dtype=np.intp)  # per ticket: its value's
    if len(positions):
        first_of, first = np.unique(codes[positions], return_index=True)
        slot[first_of] = first
    source = _text_array(values)
    if source is None:
        return None
    if own:
        own_values = _text_array(list(own.values()))
        if own_codes is None or own_values is None:
            return None
        held, codes_held = own_codes
        slot[codes_held] = len(source) + held
        source = pa.concat_arrays([source, own_values])
    value_at = slot[codes[at]]
    return source.take(pa.array(value_at, mask=value_at < 0))


def _per_ticket(tickets: pa.DictionaryArray, known: dict[str, str]) -> pa.Array:
    """Each update's ticket's `known` value (null where none), looked up once per ticket.
    `tickets`: dictionary-encoded."""
    if not known:
        return pa.nulls(len(tickets), type=pa.large_string())
    keys, values = _text_array(list(known)), _text_array(list(known.values()))
    if keys is not None and values is not None:  # each distinct ticket's value, by Arrow
        at = pc.index_in(tickets.dictionary, value_set=keys.cast(tickets.dictionary.type))
        return values.take(at).take(tickets.indices)
    get = known.get
    values = [get(t) for t in tickets.dictionary.to_pylist()]
    return pa.array(values, type=pa.large_string()).take(tickets.indices)


def _stating_in(order: npt.NDArray[np.intp] | None, changed: dict[int, str | None],
                ) -> tuple[npt.NDArray[np.intp], list[str | None]]:
    """`_stating`, the updates in `order` (the updates' positions by ticket, time and row:
    `_order`) where given, else in reading order. An export lists a ticket's updates in
    whatever order it does (a ServiceNow list newest first, JSON lines as appended): by
    time, a ticket's first value is the same whatever the rows' order."""
    positions, values = _stating(changed)
    if order is None or len(positions) < 2:
        return positions, values
    slot = np.full(len(order), -1, dtype=np.intp)
    slot[positions] = np.arange(len(positions), dtype=np.intp)
    ranked = slot[order]
    ranked = ranked[ranked >= 0]
    if not (np.diff(ranked) < 0).any():  # read in that order already (no list made again)
        return positions, values
    return positions[ranked], object_array(values)[ranked].tolist()


def _own(ticket_fields: dict[str, dict[str, str]], name: str | None) -> dict[str, str]:
    """Per ticket, its own value of the field `name` (`ticket_fields`), where it has one."""
    if not name:
        return {}
    return {t: fields[name] for t, fields in ticket_fields.items() if name in fields}


def _stating_of(order: npt.NDArray[np.intp] | None, changed: dict[str, dict[int, str | None]],
                name: str | None) -> tuple[npt.NDArray[np.intp], list[str | None]]:
    """`_stating_in` for the field `name` (none where no field is named)."""
    if not name:
        return np.empty(0, dtype=np.intp), []
    return _stating_in(order, changed[name])


def _stated(tickets: list[str], own: dict[str, str],
            stating: tuple[npt.NDArray[np.intp], list[str | None]]) -> dict[str, str]:
    """Per ticket, its value of a field: the ticket's own (`own`, see `_own`), else the
    first non-empty one its updates state, by time (`stating`: the field's `_stating_of`)."""
    positions, values = stating
    # Built from the last change back, so that each ticket keeps its first value; then the
    # ticket's own values over them.
    known: dict[str, str] = dict(zip(reversed(_take(tickets, positions.tolist())),
                                     reversed(values), strict=True))  # type: ignore[arg-type]
    known.update(own)
    return known


def _several(tickets: list[str], own_values: dict[str, str],
             stating: tuple[npt.NDArray[np.intp], list[str | None]],
             ) -> tuple[int, str, list[str]]:
    """The tickets that state several values of a field (their own, `own_values` (`_own`),
    and those their updates change it to, `stating` (`_stating_of`); blank ones and
    surrounding spaces aside): how many, and the first of them by time with its values in
    that order. (0, "", []) where none does: most exports, told without a frame where no
    ticket states it twice."""
    positions, values = stating
    named = _take(tickets, positions.tolist())
    own = [(t, v) for t, v in own_values.items() if v]
    if len(set(named).union(t for t, _ in own)) == len(named) + len(own):
        return 0, "", []
    # (Python texts: a ticket with a lone surrogate has no UTF-8 for Arrow to hold)
    pairs = pd.DataFrame({"ticket": [*named, *(t for t, _ in own)],
                          "value": [str(v).strip() for v in [*values, *(v for _, v in own)]]},
                         dtype=object)
    pairs = pairs[pairs["value"] != ""].drop_duplicates()
    several = pairs[pairs["ticket"].duplicated(keep=False)]
    if not len(several):
        return 0, "", []
    first = str(several["ticket"].iat[0])
    return (int(several["ticket"].nunique()), first,
            [str(v) for v in several.loc[several["ticket"] == first, "value"]])


def _evidence(changed: dict[int, str | None], n: int, at: npt.NDArray[np.intp],
              arrow: bool) -> list[object] | pa.Array:
    """An evidence field's value per kept update (`at`: their positions among all `n`):
    the text it is changed to, None where it is not changed or changed to ''."""
    if arrow and changed:  # the changes' values taken by Arrow, null where none
        values = _text_array(list(changed.values()))
        if values is not None:
            # ('' as null in Arrow: no Python pass over the values)
            values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.large_string()),
                                values)
            slot = np.full(n, -1, dtype=np.intp)
            slot[_positions(changed)] = np.arange(len(changed), dtype=np.intp)
            taken = slot[at]
            return values.take(pa.array(taken, mask=taken < 0))
    kept = _dense({k: v or None for k, v in changed.items()}, n)[at]
    if arrow:
        array = _text_array(kept)
        if array is not None:
            return array
    result: list[object] = kept.tolist()
    return result


def _amounts_listed(texts: list[object], good: dict[str, str]) -> list[str | None]:
    """Each record's amount (`texts`: as its update stated it; `good`: each distinct text
    read, none unreadable), None where it states none (None or '')."""
    amount_of: dict[object, str | None] = {None: None, "": None}
    amount_of.update(good)
    try:
        return list(map(amount_of.__getitem__, texts))
    except (KeyError, TypeError):  # a text of another type (not str): as it was
        return [good[t] if t else None for t in texts]  # type: ignore[index]


def _amounts_in_arrow(texts: pa.Array, good: dict[str, str]) -> pa.Array:
    """`_amounts_listed` of texts Arrow holds (`texts`), in Arrow: the texts `money` writes
    otherwise (`+0010.00` as 10.00) looked up, the others (as a rule, all) taken as they
    are; '' as null. No Python object per record."""
    restated = {t: a for t, a in good.items() if a != t}
    if restated:
        keys, values = _text_array(list(restated)), _text_array(list(restated.values()))
        assert keys is not None and values is not None  # (of `texts`, and `money`'s ASCII)
        found = pc.index_in(texts, value_set=keys)
        texts = pc.if_else(pc.is_null(found), texts, values.take(found))
    return pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.large_string()), texts)


def _over_units(kept: npt.NDArray[np.intp], texts: npt.NDArray[np.object_], tickets: list[str],
                stated: Collection[str | None], currencies_of: Callable[[], dict[str, str]],
                good: dict[str, str]) -> dict[int, BadValue]:
    """Per kept update (position) whose amount has more decimals than its ticket's
    currency has minor units (`parse_major_in`: 1.500 JPY is a thousands separator read as
    a point), the BadValue to quarantine it with. Checked once per (text, currency), and
    only for amounts with a decimal point. `stated`: every currency a ticket states (those
    of `currencies_of()`, each ticket's, among them)."""
    fractional = {t for t, a in good.items() if "." in a}
    over: dict[int, BadValue] = {}
    if not fractional or not stated:
        return over
    # Nothing to check where every currency holds the most decimals any amount has (2.50
    # among EUR and USD tickets): no loop over a million updates. (Bounded by every
    # currency stated, the tickets' among them: where that bound does not tell, the loop
    # below does, by each ticket's own.)
    fewest = min(minor_units(str(c).strip().upper()) for c in stated)
    # (at most the bytes after each text's first point, counted in Arrow: where that bound
    # is in every currency's units already, the exact count need not be made)
    array = _text_array(list(fractional))
    if array is not None and len(array):
        after = pc.subtract(pc.binary_length(array), pc.add(pc.find_substring(array, "."), 1))
        if pc.max(after).as_py() <= fewest:
            return over
    most = max(len(str(t).strip().partition(".")[2]) for t in fractional)
    if most <= fewest:
        return over
    checked: dict[tuple[str, str], BadValue | None] = {}
    currencies = currencies_of()
    for k, text in zip(kept.tolist(), texts.tolist(), strict=True):
        if text not in fractional:
            continue
        currency = currencies.get(tickets[k])
        if currency is None:
            continue
        key = (str(text), currency)
        if key not in checked:
            try:
                parse_major_in(*key)
                checked[key] = None
            except BadValue as exc:
                checked[key] = exc
        bad = checked[key]
        if bad is not None:
            over[k] = bad
    return over


def _lost_without_activity(u: Updates, cfg: TicketingConfig,
                           changed: dict[str, dict[int, str | None]],
                           without: npt.NDArray[np.intp], collector: Collector,
                           order: npt.NDArray[np.intp],
                           field_rows: dict[str, dict[int, int]] | None = None) -> int:
    """Quarantine the updates of no activity (`without`, in the order read) that state an
    amount or an evidence item: no event carries what they state (an amount, a receipt
    attached in an update of its own, or the half of an update cut by an export's paging),
    so they are not skipped as updates of nothing mapped (tags, an assignee) are; one line
    per such field. So are those that clear an evidence item (a photo removed from the
    ticket: its field changed to empty): no event carries the removal, and the item is
    still read as recorded by the update that stated it (before, such an update was
    skipped as one of nothing mapped, without a word). A field is cleared only where the
    ticket held a value of it before (by its updates in `order`, by ticket and time): an
    empty field on an update stating it first (Zendesk's Create event of a field with no
    value yet) clears nothing (before, every Zendesk ticket created before its refund
    stage was set was quarantined for it). A clearing's line names the export's row of its
    field (`field_rows`, ServiceNow's row per changed field), else the update's. Returns
    how many updates were quarantined."""
    fields = [*cfg.amount_fields, *cfg.evidence_fields]
    if not len(without):
        return 0
    held = _held_before(u, cfg, changed, without, order)
    lost = 0
    for k in without.tolist():
        stated = [(name, value) for name in fields
                  if (value := changed[name].get(k)) is not None and value.strip()]
        own = u.amount[k]
        if own is not None and own.strip():  # (an amount of the update's own, e.g. Jira's)
            stated.insert(0, (cfg.requested_amount_field or C.AMOUNT, own))
        for name, value in stated:
            what = (f"the evidence item {cfg.evidence_fields[name]}"
                    if name in cfg.evidence_fields else "an amount")
            collector.quarantine(
                u.row[k], name, value,
                f"{what} stated by an update that states no activity (no change of a field "
                "the sources configuration maps to an activity): no event carries it",
                case=u.ticket[k])
        cleared = [name for name in cfg.evidence_fields
                   if (k, name) in held]
        for name in cleared:
            collector.quarantine(
                _row_of(field_rows, name, k, u.row[k]), name, changed[name][k] or "",
                f"the evidence item {cfg.evidence_fields[name]} cleared (changed to empty) "
                "by an update that states no activity (no change of a field the sources "
                "configuration maps to an activity): no event carries the removal, and the "
                "item is still read as recorded by the update that stated it; see whether "
                "it was withdrawn before the refund was decided",
                case=u.ticket[k])
        lost += bool(stated or cleared)
    return lost


def _held_before(u: Updates, cfg: TicketingConfig, changed: dict[str, dict[int, str | None]],
                 without: npt.NDArray[np.intp],
                 order: npt.NDArray[np.intp]) -> set[tuple[int, str]]:
    """The updates of `without` (by position) and the evidence fields each changes to
    empty whose ticket held a value of that field before: by its updates stating the field
    in `order` (by ticket, time and row), the last of them stated a non-empty value."""
    candidates = set(without.tolist())
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    held: set[tuple[int, str]] = set()
    for name in cfg.evidence_fields:
        stated = changed[name]
        clears = [k for k in stated if k in candidates and not (stated[k] or "").strip()]
        if not clears:
            continue
        last: dict[str, bool] = {}  # ticket -> whether its field holds a value, so far
        for k in sorted(stated, key=lambda at: rank[at]):
            value = bool((stated[k] or "").strip())
            if not value and k in candidates and last.get(u.ticket[k], False):
                held.add((k, name))
            last[u.ticket[k]] = value
    return held


def updates_to_table(updates: Updates | list[Update], cfg: TicketingConfig,
                     collector: Collector,
                     ticket_fields: dict[str, dict[str, str]] | None = None, *,
                     changed: dict[str, dict[int, str | None]] | None = None,
                     field_rows: dict[str, dict[int, int]] | None = None) -> None:
    """Turn updates into records in `collector` (ordered by ticket, time and row);
    `ticket_fields` are values known per ticket outside the updates (e.g. Jira's `fields`
    at creation). `changed`: what `_changed` gives for the fields the mapping reads
    (`fields_used`), where the adapter collected it while reading; the updates' own
    `changes` are then not read. The fields the records' amount and currency were read
    from are named for the normaliser's quarantine lines (`Collector.fields`; the time's
    is the adapter's to name): a record's amount by the amount field that stated it.
    `field_rows`: where an update spans several rows of the export (ServiceNow's, a row per
    changed field), per field, the row holding each update's change of it (by the update's
    position), named by a quarantine line of that field alone (an unreadable amount, the
    ticket's currency that is no code) instead of the update's first row."""
    u = updates if isinstance(updates, Updates) else Updates.of(updates)
    n = len(u.ticket)
    if changed is None:
        changed = _changed(u.changes, fields_used(cfg))
    ticket_text = _text_array(u.ticket)
    if u.time_text is None:
        time_text = _text_array(u.time)
    else:  # (made by the adapter in Arrow: not converted to Python texts and back)
        time_text = u.time_text
        if ticket_text is None:  # (the order and columns then made of lists)
            u.time = time_text.to_pylist()
    texts = (ticket_text, time_text)
    # (the tickets' codes: for the order, and each ticket's currency and order number)
    every = pc.dictionary_encode(ticket_text) \
        if ticket_text is not None and not ticket_text.null_count else None
    order = _order(u.ticket, u.time, u.row, texts, every)
    # Order number and currency per ticket: the ticket's own fields, else the first
    # non-empty value its updates state, by time.
    order_stating = _stating_of(order, changed, cfg.order_field)
    own_orders = _own(ticket_fields or {}, cfg.order_field)
    # (as dicts, made only where needed: by the columns made as lists, a note, or an amount
    # with more decimals than some currency holds; Arrow's columns find them by code)
    orders_of = partial(_stated, u.ticket, own_orders, order_stating)
    count, ticket, stated = _several(u.ticket, own_orders, order_stating)
    if count:  # a corrected order, or one ticket for two orders: said, not left to chance
        collector.notes.append(
            f"{collector.file.name}: {count:,} ticket(s) state several orders in "
            f"{cfg.order_field}; each is correlated by one, its own field where the export "
            "gives it, else the first its updates state (the charges of the others, and "
            "their refunds that name no ticket, are not in its case): the first, ticket "
            f"{ticket}: {', '.join(stated)}, correlated by {orders_of().get(ticket)}")
    currency_stating = _stating_of(order, changed, cfg.currency_field)
    own_currencies = _own(ticket_fields or {}, cfg.currency_field)
    currencies_of = partial(_stated, u.ticket, own_currencies, currency_stating)
    stated_currencies = {*currency_stating[1], *own_currencies.values()}
    activity_codes, activity_names = _activities(u, cfg, changed)
    amount_text = object_array(u.amount, n)
    amount_from = np.full(n, -1, dtype=np.int8)  # (-1: the update's own amount)
    for code, name in enumerate(cfg.amount_fields):  # a later field's non-empty value wins
        positions, values = _stating(changed[name])
        if len(positions):
            amount_text[positions] = object_array(values)
            amount_from[positions] = code
    has_activity = activity_codes >= 0
    kept_at = order[has_activity[order]]
    lost = _lost_without_activity(u, cfg, changed, order[~has_activity[order]], collector,
                                  order, field_rows)
    collector.skipped += len(order) - len(kept_at) - lost
    arrow = ticket_text is not None and time_text is not None
    kept_texts = amount_text[kept_at]
    # The records' amounts, each distinct text parsed once (an update of no activity's is
    # no record's: `_lost_without_activity` tells it); as an Arrow column where Arrow holds
    # every text (`held`), read in Arrow.
    held = _text_array(kept_texts) if arrow else None
    parsed: dict[str, str | BadValue] = {}
    canonical = _CANONICAL.match
    others: Iterable[str]
    if held is None:
        others = set(kept_texts.tolist())
    else:  # the texts `money` writes as they are, told by Arrow: only the others in Python
        distinct = pc.unique(held)
        as_written = pc.match_substring_regex(distinct, _CANONICAL_RE2)
        written = distinct.filter(as_written).to_pylist()
        parsed.update(zip(written, written, strict=True))
        others = distinct.filter(pc.invert(as_written)).to_pylist()
    for text in others:
        if text:
            if type(text) is str and canonical(text):  # (money(parse_major(text)) is text)
                parsed[text] = text
                continue
            try:
                parsed[text] = money(parse_major(text))
            except BadValue as exc:
                parsed[text] = BadValue(_LISTED.format(what="an amount")) \
                    if _listed(text) else exc
    good: dict[str, str]
    if all(type(a) is str for a in parsed.values()):  # (as a rule: no dict made again)
        good = parsed  # type: ignore[assignment]
    else:
        good = {t: a for t, a in parsed.items() if isinstance(a, str)}
    over = _over_units(kept_at, kept_texts, u.ticket, stated_currencies, currencies_of, good)
    unpriced = _unknown_currencies(stated_currencies, currencies_of)
    amounts: list[str | None] | None = None
    amount_column: pa.Array | None = None
    at = kept_at
    if len(good) == len(parsed) and not over and not unpriced:  # none to quarantine
        if held is not None:
            amount_column = _amounts_in_arrow(held, good)
        else:
            amounts = _amounts_listed(kept_texts.tolist(), good)
    else:
        # An amount that cannot be read is quarantined alone: its update is still an event
        # (its activity, its author and time), of no amount. Before, the whole update was
        # quarantined, its approval or status change with it: a case approved with an
        # unreadable approved amount read as never approved (a false missing-approval).
        # So is an amount in a ticket's currency that is no ISO 4217 code (`EURO`): before,
        # the normaliser quarantined each such update whole, the request and the approval
        # with it.
        amounts = []
        stated_at: dict[str, int] | None = None
        for k, text in zip(kept_at.tolist(), kept_texts.tolist(), strict=True):
            amount = over[k] if k in over else parsed[text] if text else None
            if isinstance(amount, BadValue):
                named = _amount_field(cfg, int(amount_from[k]))
                collector.quarantine(_row_of(field_rows, named, k, u.row[k]), named, text,
                                     f"{amount}{_read_as(activity_names, activity_codes, k)}",
                                     case=u.ticket[k], alone=True)
                amount = None
            elif amount is not None and u.ticket[k] in unpriced:
                unpriced_text = unpriced[u.ticket[k]]
                # (where the adapter names the rows of the fields' changes, ServiceNow's
                # row of u_currency, that row: the update's own row holds no currency)
                if field_rows and stated_at is None:  # (each ticket's, by time)
                    stated_at = _first_of(u.ticket, currency_stating[0])
                at_k = None if stated_at is None or u.ticket[k] in own_currencies \
                    else stated_at.get(u.ticket[k])
                collector.quarantine(
                    u.row[k] if at_k is None
                    else _row_of(field_rows, cfg.currency_field, at_k, u.row[k]),
                    cfg.currency_field or C.CURRENCY, unpriced_text,
                    (_LISTED.format(what="a currency") if _listed(unpriced_text) else
                     "unknown currency (not an ISO 4217 code)") + " (the ticket's currency: the "
                    f"first {cfg.currency_field} the ticket states, maybe in another of its "
                    f"updates than this one){_read_as(activity_names, activity_codes, k)}",
                    case=u.ticket[k], alone=True)
                amount = None
            amounts.append(amount)
    columns: dict[str, list[object] | pa.Array]
    if ticket_text is not None and time_text is not None:
        # The ticket and time columns Arrow holds already (for the order): taken in Arrow,
        # and the per-ticket values looked up once per ticket.
        tickets = ticket_text.take(at)
        if amount_column is None:
            amount_column = pa.array(amounts, type=pa.large_string())
        # Per ticket, its currency and order number: by the codes of all updates' tickets.
        currency = order_column = None
        if every is not None:
            own_order_codes = _codes_of(every, own_orders) if own_orders else None
            own_currency_codes = (  # (Jira's issues: mostly the same tickets, looked up once)
                own_order_codes if list(own_currencies) == list(own_orders)
                else _codes_of(every, own_currencies) if own_currencies else None)
            currency = _first_per_ticket(every, at, currency_stating, own_currencies,
                                         own_currency_codes)
            order_column = _first_per_ticket(every, at, order_stating, own_orders,
                                             own_order_codes)
        if currency is None or order_column is None:  # (a text Arrow cannot hold)
            coded = pc.dictionary_encode(tickets)
            currency = _per_ticket(coded, currencies_of())
            order_column = _per_ticket(coded, orders_of())
        columns = {
            C.EVENT_ID: _taken(u.record_id, at),
            C.CASE: tickets,
            C.ACTIVITY: _activity_column(activity_codes, activity_names, at),
            C.TIMESTAMP: time_text.take(at),
            C.RESOURCE: _taken(u.author, at),
            C.LIFECYCLE: pa.repeat(pa.scalar("complete", pa.large_string()), len(at)),
            C.AMOUNT: amount_column,
            C.CURRENCY: pc.if_else(pc.is_null(amount_column),
                                   pa.scalar(None, pa.large_string()), currency),
            C.CHANNEL: pa.repeat(pa.scalar(cfg.channel, pa.large_string()), len(at)),
            C.TICKET_ID: tickets,
            C.ORDER_ID: order_column,
        }
    else:  # a text Arrow cannot hold: lists, as the collector takes any cells
        assert amounts is not None  # (`held` is Arrow's, made where this branch is not)
        kept = at.tolist()
        ticket_list = _take(u.ticket, kept)
        currencies, orders = currencies_of(), orders_of()
        columns = {
            C.EVENT_ID: _take(_listed_ids(u.record_id), kept),
            C.CASE: list(ticket_list),
            C.ACTIVITY: activity_names[activity_codes[at]].tolist(),
            C.TIMESTAMP: _take(u.time, kept),
            C.RESOURCE: _take(u.author, kept),
            C.LIFECYCLE: ["complete"] * len(kept),
            C.AMOUNT: list(amounts),
            C.CURRENCY: [None if a is None else currencies.get(t)
                         for a, t in zip(amounts, ticket_list, strict=True)],
            C.CHANNEL: [cfg.channel] * len(kept),
            C.TICKET_ID: list(ticket_list),
            C.ORDER_ID: [orders.get(t) for t in ticket_list],
        }
    arrow = ticket_text is not None and time_text is not None
    for source_field, column in cfg.evidence_fields.items():
        columns[column] = _evidence(changed[source_field], n, at, arrow)
    collector.add_columns(np.asarray(u.row, dtype=np.int64)[at], columns)
    _name_fields(collector, cfg, amount_from[at])
    collector.field_values[C.AMOUNT] = partial(_amounts_written, amount_text, at)


def _row_of(field_rows: dict[str, dict[int, int]] | None, name: str | None, k: int,
            row: int) -> int:
    """The export's row holding update `k`'s change of the field `name` (`field_rows`,
    where the adapter gives them), else the update's row (`row`)."""
    if not field_rows or name is None:
        return row
    return field_rows.get(name, {}).get(k, row)


def _first_of(tickets: list[str], positions: npt.NDArray[np.intp]) -> dict[str, int]:
    """Per ticket, the first of `positions` (updates, by time: `_stating_of`'s) that is
    one of its updates."""
    first: dict[str, int] = {}
    for k in positions.tolist():
        first.setdefault(tickets[k], k)
    return first


def _unknown_currencies(stated: Collection[str | None],
                        currencies_of: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Of the tickets' currencies (`currencies_of()`: ticket -> currency as stated), those
    that are no ISO 4217 code, as the normaliser reads codes (without case or surrounding
    spaces): each such ticket's amounts are not read (`updates_to_table`). The values any
    ticket states (`stated`, every ticket's currency among them) checked first: as a rule
    every one is a code, and no ticket's currency is made nor visited."""
    bad = {text for text in set(stated)
           if text is not None and (code := str(text).strip().upper())
           and code not in CURRENCIES}
    if not bad:
        return {}
    return {ticket: currency for ticket, currency in currencies_of().items()
            if currency in bad}


_LISTED = ("a list where {what} is expected (the mapping reads this field as one value; "
           "Zendesk's [49.9], [\"EUR\"])")
"""The reason of an amount or currency given as a list (`zendesk_events.listed_text`: its
JSON text): that field's unreadable value."""


def _listed(text: object) -> bool:
    """Whether a stated amount or currency is a list's JSON text (`zendesk_events.
    listed_text`), or a text written as one: no amount nor code either way."""
    value = str(text).strip()
    return value.startswith("[") and value.endswith("]")


def _read_as(names: npt.NDArray[np.object_], codes: npt.NDArray[np.intp], k: int) -> str:
    """`unread_amount` of update `k`'s activity (its code into `names`): made only for an
    update whose amount is quarantined, not for every update of a part that has one."""
    return unread_amount(names[codes[k]])


def unread_amount(activity: str | None) -> str:
    """What a quarantine line of an update's unreadable amount adds to its reason: the
    update is read without it (`activity`: the update's). The line is written with
    `alone` (`Collector.quarantine`): the import tells it by that flag, not by this text."""
    return f"; the amount alone is not read: the update is read as {activity}, of no amount"


def _amounts_written(texts: npt.NDArray[np.object_], kept: npt.NDArray[np.intp],
                     _frame: pd.DataFrame, at: npt.NDArray[np.intp],
                     _rows: npt.NDArray[np.int64]) -> list[str]:
    """Of the records at `at`, the amount text as the update stated it (`texts`, per update;
    `kept`: each record's update), not as read (`+0010.00` read as 10.00): the
    quarantine's value (`RawTable.field_values`), for the quarantined records only."""
    return ["" if t is None else str(t) for t in texts[kept[at]].tolist()]


def _amount_field(cfg: TicketingConfig, code: int) -> str:
    """The field an update's amount was read from: the amount field of `code`, else the
    update's own (Jira's requested amount at creation)."""
    return cfg.amount_fields[code] if code >= 0 else cfg.requested_amount_field or C.AMOUNT


def _name_fields(collector: Collector, cfg: TicketingConfig,
                 amount_from: npt.NDArray[np.int8]) -> None:
    """The fields the records' amount (per record: `amount_from`, the code of its amount
    field, `Collector.field_rows`) and currency (the ticket's currency field) were read
    from."""
    collector.fields[C.AMOUNT] = _amount_field(cfg, -1)
    if cfg.currency_field:
        collector.fields[C.CURRENCY] = cfg.currency_field
        collector.field_notes[C.CURRENCY] = (
            f" (the ticket's currency: the first {cfg.currency_field} the ticket states, "
            "maybe in another of its updates than this one)")
    if cfg.amount_fields:
        def amount_fields(_frame: pd.DataFrame, at: npt.NDArray[np.intp],
                          _rows: npt.NDArray[np.int64]) -> list[str]:
            return [_amount_field(cfg, code) for code in amount_from[at].tolist()]

        collector.field_rows[C.AMOUNT] = amount_fields
