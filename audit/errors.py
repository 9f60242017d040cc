"""Exit codes and the one error type for bad input; defined once, used by every command."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit codes of every `refund-audit` command."""

    OK = 0
    """Nothing at or above `--fail-on` (or the command did its job)."""
    FINDINGS = 1
    """Findings at or above `--fail-on` (`diff`: worse in NEW; `verify`: a file or the run
    id differs from what the run wrote)."""
    INPUT_ERROR = 2
    """Usage or input error, a rule that crashed, a Dask cluster that failed mid-run (its
    error line names --scheduler or --engine), or any other crash (its traceback on
    stderr)."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C, SIGINT): the run did not finish; 128 + SIGINT, as a shell says."""
    OUTPUT_CLOSED = 141
    """The reader of standard output went away (`refund-audit rules | head -1`): the rest of
    the output was not read; 128 + SIGPIPE, as a shell says of a command killed by it."""
    TERMINATED = 143
    """Terminated (SIGTERM: a scheduler, `timeout`, a container's stop): the run did not
    finish, its cleanup ran as for an interrupt; 128 + SIGTERM, as a shell says."""


class Terminated(BaseException):
    """SIGTERM, raised where the process is (`audit.cli.run` installs the handler; a forked
    copy raises it too, `audit.forked`), so that the cleanup an interrupt runs runs: staging
    folders and partial files removed, forked copies and worker processes stopped. A
    BaseException, as KeyboardInterrupt is: no `except Exception` takes it for an error."""


class InputError(Exception):
    """Input that cannot be used at all: names the file, row and field where known.

    Rendered as one line, e.g. ``orders.csv: row 14: field 'time:timestamp': unparseable
    value '31/02/2024'``. A row (`row=`) is a table's: a spreadsheet row of CSV or XLSX (the
    header is row 1), a Parquet row. A text file read as a document (XML, JSON, YAML) is
    located by its line instead, `line=`: ``model.bpmn: line 2: ...``; `row` then holds that
    line's number too, and `unit` says "line" (else "row"). A JSON export's record, the n-th
    of its list, is `record=`, with its line where known: ``audits.json: record 3 (line
    17): field 'events': ...`` (a record is not a line: one may span many, or many one).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
        line: int | None = None,
        record: int | None = None,
    ) -> None:
        if row is not None and (line is not None or record is not None):
            raise ValueError("an input error names a row, or a line and a record, not both")
        self.file = str(file) if file is not None else None
        self.record = record
        self.row = line if line is not None else row
        self.unit = "line" if line is not None else "row"
        self.field = field
        self.message = message
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in a worker process (parallel import): arrives with file, row (or line) and
        # field.
        return (_input_error, (self.message, self.file, self.row, self.field, self.unit,
                               self.record))

    def again(self, message: str | None = None, *, field: str | None = None) -> InputError:
        """This error with another message or field, at the same file and row (or line)."""
        at = {self.unit: self.row}
        return InputError(self.message if message is None else message, file=self.file,
                          field=self.field if field is None else field, record=self.record,
                          **at)

    def at_line(self, line: int | None) -> InputError:
        """This error located at `line` too (a record's line, found once the error is
        raised); itself where it names a line already or `line` is None."""
        if line is None or self.row is not None:  # (a line, or a table's row, known)
            return self
        return InputError(self.message, file=self.file, field=self.field, record=self.record,
                          line=line)

    def one_line(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.record is not None:
            parts.append(f"record {self.record}" + (
                f" (line {self.row})" if self.row is not None else ""))
        elif self.row is not None:
            parts.append(f"{self.unit} {self.row}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        parts.append(self.message)
        return ": ".join(parts)


def _input_error(message: str, file: str | None, row: int | None,
                 field: str | None, unit: str = "row",
                 record: int | None = None) -> InputError:
    if unit == "line":
        return InputError(message, file=file, line=row, field=field, record=record)
    if record is not None:
        return InputError(message, file=file, field=field, record=record)
    return InputError(message, file=file, row=row, field=field)
