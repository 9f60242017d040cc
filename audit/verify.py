"""`refund-audit verify DIR`: whether a check's output folder, as filed, still holds what its
run wrote: each file SHA256SUMS lists has the sha256 it lists, findings.json's run id is
the one its manifest gives (`audit.runid.run_id_status`), and report.html and findings.xlsx
name that run id (`SHOWN_IN`).

What it can show, and what not: SHA256SUMS and findings.json are written by the run, and
someone who edits a file can rewrite SHA256SUMS and the run id too (neither is a seal).
Only the sha256 of SHA256SUMS, which `verify` prints, given as `--sums-sha256` as recorded
apart from the folder when it was filed (in the filing's minutes, a ticket, a signed mail),
shows the files are those filed. The run id (`--run-id`) names the run (its inputs,
settings, code), not its files: findings removed from findings.json and findings.csv, and
SHA256SUMS rewritten, leave it as it was. findings.json is also read as `diff` reads it
(`audit.rundiff.load_run`): its findings against its summary's counts. findings.json is
read whole (for its manifest, then as diff reads it), with no bound of size: a findings.json
of a large run takes what `diff` takes to read it (docs/reports.md says so).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from audit.digest import CHECKSUMS_FILE
from audit.errors import InputError

SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
"""A line of SHA256SUMS as `sha256sum` writes it and `write_checksums` does: the sha256 in
lower-case hex, a space, a space (text mode) or `*` (binary mode), the file's name."""


SHOWN_IN = {"report.html": None, "findings.xlsx": "xl/worksheets/sheet1.xml"}
"""The reports that show the run id (report.html's header, findings.xlsx's Summary, its
first sheet, as `reports.xlsx` writes it inline) and where in the file: `verify` checks that
each in the folder names the run id of findings.json beside it."""

SEARCH_LIMIT = 256 << 20
"""How many bytes of a report (of the workbook's sheet, decompressed) `_names` reads at
most looking for the run id: a hostile workbook's sheet may inflate without end."""


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


def _sha256(path: Path) -> str:
    """The sha256 of regular file `path` (`open_regular`)."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _names(path: Path, member: str | None, text: str) -> bool | None:
    """Whether `path` (its zip `member`, where given) holds `text` (ASCII) within its first
    `SEARCH_LIMIT` bytes; None where it cannot be read so (not a zip, no such member);
    NotAFile where it is no regular file (`open_regular`)."""
    import lzma
    import zipfile
    import zlib

    needle = text.encode("ascii")  # (a run id: `verify_folder` searches for 64 hex digits only)
    try:
        with open_regular(path) as raw, (
                zipfile.ZipFile(raw).open(member) if member else raw) as handle:
            tail, read = b"", 0
            while read < SEARCH_LIMIT:
                block = handle.read(1 << 20)
                if not block:
                    return False
                read += len(block)
                if needle in tail + block:
                    return True
                tail = block[-len(needle):]
            return False
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, ValueError, zlib.error,
            lzma.LZMAError, RuntimeError, NotImplementedError):
        # (a corrupt deflate stream, a member flagged encrypted, a compression zipfile does
        # not read: a workbook that cannot be read, not an internal error)
        return None


def _consistent(findings: Path) -> str | None:
    """Why findings.json does not hold together as `diff` reads it (`audit.rundiff.load_run`:
    its findings against its summary's counts, each finding's fields, its waivers), or None
    where it does: a finding removed and SHA256SUMS rewritten leave the run id as it was,
    not the summary's counts."""
    from audit.rundiff import load_run

    try:
        load_run(findings, "findings.json")
    except InputError as exc:
        where = f"field '{exc.field}': " if exc.field else ""
        line = f" (line {exc.row})" if exc.row is not None else ""
        return f"findings.json: {where}{exc.message}{line}"
    return None


@dataclass
class Verified:
    """What `verify_folder` found: `lines` to print, `differs` (each difference in words:
    exit code 1 where any)."""

    lines: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)


def read_sums(folder: Path) -> tuple[list[tuple[str, str]], str]:
    """The (name, sha256) of each line of `folder`'s SHA256SUMS, and the sha256 of the file
    itself. An InputError (exit code 2) where it is missing or unreadable, or a line is not
    a sha256 and a name of a file in the folder (a path, `..`: never one the tool writes,
    and not read outside the folder), naming its line."""
    path = folder / CHECKSUMS_FILE
    try:
        with open_regular(path) as handle:
            data = handle.read()
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


def _a_report(name: str) -> bool:
    """Whether `name` is one a check writes its reports as (`audit.cli.REPORT_FILES`): a
    check lists each it writes in SHA256SUMS and removes an earlier run's it does not
    write, so one unlisted in a check's folder is not as the run left it."""
    from fnmatch import fnmatchcase

    from audit.cli import REPORT_FILES

    return any(fnmatchcase(name, pattern) for pattern in REPORT_FILES
               if pattern != CHECKSUMS_FILE)


def verify_folder(folder: Path, expected_run_id: str | None = None,
                  expected_sums: str | None = None) -> Verified:
    """Verify `folder`, a check's output folder (`audit.verify`): each file of SHA256SUMS
    against its sha256 (missing, or other bytes: a difference), findings.json listed there
    and its run id recomputed from its manifest (`run_id_status`: not matching, or none
    recorded, a difference), its findings against its summary (`_consistent`), where given,
    the run id against `expected_run_id` and SHA256SUMS' sha256 against `expected_sums`.
    InputError (exit code 2) where SHA256SUMS or findings.json cannot be read as a
    check's, or `expected_sums` is no sha256."""
    from audit.runid import NOT_A_SEAL, manifest_of, run_id, run_id_status

    if not folder.is_dir():
        raise InputError("not a folder (give the folder a check wrote its reports into)",
                         file=folder)
    if expected_sums is not None and not SHA256_HEX.fullmatch(expected_sums.strip().lower()):
        raise InputError("not a sha256 (64 hex digits): give the sha256 of SHA256SUMS "
                         "recorded when the folder was filed", field="--sums-sha256")
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
            data = handle.read()
    except NotAFile as exc:
        if "findings.json" not in listed:  # (else told above)
            out.differs.append(f"findings.json: {exc}")
        out.differs.append("findings.json: its run id cannot be recomputed")
        return out
    except (FileNotFoundError, IsADirectoryError):
        if "findings.json" in listed:  # (told missing above)
            out.differs.append("findings.json: its run id cannot be recomputed")
            return out
        raise InputError("no findings.json: its run id cannot be recomputed (a check with "
                         "json in --format writes it)", file=folder) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=findings) from None
    if "findings.json" not in listed:
        out.differs.append(f"findings.json: not listed in {CHECKSUMS_FILE}: its manifest "
                           "cannot be shown to be the run's")
    try:
        manifest = manifest_of(data)
        del data
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
    told = _consistent(findings)
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
