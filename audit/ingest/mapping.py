"""Column mapping: which source column feeds which canonical column.

A mapping file (YAML) names the columns explicitly; anything it leaves out is matched
automatically by common names ("Case ID", "Activity", "Timestamp", "Resource", ...). Exact
canonical names always win, and two source columns that match one canonical column equally well
are an error rather than a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from audit import canonical as C
from audit.errors import InputError
from audit.ingest.timestamps import check_timestamp_format
from audit.yamlio import child, line_of, load_yaml_digest

# Candidate source names per canonical column, most specific first. Compared after lowercasing
# and dropping everything but letters and digits, so "Case ID", "case_id" and "CaseId" are one.
SYNONYMS: dict[str, tuple[str, ...]] = {
    C.CASE: ("case id", "caseid", "case", "case number", "trace id", "refund case"),
    C.ACTIVITY: ("activity", "activity name", "event name", "event", "action", "task", "step"),
    C.TIMESTAMP: ("timestamp", "complete timestamp", "time", "datetime", "date time",
                  "event time", "end time", "completed at", "created at"),
    C.RESOURCE: ("resource", "user", "performer", "actor", "agent", "executed by", "user id"),
    C.ROLE: ("role", "user role", "resource role"),
    C.LIFECYCLE: ("lifecycle", "transition", "lifecycle transition"),
    C.AMOUNT: ("amount", "refund amount"),
    C.CURRENCY: ("currency", "currency code"),
    C.CHANNEL: ("channel", "refund channel"),
    C.TICKET_ID: ("ticket id", "ticket"),
    C.ORDER_ID: ("order id", "order", "order number"),
    C.CHARGE_ID: ("charge id", "charge"),
    C.REFUND_ID: ("refund id",),
    C.PAYMENT_METHOD: ("payment method",),
    C.PAYMENT_STATUS: ("payment status",),
    C.EVENT_ID: ("event id", "eventid"),
}
CASE_ATTRIBUTES: tuple[str, ...] = (C.CHANNEL, C.TICKET_ID, C.ORDER_ID)
"""The canonical columns that are attributes of the refund case, which pm4py's convention
names with a `case:` prefix (a trace attribute `channel` of an XES log is its data frame's,
and its CSV export's, `case:channel`, as the case id is `case:concept:name`): taken by
those names too (`pm4py_names`)."""


def pm4py_names(canonical: str) -> tuple[str, ...]:
    """The names (as `norm` compares them) pm4py's convention gives case attribute
    `canonical` (`CASE_ATTRIBUTES`): `case:` before its canonical name (`case:refund:channel`)
    or before one of its common names (`case:channel`, `case:refund_channel`), most specific
    first."""
    return tuple(dict.fromkeys(norm(f"case:{name}")
                               for name in (canonical, *SYNONYMS.get(canonical, ()))))


WEAK_TIME_SYNONYMS = ("created at",)
"""Common names of the timestamp that may as well be a case's time as an event's (a ticket's
creation): taken only where no other column's name is a time's (`time_like`)."""
_TIME_WORDS = {"at", "on", "time", "date", "timestamp", "datetime", "ts", "when"}
MAPPABLE: tuple[str, ...] = tuple(c for c in C.COLUMNS if not c.startswith("source:"))

_ALLOWED_KEYS = {
    "columns": "canonical column -> source column",
    "constants": "canonical column -> fixed value for every row",
    "timestamp_format": "strftime format of the timestamp column, if not ISO 8601",
    "assume_tz": "IANA time zone for timestamps written without an offset",
    "decimal": "decimal mark of amounts ('.' or ',')",
    "thousands": "thousands separator of amounts ('', ',', '.', ' ' or \"'\")",
    "system": "name of the source system recorded in source:system",
    "values": "canonical column -> {source value: canonical value} (refund:channel, "
              "payment:status)",
}

TRANSLATED: dict[str, tuple[str, ...]] = {C.CHANNEL: C.CHANNELS,
                                          C.PAYMENT_STATUS: C.PAYMENT_STATUSES}
"""The columns whose values a mapping's `values:` translates, and the values each takes."""


def norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_LATER_STATE = ("updat", "modif", "chang", "clos", "resolv", "complet", "end", "finish",
                "last")
"""How the words of a column name begin that say it holds a later state of a record than
its creation (`Updated at`, `sys_updated_on`, `closedDate`, `End time`)."""


def _later_state(name: str) -> bool:
    return any(word.lower().startswith(_LATER_STATE) for word in _words(name))


def _words(name: str) -> list[str]:
    """A column name's words, also where they are run together (`sys_updated_on`,
    `closedDate`, `UpdatedAT`)."""
    return re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+", name)


def time_like(name: str) -> bool:
    """Whether a column's name is a time's: a common name of the timestamp, or a last word
    such as at, on, time or date (`Updated at`, `sys_updated_on`, `closedDate`)."""
    words = _words(name)
    return (bool(words) and words[-1].lower() in _TIME_WORDS) or any(
        norm(name) == norm(s) for s in SYNONYMS[C.TIMESTAMP])


@dataclass(frozen=True)
class Mapping:
    """What a mapping file says; every field optional."""

    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    timestamp_format: str | None = None
    assume_tz: str | None = None
    decimal: str = "."
    thousands: str = ""
    system: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per canonical column (`TRANSLATED`), source value (as written, stripped) -> the
    canonical value it stands for."""
    source: str | None = None
    """The mapping file's path, for messages."""
    sha256: str | None = None
    """The mapping file's digest (check's manifest records it beside the path)."""


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; errors name the file, line and key."""
    # (the digest of the bytes parsed: before, of a second read after them)
    data, node, digest = load_yaml_digest(path)
    if data is None:
        return Mapping(source=str(path), sha256=digest)
    if not isinstance(data, dict):
        raise InputError("a mapping file is a YAML mapping of keys such as 'columns:'", file=path)
    for key in data:
        if key not in _ALLOWED_KEYS:
            known = ", ".join(sorted(_ALLOWED_KEYS))
            raise InputError(f"unknown key '{key}' (known: {known})", file=path,
                             line=line_of(node, str(key)), field=str(key))

    def section(key: str) -> dict[str, str]:
        raw = data.get(key) or {}
        if not isinstance(raw, dict):
            raise InputError(f"'{key}' must be a mapping", file=path, line=line_of(node, key),
                             field=key)
        sub = child(node, key)
        out: dict[str, str] = {}
        for name, value in raw.items():
            if name not in MAPPABLE and not str(name).startswith(C.EVIDENCE_PREFIX):
                raise InputError(
                    f"'{name}' is not a canonical column (see docs/canonical-log.md)",
                    file=path, line=line_of(sub, str(name)), field=f"{key}.{name}")
            if not isinstance(value, str):
                # As written: YAML 1.1 reads `0012` as 10, `0x1F` as 31, `1_000` as 1000,
                # `12:30:00` as 45000 (seconds) and `1.50` as 1.5; a column or a constant
                # is the text the file holds (the scalar's own text, as the policy's are).
                written = child(sub, str(name))
                if value is None or not isinstance(written, yaml.ScalarNode):
                    raise InputError("value must be text", file=path,
                                     line=line_of(sub, str(name)), field=f"{key}.{name}")
                value = str(written.value)
            out[str(name)] = value
        return out

    def scalar(key: str, allowed: tuple[str, ...] | None = None) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or (allowed is not None and value not in allowed):
            expected = f"one of {allowed}" if allowed else "text"
            raise InputError(f"'{key}' must be {expected}, not {value!r}", file=path,
                             line=line_of(node, key), field=key)
        return value

    columns = section("columns")
    constants = section("constants")
    both = set(columns) & set(constants)
    if both:
        name = sorted(both)[0]
        raise InputError("a column cannot be both mapped and constant", file=path,
                         line=line_of(child(node, "constants"), name), field=name)
    values = _values(data, node, path)
    assume_tz = scalar("assume_tz")
    if assume_tz is not None:
        check_time_zone(assume_tz, file=path, line=line_of(node, "assume_tz"))
    decimal = scalar("decimal", (".", ",")) or "."
    thousands = scalar("thousands", ("", ",", ".", " ", "'")) or ""
    if thousands == decimal:
        # Removing the separator would remove the decimal mark: 49.99 would read 4999.
        given = "" if "decimal" in data else " (the default)"
        raise InputError(
            f"'thousands' and 'decimal' are both {decimal!r}{given}: one character cannot "
            "be the thousands separator and the decimal mark (e.g. decimal: \",\", "
            "thousands: \".\" for 1.234,50)", file=path, line=line_of(node, "thousands"),
            field="thousands")
    return Mapping(
        columns=columns,
        constants=constants,
        timestamp_format=check_timestamp_format(scalar("timestamp_format"), file=path,
                                                line=line_of(node, "timestamp_format")),
        assume_tz=assume_tz,
        decimal=decimal,
        thousands=thousands,
        system=scalar("system"),
        values=values,
        source=str(path),
        sha256=digest,
    )


def _values(data: dict[str, Any], node: yaml.Node | None,
            path: Path) -> dict[str, dict[str, str]]:
    """The `values:` section: per translated column (`TRANSLATED`), source value -> one of
    the column's values. Source values are taken as written (`01` is `01`, not 1); a
    target that is not one of the column's values, an unknown column or a section of
    another shape is an error naming the file, line and key."""
    raw = data.get("values")
    if raw is None:
        return {}
    sub = child(node, "values")
    if not isinstance(raw, dict):
        raise InputError("'values' must be a mapping of canonical columns (refund:channel, "
                         "payment:status) to {source value: canonical value}", file=path,
                         line=line_of(node, "values"), field="values")
    out: dict[str, dict[str, str]] = {}
    for column, table in raw.items():
        key = f"values.{column}"
        allowed = TRANSLATED.get(str(column))
        if allowed is None:
            raise InputError(f"'{column}' has no values to translate (values: is for "
                             f"{', '.join(TRANSLATED)})", file=path,
                             line=line_of(sub, str(column)), field=key)
        entries = child(sub, str(column))
        if not isinstance(table, dict) or not table or not isinstance(entries,
                                                                      yaml.MappingNode):
            raise InputError("must be a mapping of source value: canonical value", file=path,
                             line=line_of(sub, str(column)), field=key)
        translated: dict[str, str] = {}
        for name_node, value_node in entries.value:
            name = str(name_node.value).strip()
            where = name_node.start_mark.line + 1
            target = str(value_node.value).strip().lower() if isinstance(
                value_node, yaml.ScalarNode) else None
            if not name or not isinstance(name_node, yaml.ScalarNode):
                raise InputError("a source value must be text, not empty", file=path,
                                 line=where, field=key)
            if target not in allowed:
                shown = value_node.value if isinstance(value_node, yaml.ScalarNode) else "?"
                raise InputError(f"'{name}': '{shown}' is not one of {', '.join(allowed)}",
                                 file=path, line=value_node.start_mark.line + 1,
                                 field=f"{key}.{name}")
            # (a source value given twice is refused by load_yaml, naming both lines)
            translated[name] = target
        out[str(column)] = translated
    return out


def zone_override(mapping: Mapping | None, assume_tz: str | None) -> str | None:
    """The warning for an `--assume-tz` that overrides another zone the mapping's
    `assume_tz` names (the option wins: it is the run's explicit choice, as over a sources
    file's `time_zone`), or None where they agree or one is not given."""
    if mapping is None or mapping.assume_tz is None or assume_tz is None \
            or mapping.assume_tz == assume_tz:
        return None
    where = f" in {mapping.source}" if mapping.source else ""
    return (f"--assume-tz {assume_tz} overrides assume_tz: {mapping.assume_tz} of the "
            f"mapping{where}: timestamps without an offset are read in {assume_tz}")


_HOST_ZONES = ("localtime", "posixrules", "factory")
"""Names in the zoneinfo folder that are no zone of their own: `localtime` is the host's
zone (/etc/localtime), `posixrules` the host's rules for POSIX TZ strings, `Factory` a
placeholder ("-00"); with the `posix/` and `right/` copies (`right/` counts leap seconds:
times 27 s apart from UTC's) they exist on some hosts and not others, or differ."""


def check_time_zone(name: str, *, file: str | Path | None = None, line: int | None = None,
                    field: str = "assume_tz") -> str:
    """Return `name` if it is an IANA time zone (or UTC), else raise InputError naming
    `field` (the option, `--assume-tz`, or the key of a file). A name whose meaning depends
    on the host (`_HOST_ZONES`, `posix/...`, `right/...`) is refused: the same run on
    another machine would read other times."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    known = "use an IANA name such as Europe/Berlin, or UTC"
    folded = name.lower()
    if folded in _HOST_ZONES or folded.startswith(("posix/", "right/")):
        raise InputError(f"time zone '{name}' depends on the machine's zoneinfo files, so a "
                         f"run would not be reproducible ({known})",
                         file=file, line=line, field=field)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone '{name}' ({known})", file=file, line=line,
                         field=field) from exc
    return name


def resolve_columns(source_columns: list[str], mapping: Mapping, *, file: Path,
                    frame: pd.DataFrame | None = None) -> dict[str, str]:
    """Canonical column -> source column, from the mapping first, then by name; with the
    file's `frame`, then a case attribute left by pm4py's name of it (`pm4py_spellings`)
    where its values fit (`pm4py_fits`)."""
    resolved: dict[str, str] = {}
    present = set(source_columns)
    # A header and a mapping that write one name's accents apart (`Aktivität` with `ä` as
    # `a` and a combining diaeresis, as some systems on macOS write it) name one column:
    # before, "no such column (it has: ..., Aktivität, ...)".
    composed: dict[str, list[str]] = {}
    for name in source_columns:
        composed.setdefault(unicodedata.normalize("NFC", name), []).append(name)
    for canonical, source in mapping.columns.items():
        alike = composed.get(unicodedata.normalize("NFC", source), [])
        if source not in present and len(alike) == 1:
            source = alike[0]
        if source not in present:
            raise InputError(
                f"mapping names column '{source}' for '{canonical}', but the file has no such "
                f"column (it has: {', '.join(source_columns)})", file=file, field=canonical)
        resolved[canonical] = source
    used = set(resolved.values())
    for canonical in MAPPABLE:
        if canonical in resolved or canonical in mapping.constants:
            continue
        if canonical in present and canonical not in used:
            resolved[canonical] = canonical
            used.add(canonical)
    normalised: dict[str, list[str]] = {}
    for name in source_columns:
        if name not in used:
            normalised.setdefault(norm(name), []).append(name)
    for canonical in MAPPABLE:
        if canonical in resolved or canonical in mapping.constants:
            continue
        for synonym in SYNONYMS.get(canonical, ()):
            matches = [m for m in normalised.get(norm(synonym), []) if m not in used]
            if len(matches) > 1:
                raise InputError(
                    f"columns {matches} could each be '{canonical}'; name one in a mapping "
                    f"file (columns: {{{canonical}: ...}})", file=file, field=canonical)
            if matches:
                if canonical == C.TIMESTAMP and synonym in WEAK_TIME_SYNONYMS:
                    _refuse_other_times(matches[0], source_columns, used, file)
                resolved[canonical] = matches[0]
                used.add(matches[0])
                break
    for canonical in CASE_ATTRIBUTES:
        if frame is None or canonical in resolved or canonical in mapping.constants:
            continue
        found = pm4py_spellings(source_columns, canonical, frame, mapping, used)
        if found:
            resolved[canonical] = found[0]
            used.add(found[0])
    return resolved


def pm4py_spellings(source_columns: list[str], canonical: str, frame: pd.DataFrame,
                    mapping: Mapping, used: set[str] | None = None) -> list[str]:
    """The columns of a file named as pm4py names case attribute `canonical`
    (`pm4py_names`), not in `used`, whose values fit it (`pm4py_fits`), the most specific
    first."""
    names = pm4py_names(canonical)
    found = [n for n in source_columns if norm(n) in names and n not in (used or set())
             and pm4py_fits(frame[n], canonical, mapping)]
    return sorted(found, key=lambda n: names.index(norm(n)))


def pm4py_fits(values: pd.Series, canonical: str, mapping: Mapping) -> bool:
    """Whether a column pm4py's name makes case attribute `canonical` holds it without
    doubt: for the channel, every value given (stripped, without case) one of ours or one
    the mapping's `values:` translates (pm4py's receipt log's `case:channel` of `Internet`,
    `Desk`, `e-mail` is another channel than a refund's: not read unless mapped); an id
    any text."""
    if canonical != C.CHANNEL:
        return True
    given = {str(v).strip() for v in pd.unique(values.dropna())} - {""}
    known = set(mapping.values.get(C.CHANNEL, {}))
    return all(v in known or v.lower() in C.CHANNELS for v in given)


def pm4py_unread(source_columns: list[str], resolved: dict[str, str], frame: pd.DataFrame,
                 mapping: Mapping) -> list[tuple[str, str]]:
    """The columns named as pm4py names one of our case attributes that are not read as it
    (their values do not fit it, `pm4py_fits`), each with the attribute, where no other
    column (nor a constant of the mapping) gives the attribute: the import's note says so,
    and how to map them (each as (column, attribute)). (Beside a `refund:channel` that is
    read, a `case:channel` of other values travels along unread and unsaid: the channel was
    read.)"""
    out = []
    for canonical in CASE_ATTRIBUTES:
        if canonical in resolved or canonical in mapping.constants:
            continue
        names = pm4py_names(canonical)
        out += [(n, canonical) for n in source_columns
                if norm(n) in names and n not in resolved.values()
                and canonical not in mapping.columns
                and not pm4py_fits(frame[n], canonical, mapping)]
    return out


def case_spelt_event_columns(source_columns: list[str], resolved: dict[str, str],
                              mapping: Mapping) -> list[tuple[str, str]]:
    """The columns named as pm4py names a case attribute (`case:` before a canonical
    column's name or a common name of it: `case:refund:amount`, `case:currency`) of a
    canonical column that is each event's own, not the case's (`CASE_ATTRIBUTES`): an XES
    trace's attribute, an OCEL object's (a refund object's `refund:amount`), a pm4py data
    frame's `case:` column. Each with its canonical column, where no other column (nor the
    mapping) gives that column: such a column is not read (a case's amount is not each of
    its events' own, a charge's amount not its refund's), and the import's note says so
    and how to read it (before, it travelled along unsaid: an OCEL log of refund objects
    holding their amounts imported every payout without an amount)."""
    taken = set(resolved.values())
    out: list[tuple[str, str]] = []
    for canonical in MAPPABLE:
        if (canonical in CASE_ATTRIBUTES or canonical == C.CASE or canonical in resolved
                or canonical in mapping.constants or canonical in mapping.columns):
            continue
        names = {norm(f"case:{name}") for name in (canonical, *SYNONYMS.get(canonical, ()))}
        out += [(n, canonical) for n in source_columns if norm(n) in names and n not in taken]
    return out


def case_twins(source_columns: list[str], resolved: dict[str, str], frame: pd.DataFrame,
               mapping: Mapping) -> dict[str, list[str]]:
    """Per case attribute (`CASE_ATTRIBUTES`) read from a column the mapping does not name:
    the other columns of the file that spell it too (pm4py's `case:channel` beside
    `refund:channel` or `Channel`, or `case:channel` beside `case:refund:channel`), whose
    values must agree with the column read (`normalise` refuses a row where both are given
    and differ, and fills a blank of the column read from them)."""
    out: dict[str, list[str]] = {}
    for canonical in CASE_ATTRIBUTES:
        if canonical not in resolved or canonical in mapping.columns:
            continue
        others = [n for n in pm4py_spellings(source_columns, canonical, frame, mapping)
                  if n != resolved[canonical]]
        if others:
            out[canonical] = others
    return out


def _refuse_other_times(chosen: str, source_columns: list[str], used: set[str],
                        file: Path) -> None:
    """`chosen` (a weak common name of the timestamp, `Created at`) is the event time only
    where no other column not yet taken names a later state of the record in a time's name
    (`Updated at`, `sys_updated_on`, `Closed at`, `Resolved date`): with `Created at` and
    `Updated at`, taking the first put every event at its case's creation. Other times
    (`Due date`, `Order date`) leave it the event time; the import's note says which column
    was taken (`resolution_note`)."""
    others = [n for n in source_columns if n != chosen and n not in used and time_like(n)
              and _later_state(n)]
    if others:
        candidates = ", ".join(f"'{n}'" for n in [chosen, *others])
        raise InputError(
            f"columns {candidates} could each be the event time ('{C.TIMESTAMP}'): name the "
            f"one holding each event's time in a mapping file (--mapping; columns: "
            f"{{{C.TIMESTAMP}: ...}})", file=file, field=C.TIMESTAMP)


def resolution_note(label: str, resolved: dict[str, str], mapping: Mapping) -> str | None:
    """The import's note of which source column feeds which canonical column in a generic
    file (`resolve_columns`), where one's name is not the canonical column's: the mapping's
    marked so, the others matched by their common names; None where every column is taken
    by its canonical name."""
    named = [f"{canonical} <- '{source}'" + (" (mapping)" if canonical in mapping.columns
                                              else "")
             for canonical, source in resolved.items() if source != canonical]
    if not named:
        return None
    return f"{label}: columns read as " + ", ".join(named)
