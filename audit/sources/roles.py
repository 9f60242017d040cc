"""Role history (an IAM/HR export): who held which role when, so each event gets the role its
resource held at that moment. CSV columns: person, role, valid_from, valid_to (blank, or a
year after 2261 such as 9999-12-31, = still valid), optionally login (the user name systems
such as ServiceNow write instead of the name). People and logins are matched without case,
width or spacing (audit.canonical.person_key).
Periods are half-open: valid_from <= t < valid_to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit import canonical as C
from audit.errors import InputError
from audit.ingest.csv_reader import read_csv
from audit.ingest.sizes import lengths_over, too_long
from audit.sources.common import require_columns
from audit.words import counted as words

SYSTEM = "roles"
KEY_COLUMNS = ("person", "role", "valid_from", "valid_to")


@dataclass
class RoleHistory:
    periods: pd.DataFrame
    """person, role, valid_from, valid_to (UTC; NaT = open)."""
    logins: dict[str, str]
    file: str
    """The file(s) read, as notes name them."""
    read_from: str = ""
    """Of a role history stored in a canonical log (`stored_history`), the file(s) its
    import read it from (`file` then says where it is stored)."""
    notes: list[str] = field(default_factory=list)
    """What reading it found for the run's notes (a login given to two people)."""


def read_roles(path: Path, *, encoding: str | None = None,
               assume_tz: str | None = None) -> RoleHistory:
    """The role history of a CSV file. Times are ISO 8601; a time without a zone is read in
    `assume_tz` (--assume-tz), and refused without it, as event times are."""
    from audit.ingest.timestamps import SET_A_FORMAT, parse_timestamps

    table, ragged = read_csv(path, encoding=encoding)
    frame = table.frame
    require_columns(list(frame.columns), KEY_COLUMNS, system="role history", file=path)
    if ragged:
        first_bad = ragged[0]
        if first_bad.field != "(record)":  # (a cell over the bound: its reason as below)
            raise InputError(first_bad.reason.removesuffix(": not imported"), file=path,
                             row=first_bad.row, field=first_bad.field)
        raise InputError(first_bad.reason, file=path, row=first_bad.row)
    for column in frame.columns:  # (a role history's faults end the run: no quarantine)
        over = lengths_over(frame[column])
        if over is not None:
            first = int(np.flatnonzero(over)[0])
            raise InputError(too_long(int(over[first])), file=path,
                             row=int(table.rows[first]), field=str(column))
    if frame.empty:  # (every role would read as unknown: approvers unauthorised, SD002 blind)
        raise InputError("the role history holds no period", file=path)
    # A blank role (or login) cell is no role (no login): before, a blank role was the role
    # "" (the events of its period counted as given a role) and a blank login the login "nan".
    periods = pd.DataFrame({"person": frame["person"].astype(str).str.strip(),
                            "role": _blank_as_missing(frame["role"])})
    rows = np.asarray(table.rows, dtype=np.int64)
    # A period of no one: its login's events became the person "" (the resource wiped, and
    # all such logins one person to the segregation-of-duty rules), without a word.
    nobody = _blank_as_missing(frame["person"]).isna().to_numpy(dtype=bool)
    if nobody.any():
        raise InputError("the period names no person (a role is held by someone)",
                         file=path, row=int(rows[int(nobody.nonzero()[0][0])]),
                         field="person")
    for column in ("valid_from", "valid_to"):
        text = frame[column].astype(str).str.strip()
        empty = text.eq("")
        if column == "valid_to":
            # An HR system's open end, 9999-12-31: beyond the times a log holds, read as
            # open (blank), not refused.
            year = pd.to_numeric(text.str.extract(r"^(\d{4,})-", expand=False),
                                 errors="coerce")
            empty |= year.ge(2262).fillna(False).astype(bool)
        try:
            parsed = parse_timestamps(text.mask(empty), rows=rows, file=path, column=column,
                                      assume_tz=assume_tz)
        except InputError as exc:  # (no mapping file is read for a role history)
            advice = f"; {SET_A_FORMAT}"
            if not exc.message.endswith(advice):
                raise
            raise exc.again(exc.message.removesuffix(advice) + " (a role history's times are "
                            "ISO 8601 with a zone: a mapping file does not apply to it)") from exc
        bad = parsed.bad.to_numpy(dtype=bool) & ~empty.to_numpy(dtype=bool)
        if column == "valid_from":
            bad |= empty.to_numpy(dtype=bool)
        if bad.any():
            first = int(bad.nonzero()[0][0])
            reason = str(parsed.reasons.iloc[first])
            if not reason or reason == "empty timestamp":
                reason = "not an ISO 8601 time with zone"
            raise InputError(reason, file=path, row=int(rows[first]), field=column)
        periods[column] = pd.Series(parsed.values.array, index=periods.index)
    backwards = (periods["valid_to"].notna() & (periods["valid_to"] <= periods["valid_from"])
                 ).to_numpy(dtype=bool)
    if backwards.any():  # (periods are half-open: one ending where it starts holds none)
        first = int(backwards.nonzero()[0][0])
        raise InputError("valid_to is not after valid_from: the period would hold no moment",
                         file=path, row=int(rows[first]), field="valid_to")
    logins: dict[str, str] = {}
    notes: list[str] = []
    if "login" in frame.columns:
        # (person and login compared as `apply_roles` compares them: case, width, spacing)
        naming: dict[str, tuple[str, int]] = {}
        other: list[tuple[str, str, int, str, int]] = []
        for person, login, row in zip(periods["person"], _blank_as_missing(frame["login"]),
                                      rows.tolist(), strict=True):
            if not pd.isna(login):
                logins[str(login)] = person
                key = C.person_key(str(login))
                named = naming.setdefault(key, (person, row))
                if C.person_key(named[0]) != C.person_key(person):
                    other.append((str(login), *named, person, row))
        if other:
            # A login given to two people: the later row decides (as for overlapping
            # periods); before, its events became the later person's without a word.
            login, person, row, later, later_row = other[0]
            count = len({C.person_key(o[0]) for o in other})
            notes.append(f"{path.name}: {count} login(s) given to different people, the "
                         f"later row deciding (e.g. '{login}': '{person}' in row {row}, "
                         f"'{later}' in row {later_row})")
    return RoleHistory(periods, logins, path.name, notes=notes)


def _blank_as_missing(column: pd.Series) -> pd.Series:
    """A column's texts stripped, a blank or missing cell as missing (pd.NA)."""
    text = column.astype("string").str.strip()
    return text.mask(text.eq("").fillna(True)).astype(object)


def merge_roles(histories: list[RoleHistory]) -> RoleHistory:
    """Several role histories (e.g. an IAM export in parts) as one: their periods in the
    order given (so where periods overlap the later file's wins, as within one file) and
    their logins (a login the later file maps to another person is the later file's)."""
    if len(histories) == 1:
        return histories[0]
    periods = pd.concat([h.periods for h in histories], ignore_index=True)
    logins: dict[str, str] = {}
    for history in histories:
        logins.update(history.logins)
    return RoleHistory(periods, logins, ", ".join(h.file for h in histories),
                       read_from=", ".join(h.read_from or h.file for h in histories),
                       notes=[n for h in histories for n in h.notes])


def apply_roles(log: pd.DataFrame, history: RoleHistory, *,
                repeats: npt.NDArray[np.bool_] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Resolve logins to people and set `org:role` where the log has none; return notes.
    A role the log states is kept, even where the history gives another at that time: the
    notes count such events and name one. `repeats`: per event, whether the import drops
    it as a repeat of another (the notes count only the others)."""
    log = log.copy(deep=False)  # columns are replaced, never written into: no data copied
    # Logins -> people once per distinct resource, not once per event; a coded column stays
    # coded (two logins of one person become one category).
    resource = log[C.RESOURCE]
    if isinstance(resource.dtype, pd.CategoricalDtype):
        codes = resource.cat.codes.to_numpy()
        names = resource.cat.categories
    else:
        codes, names = pd.factorize(resource.astype("string"))
    # People and logins compared as audit.canonical.person_key does (`ben.carter` in the log
    # is `Ben.Carter` of the role history); the log's spelling is kept, a login becomes the
    # person it names.
    login_of = {C.person_key(login): person for login, person in history.logins.items()}
    named = [login_of.get(C.person_key(str(n)), str(n)) for n in names]
    persons_named = pd.Index(sorted(set(named)), dtype="string")
    recode = np.append(persons_named.get_indexer(pd.Index(named, dtype="string")), -1)
    person_codes = recode[codes]  # a missing resource (code -1) stays missing
    log[C.RESOURCE] = pd.Series(pd.Categorical.from_codes(person_codes, categories=persons_named),
                                index=log.index)
    # Each person's events by position, then each of their periods in file order (a later
    # period wins where two overlap): work proportional to the events, not people x events.
    grouped = history.periods.groupby(_person_keys(history.periods), sort=False)
    persons = pd.Index(list(grouped.groups))
    holder = np.append(persons.get_indexer(pd.Index(
        [C.person_key(str(p)) for p in persons_named], dtype=object)), -1)[person_codes]
    if len(persons) < np.iinfo(np.int16).max:
        # numpy's stable sort of 16-bit codes is a radix sort (7.3M events: 0.34 -> 0.09 s)
        holder = holder.astype(np.int16)
    order = np.argsort(holder, kind="stable")
    bounds = np.searchsorted(holder[order], np.arange(len(persons) + 1))
    # Roles as codes into the sorted role names, not a string per event (7M at 1M cases).
    role_names = sorted({str(r) for r in history.periods["role"] if not pd.isna(r)})
    role_index = {name: k for k, name in enumerate(role_names)}
    given = np.full(len(log), -1, dtype=np.int32)
    # Times as UTC nanoseconds, compared in numpy (a missing time, the smallest int64, is
    # before every period's start, as pandas compares NaT: never during one).
    times_all = _nanoseconds(log[C.TIMESTAMP])
    # The periods' times converted once, not per person (twice per person before: 0.18 s
    # of CPU at 100k cases, 63 people, in a profile's first call, which inflates pandas'
    # small calls; warm, apply_roles went 0.061 -> 0.041 s).
    starts_all = _nanoseconds(history.periods["valid_from"]).tolist()
    ends_all = _nanoseconds(history.periods["valid_to"]).tolist()
    roles_all = history.periods["role"].tolist()
    for code, rows in enumerate(grouped.indices[person] for person in persons):
        mine = order[bounds[code]:bounds[code + 1]]
        if not len(mine):
            continue
        times = times_all[mine]
        found = np.full(len(mine), -1, dtype=np.int32)
        for start, end, role in _last_of_each(
                (starts_all[k], ends_all[k], roles_all[k])
                for k in np.asarray(rows, dtype=np.int64).tolist()):
            during = times >= start  # valid_from is never missing (read_roles)
            if end != _MISSING:
                during &= times < end
            found[during] = -1 if pd.isna(role) else role_index[str(role)]
        given[mine] = found
    # A role the log states itself is kept; the history's fills the others.
    if C.ROLE in log.columns:
        stated = log[C.ROLE]
        if isinstance(stated.dtype, pd.CategoricalDtype):
            stated_codes, stated_names = stated.cat.codes.to_numpy(), list(stated.cat.categories)
        else:
            stated_codes, stated_uniques = pd.factorize(stated.astype("string"))
            stated_names = list(stated_uniques)
    else:
        stated_codes, stated_names = np.full(len(log), -1, dtype=np.int64), []
    categories = pd.Index(sorted(set(role_names) | {str(n) for n in stated_names}), dtype="string")
    from_history = np.append(categories.get_indexer(pd.Index(role_names, dtype="string")), -1)
    from_log = np.append(categories.get_indexer(pd.Index([str(n) for n in stated_names],
                                                         dtype="string")), -1)
    empty = stated_codes < 0
    role_codes = np.where(empty, from_history[given], from_log[stated_codes]).astype(np.int32)
    # The log's stated role wins; where it is another role than the history's at that time
    # (compared as conformance.bpmn.role_key compares roles: "Supervisor" is `supervisor`),
    # the note says how many events, with an example (an approval by a customer-service agent
    # stated as supervisor's is otherwise not seen).
    keys = sorted({_role_key(n) for n in [*role_names, *(str(n) for n in stated_names)]})
    key_of = {k: i for i, k in enumerate(keys)}
    stated_key = np.array([key_of[_role_key(str(n))] for n in stated_names] + [-1])
    history_key = np.array([key_of[_role_key(n)] for n in role_names] + [-1])
    differ = ~empty & (given >= 0) & (stated_key[stated_codes] != history_key[given])
    log[C.ROLE] = pd.Series(pd.Categorical.from_codes(role_codes, categories=categories),
                            index=log.index)
    unknown = log[C.RESOURCE].notna().to_numpy(dtype=bool) & (role_codes < 0)
    counted = empty & (role_codes >= 0)
    if repeats is not None:
        unknown &= ~repeats
        differ &= ~repeats
        counted &= ~repeats
    notes = [f"{history.file}: roles set on {words(int(counted.sum()), 'event', spec=',')}"]
    notes += history.notes + overlap_notes(history)
    if unknown.any():
        people = sorted(set(log.loc[unknown, C.RESOURCE].astype(str)))
        notes.append(f"{history.file}: {words(int(unknown.sum()), 'event')} by {len(people)} "
                     f"resource(s) without a role at that time (e.g. {people[0]})")
    if differ.any():
        first = int(np.flatnonzero(differ)[0])
        event = (f"event {log[C.EVENT_ID].iloc[first]} " if C.EVENT_ID in log.columns
                 else "")
        many = int(differ.sum())
        verbs = ("states", "keeps") if many == 1 else ("state", "keep")
        notes.append(f"{history.file}: {words(many, 'event')} {verbs[0]} a role other than "
                     f"the role history's at that time, and {verbs[1]} the log's (e.g. {event}by "
                     f"{log[C.RESOURCE].iloc[first]}: '{stated_names[stated_codes[first]]}' "
                     f"in the log, '{role_names[given[first]]}' in the history)")
    return log, notes


def _last_of_each(periods: Iterable[tuple[int, int, Any]]) -> list[tuple[int, int, Any]]:
    """A person's periods (start, end, role) in file order, each repeated one kept only
    where it is last: applied in order, a later period wins where two overlap, so a
    period given again overwrites whatever its earlier copy set: the same roles.
    Role histories exported in pages (or merged by month) repeat every period in each:
    at 1M cases the 10 role-history files' 640 periods are 63 people's 64, and each
    period applied is a comparison of each of the person's events (about 116,000 each)."""
    kept: dict[tuple[int, int, Any], None] = {}
    for start, end, role in periods:
        key = (start, end, None if pd.isna(role) else str(role))
        kept.pop(key, None)  # moved to the end: its last place in file order
        kept[key] = None
    return list(kept)


def overlap_notes(history: RoleHistory) -> list[str]:
    """A note where a person's periods of different roles overlap: the role history is
    ambiguous there, and the later period (in file order) decides, as `apply_roles` says;
    an auditor should know which."""
    periods = history.periods
    if len(periods) < 2:
        return []
    starts, ends = _nanoseconds(periods["valid_from"]), _nanoseconds(periods["valid_to"])
    ends = np.where(ends == _MISSING, np.iinfo(np.int64).max, ends)  # open: never ends
    keys = _person_keys(periods).to_numpy(dtype=object)
    order = np.lexsort((starts, keys.astype(str)))
    person, key = periods["person"].to_numpy(dtype=object)[order], keys[order]
    role = periods["role"].astype(str).to_numpy(dtype=object)[order]
    starts, ends = starts[order], ends[order]
    overlapping: list[str] = []
    begin = 0
    for k in range(1, len(order) + 1):
        if k == len(order) or key[k] != key[begin]:
            reach = np.maximum.accumulate(ends[begin:k])  # the latest end so far
            clash = np.flatnonzero((starts[begin + 1:k] < reach[:-1])
                                   & (role[begin + 1:k] != role[begin:k - 1]))
            if len(clash):
                overlapping.append(str(person[begin]))
            begin = k
    if not overlapping:
        return []
    return [f"{history.file}: {len(overlapping)} person(s) with overlapping periods of "
            f"different roles (e.g. {overlapping[0]}); where they overlap, the later period "
            "in the file decides"]


def _role_key(name: str) -> str:
    """A role as conformance.bpmn.role_key compares roles (and AP004 the log's)."""
    from conformance.bpmn import role_key

    return role_key(name)


def _person_keys(periods: pd.DataFrame) -> pd.Series:
    """Each period's person as audit.canonical.person_key compares people."""
    return periods["person"].map(lambda p: C.person_key(str(p)))


_MISSING = np.iinfo(np.int64).min
"""NaT as int64 nanoseconds."""


def _nanoseconds(times: pd.Series) -> npt.NDArray[np.int64]:
    """UTC times as int64 nanoseconds since 1970 (NaT: `_MISSING`)."""
    values = times.dt.tz_convert("UTC").dt.as_unit("ns") if isinstance(
        times.dtype, pd.DatetimeTZDtype) else times.astype("datetime64[ns]")
    return np.asarray(values.to_numpy(dtype="datetime64[ns]").view(np.int64))


def history_json(history: RoleHistory) -> bytes:
    """The role history as a canonical log's Parquet metadata holds it (`stored_history`):
    its periods (times as UTC nanoseconds, exactly as read; an open end as null), its logins
    and the file(s) it was read from. A month's run reads the log beside the next exports
    and applies it to their records where no role history is given with them."""
    periods = history.periods
    starts = _nanoseconds(periods["valid_from"]).tolist()
    ends = [None if end == _MISSING else end
            for end in _nanoseconds(periods["valid_to"]).tolist()]
    rows = [[str(person), None if pd.isna(role) else str(role), start, end]
            for person, role, start, end in zip(periods["person"], periods["role"], starts,
                                                 ends, strict=True)]
    return json.dumps({"file": history.read_from or history.file, "periods": rows,
                       "logins": history.logins}, ensure_ascii=False).encode("utf-8")


ROLE_HISTORY_KEY = b"refund-audit:role-history"
"""The key of a canonical log's Parquet metadata that holds the role history its import
applied (`history_json`)."""


def log_history(path: Path, label: str) -> RoleHistory | None:
    """The role history stored in the canonical log at PATH (named LABEL in notes), or None:
    not Parquet, written without one (no role history was given to its import, or by an
    earlier version), or unreadable."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(ROLE_HISTORY_KEY)
    except (OSError, pa.ArrowException):
        return None
    return None if raw is None else stored_history(raw, log=label)


def unread_history_note(path: Path, label: str) -> str | None:
    """A note where the canonical log at PATH (named LABEL) holds a role history under this
    tool's key that `stored_history` cannot read (damaged: not UTF-8, not JSON, not of its
    shape): the month's run then gives its records no roles from it, which was told by
    nothing. None where the log holds none, or it reads."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(ROLE_HISTORY_KEY)
    except (OSError, pa.ArrowException, UnicodeDecodeError):
        return None
    if raw is None or stored_history(raw, log=label) is not None:
        return None
    return (f"{label}: the role history its metadata keeps ({ROLE_HISTORY_KEY.decode()}) "
            "cannot be read (damaged, or another tool's): no roles are taken from it; give "
            "the role history with --source roles:FILE")


def stored_history(raw: bytes, *, log: str) -> RoleHistory | None:
    """The role history `history_json` wrote into LOG's metadata, or None where it is not
    one (a record another tool or version wrote: the log is then read as one without)."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # (nested past the stack: before, the import of
        # the log beside an export ended in an internal error and its traceback)
        return None
    if not isinstance(record, dict):
        return None
    rows, logins, file = record.get("periods"), record.get("logins"), record.get("file")
    if not (isinstance(rows, list) and rows and isinstance(logins, dict)
            and isinstance(file, str)):
        return None
    if not all(isinstance(row, list) and len(row) == 4 and isinstance(row[0], str)
               and (row[1] is None or isinstance(row[1], str))
               and _whole(row[2]) and (row[3] is None or _whole(row[3]))
               for row in rows):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in logins.items()):
        return None
    periods = pd.DataFrame({
        "person": [row[0] for row in rows],
        "role": pd.Series([pd.NA if row[1] is None else row[1] for row in rows],
                          dtype=object),
        "valid_from": _utc([row[2] for row in rows]),
        "valid_to": _utc([_MISSING if row[3] is None else row[3] for row in rows])})
    return RoleHistory(periods, dict(logins), f"{file} (stored in {log})", read_from=file)


def _utc(nanoseconds: list[int]) -> pd.Series:
    """UTC times of int64 nanoseconds since 1970 (`_MISSING`: NaT)."""
    values = np.asarray(nanoseconds, dtype=np.int64).view("datetime64[ns]")
    return pd.Series(values).dt.tz_localize("UTC")


def _whole(value: object) -> bool:
    """An int64 of nanoseconds that is a time (not NaT's)."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and _MISSING < value <= np.iinfo(np.int64).max)
