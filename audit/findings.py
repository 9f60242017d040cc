"""The finding: one violation in one case, with the proof; one record shape for every writer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SEVERITIES = ("info", "low", "medium", "high", "critical")

FINDINGS_FORMAT = 4
"""The format of findings.json (its `manifest.format_version`), raised when a change would
make a reader of an earlier one misread it: 2 added `format_version` and `judged_cases` (the
ids of the cases the rules judged, which `diff` tells a finding resolved from one whose case
the run did not audit by); a findings.json without `format_version` is of format 1.
`running_cases` (the ids of the cases running at the clock) was added within format 2: no
reader misreads its absence, which `diff` takes as none where `summary.running_cases` is 0
and refuses otherwise. So was `not_due_cases` (per rule code, missing-evidence's,
missing-second-approval's and approved-not-paid's, the ids of the cases the rule left for
a later clock, not due at this one): where it is missing, `diff` takes it as none, and
words a later run's finding of such a case as one the earlier run judged, as before (one
naming no approved-not-paid cases, of a check before that rule's were named, likewise for
that rule). So was `unjudged_cases` (per rule code, per reason, the ids of the cases
holding events the rule could not judge: unauthorized-approver's and -performer's
`role_not_recorded`, outside-refund-window's `no_purchase_before_request`): where it is
missing, `diff` takes it as none, and words an earlier finding of such a case that a
later run does not report as resolved, as before. So was
each finding's `waived_by`
(the position in `summary.waivers` of the waiver that waived it, null where not waived): where it is
missing, `diff` infers the waiver from the waivers' rule, case and fingerprint, as before.
So was each waiver's `codes` in `summary.waivers` (the rule codes its `rule` resolves to,
which `diff` checks a finding's `waived_by` against): where it is missing, `diff` checks
a waiver naming one rule by its code or name against the finding's rule, and cannot tell
what a family or pattern named.

3 changed what a reader of format 2 reads: the evidence's durations are ISO 8601
("P14DT11H3M54S", before pandas' "14 days 11:03:54"), and `suppressed`'s entries name their
case `case_id`, as findings do (before `case`). A reader of format 2 parsing the durations
or reading an entry's `case` would misread them without a sign; the format number is its
sign. `diff` reads formats 2 to 4 (`OLDEST_FINDINGS_FORMAT` to this one): an older file's
pandas texts as the same durations (`rundiff.iso_evidence`), and neither `case` nor
`case_id` of `suppressed` (it reads an entry's fingerprint and suppressed_by). (A file
written between those two changes and this number, by an unreleased version, says format 2
in the new forms: `diff` reads it as well.) The summary's `events_not_complete` was added
within format 3: where it is missing, a reader takes it as 0.

4 added the manifest's `rule_versions` (each run rule's code -> its logic version,
`Rule.logic_version`), which `diff` requires of a file of format 4 and takes as not
recorded ("unknown") in one of 2 or 3. A field added, and yet a new format: a `diff` that
reads formats 2 and 3 reads a file of 4 without a sign that the rules' logic may differ
between its two runs, and calls a finding of a changed rule new or resolved as if the
refunds had changed; refusing the format ("written by a newer refund-audit"), it has the
user diff with the version that tells rule versions apart. The manifest's `event_order`
(`EVENT_ORDER_VERSION`) was added within format 4: where it is missing, a reader takes it
as 1. So was each finding's `waiver_expired` (the expired waivers matching an open finding,
null where none): where it is missing, a reader takes it as none, which an earlier version
wrote nowhere but in the summary's waivers."""

EVENT_ORDER_VERSION = 2
"""How check orders a case's events at one time (findings.json `manifest.event_order`,
which `diff` compares between its runs; missing in a findings.json written before it: 1).
1: by event id, the ids refund-audit derived too (an XES file's, an OCEL log's, a CSV's or
Parquet's without ids: "e" and 16 hex digits of a hash, in no order of the events). 2: the
ids a log states by id; events whose ids were derived as their source lists them
(`source:file`, `source:row`: `audit.canonical.SAME_TIME_ORDER`). The rules reading the
order of a case's events (which came first, what was paid up to a payout) may judge such
a log otherwise between the two."""

RULE_VERSIONS_FORMAT = 4
"""The first format of findings.json whose manifest records `rule_versions` (`diff`
refuses a file of this format or later without them; of an earlier one, they are
"unknown")."""

DURATION_EVIDENCE: dict[str, tuple[str, ...]] = {
    "EV003": ("waiting",), "SL001": ("took", "open_for", "sla")}
"""Per rule, the evidence keys holding a duration (of stage-overdue, each of its `stages`'
`STAGE_DURATIONS`): ISO 8601 ("P14DT11H3M54S", `audit.words.iso_duration`), which a
findings.json of format 2 may hold as pandas' text ("14 days 11:03:54")."""

STAGE_DURATIONS = ("took", "limit")
"""The keys of each of stage-overdue's (SL002) `stages` in its evidence holding a duration."""

OLDEST_FINDINGS_FORMAT = 2
"""The oldest format of findings.json (`FINDINGS_FORMAT`) `diff` reads: one of format 1 has
no `judged_cases`, which `diff` needs; it is checked again."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


_sha256 = hashlib.sha256

_ascii_text = json.encoder.encode_basestring_ascii
"""A text as json.dumps writes it (quoted, non-ASCII escaped)."""


def fingerprint(name: str, case_id: str, event_ids: list[str]) -> str:
    """Stable across runs and tool versions: the rule's name, the case and the events.

    The hash of ``json.dumps([name, case_id, sorted(event_ids)], ensure_ascii=True)``; where
    all are texts (as findings hold them), that JSON is put together from each text's JSON
    string, without an encoder per call (235k findings at 1M cases: 1.05 -> 0.68 s).

    An event id that is the case's copy of a record several cases share (correlation names
    a charge's copy in case C `<id>@C`) counts as the record's id: whether a charge is
    copied depends on other cases (a second refund of it, say next month), and the finding
    of this case must keep its fingerprint then (the case is part of the hash anyway)."""
    return _hashed(name, case_id, event_ids, copies_as_records=True)


def _without_copies(case_id: str, event_ids: list[str]) -> list[str]:
    """The ids, each `<id>@<case_id>` (the case's copy of a shared record) as `<id>`."""
    if type(case_id) is not str:
        return event_ids
    copy = "@" + case_id
    if not any(type(i) is str and i.endswith(copy) for i in event_ids):
        return event_ids
    return [i[:-len(copy)] if type(i) is str and i.endswith(copy) else i for i in event_ids]


def _hashed(name: str, case_id: str, event_ids: list[str], *,
            copies_as_records: bool) -> str:
    """The hash of ``json.dumps([name, case_id, sorted(event_ids)], ensure_ascii=True)``,
    with `copies_as_records` each of the case's copies' ids as its record's.

    Most findings' texts are printable ASCII without a quote or backslash, which JSON
    writes as they are between quotes: their key is put together in one f-string and
    checked as a whole (ASCII, printable, no backslash, only its own quotes), no JSON
    string made per text (ten times the 100k part's 25,796 findings, 258k: 0.65 -> 0.54 s
    of CPU). Any other key, a copy's id (`@`) or ids that are not texts: the way below."""
    if len(event_ids) and type(name) is str and type(case_id) is str:
        plain = sorted(event_ids) if len(event_ids) > 1 else event_ids
        try:
            joined = '", "'.join(plain)
        except TypeError:  # (an id that is not a text)
            joined = None
        if joined is not None and not (copies_as_records and "@" in joined):
            key = f'["{name}", "{case_id}", ["{joined}"]]'
            if key.isascii() and key.isprintable() and "\\" not in key \
                    and key.count('"') == 4 + 2 * len(plain):
                return _sha256(key.encode("ascii")).hexdigest()[:16]
    ids = sorted(event_ids)
    if type(name) is str and type(case_id) is str and all(type(i) is str for i in ids):
        text = _ascii_text
        listed = ", ".join(map(text, ids))
        if copies_as_records and "@" in listed:  # (one search: most findings cite no copy)
            bare = _without_copies(case_id, ids)
            if bare is not ids:
                listed = ", ".join(map(text, sorted(bare)))
        key = f"[{text(name)}, {text(case_id)}, [{listed}]]"
    else:
        if copies_as_records:
            ids = sorted(_without_copies(case_id, ids))
        key = json.dumps([name, case_id, ids], ensure_ascii=True)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def copy_fingerprint(finding: Finding) -> str | None:
    """The fingerprint refund-audit gave `finding` before a copy's id counted as its
    record's (the hash of its ids as they are), where it cites a copy; else None. A
    policy's waiver written with that fingerprint still matches the finding."""
    return copy_fingerprint_of(finding.name, finding.case_id, finding.event_ids)


def copy_fingerprint_of(name: str, case_id: str, event_ids: list[str]) -> str | None:
    """`copy_fingerprint` of a finding of rule `name` in `case_id` citing `event_ids`."""
    if _without_copies(case_id, event_ids) is event_ids:
        return None
    return _hashed(name, case_id, event_ids, copies_as_records=False)


def _plain_copy(value: Any) -> Any:
    """A copy of nested dicts, lists and tuples (evidence values); other values as they are."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain_copy(v) for v in value)
    return value


class Source(str):
    """Where a cited event was read from, as the canonical log keeps it (`source:file`,
    `source:row`): its text is `file:row` (`stripe_charges.csv:14`), what findings.csv and
    findings.xlsx show, and findings.json writes it as `{"file": ..., "row": ...}`. The row
    is the last `:`'s number, so a file name holding a `:` reads back whole. A text, so the
    writers join and neutralise a finding's sources as any other list of texts; one object
    per distinct file and row of a run, shared by the findings citing it."""

    __slots__ = ()

    @classmethod
    def of(cls, file: str, row: int) -> Source:
        return cls(f"{file}:{row}")

    @property
    def file(self) -> str:
        return self.rpartition(":")[0]

    @property
    def row(self) -> int:
        return int(self.rpartition(":")[2])

    def as_json(self) -> dict[str, Any]:
        """The source as findings.json writes it."""
        file, _, row = self.rpartition(":")
        return {"file": file, "row": int(row)}


def json_source(value: Any) -> Any:
    """A finding's source as findings.json writes it (`Source.as_json`); any other value as
    it is."""
    return value.as_json() if isinstance(value, Source) else value


@dataclass(slots=True)  # no dict per finding: a 1M-case run holds 235k of them
class Finding:
    rule: str
    """Code, e.g. SD001."""
    name: str
    """Kebab-case name of the bad thing, e.g. self-approval."""
    severity: str
    case_id: str
    event_ids: list[str]
    activities: list[str]
    resources: list[str]
    timestamp: str | None
    """ISO 8601 UTC time of the event that shows the violation."""
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    amount_at_risk: float | None = None
    currency: str | None = None
    waived: bool = False
    waiver_reason: str | None = None
    fingerprint: str = ""
    case_quarantined_rows: int = 0
    """How many input rows of the finding's case were quarantined (not imported: distinct
    file and row, those of this check's inputs and of a canonical log's own import): the
    finding may rest on incomplete records. Set once the rules ran
    (`CheckRun.quarantined_rows`); no part of the fingerprint."""
    channel: str = ""
    """The channel the rules judged the finding's case by (`CheckRun.case_channels`), ""
    where the case states none: what the exports filter and subtotal findings by. Set once
    the rules ran, for all findings at once (`CheckRun.finding_channels`); no part of the
    fingerprint."""
    waived_by: int | None = None
    """Where `waived`: the waiver that waived it, by its position in the policy's `waivers`
    (0 the first), which is its position in findings.json's `summary.waivers`: the first
    waiver in force in the policy's order that matches it (`engine.finish_findings`); None
    where not waived. Its identity within the run, what `diff` names a finding's waiver by;
    a waiver has no other (two may name the same rule and case). No part of the
    fingerprint."""
    sources: list[Source] = field(default_factory=list)
    """Where its cited events were read from (`cited_sources`): each distinct file and row
    once, by file name (code point order) then row; an event the log does not hold adds
    none. Set once the rules ran, for all findings at once (`CheckRun.finding_sources`): a
    canonical log imported earlier keeps its exports' files and rows, so these are the
    exports'. No part of the fingerprint."""
    waiver_expired: str | None = None
    """Where not `waived` and a waiver of the policy that expired before the audit's clock
    matches it: that waiver's reason, who approved it and when it expired, "accepted then
    (approved by CFO, expired 2026-09-30)" (several such waivers: each, in the policy's
    order, joined by "; "); None otherwise (`engine.finish_findings`). The trace on the
    finding's own row that it was once waived, and by whom: it is reported open. No part of
    the fingerprint."""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.name, self.case_id, self.event_ids)

    def as_dict(self) -> dict[str, Any]:
        """The fields in declaration order, containers copied (what `dataclasses.asdict`
        gives for a finding, without its generic recursion: writers call this per finding)."""
        return {
            "rule": self.rule, "name": self.name, "severity": self.severity,
            "case_id": self.case_id, "event_ids": list(self.event_ids),
            "activities": list(self.activities), "resources": list(self.resources),
            "timestamp": self.timestamp, "message": self.message,
            "evidence": _plain_copy(self.evidence), "amount_at_risk": self.amount_at_risk,
            "currency": self.currency, "waived": self.waived,
            "waiver_reason": self.waiver_reason, "fingerprint": self.fingerprint,
            "case_quarantined_rows": self.case_quarantined_rows, "channel": self.channel,
            "waived_by": self.waived_by, "sources": list(self.sources),
            "waiver_expired": self.waiver_expired,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """A finding of `as_dict`'s fields, or of findings.json's (its sources objects)."""
        if data.get("sources"):
            data = {**data, "sources": [
                Source.of(s["file"], s["row"]) if isinstance(s, dict) else Source(s)
                for s in data["sources"]]}
        return cls(**data)


def cited_sources(findings: Sequence[Finding], event_ids: pd.Series, files: pd.Series,
                  rows: pd.Series) -> list[list[Source]]:
    """Per finding: the sources (`Source`) of the events it cites (`source_table`'s
    `SourceTable.lists`)."""
    return source_table(findings, event_ids, files, rows).lists()


@dataclass(frozen=True)
class SourceTable:
    """The findings' sources as arrays, no Python object per source or finding: the
    distinct sources' texts (`file:row`, in their order: file name, then row), and per
    finding its items (numbers into the texts, in that order), finding k's being
    `items[ends[k - 1]:ends[k]]` (ends[-1] read as 0). What `write_reports` makes before
    it forks (about 25 MB at 1M cases: 650k sources), each process then making the
    Sources its writers need: findings.csv the joined texts (`joined`), no Source."""

    texts: Any
    """The distinct sources' texts: an Arrow large_string array, or a list of texts where
    Arrow cannot hold a file's name (e.g. one with a lone surrogate)."""
    items: Any
    """int64: per item, its source's number into `texts`, the findings' items in order."""
    ends: Any
    """int64: per finding, the end of its items in `items` (cumulative)."""

    def lists(self) -> list[list[Source]]:
        """Per finding, its sources: one `Source` per distinct source, shared by the
        findings citing it. The garbage collector paused meanwhile (see `source_table`)."""
        import gc

        import numpy as np

        texts = self.texts if isinstance(self.texts, list) else self.texts.to_pylist()
        collecting = gc.isenabled()
        gc.disable()
        try:
            made = np.empty(len(texts), dtype=object)
            made[:] = list(map(Source, texts))  # (tracked objects, as any str subclass's)
            items = made[self.items].tolist()
            ends = self.ends.tolist()
            return [items[start:end] for start, end in zip([0, *ends][:len(ends)], ends,
                                                           strict=True)]
        finally:
            if collecting:
                gc.enable()

    def joined(self, separator: str = "; ") -> list[str]:
        """Per finding, its sources' texts joined by `separator` ("" where none): what
        `"; ".join(sources)` gives of `lists`' lists, made by Arrow from the arrays."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(self.texts, list):
            texts = np.asarray(self.texts, dtype=object)[self.items].tolist()
            ends = self.ends.tolist()
            return [separator.join(texts[start:end]) for start, end in zip(
                [0, *ends][:len(ends)], ends, strict=True)]
        offsets = pa.array(np.append(np.int64(0), self.ends), type=pa.int64())
        listed = pa.LargeListArray.from_arrays(offsets, self.texts.take(pa.array(self.items)))
        joined: list[str] = pc.binary_join(
            listed, pa.scalar(separator, pa.large_string())).to_pylist()
        return joined


def source_table(findings: Sequence[Finding], event_ids: pd.Series, files: pd.Series,
                 rows: pd.Series) -> SourceTable:
    """Per finding: the sources of the events it cites, as the log's columns
    `event_ids`, `files` and `rows` (`source:file`, `source:row`, aligned) give them; each
    distinct file and row once, ordered by file name (code point) then row; an event id
    the log does not hold, or whose file or row is missing, adds none (an event id the
    log holds twice: its first row).

    Column by column, not a lookup per finding: the cited ids' distinct values are looked
    up in the log's ids at once (Arrow's hash, `pc.index_in`, on the canonical log's Arrow
    strings), and the log rows found read once (distinct ids: distinct rows, so no sort to
    make them distinct); each distinct (file, row) pair gets its number in file name, then
    row order, and each finding's pair numbers are sorted and made distinct by one numpy
    sort of finding * pairs + pair (not `np.unique`, whose hash took 20 times as long).
    No Python object per source or finding: `SourceTable.lists` makes those, with the
    garbage collector paused meanwhile (a run's findings are many tracked objects, and
    making 650k sources, which the collector tracks as it does any str subclass's
    instances, and 260k lists would trace them again and again: a synthetic 1M-scale
    case's 650k sources took 0.54 s so, 0.1 s paused)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(findings)
    lists = list(map(attrgetter("event_ids"), findings))
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=n)
    flat = list(chain.from_iterable(lists))
    del lists
    if not flat or not len(event_ids):
        return SourceTable(pa.array([], type=pa.large_string()),
                           np.zeros(0, dtype=np.int64), np.zeros(n, dtype=np.int64))
    cited, distinct = _cited_codes(flat)
    del flat
    # Per distinct cited id: its log row, -1 where the log holds none. Distinct ids are at
    # distinct rows.
    at = _first_rows(event_ids, distinct)
    found = np.flatnonzero(at >= 0)
    log_rows = at[found]
    file_of = files.iloc[log_rows]
    row_of = rows.iloc[log_rows]
    stated = (file_of.notna() & row_of.notna()).to_numpy(dtype=bool)
    # The distinct (file, row) pairs in the order of the file names, then the rows: a
    # pair's number is its place in that order.
    file_codes, file_names = pd.factorize(file_of[stated])
    names = [str(name) for name in file_names]
    ranked = sorted(names)
    place = {name: k for k, name in enumerate(ranked)}
    rank = np.asarray([place[name] for name in names], dtype=np.int64)[file_codes]
    numbers = row_of[stated].astype("int64").to_numpy(dtype=np.int64)
    order = np.lexsort((numbers, rank))
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (np.diff(rank[order]) != 0) | (np.diff(numbers[order]) != 0)
    pair_of = np.empty(len(order), dtype=np.int64)
    pair_of[order] = np.cumsum(starts) - 1
    firsts = order[starts]
    # Per distinct id (and a last place for a None id, code -1): its pair, -1 where none.
    pair_of_id = np.full(len(distinct) + 1, -1, dtype=np.int64)
    pair_of_id[found[stated]] = pair_of
    item = pair_of_id[cited]
    kept = item >= 0
    p = max(len(firsts), 1)
    # Per finding its distinct pairs, in their order: one sort of finding * p + pair.
    keys = np.sort(np.repeat(np.arange(n, dtype=np.int64), counts)[kept] * p + item[kept])
    if len(keys):
        keys = keys[np.append(True, keys[1:] != keys[:-1])]
    # Each distinct source's text made by Arrow (by Python where Arrow cannot hold a
    # file's name, e.g. one with a lone surrogate).
    text = pa.large_string()
    texts: Any
    try:
        texts = pc.binary_join_element_wise(
            pa.array(ranked, type=text).take(pa.array(rank[firsts])),
            pa.array(numbers[firsts]).cast(text), pa.scalar(":", text))
    except (pa.ArrowException, UnicodeError):
        texts = [f"{ranked[file]}:{number}" for file, number in zip(
            rank[firsts].tolist(), numbers[firsts].tolist(), strict=True)]
    return SourceTable(texts, keys % p, np.cumsum(np.bincount(keys // p, minlength=n)))


def _cited_codes(ids: list[Any]) -> tuple[Any, Any]:
    """A code per id (0, 1, ... in order of first appearance; None: -1) and the distinct
    ids, by Arrow's hash of the texts (an Arrow array); by pandas' (an object array) where
    Arrow cannot hold them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        encoded = pc.dictionary_encode(pa.array(ids, type=pa.large_string()))
    except (pa.ArrowException, UnicodeError, TypeError):
        import pandas as pd

        codes, uniques = pd.factorize(np.asarray(ids, dtype=object))
        return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False),
                       dtype=np.int64)
    return codes, encoded.dictionary


def _first_rows(event_ids: pd.Series, wanted: Any) -> Any:
    """Per id of `wanted` (distinct; an Arrow array or a sequence): the first position in
    `event_ids` holding it, -1 where none does. On Arrow strings (the canonical log's ids)
    by Arrow's hash of `wanted`, the log's ids not converted; else by pandas'."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    data = getattr(event_ids.array, "_pa_array", None)
    found = None
    if data is not None and (pa.types.is_string(data.type)
                             or pa.types.is_large_string(data.type)):
        try:
            value_set = wanted.cast(data.type) if isinstance(wanted, pa.Array) \
                else pa.array(wanted, type=data.type)
        except (pa.ArrowException, TypeError, UnicodeError):
            pass
        else:
            at = pc.index_in(data, value_set=value_set)
            if isinstance(at, pa.ChunkedArray):
                at = at.combine_chunks()
            # The log rows holding a wanted id, and which: read by Arrow, not a 7.3M-long
            # int64 copy of `at` (1M cases). Each id once (as an imported log holds them:
            # the import drops or quarantines repeats): its row put in place as it is.
            held = at.is_valid()
            hit = np.asarray(pc.indices_nonzero(held).to_numpy(), dtype=np.int64)
            which = np.asarray(at.filter(held).to_numpy(zero_copy_only=False),
                               dtype=np.int64)
            out = np.full(len(wanted), -1, dtype=np.int64)
            if not len(which) or np.bincount(which, minlength=len(wanted)).max() == 1:
                out[which] = hit
                return out
            found = np.full(len(data), -1, dtype=np.int64)
            found[hit] = which
    if found is None:
        listed = wanted.to_pylist() if isinstance(wanted, pa.Array) else list(wanted)
        found = pd.Index(listed, dtype=object).get_indexer(
            pd.Index(event_ids.astype(object).to_numpy(dtype=object), dtype=object))
    # An id the log holds twice: its first row.
    out = np.full(len(wanted), -1, dtype=np.int64)
    hit = np.flatnonzero(found >= 0)
    ids, first = np.unique(found[hit], return_index=True)
    out[ids] = hit[first]
    return out


@dataclass(frozen=True)
class FindingColumns:
    """The fields of findings that counts and rankings read, one array each (row k: the
    k-th finding), for numpy to count and rank them instead of a dictionary lookup per
    finding (235,008 findings at 1M cases: the run's summary and the report's ranking of
    cases each took 0.8-1.0 s so). Texts are coded: 0, 1, ... in order of first appearance,
    -1 where missing (None)."""

    case: Any
    """int64 code of each finding's case id (a missing id is a case of its own)."""
    cases: int
    """How many distinct case ids."""
    case_names: Callable[[Any], list[Any]]
    """The case ids of given case codes (an int array)."""
    rule: Any
    """int64 code of each finding's rule, into `rules`."""
    rules: list[str]
    severity: Any
    """int64 `severity_rank` of each finding's severity."""
    waived: Any
    """bool: waived."""
    has_amount: Any
    """bool: an amount at risk is stated (not None; NaN is stated)."""
    amount: Any
    """float64 amount at risk (0.0 where none is stated)."""
    currency: Any
    """int64 code of each finding's currency into `currencies`, -1 where None."""
    currencies: list[str]


def money_buckets(columns: FindingColumns) -> Any:
    """Each finding's money-at-risk bucket: its currency's code, or len(columns.currencies)
    (currency.NO_CURRENCY) where it states none (None or an empty text)."""
    import numpy as np

    none = len(columns.currencies)
    bucket = np.where(columns.currency >= 0, columns.currency, none)
    if "" in columns.currencies:
        bucket = np.where(bucket == columns.currencies.index(""), none, bucket)
    return bucket


def finding_columns(findings: Sequence[Finding]) -> FindingColumns:
    """The findings as FindingColumns: their fields read in one pass over them (at 1M
    cases each pass waits on memory for every finding: six passes took 0.29 s, one takes
    0.16 s), the texts coded by Arrow's hash (a dictionary per finding took 0.4 s for the
    rules and currencies), by pandas where Arrow cannot hold them (e.g. a lone surrogate)."""
    import numpy as np
    import pyarrow as pa

    n = len(findings)
    fields = list(map(attrgetter("case_id", "rule", "severity", "amount_at_risk", "currency",
                                 "waived"), findings))
    case_ids, rule_names, severities, amounts, currency_names, waived_flags = (
        zip(*fields, strict=True) if fields else ((),) * 6)
    del fields
    # (the case ids of given codes taken when asked: 200,179 ids at 1M cases)
    case, cases, case_names = _codes(case_ids, missing_own_code=True)
    rule, _, rule_list = _codes(rule_names)
    currency, _, currency_list = _codes(currency_names)
    ranks = {s: k for k, s in enumerate(SEVERITIES)}
    try:
        severity = np.fromiter(map(ranks.__getitem__, severities), dtype=np.int64, count=n)
    except KeyError:  # not a severity: severity_rank says which
        severity = np.fromiter(map(severity_rank, severities), dtype=np.int64, count=n)
    try:
        stated = pa.array(amounts, type=pa.float64())  # None: null; NaN stays NaN
        has_amount = np.asarray(stated.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        amount = np.asarray(stated.fill_null(0.0).to_numpy(zero_copy_only=False),
                            dtype=np.float64)
    except (pa.ArrowException, TypeError):  # e.g. a Decimal: as Python converts it
        has_amount = np.fromiter((a is not None for a in amounts), dtype=bool, count=n)
        amount = np.fromiter((0.0 if a is None else a for a in amounts), dtype=np.float64,
                             count=n)
    waived = np.fromiter(map(bool, waived_flags), dtype=bool, count=n)
    return FindingColumns(case, cases, case_names, rule, rule_list(None), severity, waived,
                          has_amount, amount, currency, currency_list(None))


def _codes(values: Sequence[Any], *, missing_own_code: bool = False) -> tuple[
        Any, int, Callable[[Any], list[Any]]]:
    """A code per value (0, 1, ... in order of first appearance; None: -1, or a code of its
    own with `missing_own_code`), how many codes, and a function giving the values of given
    codes (None: all, by code). By Arrow's hash of the texts; by pandas where Arrow cannot
    hold them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        encoded = pc.dictionary_encode(pa.array(values, type=pa.large_string()),
                                       null_encoding="encode" if missing_own_code else "mask")
    except (pa.ArrowException, UnicodeError, TypeError):
        import pandas as pd

        found, uniques = pd.factorize(np.asarray(values, dtype=object),
                                      use_na_sentinel=not missing_own_code)

        def of_codes(at: Any) -> list[Any]:
            return list(uniques if at is None else uniques[np.asarray(at, dtype=np.int64)])

        return np.asarray(found, dtype=np.int64), len(uniques), of_codes
    dictionary = encoded.dictionary

    def taken(at: Any) -> list[Any]:
        chosen = dictionary if at is None else dictionary.take(pa.array(at, type=pa.int64()))
        return list(chosen.to_pylist())

    indices = encoded.indices
    codes = np.asarray(indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, len(dictionary), taken
