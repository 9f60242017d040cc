"""Writing the canonical log and its quarantine to disk (the I/O edge of import)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.csvtext import frame_csv
from audit.digest import sha256_of
from audit.errors import InputError
from audit.ingest import ImportResult, decoded_by_encoding
from audit.ingest.csv_reader import _field_limit
from audit.safety import is_formula, neutralise_frame, restored_cell
from audit.sources.roles import ROLE_HISTORY_KEY, RoleHistory, history_json
from audit.words import counted


def write_quarantine(quarantine: pd.DataFrame, path: Path) -> Path:
    """quarantine.csv, with formula-like cells neutralised: it is opened in spreadsheets."""
    _write_quarantine(quarantine, path)
    return path


def _write_quarantine(quarantine: pd.DataFrame, path: Path) -> str:
    """`write_quarantine`, returning the sha256 of the bytes written (UTF-8, as they are:
    no newline translation), taken as they are written."""
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        def put(text: str) -> None:
            data = text.encode("utf-8")
            digest.update(data)
            handle.write(data)

        put(frame_csv(quarantine.iloc[:0]))
        for start in range(0, len(quarantine), _BLOCK):  # a block's text at a time
            block = quarantine.iloc[start:start + _BLOCK]
            put(frame_csv(neutralise_frame(block.astype(object)), header=False))
    return digest.hexdigest()


def write_problems(problems: pd.DataFrame, path: Path) -> Path:
    """correlation.csv: the correlation problems (file, row, field, value, reason: a refund
    naming a ticket or charge no export holds, a refund stating another order than its
    charge's), written as quarantine.csv is; the events are in the log."""
    from audit.ingest.normalise import QUARANTINE_COLUMNS

    # (the events are in the log, with their cases: no case column)
    return write_quarantine(problems.reindex(columns=list(QUARANTINE_COLUMNS[:5])), path)


_ARROW_COLUMN = re.compile(r"Conversion failed for column (.+?) with type")
_BLOCK = 20_000
"""Quarantined rows written at a time (as pandas' to_csv did): their text, not the whole
file's, is held."""


IMPORT_RECORD_KEY = b"refund-audit:import"
"""The key of the canonical log's Parquet metadata (key-value metadata of its schema) that
holds what its import counted (`import_record`): a JSON object."""

_COUNTS = ("read", "imported", "quarantined", "duplicates_dropped", "left_out")


def side_files(log: Path) -> dict[str, Path]:
    """The files `import` writes beside LOG.parquet, named after the log: LOG.quarantine.csv
    and LOG.correlation.csv. (Before, quarantine.csv and correlation.csv: a second import
    into the folder, or `check --out` that folder, which writes a quarantine.csv of its own
    inputs, replaced them, and the rows a log was made without were nowhere.)"""
    return {"quarantine": log.with_name(f"{log.stem}.quarantine.csv"),
            "correlation problems": log.with_name(f"{log.stem}.correlation.csv")}


def name_limit(folder: Path) -> int:
    """The longest file name, in bytes, that `folder`'s file system takes (its
    `PC_NAME_MAX`, asked of the nearest folder of it that exists; 255, the limit of ext4,
    XFS, Btrfs, APFS and NTFS, where no system call tells it)."""
    probe = folder
    while True:
        try:
            return int(os.pathconf(probe, "PC_NAME_MAX"))
        except (OSError, ValueError, AttributeError):  # (not there yet; not POSIX)
            pass
        if probe.parent == probe:
            return 255
        probe = probe.parent


_LONGEST_SIDE = ".correlation.csv"
"""The longest ending `side_files` puts after a log's stem."""


def refuse_long_log_name(log: Path, option: str = "--out") -> None:
    """An input error naming `log` (and `option`) where its name, or the name of a side file
    an import writes beside it (`side_files`: the stem and `.correlation.csv`), is longer
    than its folder's file system takes (`name_limit`), asked before any work is done
    (before: the import read every input, then failed with `File name too long` on
    LOG.quarantine.csv; a name 2 bytes shorter failed on a re-import, which moved the
    earlier file aside under a longer name)."""
    limit = name_limit(log.parent)
    for name in (log.name, *(path.name for path in side_files(log).values())):
        size = len(os.fsencode(name))
        if size > limit:
            stem = limit - len(_LONGEST_SIDE)
            raise InputError(
                f"the name is too long: {'it' if name == log.name else name + ' beside it'}"
                f" would be {size:,} bytes, over the {limit:,} bytes a file name can have "
                f"in its folder; name the log with at most {stem:,} bytes before its "
                f"{log.suffix or 'suffix'} (its side files add {_LONGEST_SIDE})", file=log,
                field=option)


def present(path: Path, *, regular: bool = False) -> bool:
    """`path.exists()` (`path.is_file()` where `regular`), false where the name is longer
    than a file name can be (ENAMETOOLONG): such a file cannot be there, and asking is no
    traceback (before: `check` or `discover` of a log whose name is within 16 bytes of the
    limit ended in `internal error (OSError: File name too long)` asking for its
    LOG.quarantine.csv, after the whole run)."""
    import errno

    try:
        return path.is_file() if regular else path.exists()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return False
        raise


def refuse_twin(log: Path) -> None:
    """An input error where the canonical log `log` (LOG.parquet) has a twin beside it
    (LOG.pq, or the other way round): the two would share LOG.quarantine.csv, and one
    import would replace, or remove, the other log's side files. (`write_import` asks;
    the demo too, before it writes its log into a staging folder, where no twin is.)"""
    beside = side_files(log)
    for other in (".parquet", ".pq"):
        twin = log.with_suffix(other)
        if other != log.suffix.lower() and present(twin):
            raise InputError(f"{twin.name} beside it would share its side files "
                             f"({beside['quarantine'].name}, "
                             f"{beside['correlation problems'].name}): name the log otherwise",
                             file=log)


def write_import(result: ImportResult, out: Path,
                 options: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write LOG.parquet and LOG.quarantine.csv beside it (and LOG.correlation.csv, where
    exports were correlated; an earlier import's of that name is removed where they were
    not: it is not this log's); return what was written. The log's Parquet metadata records
    the import's counts and these files' names (`import_record`), so that `check` of the
    log can tell the rows it was made from, and the role history the import applied (if
    one was given), which a month's run applies to the next exports' records. The record
    holds each input's sha256 and `options`, how the import read them (`import_options`),
    so that a check of the log reaches back to the files and a re-run of the import."""
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("the canonical log is written as Parquet: name it *.parquet", file=out)
    import pyarrow as pa
    import pyarrow.parquet as pq

    from audit.ingest.parquet_reader import text_beyond_bound

    refuse_long_log_name(out)
    refuse_twin(out)
    beside = side_files(out)
    correlated = result.correlation_problems is not None  # (exports were correlated)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # (As pandas' to_parquet writes it, with the import's record beside pandas' own.)
        table = pa.Table.from_pandas(result.log, preserve_index=False)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", file=out) from exc
    except pa.ArrowException as exc:
        raise _not_parquet(exc, out) from exc
    # The log and its side files written into a staging folder beside the log (the
    # quarantine first, so that the record holds the sha256 of the bytes written: `check`
    # counts the file only where it is they), then moved in all or none (`audit.cli.move_in`,
    # as `check` moves its reports in), so that a failed write or an interrupt (Ctrl-C,
    # SIGTERM), also between two of the moves, leaves the earlier import's files as they
    # were, none cut short; a later import beside the log (`audit.cli.import_`), or a later
    # `check` or demo into the folder, removes the staging folder of an import that was
    # killed.
    import shutil
    import tempfile

    from audit.cli import move_in, staging_prefix

    try:
        staging = Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=out.parent))
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", file=out) from exc
    try:
        failed = beside["quarantine"]
        try:
            made = [staging / failed.name]
            digest = _write_quarantine(result.quarantine, made[0])
            if result.correlation_problems is not None:
                failed = beside["correlation problems"]
                made.append(write_problems(result.correlation_problems, staging / failed.name))
            record = _import_record(result, beside["quarantine"].name,
                                    beside["correlation problems"].name if correlated
                                    else None, options, quarantine_sha256=digest)
            metadata = {**(table.schema.metadata or {}), IMPORT_RECORD_KEY:
                        json.dumps(record, ensure_ascii=False).encode("utf-8")}
            if isinstance(result.roles, RoleHistory):
                # (A month's run gives the log beside the next exports: their records get
                # their roles from this where no role history is given with them.)
                metadata[ROLE_HISTORY_KEY] = history_json(result.roles)
            table = table.replace_schema_metadata(metadata)
            failed = out
            made.append(staging / out.name)
            pq.write_table(table, made[-1])
            over = text_beyond_bound(table, made[-1].stat().st_size)
            if over is not None:
                # Its text compresses more than a read takes from a Parquet log (long values
                # repeated: `sizes.MAX_EXPANSION`): written plain, uncompressed, as large as
                # its text, so that the log reads back (before, a log the read refused);
                # only where that is not far larger than the inputs (`MAX_PLAIN_GROWTH`).
                _refuse_plain_beyond_inputs(result, over[0], over[1], over[2])
                pq.write_table(table, made[-1], use_dictionary=False, compression="none")
            del table
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=failed) from exc
        except pa.ArrowException as exc:
            raise _not_parquet(exc, out) from exc
        # An earlier import's correlation problems, where these exports gave none: not this
        # log's (removed with the moves, put back if they fail).
        earlier = beside["correlation problems"]
        move_in(made, out.parent, [earlier] if not correlated and os.path.lexists(earlier)
                and not earlier.is_dir() else [])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = {"log": out, "quarantine": beside["quarantine"]}
    if correlated:
        written["correlation problems"] = beside["correlation problems"]
    return written


def _not_parquet(exc: Exception, out: Path) -> InputError:
    """A column no Parquet type holds, e.g. numbers beside text: the readers keep such a
    column as text, and this is the net under them, not a traceback."""
    detail = "; ".join(str(part) for part in exc.args)
    failed = _ARROW_COLUMN.search(detail)
    return InputError(f"cannot write the canonical log as Parquet: {detail}", file=out,
                      field=failed.group(1) if failed else None)


def import_options(fmt: str | None = None, assume_tz: str | None = None,
                   encoding: str | None = None, object_type: str | None = None,
                   mapping: Path | tuple[Path, str | None] | None = None,
                   sources_config: Path | tuple[Path, str | None] | None = None, *,
                   follow_o2o: tuple[str, ...] = ()) -> dict[str, Any]:
    """How an import read its inputs, as its record keeps it: the options, and the mapping
    and sources config files given (None: none, or the bundled default) by name and sha256,
    without folders: the log is the same wherever it was written from. A file given with
    the sha256 of the bytes read, `(path, sha256)`, is recorded by it (the import's: a file
    edited after it was read is recorded as read); a path alone is hashed here."""
    def named(given: Path | tuple[Path, str | None] | None) -> dict[str, str | None] | None:
        if given is None:
            return None
        if isinstance(given, tuple):
            return {"file": given[0].name, "sha256": given[1]}
        return {"file": given.name, "sha256": sha256_of(given)}

    options: dict[str, Any] = {"format": fmt, "assume_tz": assume_tz, "encoding": encoding,
               "object_type": object_type, "mapping": named(mapping),
               "sources_config": named(sources_config)}
    if follow_o2o:  # (--follow-o2o, only where given: other imports' records unchanged)
        options["follow_o2o"] = list(follow_o2o)
    return options


OCEL_OPTIONS = ("object_type", "follow_o2o")
"""The import's options that apply to an OCEL 2.0 log only (elsewhere: "not used")."""

UNDECODED_SYSTEMS = frozenset({"parquet", "xes", "ocel"})
"""The logs --encoding decodes nothing of (no CSV: a Parquet log, an XES or OCEL file,
whose text states its own encoding): where every log read is one of them, `read_with`
lists the encoding given in `not_applied`."""


def reading_options(given: Mapping[str, Any]) -> dict[str, Any]:
    """The import's options a log was read with, in the shape `check` records them (its
    manifest's `import_options`): `assume_tz`, `encoding` and `object_type`, null where not
    given, and `follow_o2o` where given. `given`: the keyword arguments of
    `import_sources`."""
    options: dict[str, Any] = {key: given.get(key) or None
                               for key in ("assume_tz", "encoding", "object_type")}
    if given.get("follow_o2o"):
        options["follow_o2o"] = list(given["follow_o2o"])
    return options


def read_with(path: Path, imported: ImportResult,
              given: Mapping[str, Any]) -> dict[str, Any]:
    """How one log (`path`, as `imported` read it with the options `given`) was read, as
    discovery.json's `import` and each log side of compare.json record it:
    `options`, those in effect in `reading_options`' shape (an option that does not apply
    to the log, --object-type or --follow-o2o of a log that is no OCEL 2.0 log, --encoding
    of a log that is no CSV (`UNDECODED_SYSTEMS`), null and left out); `not_applied`, the
    options given that do not apply to it (the import's notes say "not used" of the OCEL
    options); and, for a canonical log written by `import`, `imported_earlier`: the
    options that import read its source with, as its record stores them (`import_options`;
    null for a record written before they were kept), whose --object-type and --follow-o2o
    made its cases where it read an OCEL 2.0 log; and `cases_made_by` (`_made_by`), the
    options that made its cases, followed down to the import that read the OCEL log (None:
    not told; also for a Parquet log with no import's record). Before, the options given
    were recorded as if applied: a canonical log built with --follow-o2o read as built with
    the --object-type alone that `compare` was given, and was not."""
    ocel = any(f.system == "ocel" for f in imported.files)
    not_applied = [] if ocel else [key for key in OCEL_OPTIONS if given.get(key)]
    if given.get("encoding") and all(
            f.system in UNDECODED_SYSTEMS or (f.path and not decoded_by_encoding(
                Path(f.path), f.system)) for f in imported.files):
        # (before: recorded as in effect; a Zendesk or Jira JSON export's until this)
        not_applied.insert(0, "encoding")
    view: dict[str, Any] = {
        "options": reading_options({k: v for k, v in given.items() if k not in not_applied}),
        "not_applied": not_applied}
    record = import_record(path)
    if record is not None:
        view["imported_earlier"] = record.get("options")
        view["cases_made_by"] = _made_by(record, path.name)
    elif any(f.system == "parquet" for f in imported.files):
        view["cases_made_by"] = None  # (a Parquet log no import's record tells of)
    return view


_MADE_BY_DEPTH = 32
"""How many canonical logs deep `_made_by` follows a record's inputs (a deeper chain: not
told)."""


def _made_by(record: Mapping[str, Any], name: str | None,
             depth: int = 0) -> dict[str, Any] | None:
    """The options that made the cases of the canonical log `name` whose import's record is
    `record`: `{"object_type": T, "follow_o2o": [...], "log": L}`, the options of the
    import that read an OCEL 2.0 log (L: the canonical log it wrote, this one or one it was
    imported from, followed down the inputs that are canonical logs, system "parquet"), an
    `object_type` of null (and no `log`) where no input down the chain is an OCEL log, or
    None where it cannot be told: a record without its options (an older version's) where
    an input is an OCEL log, a canonical input without a record, or inputs whose cases were
    made differently. Before, the record's own options were taken: an import of a
    canonical log (no --object-type of its own) told none, and an import of a CSV log
    given --object-type (not used) told it as if it had made the cases."""
    inputs = record.get("inputs")
    if depth > _MADE_BY_DEPTH or not isinstance(inputs, list) or not inputs:
        return None
    made: list[dict[str, Any] | None] = []
    for entry in inputs:
        system = entry.get("system") if isinstance(entry, dict) else None
        if system == "ocel":
            options = record.get("options")
            kind = options.get("object_type") if isinstance(options, dict) else None
            followed = options.get("follow_o2o") if isinstance(options, dict) else None
            made.append(None if not isinstance(kind, str) or not kind else {
                "object_type": kind,
                "follow_o2o": sorted({str(t) for t in followed}
                                     if isinstance(followed, list) else set()),
                "log": name})
        elif system == "parquet":
            earlier = entry.get("imported_earlier")
            file = entry.get("file")
            made.append(_made_by(earlier, file if isinstance(file, str) else None, depth + 1)
                        if isinstance(earlier, dict) else None)
        else:
            made.append({"object_type": None, "follow_o2o": []})
    if any(m is None for m in made):
        return None
    shapes = {(m["object_type"], tuple(m["follow_o2o"])) for m in made if m is not None}
    return made[0] if len(shapes) == 1 else None


def cases_made_by(view: Mapping[str, Any]) -> tuple[str, frozenset[str]] | None:
    """Of a log's `read_with`: the OCEL options its cases were made by (the object type,
    the types --follow-o2o followed), for a canonical log from the import that read the
    OCEL 2.0 log it was made of (`_made_by`), or None where its cases were made by none
    (no OCEL 2.0 log) or that cannot be told (`cases_made_unknown`)."""
    if "cases_made_by" in view:
        options = view["cases_made_by"]
        if not isinstance(options, dict):
            return None
    else:
        options = view["options"]
    kind = options.get("object_type")
    if not isinstance(kind, str) or not kind:
        return None
    followed = options.get("follow_o2o") or []
    return kind, frozenset(str(t) for t in followed) if isinstance(followed, list) else frozenset()


def cases_made_unknown(view: Mapping[str, Any]) -> bool:
    """Of a log's `read_with`: whether the options its cases were made by cannot be told (a
    canonical log whose record does not keep them, `_made_by`)."""
    return "cases_made_by" in view and view["cases_made_by"] is None


def _refuse_plain_beyond_inputs(result: ImportResult, name: str, held: int,
                                total: int) -> None:
    """InputError naming the column holding the most text (`name`, `held` bytes) where the
    log's text (`total` bytes), which is to be written plain and uncompressed, is more than
    `sizes.MAX_PLAIN_GROWTH` times the inputs' bytes added up: a log whose text is long
    values repeated from a small input (an XES trace's attribute copied onto each of its
    events, a Parquet log of up to `MAX_EXPANSION` times its size) would be written as
    large as its text. Before, a 139 KB XES log of a trace of 300 events with a note of
    100,000 characters was written as a log of 30 MB (216 times), and a 51 KB Parquet log
    as one of 900 MB. Nothing where no input's size is known."""
    from audit.ingest.sizes import MAX_PLAIN_GROWTH

    known = [os.stat(f.path).st_size for f in result.files
             if f.path and os.path.isfile(f.path)]
    if not known or total <= MAX_PLAIN_GROWTH * sum(known):
        return
    inputs = sum(known)
    raise InputError(
        f"its log would hold {total:,} bytes of text ({held:,} in this column), "
        f"{total // max(inputs, 1):,} times the {inputs:,} bytes of its inputs: long values "
        "repeated, which compress beyond what a read takes from a Parquet log, and written "
        f"plain more than the {MAX_PLAIN_GROWTH} times its inputs a log may be: refused, "
        "nothing written (see docs/security.md)", field=name,
        file=", ".join(f.path for f in result.files if f.path) or None)


def _import_record(result: ImportResult, quarantine: str, correlation: str | None,
                   options: dict[str, Any] | None = None, *,
                   quarantine_sha256: str | None = None) -> dict[str, Any]:
    """What the import counted, as the log's metadata holds it: the totals, each input's
    counts and sha256 (with the record of an input that is itself a canonical log), the
    events written, the side files' names (beside the log), the sha256 of the quarantine's
    bytes as written (`quarantine_sha256`: `check` counts the file's rows only where it
    holds them) and the import's `options` (`import_options`; None where the caller did
    not say)."""
    from audit import __version__

    inputs = []
    for f in result.files:
        entry: dict[str, Any] = {"file": f.file, "system": f.system,
                                 "sha256": result.digests.get(f.path) if f.path else None,
                                 "read": f.read,
                                 "imported": f.imported, "quarantined": f.quarantined,
                                 "fields_unread": f.fields_unread,
                                 "duplicates_dropped": f.deduplicated, "left_out": f.left_out,
                                 "events": f.events}
        earlier = import_record(Path(f.path)) if f.path else None
        if earlier is not None:
            entry["imported_earlier"] = earlier
        inputs.append(entry)
    return {"tool": "refund-audit", "version": __version__,
            "read": result.read, "imported": result.imported,
            "quarantined": result.quarantined,
            "fields_unread": result.fields_unread,
            "duplicates_dropped": result.deduplicated,
            "left_out": result.left_out, "events": len(result.log),
            "quarantine_file": quarantine, "quarantine_sha256": quarantine_sha256,
            "correlation_file": correlation,
            "correlation_problems": (None if result.correlation_problems is None
                                     else len(result.correlation_problems)),
            "options": options, "inputs": inputs}


def import_record(path: Path) -> dict[str, Any] | None:
    """The import's record in a canonical log's Parquet metadata (`write_import`), or None:
    not Parquet, unreadable, a log written before the record was kept, or a record that does
    not hold whole counts and a quarantine file's name, or holds a quarantine_sha256 that is
    not one (then it is not told). A record written before the quarantine's sha256 was kept
    holds none (`read_earlier_quarantine` tells its file as not verified)."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(IMPORT_RECORD_KEY)
        record = json.loads(raw) if raw is not None else None
    except (OSError, ValueError, RecursionError, pa.ArrowException):  # (nested past the stack)
        return None
    if not isinstance(record, dict):
        return None
    counts = [record.get(name) for name in _COUNTS]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        return None
    if not _a_file_name(record.get("quarantine_file")) or not (
            record.get("correlation_file") is None
            or _a_file_name(record.get("correlation_file"))):
        return None
    digest = record.get("quarantine_sha256")
    if digest is not None and not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
        return None
    return record


_SHA256 = re.compile("[0-9a-f]{64}")


def _a_file_name(value: object) -> bool:
    """A name of a file beside the log (no folder, not empty)."""
    return (isinstance(value, str) and value not in ("", ".", "..")
            and "/" not in value and "\\" not in value and "\0" not in value)


def read_earlier_quarantine(path: Path, record: dict[str, Any]
                            ) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The quarantine a canonical log's own import wrote beside it (LOG.quarantine.csv, by
    the log's name where it lies, as `imported_earlier_text` finds it), read to count its
    rows per case: (what was found, the rows' `file`, `row`, `field`, `reason` and `case`,
    one line per line of the file), or (what was found, None) where its rows cannot be
    counted. `status` is `read` only where the file is there, is the one the import wrote
    (its bytes' sha256 is the record's `quarantine_sha256`), names each row's case and
    holds as many rows (distinct file and row) as the log's `record` says its import
    quarantined; else
    `not found`, `unreadable`, `names no case` (written before the quarantine had a case
    column) or `does not match the record`, with a `detail`, and no row is counted: a file
    of another import (of as many rows), or edited since, is never guessed from. A record
    written before the sha256 was kept has its file counted by its rows alone, `verified`
    false, and a `detail` saying so; `verified` is true where the sha256 is the record's,
    None where the import quarantined nothing (no file is needed, none is read). `sha256`:
    the file's, as read (None where not read). The file is read once, a line at a time,
    hashed and parsed as it is read (`_stream_quarantine`): never held whole (at 1M cases
    a month's quarantine is large); a damaged line makes it `unreadable`, naming the line."""
    own = side_files(path.resolve() if path.is_symlink() else path)["quarantine"]
    expected = int(record["quarantined"])
    recorded = record.get("quarantine_sha256")
    told: dict[str, Any] = {"file": own.name, "quarantined": expected, "status": "read",
                            "detail": None, "sha256": None, "verified": None}
    empty = pd.DataFrame({"file": [], "row": [], "field": [], "reason": [], "case": []},
                         dtype=object)
    if not expected:
        return told, empty
    told["verified"] = False
    if not present(own, regular=True):
        return {**told, "status": "not found", "detail": f"{own.name} not found beside "
                f"{path.name}"}, None
    try:
        told["sha256"], kept, problem = _stream_quarantine(own)
    except OSError as exc:  # (its text, not its path: the report is handed on)
        return {**told, "status": "unreadable",
                "detail": f"{own.name} cannot be read: {exc.strerror or exc}"}, None
    if recorded is not None and told["sha256"] != recorded:
        return {**told, "status": "does not match the record",
                "detail": f"{own.name} is not the file the log's import wrote: its sha256 "
                "is not the one the log's record holds (another import's file, or edited "
                "since)"}, None
    if problem is not None:  # (not UTF-8, not CSV)
        return {**told, "status": "unreadable",
                "detail": f"{own.name} cannot be read: {problem}"}, None
    rows = pd.DataFrame(kept, dtype=object)
    if not {"file", "row"} <= set(rows.columns):
        return {**told, "status": "does not match the record",
                "detail": f"{own.name} has no file and row columns"}, None
    if "fields_unread" in record:
        # (the record counts the lines of one field alone apart from `quarantined`, the rows
        # not imported: they are left out of the count and of the rows, which name no row
        # left out of the log; an older record counted them among its rows)
        rows = rows[~_field_only_lines(rows)].reset_index(drop=True)
    held = len(rows[["file", "row"]].drop_duplicates())
    if held != expected:
        return {**told, "status": "does not match the record",
                "detail": f"{own.name} holds {counted(held, 'row', spec=',')}, the log's "
                f"record {expected:,}"}, None
    if "case" not in rows.columns:
        return {**told, "status": "names no case",
                "detail": f"{own.name} has no case column (written by an older version)"}, None
    # (Written with formula-like cells neutralised, `'=c3`, `''=c3` for a case `'=c3`: read
    # back as the case it names. A file of an older version, whose record holds no sha256
    # of it, by the rule it was written with: an apostrophe before a formula start only.)
    restore = restored_cell if recorded is not None else _restored_before_sha256
    rows["case"] = [restore(c) for c in rows["case"].tolist()]
    for name in _QUARANTINE_SHOWN:  # (shown with the findings of the row's case)
        rows[name] = [restore(c) for c in rows[name].tolist()] if name in rows.columns \
            else ""
    read = ["file", "row", *_QUARANTINE_SHOWN, "case"]
    if recorded is None:
        version = record.get("version")
        by = f"refund-audit {version}" if isinstance(version, str) and version else \
            "an older version"
        return {**told, "detail": f"{own.name} is not verified as the file the log's import "
                f"wrote: the log's record (written by {by}) holds no sha256 of it, so it "
                "is counted as it holds as many rows as the record says; import the log "
                "again to have it verified"}, rows[read]
    return {**told, "verified": True}, rows[read]


def _field_only_lines(rows: pd.DataFrame) -> Any:
    """Per line of an earlier quarantine (`rows`, as read), whether it is of one field
    alone, its record imported (`normalise.field_only`: its `record_read` is `yes`). A file
    without that column, written by an import whose record already counted such lines apart
    (`fields_unread`, before the column was written), tells them by their reason's ending
    as that import did (`_FIELD_ONLY_BEFORE`); its sha256 is the record's, so it is that
    import's own file."""
    from audit.ingest.normalise import RECORD_READ, field_only

    if RECORD_READ in rows.columns or "reason" not in rows.columns:
        return field_only(rows)
    search = _FIELD_ONLY_BEFORE.search
    return np.fromiter((search(str(r)) is not None for r in rows["reason"].tolist()),
                       dtype=bool, count=len(rows))


_FIELD_ONLY_BEFORE = re.compile(
    r"; (?:the amount|this field) alone is not read: the (?:update|audit|ticket event) is "
    r"read (?:as .*, of no amount|without it)\Z", re.S)
"""How a line of one field alone ended in a quarantine written before its `record_read`
column (its import's record holding `fields_unread`): read only in such a file."""


_QUARANTINE_SHOWN = ("field", "reason")
"""The columns of an earlier quarantine that `read_earlier_quarantine` keeps beside those
it counts by, for report.html to name a case's quarantined rows ('' where the file has
none)."""
_QUARANTINE_READ = ("file", "row", "case", *_QUARANTINE_SHOWN, "record_read")
_QUARANTINE_REPEATED = ("file", *_QUARANTINE_SHOWN, "record_read")
"""The columns of an earlier quarantine that `read_earlier_quarantine` reads: those it
counts by, `file`, `row` and `case`, `_QUARANTINE_SHOWN`, and `record_read` (a line of one
field alone, its record imported: no row of those the record counts)."""


def _stream_quarantine(path: Path) -> tuple[str, dict[str, list[str]], str | None]:
    """An earlier import's quarantine read once, a line at a time (never the whole file at
    once: before, its bytes were read whole, then parsed whole): (the sha256 of all its
    bytes, the values of its `_QUARANTINE_READ` columns that its header names, by name
    (texts as written; blank lines skipped), what is wrong with it, by its line, or None).
    A file that is not UTF-8, holds a record of more or fewer fields than its header, or a
    quoted field that is not closed, is wrong at that line (before, a record of more or
    fewer fields was read as if whole, and a byte that is not UTF-8 was told by its place
    in its field, not its line); the rest of the file is still hashed, so that a file that
    is not the import's is told as such first. An OSError reading it is raised."""
    import csv

    digest = hashlib.sha256()
    kept: dict[str, list[str]] = {}
    problem: str | None = None
    number = 0
    with path.open("rb") as handle:
        def lines() -> Iterator[str]:
            nonlocal number, problem
            for raw in handle:
                number += 1
                digest.update(raw)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    problem = (f"line {number:,} is not UTF-8 (byte 0x{raw[exc.start]:02x}, "
                               f"byte {exc.start + 1:,} of the line)")
                    return
                yield text.removeprefix("\ufeff") if number == 1 else text

        reader = csv.reader(lines(), strict=True)
        at = [1]  # (the line the record being read starts on)
        try:
            # (a cell as long as the file, as the import reads one: `_field_limit`)
            with _field_limit(os.fstat(handle.fileno()).st_size + 1):
                problem = _quarantine_records(reader, kept, at) or problem
        except csv.Error as exc:
            problem = problem or f"the record starting on line {at[0]:,}: {exc}"
        for block in iter(lambda: handle.read(1 << 20), b""):  # (the rest: hashed)
            digest.update(block)
    return digest.hexdigest(), kept, problem


def _quarantine_records(reader: Any, kept: dict[str, list[str]], at: list[int]
                        ) -> str | None:
    """The records of `reader` (a csv reader of a quarantine) read into `kept`, the values
    of its `_QUARANTINE_READ` columns by name; what is wrong with them, by the line, or
    None. `at[0]`: the line the record being read starts on, for a csv.Error, raised."""
    header = next(reader, None)
    if header is None:
        return "it is empty (no header)"
    where = {name: header.index(name) for name in _QUARANTINE_READ
             if name in header}  # (the first of a name, as pandas read it)
    kept.update({name: [] for name in where})
    # (one text object per distinct file, field and reason: they repeat on every line)
    repeated: dict[str, Callable[[str, str], str]] = {}
    for name in _QUARANTINE_REPEATED:
        if name in where:
            texts: dict[str, str] = {}
            repeated[name] = texts.setdefault
    at[0] = reader.line_num + 1
    for record in reader:
        if record and len(record) != len(header):
            return (f"line {at[0]:,} has {counted(len(record), 'field')}, its header "
                    f"{len(header):,}")
        if record:  # (a blank line: skipped)
            for name, index in where.items():
                value = record[index]
                one = repeated.get(name)
                kept[name].append(value if one is None else one(value, value))
        at[0] = reader.line_num + 1
    return None


def _restored_before_sha256(text: str) -> str:
    """`restored_cell` of a quarantine written before the import's record held its sha256:
    an apostrophe was added only before a formula start (`is_formula`), so one is taken
    off only there (`''=c3` was written as it is; `=c3` and `'=c3` were both `'=c3`, read
    as `=c3`)."""
    return text[1:] if text.startswith("'") and is_formula(text[1:]) else text


def earlier_quarantine_text(told: dict[str, Any] | None, *, json_written: bool = True) -> str:
    """What `imported_earlier_report` and `imported_earlier_text` add of the earlier
    import's quarantined rows in cases with findings (`told`: the check's count of them,
    as the manifest's inputs[].earlier_quarantine holds it); empty where it quarantined
    nothing. Cases beyond the first ten are sent to findings.json, with how to have it
    written where the run did not write it (`json_written`, `findings_json_written`); rows
    counted from a file that could not be verified (`verified` false) are said to be."""
    if not told or not told.get("quarantined"):
        return ""
    rows = counted(told["quarantined"], "quarantined row", spec=",")
    if told.get("status") != "read":
        return (f"its {rows} not counted among the cases with findings: "
                f"{told.get('detail') or told.get('status')}")
    hit = int(told.get("in_cases_with_findings") or 0)
    cases = [str(c) for c in told.get("cases") or []]
    shown = ", ".join(cases[:_CASES_SHOWN]) + (
        f" and {len(cases) - _CASES_SHOWN:,} more (findings.json lists them"
        + ("" if json_written else "; check --format json writes it") + ")"
        if len(cases) > _CASES_SHOWN else "")
    # (counted from a file its record holds no sha256 of: said, beside the count)
    unverified = f" ({told['detail']})" if told.get("verified") is False and \
        told.get("detail") else ""
    return (f"of its {rows}, {hit:,} "
            + ("is in a case" if hit == 1 else "are in cases") + " with findings"
            + (f" ({'case' if len(cases) == 1 else 'cases'} {shown}), whose findings may "
               "rest on incomplete records" if hit else "") + unverified)


_CASES_SHOWN = 10
"""The cases named by `earlier_quarantine_text` at most."""


def findings_json_written(formats: list[str] | None) -> bool:
    """Whether a run of report `formats` (`write_reports` records them in the run's memo;
    None where not recorded: all) writes findings.json."""
    return formats is None or "json" in formats


def imported_earlier_report(path: Path, record: dict[str, Any], label: str,
                            rows: dict[str, Any] | None = None, *,
                            json_written: bool = True) -> str:
    """What report.html and findings.xlsx say of a canonical log's own import (its
    `import_record`), beside the check's counts of the log (which count its events, never
    the rows its import quarantined): `log.parquet was imported earlier from 2,790 rows:
    2,786 imported + 4 quarantined (rows and reasons: log.quarantine.csv beside it)`. By
    the log's side file where it lies, as `imported_earlier_text` names it; no folders:
    the report is handed on. `rows`: the check's count of those rows in cases with
    findings (the manifest's inputs[].earlier_quarantine, `earlier_quarantine_text`)."""
    text = f"{label} was imported earlier from {_counts_text(record)}"
    if record["quarantined"]:
        # (a link's: the linked log's, which the count reads, as `imported_earlier_text`)
        own = side_files(path.resolve() if path.is_symlink() else path)
        text += f" (rows and reasons: {own['quarantine'].name} beside it)"
    rows_told = earlier_quarantine_text(rows, json_written=json_written)
    return text + (f"; {rows_told}" if rows_told else "") + _earlier_inputs_text(record)


def imported_earlier_text(path: Path, record: dict[str, Any],
                          rows: dict[str, Any] | None = None, *,
                          json_written: bool = True) -> str:
    """One line telling the rows a canonical log was imported from (its `import_record`):
    `w/log.parquet: imported earlier from 19 rows: 18 imported + 1 quarantined (see
    w/log.quarantine.csv)`, and of its quarantined rows those in cases with findings (`rows`,
    `earlier_quarantine_text`)."""
    # The log's own side files, by its name where it is (a copy or a link named otherwise
    # than the log the import wrote has its own, or none: never another log's that holds the
    # name the record gives).
    own = side_files(path.resolve() if path.is_symlink() else path)
    quarantine = own["quarantine"]
    where = "see" if present(quarantine) else "not found:"
    text = f"{path}: imported earlier from {_counts_text(record)} ({where} {quarantine})"
    rows_told = earlier_quarantine_text(rows, json_written=json_written)
    if rows_told:
        text += f"; {rows_told}"
    if record.get("correlation_file"):
        problems = own["correlation problems"]
        held = record.get("correlation_problems")
        if held == 0:  # (its file holds the header only: no "see" it)
            text += "; no correlation problems"
        else:
            many = f"{held:,} " if isinstance(held, int) else ""
            text += (f"; {many}correlation problem{'' if held == 1 else 's'}: "
                     f"{'see' if present(problems) else 'not found:'} {problems}")
    return text + _earlier_inputs_text(record)


def rows_read(record: dict[str, Any]) -> int:
    """The rows an import's record says it read, the records it dropped as read twice
    included: its `read`, where that is `imported + quarantined + duplicates_dropped` (as
    this version writes it); a record written before counted them apart (its `read` is
    `imported + quarantined`): then they are added."""
    read, dropped = record["read"], record["duplicates_dropped"]
    if dropped and read == record["imported"] + record["quarantined"]:
        return int(read + dropped)
    return int(read)


def _rows_read_of(record: dict[str, Any]) -> int:
    """`rows_read` of a record nested in another (an earlier log's import), whose counts
    were not checked as `import_record` checks the outer one's: its `read` where one of
    them is not a whole count."""
    if all(isinstance(record.get(k), int) and not isinstance(record.get(k), bool)
           for k in ("read", "imported", "quarantined", "duplicates_dropped")):
        return rows_read(record)
    return int(record["read"])


def _counts_text(record: dict[str, Any]) -> str:
    """`21 rows: 18 imported + 1 quarantined + 2 duplicates dropped` of an import's
    record."""
    dropped = record["duplicates_dropped"]
    return (f"{counted(rows_read(record), 'row', spec=',')}: {record['imported']:,} imported + "
            f"{record['quarantined']:,} quarantined"
            + (f" + {counted(dropped, 'duplicate', spec=',')} dropped" if dropped else ""))


def _earlier_inputs_text(record: dict[str, Any]) -> str:
    """Of a log imported from an earlier log: that import's counts and quarantine too (the
    raw rows the chain was made from), by the input's name as the record gives it."""
    text = ""
    for entry in record.get("inputs") or []:
        earlier = entry.get("imported_earlier") if isinstance(entry, dict) else None
        if isinstance(earlier, dict) and isinstance(earlier.get("read"), int):
            text += (f"; its input {entry.get('file')} was imported earlier from "
                     f"{counted(_rows_read_of(earlier), 'row', spec=',')}, "
                     f"{earlier.get('quarantined', 0):,} quarantined "
                     f"(in {earlier.get('quarantine_file')} beside that log)")
    return text
