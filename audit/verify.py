"""`refund-audit verify DIR`: whether a check's output folder, as filed, still holds what its
run wrote: each file SHA256SUMS lists has the sha256 it lists, findings.json's run id is
the one its manifest gives (`audit.runid.run_id_status`), and report.html and findings.xlsx
name that run id (`SHOWN_IN`); with `--inputs FILE...`, whether the files given are those
the run read (`compare_inputs`: each file's sha256 against the inputs its manifest records).

What it can show, and what not: SHA256SUMS and findings.json are written by the run, and
someone who edits a file can rewrite SHA256SUMS and the run id too (neither is a seal).
Only the sha256 of SHA256SUMS, which `verify` prints, given as `--sums-sha256` as recorded
apart from the folder when it was filed (in the filing's minutes, a ticket, a signed mail),
shows the files are those filed. The run id (`--run-id`) names the run (its inputs,
settings, code), not its files: findings removed from findings.json and findings.csv, and
SHA256SUMS rewritten, leave it as it was. findings.json is also read as `diff` reads it
(`audit.rundiff.load_run`): its findings against its summary's counts. findings.json is
read once, whole (for its manifest, then as diff reads it), up to `FINDINGS_LIMIT` (1 GiB;
the 1M-case audit's is about 250 MB), SHA256SUMS up to `SUMS_LIMIT` (1 MiB): a larger one
is refused (exit 2), not read into memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from audit.digest import CHECKSUMS_FILE
from audit.errors import InputError

SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
"""A line of SHA256SUMS as `sha256sum` writes it and `write_checksums` does: the sha256 in
lower-case hex, a space, a space (text mode) or `*` (binary mode), the file's name."""


SHOWN_IN = {"report.html": None, "findings.xlsx": "Summary"}
"""The reports that show the run id (report.html's header, findings.xlsx's sheet Summary)
and where in the file (the workbook's sheet of that name: `_sheet_parts`): `verify` checks
that each in the folder names the run id of findings.json beside it."""

PART_LIMIT = 8 << 20
"""The most bytes of the workbook's xl/workbook.xml and its relationships `_sheet_parts`
reads (a check's are a few kB; a hostile workbook's may inflate without end)."""

SEARCH_LIMIT = 256 << 20
"""How many bytes of a report (of the workbook's sheet, decompressed) `_names` reads at
most looking for the run id: a hostile workbook's sheet may inflate without end."""

SUMS_LIMIT = 1 << 20
"""The most bytes of SHA256SUMS `verify` reads: a check's lists a few dozen files (about 90
bytes a line); one larger is not a check's (a hostile folder's, that would fill memory)."""

FINDINGS_LIMIT = 1 << 30
"""The most bytes of findings.json `verify` reads (it is read whole, for its manifest and as
`diff` reads it): the 1M-case audit's is about 250 MB (docs/performance.md); one over 1 GiB
is refused (exit 2), not read into memory."""


class NotAFile(Exception):
    """A name of the folder that is not a regular file: a symbolic link (not followed: it may
    lead outside the folder), a FIFO, a device, a socket (never read: one may block or
    never end). A check writes regular files only."""


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading where it is a regular file of the folder itself: NotAFile
    naming what it is else (a symbolic link is not followed, a FIFO is not waited on:
    O_NOFOLLOW | O_NONBLOCK, the kind asked of the open file, fstat, not of the name);
    FileNotFoundError, IsADirectoryError and other OSErrors as `open` raises them."""
    link = NotAFile("a symbolic link (not followed: check writes none)")
    if os.path.islink(path):  # (and O_NOFOLLOW, where the system has it, for a link made
        raise link            # since)
    try:  # (a device is not opened at all: opening some has effects, a tape rewinding)
        named = os.lstat(path).st_mode
    except OSError:
        named = stat.S_IFREG  # (the open below raises as `open` would)
    if stat.S_ISCHR(named) or stat.S_ISBLK(named):
        raise NotAFile("a device, not a file (not read: check writes files only)")
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                             | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if os.path.islink(path):
            raise link from None
        raise exc
    kind = os.fstat(descriptor).st_mode
    if stat.S_ISDIR(kind):
        os.close(descriptor)
        raise IsADirectoryError(path)
    if not stat.S_ISREG(kind):
        os.close(descriptor)
        what = ("a FIFO" if stat.S_ISFIFO(kind) else "a device"
                if stat.S_ISCHR(kind) or stat.S_ISBLK(kind) else
                "a socket" if stat.S_ISSOCK(kind) else "not a regular file")
        raise NotAFile(f"{what}, not a file (not read: check writes files only)")
    if getattr(os, "O_NONBLOCK", 0):  # (only where it was set: Windows has no O_NONBLOCK,
        os.set_blocking(descriptor, True)  # and Python 3.11 there no os.set_blocking)
    return os.fdopen(descriptor, "rb")


def _bounded(handle: BinaryIO, limit: int, path: Path, why: str) -> bytes:
    """All of `handle` (`path`), an InputError (exit code 2) where it holds more than `limit`
    bytes (`why` says what a check's holds): told from its size before it is read, and from
    what is read (a file growing while read), never more than `limit` + 1 bytes read."""
    size = os.fstat(handle.fileno()).st_size
    data = handle.read(limit + 1) if size <= limit else b""
    size = max(size, len(data))
    if size > limit:
        raise InputError(f"{size:,} bytes or more, over the {limit:,} verify reads ({why}): "
                         "not a check's (not read)", file=path)
    return data


def _sha256(path: Path) -> str:
    """The sha256 of regular file `path` (`open_regular`)."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


XML_OPTIONS: dict[str, Any] = {"resolve_entities": False, "no_network": True,
                               "huge_tree": False}
"""How `verify` parses a workbook's XML parts: no entity resolved, nothing fetched (and a
part declaring a DOCTYPE refused: `_Events`)."""


def _local(name: object) -> str:
    """An XML name without its namespace (`{...}sheet`: `sheet`)."""
    return str(name).rsplit("}", 1)[-1]


class _Events:
    """What lxml's parser tells of a workbook part as it reads it (its `target`: of the
    start and end of each element and its text, what the subclass has a method for: lxml
    tells a target no other), nothing kept of it but what the subclass keeps: no tree is
    built, so a part of millions of elements uses no more memory than one of a few. `done`:
    what was looked for is found, the rest not read. A DOCTYPE (which could declare
    entities, expanded as the parser tells a target the text) is refused: a workbook's
    parts have none (the Open Packaging Conventions forbid one)."""

    done = False

    def doctype(self, *_: object) -> None:
        raise ValueError("a DOCTYPE declared (a workbook's parts declare none)")

    def close(self) -> None:
        pass


def _parse(handle: IO[bytes], events: _Events, budget: list[int], limit: int) -> None:
    """Part `handle` read into `events` (`_Events`) a block at a time, until it ends or
    `events.done`, within the bytes left of `budget` (shared by the parts of one file; its
    whole is `limit`): a ValueError where it would read more; an lxml error where the part
    is not XML."""
    from lxml import etree

    target: Any = events  # (lxml's stubs ask of a target each method; lxml itself, any)
    parser = etree.XMLParser(target=target, **XML_OPTIONS)
    while not events.done:
        block = handle.read(min(1 << 20, budget[0] + 1))
        budget[0] -= len(block)
        if budget[0] < 0:
            raise ValueError(f"over {limit:,} bytes read")
        if not block:
            parser.close()
            return
        parser.feed(block)


def _sheet_parts(archive: zipfile.ZipFile, sheet: str) -> tuple[str, str | None]:
    """The members of workbook `archive` that hold sheet `sheet`'s text: the sheet's own
    part, found by its name in xl/workbook.xml and its relationship's target (not by its
    place: a workbook whose sheets were reordered, or re-saved by a spreadsheet program,
    need not have it as sheet1.xml), and xl/sharedStrings.xml where there is one (a
    spreadsheet program re-saving the workbook moves its texts there; `reports.xlsx` writes
    them inline), else None. Each part is read as it is parsed (`_parse`: nothing kept but
    the one attribute looked for), up to `PART_LIMIT` bytes. KeyError where the workbook
    has no sheet of that name or no such part; ValueError where its parts cannot be read as
    XML (or an lxml error)."""
    import posixpath

    class Named(_Events):
        """The first element `tag` whose attribute `key` is `value`: `found`, the value of
        its attribute `wanted` (a name of the namespace's own, `{...}id`, where
        `qualified`)."""

        def __init__(self, tag: str, key: str, value: str, wanted: str,
                     qualified: bool) -> None:
            self.tag, self.key, self.value = tag, key, value
            self.wanted, self.qualified = wanted, qualified
            self.found: str | None = None

        def start(self, tag: str, attrib: Any) -> None:
            if self.done:  # (the first kept: the parser tells the rest of its block)
                return
            if _local(tag) == self.tag and attrib.get(self.key) == self.value:
                self.found = next((str(v) for k, v in attrib.items()
                                   if _local(k) == self.wanted
                                   and str(k).startswith("{") == self.qualified), None)
                self.done = True

    def part(name: str, events: Named) -> str | None:
        with archive.open(name) as handle:
            _parse(handle, events, [PART_LIMIT], PART_LIMIT)
        return events.found

    relation = part("xl/workbook.xml", Named("sheet", "name", sheet, "id", True))
    if relation is None:
        raise KeyError(sheet)
    target = part("xl/_rels/workbook.xml.rels",
                  Named("Relationship", "Id", relation, "Target", False))
    if target is None:
        raise KeyError(sheet)
    member = target[1:] if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    names = set(archive.namelist())
    if member not in names:
        raise KeyError(member)
    return member, "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in names else None


class _SharedHolding(_Events):
    """Which items (`si`) of xl/sharedStrings.xml hold `text` (their texts joined, as a
    spreadsheet program shows the item): `holding`, a bit an item (its index, the order of
    the items), no item's text kept (a window of `text`'s length but one). An item's text is
    that of its `t` elements (its own, or its runs' `r`), not of its phonetic runs (`rPh`,
    not shown) nor any text outside an item (an `extLst`'s, between items): each item's
    window starts empty at its start."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.holding = bytearray()
        self.index = -1
        self.window = ""
        self.held = False
        self.inside = False  # (in a `t` of an item, not of its phonetic run)
        self.phonetic = False

    def start(self, tag: str, attrib: Any) -> None:
        name = _local(tag)
        if name == "si":
            self.window, self.held, self.phonetic = "", False, False
        elif name == "rPh":
            self.phonetic = True
        elif name == "t":
            self.inside = not self.phonetic

    def data(self, text: str) -> None:
        if self.inside and not self.held:
            self.window += text
            self.held = self.text in self.window
            self.window = self.window[len(self.window) - len(self.text) + 1:]

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name == "t":
            self.inside = False
        elif name == "rPh":
            self.phonetic = False
        elif name == "si":
            self.index += 1
            if self.held:
                byte = self.index >> 3
                if byte >= len(self.holding):
                    self.holding.extend(bytes(byte + 1 - len(self.holding)))
                self.holding[byte] |= 1 << (self.index & 7)
            self.window, self.held = "", False

    def holds(self, index: int) -> bool:
        byte = index >> 3
        return byte < len(self.holding) and bool(self.holding[byte] >> (index & 7) & 1)


class _SharedCells(_Events):
    """Whether a sheet's part has a cell of a shared string (`t="s"`) whose index (its `v`'s
    text, to the next element's start) is one `shared` holds (`_SharedHolding`): `done`
    where one is. Nothing kept but the cell's index, up to `DIGITS` characters; told the
    start of each element and text alone (no end: at the least cost)."""

    DIGITS = 20  # (an index of a workbook's shared strings: Excel's are below 2^31)

    def __init__(self, shared: _SharedHolding) -> None:
        self.shared = shared
        self.cell = False  # (in a shared string's cell, its v not yet read)
        self.value: list[str] | None = None  # (its v's text, while read)

    def start(self, tag: str, attrib: Any) -> None:
        if self.value is not None:  # (the v read: its index, where it is one)
            value = "".join(self.value).strip()
            self.value = None
            if len(value) <= self.DIGITS and value.isdigit() and self.shared.holds(int(value)):
                self.done = True
        if tag.endswith("}c") or tag == "c":
            self.cell = attrib.get("t") == "s"
        elif self.cell and (tag.endswith("}v") or tag == "v"):
            self.cell = False  # (its first v alone)
            self.value = []

    def data(self, text: str) -> None:
        if self.value is not None and sum(map(len, self.value)) <= self.DIGITS:
            self.value.append(text)

    def close(self) -> None:
        self.start("", {})  # (the last cell's v, where the part ends after it)


def _names_shared(archive: zipfile.ZipFile, sheet: str, shared: str, text: str,
                  budget: list[int]) -> bool:
    """Whether sheet part `sheet` has a cell of a shared string (`t="s"`) whose text, in
    part `shared` (xl/sharedStrings.xml), holds `text`: the workbook's texts as a
    spreadsheet program saves them, the sheet's own, not another sheet's. Both parts are
    read as they are parsed (`_parse`), nothing kept of either but which items hold `text`
    (a bit each) and the index of the cell read: memory does not grow with the parts,
    whatever they hold. The sheet is not read where no item holds `text`."""
    holding = _SharedHolding(text)
    with archive.open(shared) as handle:
        _parse(handle, holding, budget, SEARCH_LIMIT)
    if not any(holding.holding):
        return False
    cells = _SharedCells(holding)
    with archive.open(sheet) as handle:
        _parse(handle, cells, budget, SEARCH_LIMIT)
    return cells.done


def _holds(handle: IO[bytes], needle: bytes, budget: list[int]) -> bool:
    """Whether `handle` holds `needle` within the bytes left of `budget` (one element, the
    bytes still to be read, shared by the parts of one file: `SEARCH_LIMIT` in all)."""
    tail = b""
    while budget[0] > 0:
        block = handle.read(min(1 << 20, budget[0]))
        if not block:
            return False
        budget[0] -= len(block)
        if needle in tail + block:
            return True
        tail = block[-len(needle):]
    return False


def _names(path: Path, sheet: str | None, text: str) -> bool | None:
    """Whether `path` (the part(s) of its workbook sheet `sheet`, where given:
    `_sheet_parts`) holds `text` (ASCII) within its first `SEARCH_LIMIT` bytes; None where
    it cannot be read so (not a zip, no such sheet or part); NotAFile where it is no regular
    file (`open_regular`)."""
    import lzma
    import zlib

    from lxml import etree

    needle = text.encode("ascii")  # (a run id: `verify_folder` searches for 64 hex digits only)
    budget = [SEARCH_LIMIT]
    try:
        with open_regular(path) as raw:
            if sheet is None:
                return _holds(raw, needle, budget)
            archive = zipfile.ZipFile(raw)
            member, shared = _sheet_parts(archive, sheet)
            with archive.open(member) as handle:
                if _holds(handle, needle, budget):
                    return True
            return shared is not None and _names_shared(archive, member, shared, text,
                                                        budget)
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, ValueError, zlib.error,
            lzma.LZMAError, RuntimeError, NotImplementedError, etree.LxmlError):
        # (a corrupt deflate stream, a member flagged encrypted, a compression zipfile does
        # not read, a part not XML: a workbook that cannot be read, not an internal error)
        return None


def _consistent(findings: Path, read: list[bytes]) -> str | None:
    """Why findings.json does not hold together as `diff` reads it (`audit.rundiff.load_run`:
    its findings against its summary's counts, each finding's fields, its waivers), or None
    where it does: a finding removed and SHA256SUMS rewritten leave the run id as it was,
    not the summary's counts. `read`: a list of its bytes, as `verify_folder` read them
    (bounded: not read again), taken out of it by `load_run` (none kept while the document
    is checked)."""
    from audit.rundiff import load_run

    try:
        load_run(findings, "findings.json", read)
    except InputError as exc:  # (named as the error names itself: its row or line by its
        # unit, its record, its field; the file as findings.json, not its path)
        return InputError(exc.message, file="findings.json", field=exc.field,
                          record=exc.record, **{exc.unit: exc.row}).one_line()
    return None


@dataclass
class Verified:
    """What `verify_folder` found: `lines` to print, `differs` (each difference in words:
    exit code 1 where any)."""

    lines: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)
    uncompared: list[str] = field(default_factory=list)
    """Files given (`--inputs`) that could not be compared (no sha256 recorded of them):
    neither held nor a difference, and not verified."""


def read_sums(folder: Path) -> tuple[list[tuple[str, str]], str]:
    """The (name, sha256) of each line of `folder`'s SHA256SUMS, and the sha256 of the file
    itself. An InputError (exit code 2) where it is missing or unreadable, or a line is not
    a sha256 and a name of a file in the folder (a path, `..`: never one the tool writes,
    and not read outside the folder), naming its line."""
    path = folder / CHECKSUMS_FILE
    try:
        with open_regular(path) as handle:
            data = _bounded(handle, SUMS_LIMIT, path, "a check lists a few dozen files")
    except NotAFile as exc:
        raise InputError(f"{exc}: nothing to verify the files against", file=path) from None
    except FileNotFoundError:
        raise InputError(f"no {CHECKSUMS_FILE}: not a folder a check wrote (check writes it "
                         "beside its reports), or it was removed; nothing to verify the "
                         "files against", file=folder) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    sums: list[tuple[str, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")  # (a copy of the folder with CRLF line ends)
        if not line:
            continue
        match = SUM_LINE.fullmatch(line)
        if match is None:
            raise InputError("not a line of sha256sum's (64 lower-case hex digits, two "
                             "spaces, a file name)", file=path, line=number)
        name = match.group(2)
        if ("/" in name or "\\" in name or "\0" in name or name in (".", "..")
                or name == CHECKSUMS_FILE):
            raise InputError(f"names {name!r}, not a file of the folder (check lists its "
                             "files by name alone)", file=path, line=number)
        sums.append((name, match.group(1)))
    if not sums:
        raise InputError("lists no file", file=path)
    return sums, hashlib.sha256(data).hexdigest()


SHA256_HEX = re.compile(r"[0-9a-f]{64}")
"""A sha256 (or a run id) as the tool writes it: 64 lower-case hex digits."""


def _given_sha256(path: Path) -> str:
    """The sha256 of `path`, a file given with `--inputs` (the auditor's own copy of an
    export: a symbolic link is followed); an InputError (exit code 2) naming it where it is
    missing, a folder, no regular file or cannot be read."""
    try:
        kind = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError("no such file (given with --inputs)", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=path) from None
    if stat.S_ISDIR(kind):
        raise InputError("a folder, not a file: give each input file the run read "
                         "(--inputs)", file=path)
    if not stat.S_ISREG(kind):
        raise InputError("not a regular file (a FIFO, device or socket: not read)", file=path)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=path) from None
    return digest.hexdigest()


def _base_name(recorded: str) -> str:
    """The file name of a path as a manifest records it (`/` or, from a run on Windows,
    `\\` separated)."""
    return re.split(r"[\\/]", recorded)[-1]


@dataclass
class _Recorded:
    """A file the run read as its manifest records it: `what` (`input`, `policy`,
    `mapping`, `sources config`, `SOP <channel>`), its name, its sha256, whether one given
    holds it, and whether one given of its name holds other bytes."""

    what: str
    name: str
    sha256: str
    required: bool
    held: bool = False
    differs: bool = False
    uncompared: bool = False  # (one given of its name, no sha256 to compare it with)
    quarantined: int | None = None  # (a quarantine's rows, as the run counted them)

    def label(self) -> str:
        """It, as verify names it: `input a.csv`, else `q3.quarantine.csv (quarantine of
        q3.parquet)`."""
        return f"input {self.name}" if self.what == "input" else f"{self.name} ({self.what})"


def _recorded_files(manifest: dict[str, object], out: Verified) -> list[_Recorded]:
    """The inputs (each required) and the policy, mapping, sources config (`--sources-config`)
    and SOPs (matched where given, not required: the bundled ones are the tool's) that
    `manifest` records by name and sha256; an entry of neither (a manifest edited) is a
    difference in `out`."""
    found: list[_Recorded] = []
    inputs = manifest.get("inputs")
    if not isinstance(inputs, list):
        out.differs.append("findings.json: its manifest records no inputs list: the inputs "
                           "given (--inputs) cannot be compared")
        inputs = []
    others: list[tuple[str, object]] = [("policy", manifest.get("policy")),
                                        ("mapping", manifest.get("mapping")),
                                        ("sources config",
                                         manifest.get("sources_config"))]
    sops = manifest.get("sop")
    for sop in sops if isinstance(sops, list) else []:
        channel = sop.get("channel") if isinstance(sop, dict) else None
        others.append((f"SOP {channel}", sop))
    for number, entry in enumerate(inputs):
        file = entry.get("file") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(file, str) or not isinstance(digest, str) or \
                not SHA256_HEX.fullmatch(digest):
            out.differs.append(f"findings.json: its manifest's inputs[{number}] records no "
                               "file and sha256 (64 hex digits): not compared")
            continue
        found.append(_Recorded("input", _base_name(file), digest, True))
        others.extend(_earlier_files(entry, _base_name(file)))
    for what, entry in others:
        file = entry.get("file") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if isinstance(file, str) and isinstance(digest, str) and SHA256_HEX.fullmatch(digest):
            found.append(_Recorded(what, _base_name(file), digest, False))
        elif isinstance(file, str) and what.startswith("quarantine of "):
            rows = entry.get("quarantined") if isinstance(entry, dict) else None
            found.append(_Recorded(what, _base_name(file), "", False,  # (no sha256: by name)
                                   quarantined=rows if type(rows) is int else None))
    return found


def _earlier_files(entry: dict[str, Any], name: str) -> list[tuple[str, object]]:
    """The files a canonical-log input `entry` (`name`) records beside it, matched where
    given, not required: its own quarantine (LOG.quarantine.csv) where the run counted its
    rows (`earlier_quarantine.status` read: part of the run id; its sha256 null where the
    import quarantined nothing, then the sha256 the log's record gives it, else matched by
    name alone), and the exports its record
    says it was imported from (`imported_earlier.inputs`: the log's record, not read by the
    run, so the auditor holding the raw exports can show them to be the log's)."""
    found: list[tuple[str, object]] = []
    earlier = entry.get("earlier_quarantine")
    imported = entry.get("imported_earlier")
    if isinstance(earlier, dict) and earlier.get("status") == "read":
        told, what = earlier, f"quarantine of {name}"
        if earlier.get("sha256") is None and isinstance(imported, dict) and \
                isinstance(imported.get("quarantine_sha256"), str):
            # (none counted: the sha256 the log's record gives its quarantine, whatever the
            # name the log was checked under: its import wrote it under the log's name then)
            told = {"file": earlier.get("file"), "sha256": imported.get("quarantine_sha256")}
            what = (f"quarantine of {name}, by the sha256 the log's record gives it: its "
                    "import quarantined nothing")
        found.append((what, told))
    exports = imported.get("inputs") if isinstance(imported, dict) else None
    for export in exports if isinstance(exports, list) else []:
        found.append((f"export {name} was imported from", export))
    return found


QUARANTINE_PEEK = 1 << 20
"""The bytes of a quarantine given that `verify` reads to count its data rows where the log's
record says its import quarantined nothing (and gives no sha256 to compare it with)."""


def _data_rows(path: Path) -> tuple[int, bool]:
    """The data rows of CSV file `path` (records after its header with any field not blank)
    within its first `QUARANTINE_PEEK` bytes, and whether that is the whole file (else a
    last record cut off is counted too: a file of rows past the bound has at least that
    many). Read as text (UTF-8, a byte that is not read as U+FFFD); an InputError (exit
    code 2) where it cannot be read."""
    import csv
    import io

    try:
        with path.open("rb") as handle:
            head = handle.read(QUARANTINE_PEEK + 1)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=path) from None
    whole = len(head) <= QUARANTINE_PEEK
    text = head[:QUARANTINE_PEEK].decode("utf-8", errors="replace")
    lines = io.StringIO(text.removeprefix("\ufeff"), newline="")
    rows = 0
    try:
        for number, record in enumerate(csv.reader(lines)):
            rows += number > 0 and any(cell.strip() for cell in record)
    except csv.Error:  # (a quote left open, a NUL, a field over csv's bound: the rest is
        # counted as one more row, the import writing none of them)
        rows += 1
    return rows, whole


def given_digests(given: list[Path]) -> list[tuple[Path, str]]:
    """Each file of `given` (`--inputs`), once (a path given twice, as one), and its sha256:
    an InputError (exit code 2) where one cannot be read (`_given_sha256`). Read before the
    folder is, so a file that cannot be read is an error whatever the folder holds."""
    seen: set[Path] = set()
    digests: list[tuple[Path, str]] = []
    for path in given:
        key = Path(os.path.abspath(path))
        if key in seen:
            continue
        seen.add(key)
        digests.append((path, _given_sha256(path)))
    return digests


def compare_inputs(manifest: dict[str, object], digests: list[tuple[Path, str]],
                   out: Verified) -> None:
    """Each file given (`--inputs`: the auditor's copies of the exports the run read), of
    `digests` (`given_digests`: each path and its sha256), against the files `manifest`
    records the run read (`_recorded_files`), into `out`: one of the same name and bytes,
    else of the same bytes (whatever its name: the run id pairs inputs so) holds it; else
    one of the same file name and other bytes differs; a file of neither is not the run's
    (extra), nor a second one of the bytes, or of the name, of one held or differing; an
    input of the run none given holds is missing. Each but a held one is a difference. A
    canonical log's quarantine of no sha256 recorded (its import quarantined nothing) is told
    not compared, each given of its name (`out.uncompared`), but one holding data rows
    (`_data_rows`): a difference, the import's being empty. The policy, mapping, sources
    config and SOPs, and a canonical log's own quarantine and the exports it was imported
    from (`_earlier_files`), are compared where given, not missing where not."""
    recorded = _recorded_files(manifest, out)
    holders: dict[int, Path] = {}  # (id of a record held: the file given holding it)
    held: dict[Path, str] = {}
    pending = digests
    for exact in (True, False):  # (its name and bytes first, then its bytes alone; in the
        left: list[tuple[Path, str]] = []  # paths' order: which holds which is not the order
        # given)
        for path, digest in sorted(pending, key=lambda d: str(d[0])):
            same = [r for r in recorded if not r.held and r.sha256 == digest
                    and (r.name == path.name or not exact)]
            if not same:
                left.append((path, digest))
                continue
            same.sort(key=lambda r: (r.name != path.name, not r.required))
            same[0].held = True
            holders[id(same[0])] = path
            renamed = (f" (read by the run as {same[0].name})" if same[0].name != path.name
                       and not same[0].what.startswith("quarantine of ") else "")
            held[path] = (f"{path.name}{renamed}" if same[0].what == "input" else
                          f"{path.name} (the run's {same[0].what}){renamed}")
        pending = left
    for path, digest in sorted(pending, key=lambda d: str(d[0])):
        unhashed = [r for r in recorded if not r.held and not r.sha256 and r.name == path.name]
        if unhashed and unhashed[0].quarantined == 0:  # (the import's, if its, is empty)
            rows, whole = _data_rows(path)
            if rows:
                unhashed[0].differs = True
                out.differs.append(
                    f"input {path}: holds {'' if whole else 'at least '}"
                    f"{rows:,} data row{'' if rows == 1 else 's'}, where the log's record says "
                    f"the import quarantined nothing: not the run's {unhashed[0].label()} "
                    "(no sha256 recorded to compare with)")
                continue
        if unhashed:  # (neither held nor verified: told apart, each of its name)
            unhashed[0].uncompared = True
            out.uncompared.append(
                f"{path} (of the name of the run's {unhashed[0].what}: its import "
                "quarantined nothing, and neither the run nor the log's record gives its "
                "sha256)")
            continue
        named = [r for r in recorded if not r.held and not r.differs and r.name == path.name]
        copied = [r for r in recorded if r.held and r.sha256 == digest]
        if named:
            named[0].differs = True  # (told as differing: not also as missing)
            holders[id(named[0])] = path
            out.differs.append(
                f"input {path}: sha256 {digest}, not the {named[0].sha256} the run recorded "
                f"for {named[0].label()}: another file than the run's (changed, or another of "
                "that name)")
        elif copied:
            out.differs.append(
                f"input {path}: a second file of the bytes of the run's {copied[0].label()} "
                f"(already held by {holders.get(id(copied[0]), '?')}): given twice")
        elif any((r.held or r.differs) and r.name == path.name for r in recorded):
            twin = next(r for r in recorded if (r.held or r.differs) and r.name == path.name)
            first = holders.get(id(twin), "?")
            out.differs.append(
                f"input {path}: sha256 {digest}: a second file of the name of the run's "
                f"{twin.label()}, of other bytes (" + (f"already held by {first}" if twin.held
                                                       else f"the first, {first}, told above")
                + "): not a file the run read")
        else:
            out.differs.append(
                f"input {path}: sha256 {digest}: not a file the run read (its manifest "
                "records no input, policy, mapping, sources config, SOP, canonical log's "
                "quarantine or export of this name or these bytes)")
    missing = [r for r in recorded if r.required and not r.held and not r.differs]
    for entry in missing:
        out.differs.append(f"input {entry.name}: read by the run (sha256 {entry.sha256}), "
                           "not among the files given (--inputs)")
    inputs = sum(1 for r in recorded if r.required)
    given_inputs = sum(1 for r in recorded if r.required and r.held)
    out.lines.append(
        f"inputs: {len(held)} of {len(digests)} files given hold the sha256 of a file the "
        f"run read, as findings.json's manifest records it ({given_inputs} of the run's "
        f"{inputs} inputs)" + (f": {', '.join(held[p] for p, _ in digests if p in held)}"
                               if held else "") + " (its record is "
        "the run's where the run id is its manifest's and SHA256SUMS the one filed)")
    if out.uncompared:
        out.lines.append(f"inputs: {len(out.uncompared)} of {len(digests)} files given not "
                         f"compared (no sha256 to compare with), not verified: "
                         f"{', '.join(out.uncompared)}")


def _a_report(name: str) -> bool:
    """Whether `name` is one a check writes its reports as (`audit.cli.REPORT_FILES`): a
    check lists each it writes in SHA256SUMS and removes an earlier run's it does not
    write, so one unlisted in a check's folder is not as the run left it."""
    from fnmatch import fnmatchcase

    from audit.cli import REPORT_FILES

    return any(fnmatchcase(name, pattern) for pattern in REPORT_FILES
               if pattern != CHECKSUMS_FILE)


def _uncompared(out: Verified, inputs: list[Path] | None) -> Verified:
    """`out`, with the inputs given (`--inputs`), where any, told not compared: there is
    no findings.json to read the run's inputs from."""
    if inputs:
        out.differs.append("inputs: not compared with the run's (no findings.json to read "
                           "them from)")
    return out


def verify_folder(folder: Path, expected_run_id: str | None = None,
                  expected_sums: str | None = None,
                  inputs: list[Path] | None = None) -> Verified:
    """Verify `folder`, a check's output folder (`audit.verify`): each file of SHA256SUMS
    against its sha256 (missing, or other bytes: a difference), findings.json listed there
    and its run id recomputed from its manifest (`run_id_status`: not matching, or none
    recorded, a difference), its findings against its summary (`_consistent`), where given,
    the run id against `expected_run_id` and SHA256SUMS' sha256 against `expected_sums`,
    and `inputs` (`--inputs`) against the files its manifest records the run read
    (`compare_inputs`). InputError (exit code 2) where SHA256SUMS or findings.json cannot be
    read as a check's, a file of `inputs` cannot be read, or `expected_sums` or
    `expected_run_id` is no sha256 (a usage error, not a difference)."""
    from audit.runid import NOT_A_SEAL, manifest_of, run_id, run_id_status

    if not folder.is_dir():
        raise InputError("not a folder (give the folder a check wrote its reports into)",
                         file=folder)
    if expected_sums is not None and not SHA256_HEX.fullmatch(expected_sums.strip().lower()):
        raise InputError("not a sha256 (64 hex digits): give the sha256 of SHA256SUMS "
                         "recorded when the folder was filed", field="--sums-sha256")
    if expected_run_id is not None and \
            not SHA256_HEX.fullmatch(expected_run_id.strip().lower()):
        raise InputError("not a run id (64 hex digits): give the run id recorded when the "
                         "folder was filed (report.html's header, findings.xlsx's Summary)",
                         field="--run-id")
    # (the files given read before the folder: one that cannot be read is an error, exit 2,
    # whatever the folder holds, a findings.json unreadable too)
    digests = given_digests(inputs) if inputs is not None else None
    sums, sums_sha256 = read_sums(folder)
    out = Verified()
    listed = {name for name, _ in sums}
    for name, digest in sums:
        path = folder / name
        try:
            now = _sha256(path)
        except NotAFile as exc:
            out.differs.append(f"{name}: listed in {CHECKSUMS_FILE}, here {exc}")
            continue
        except FileNotFoundError:
            out.differs.append(f"{name}: listed in {CHECKSUMS_FILE}, not in the folder")
            continue
        except IsADirectoryError:
            out.differs.append(f"{name}: listed in {CHECKSUMS_FILE}, a folder here")
            continue
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror or exc}", file=path) from None
        if now != digest:
            out.differs.append(f"{name}: sha256 {now}, not the {digest} {CHECKSUMS_FILE} "
                               "lists: changed since the run wrote it")
    held = len(sums) - len(out.differs)
    out.lines.append(f"{CHECKSUMS_FILE}: {held} of {len(sums)} files listed hold the sha256 "
                     f"it lists; its own sha256 {sums_sha256} (record it apart from the "
                     "folder when filing it: a file edited and SHA256SUMS rewritten to "
                     "match give another)")
    if expected_sums is not None and sums_sha256 != expected_sums.strip().lower():
        out.differs.append(f"{CHECKSUMS_FILE}: sha256 {sums_sha256}, not the {expected_sums} "
                           "given (--sums-sha256): not the files filed (a file changed, added "
                           f"or removed and {CHECKSUMS_FILE} rewritten to match)")
    unlisted = sorted(p.name for p in folder.iterdir()
                      if p.name not in listed and p.name != CHECKSUMS_FILE)
    reports = [name for name in unlisted  # (findings.json unlisted: told below)
               if _a_report(name) and name != "findings.json"]
    for name in reports:
        out.differs.append(f"{name}: a check's report, not listed in {CHECKSUMS_FILE} (a "
                           "check lists every file it writes, and removes an earlier run's: "
                           "put here or its line removed since)")
    others = [name for name in unlisted if name not in reports]
    if others:
        out.lines.append(f"not listed in {CHECKSUMS_FILE} (not the run's, or added since; "
                         f"not verified): {', '.join(others)}")
    findings = folder / "findings.json"
    try:
        with open_regular(findings) as handle:
            data = _bounded(handle, FINDINGS_LIMIT, findings, "the 1M-case audit's is about "
                            "250 MB")
    except NotAFile as exc:
        if "findings.json" not in listed:  # (else told above)
            out.differs.append(f"findings.json: {exc}")
        out.differs.append("findings.json: its run id cannot be recomputed")
        return _uncompared(out, inputs)
    except (FileNotFoundError, IsADirectoryError):
        if "findings.json" in listed:  # (told missing above)
            out.differs.append("findings.json: its run id cannot be recomputed")
            return _uncompared(out, inputs)
        raise InputError("no findings.json: its run id cannot be recomputed (a check with "
                         "json in --format writes it)", file=folder) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=findings) from None
    if "findings.json" not in listed:
        out.differs.append(f"findings.json: not listed in {CHECKSUMS_FILE}: its manifest "
                           "cannot be shown to be the run's")
    try:
        manifest = manifest_of(data)
        status = run_id_status(manifest)
        computed = run_id(manifest)
    except (OSError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"not a findings.json of refund-audit check ({why})",
                         file=findings) from None
    recorded = manifest.get("run_id")
    if status == "matches":
        out.lines.append(f"run id {recorded}: findings.json's manifest gives it {NOT_A_SEAL}")
    elif status == "matches_version_1":
        out.lines.append(f"run id {recorded}: findings.json's manifest gives it as a run id "
                         "of version 1 (no code digest) " + NOT_A_SEAL)
    elif status == "none":
        out.differs.append("findings.json: records no run id (written before run ids): "
                           "which run it is cannot be shown by one")
    else:
        out.differs.append(f"findings.json: run id {recorded} recorded, {computed} computed "
                           "from its manifest: the manifest was edited since its check")
    if digests is not None:
        compare_inputs(manifest, digests, out)
    read = [data]
    del data  # (the list's the only reference: `load_run` takes it out before the check)
    told = _consistent(findings, read)
    if told is not None:
        out.differs.append(told)
    for name, member in SHOWN_IN.items():
        if not isinstance(recorded, str) or not SHA256_HEX.fullmatch(recorded) or \
                not os.path.lexists(folder / name):
            continue  # (a run id not of 64 hex digits is told above: not the manifest's)
        try:
            shown = _names(folder / name, member, str(recorded))
        except NotAFile as exc:
            if name not in listed:  # (else told above)
                out.differs.append(f"{name}: {exc}")
            continue
        if shown is None:
            out.differs.append(f"{name}: cannot be read (its run id not found)")
        elif not shown:
            out.differs.append(f"{name}: does not name run id {recorded}, findings.json's: "
                               "another run's report")
        else:
            out.lines.append(f"{name}: names run id {recorded}, findings.json's")
    if expected_run_id is not None and recorded != expected_run_id.strip().lower():
        out.differs.append(f"run id {recorded}, not the {expected_run_id} given (--run-id): "
                           "another run's folder")
    return out
