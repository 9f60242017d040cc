"""The SHA-256 of an input file, read in blocks (inputs can be gigabytes), now or in a
second thread while the audit goes on (`LaterDigests`)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from audit.errors import InputError
from audit.forked import joined


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


FileStamp = tuple[int, int]
"""A file's size and modification time (ns): what changes when the file is written."""


def file_stamp(path: Path) -> FileStamp:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


class LaterDigests:
    """The SHA-256 of files read already, computed in a second thread (hashlib lets other
    threads run while it hashes a block), so that hashing takes a core that the audit
    leaves idle (correlation runs on one) instead of one the reading needs.

    Each file is checked against the stamp taken before it was read, before and after it is
    hashed and again when the digests are asked for: a file written to since it was read is
    an input error, not a digest of other bytes than those audited. `result` waits for the
    thread; it (or `abandon`) must be called before the process forks: no thread may run
    then."""

    def __init__(self, stamps: dict[str, FileStamp]) -> None:
        self._stamps = dict(stamps)
        self._digests: dict[str, str] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="input-digests", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for name, stamp in self._stamps.items():
                path = Path(name)
                _unchanged(path, stamp)
                digest = sha256_of(path)
                _unchanged(path, stamp)
                self._digests[name] = digest
        except BaseException as exc:  # raised by result(), in the caller's thread
            self._error = exc

    def result(self) -> dict[str, str]:
        """{path: SHA-256} of every file; InputError where one changed since it was read
        (checked again now, for a file hashed before it changed)."""
        joined(self._thread)
        if self._error is not None:
            raise self._error
        for name, stamp in self._stamps.items():
            _unchanged(Path(name), stamp)
        return dict(self._digests)

    def abandon(self) -> None:
        """Waits for the thread, its digests and errors dropped (the caller failed)."""
        joined(self._thread)


def _unchanged(path: Path, stamp: FileStamp) -> None:
    try:
        now = file_stamp(path)
    except OSError as exc:
        raise InputError(f"cannot be read again to take its SHA-256: {exc}", file=path) from exc
    if now != stamp:
        raise InputError("changed while it was audited (its size or modification time is not "
                         "what it was when it was read): audit files that are not being "
                         "written to", file=path)


CHECKSUMS_FILE = "SHA256SUMS"
"""The file, beside a run's outputs, that lists the SHA-256 of each of them
(`write_checksums`)."""


def write_checksums(folder: Path, files: list[Path]) -> Path:
    """`folder`/SHA256SUMS: a line per file of `files` (in `folder`), `<sha256>  <name>`,
    by name, as GNU coreutils' `sha256sum` writes and checks it (`sha256sum -c SHA256SUMS`
    in the folder), so that a report handed on can be shown to be the run's, byte for byte.
    Hashed in two threads (hashlib lets the other run while it hashes a block: the 1M-case
    audit's 312 MiB of reports in 0.12-0.2 s). A name that `sha256sum` would escape (a line
    break or a backslash in it) is refused: the tool's own file names never hold one."""
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(path.name for path in files)
    for name in names:
        if "\n" in name or "\r" in name or "\\" in name or name == CHECKSUMS_FILE:
            raise ValueError(f"not a name to list in {CHECKSUMS_FILE}: {name!r}")
    with ThreadPoolExecutor(2) as pool:
        digests = list(pool.map(lambda name: sha256_of(folder / name), names))
    path = folder / CHECKSUMS_FILE
    path.write_bytes("".join(f"{digest}  {name}\n"
                             for digest, name in zip(digests, names, strict=True))
                     .encode("utf-8"))
    return path
