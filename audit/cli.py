"""The `refund-audit` command line: thin wiring of the pure stages; I/O lives here.

Exit codes are defined once in audit.errors.ExitCode: 0 ok, 1 findings at or above --fail-on,
2 usage or input error; 130 interrupted (Ctrl-C), 141 stdout closed by its reader, 143
terminated (SIGTERM) (see `run`). pm4py and dask are never imported at start-up.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from audit import __version__
from audit.errors import ExitCode, InputError, Terminated
from audit.safety import shown_on_one_line
from audit.words import counted, cut_middle
from conformance.significance import MIN_SHIFT_POINTS, SHIFT_ALPHA

if TYPE_CHECKING:  # (conformance, pandas and numpy are not loaded at start-up)
    from conformance.discovery import Variants

F = TypeVar("F", bound=Callable[..., Any])


def reports_input_errors(func: F) -> F:
    """Turn InputError into one line on stderr and exit code 2 (never a traceback). A
    command that fails (an error, a crash, an interrupt) removes the folders it made for
    --out (`_writable_folder`) where they are still empty (`_remove_made`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        made: list[Path] = []
        token = _MADE_FOLDERS.set(made)
        try:
            from audit.ingest import refuse_undecodable_name

            for value in kwargs.values():  # (a path option or argument, or several)
                for path in value if isinstance(value, tuple | list) else (value,):
                    if isinstance(path, Path):
                        refuse_undecodable_name(path)
            return func(*args, **kwargs)
        except InputError as exc:
            _remove_made(made)
            # (A header or value quoted from the input may hold an escape sequence.)
            # (cut_middle: a value of megabytes quoted, its start and end)
            line = cut_middle(exc.one_line())
            click.echo(f"error: {shown_on_one_line(line)}", err=True)
            sys.exit(ExitCode.INPUT_ERROR)
        except SystemExit:  # (the command's own exit code, once it has written its files)
            raise
        except BaseException:  # (a crash, an interrupt: Ctrl-C, SIGTERM)
            _remove_made(made)
            raise
        finally:
            _MADE_FOLDERS.reset(token)

    return wrapper  # type: ignore[return-value]


_MADE_FOLDERS: ContextVar[list[Path] | None] = ContextVar("_MADE_FOLDERS", default=None)
"""The folders the running command made for its --out (`_writable_folder`): removed again
where the command fails before writing into them (`_remove_made`)."""


def _log_reading_options(side: str) -> Callable[[F], F]:
    """The options of `import` that say how to read an input (`IMPORT_READING_OPTIONS`:
    --mapping, --sources-config, --encoding, --assume-tz, --object-type, --follow-o2o),
    declared once for each command that reads a file as `import` does: `check`, `discover`
    and `compare` (`side` saying they apply to each of its logs). Their values go through
    `_import_reading` (the checks before any input is read, the files loaded). Before,
    `check` declared its own, `discover` lacked --mapping, --sources-config and --encoding
    and `compare` --sources-config and --encoding: a US PayPal download of 1-12 November
    was refused with "import the file with it first"."""
    options = [
        click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help=f"YAML column mapping for generic CSV logs, as for `import`{side}."),
        click.option("--sources-config",
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="YAML mapping of ticketing/payment exports, as for `import`"
                     f"{side} (default: models/sources.default.yaml), e.g. a PayPal "
                     "account's date_format; where no input is an export, a note says it "
                     "was not used."),
        click.option("--encoding", help="Text encoding of CSV files (default: detected), as "
                     f"for `import`{side}."),
        click.option("--assume-tz", help="IANA time zone of timestamps written without an "
                     f"offset, as for `import`{side}."),
        click.option("--object-type", help="OCEL 2.0: the object type whose objects become "
                     f"cases, as for `import`{side}."),
        click.option("--follow-o2o", "follow_o2o", multiple=True, metavar="TYPE",
                     help="OCEL 2.0: an event relating to no object of --object-type but to "
                     "an object of TYPE that an object-to-object relation (either way) ties "
                     "to such objects is an event of their cases (one hop; repeat for several "
                     f"types), as for `import`{side}."),
    ]

    def apply(func: F) -> F:
        for option in reversed(options):  # (as stacked decorators: the first listed first)
            func = option(func)
        return func
    return apply


def _remove_made(made: list[Path]) -> None:
    """The folders `made` removed, the deepest first, as long as each is empty: a command
    that failed before writing anything there leaves no new empty folder behind (before,
    `import`, `check`, `discover` and `compare` made a missing --out folder before reading
    their inputs, and a bad input, exit code 2, left it). A folder holding anything (a
    file of the run, or of another process meanwhile) is left, and its parents with it;
    a folder that was there before the command is never among them."""
    for folder in sorted(made, key=lambda each: len(each.parts), reverse=True):
        with contextlib.suppress(OSError):  # (not empty, or gone)
            folder.rmdir()
    made.clear()


IMPORT_READING_OPTIONS = ("--assume-tz", "--object-type", "--follow-o2o", "--encoding",
                          "--mapping", "--sources-config")
"""The options of `import` that say how to read an input, which the reader's errors name:
`check`, `discover` and `compare` take each of them (`_log_reading_options`), so that an
error naming one names an option the running command has. Until 2026-12-07 discover lacked
--mapping, --encoding and --sources-config, compare --encoding and --sources-config, and
their errors added "discover has no --sources-config: import the file with it first
(refund-audit import FILE --sources-config ... --out LOG.parquet) and discover LOG.parquet"
(`_import_first`, removed with the last command it served)."""


ENDS_PROCESS = False
"""Set by `run` (the console script) only: a command that has written and said everything
(`check`, `import`, `discover`) ends the process there (`end_process`), without freeing
what it holds one object at a time (at 1M cases the log, the findings and the report's
data, then the interpreter's own teardown: `check` from "done" to the exit 1.47 -> 0.41 s).
In-process callers (tests, CliRunner) keep the usual return."""


def run() -> None:
    """The `refund-audit` console script: `main`, ended by `end_process` once done, with
    every exit code its own (click's standalone mode ended an interrupt and a closed stdout
    with exit code 1, which reads as "findings at or above --fail-on" to a scheduled job):

    - the command's code: 0 done, 1 findings at or above --fail-on, 2 usage or input error
      (click's usage errors shown as click shows them); --help and --version exit 0;
    - Ctrl-C (SIGINT): "error: interrupted" on stderr and exit code 130;
    - SIGTERM (a scheduler, `timeout`, a container's stop): the same cleanup as for Ctrl-C
      (`_on_sigterm`), "error: interrupted (SIGTERM)" on stderr and exit code 143;
    - the reader of stdout gone (`refund-audit rules | head -1`): nothing more written, exit
      code 141 (see `_Main.invoke`);
    - a crash (an exception no command turned into an error line: a bug) prints its
      traceback and exits with code 2, as a crashed rule does: Python's own exit code for
      it, 1, would read as findings too."""
    global ENDS_PROCESS
    ENDS_PROCESS = True
    _handle_sigterm()
    try:
        code = main(standalone_mode=False)
    except (click.Abort, KeyboardInterrupt):
        # (click turns Ctrl-C into Abort, after a line break closing the terminal's "^C")
        _echo_if_possible("error: interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except Terminated:
        _echo_if_possible("error: interrupted (SIGTERM)")
        sys.exit(ExitCode.TERMINATED)
    except click.ClickException as exc:  # a usage error (exit code 2), as click shows it
        exc.show()
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # (stderr's reader gone, or stdout's outside a command)
        _output_closed()
        sys.exit(ExitCode.OUTPUT_CLOSED)
    except Exception as exc:
        import traceback

        traceback.print_exc()
        click.echo(f"error: internal error ({type(exc).__name__}: "
                   f"{shown_on_one_line(cut_middle(str(exc)))}); the traceback "
                   "above says where", err=True)
        sys.exit(ExitCode.INPUT_ERROR)
    # click's Exit (--help, --version: 0) comes back as its code; every command returns None
    # or ends with sys.exit (its code goes through as it is).
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


_SIGTERM_HANDLED_IN: int | None = None
"""The process that installed `_on_sigterm` (`_handle_sigterm`)."""


def _handle_sigterm() -> None:
    """SIGTERM raised as `Terminated` from here on (`_on_sigterm`), in the console script
    only: before, its default action ended the process at once, without the cleanup an
    interrupt runs (the staging folder left in --out, a forked copy and reading workers
    running on, orphaned)."""
    import signal

    global _SIGTERM_HANDLED_IN
    _SIGTERM_HANDLED_IN = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM in the console script's process: `Terminated` raised where it runs, so that
    every cleanup an interrupt runs runs (the staging folder removed, `audit.forked`'s copy
    and the workers of a process pool stopped), then `run` ends with exit code 143. A later
    SIGTERM is ignored: the process is ending, and its cleanup is not cut short.

    A forked process keeps this handler until it sets its own: a forked copy sets its own at
    once (`audit.forked`); in another (a worker of a process pool, reading inputs or aligning)
    the signal has its default action, as before, so that it ends there and then. Raised
    there, the worker would send it back as a file's error, or print a traceback."""
    import signal

    if os.getpid() != _SIGTERM_HANDLED_IN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    signal.signal(signum, signal.SIG_IGN)
    raise Terminated(signum)


def _echo_if_possible(message: str) -> None:
    """`message` on stderr, unless stderr is gone too."""
    import contextlib

    with contextlib.suppress(OSError):
        click.echo(message, err=True)


def _output_closed() -> None:
    """After a write to stdout failed because its reader went away: stdout goes to
    os.devnull, so that the output still buffered is not written again at the exit (Python
    would report that as "Exception ignored ... BrokenPipeError" and exit 120)."""
    import contextlib

    # (a test's stream has no file descriptor: io.UnsupportedOperation, an OSError)
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _global_flag(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    """The callback of a global option given after the command: sets it on the run's
    Settings, which the group made before the command's options are read."""

    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        settings = ctx.find_object(Settings)
        if value and settings is not None:
            setattr(settings, name, True)

    return callback


def _global_options() -> list[click.Parameter]:
    """The global options, as every command and command group takes them after its name
    too (`refund-audit check -q ...` as `refund-audit -q check ...`; before, click refused
    them there: "No such option '-q'"). Given in either place or both, they mean the same."""
    return [click.Option(["-q", "--quiet"], is_flag=True, expose_value=False,
                         callback=_global_flag("quiet"),
                         help="Print only errors (also before the command)."),
            click.Option(["-v", "--verbose"], is_flag=True, expose_value=False,
                         callback=_global_flag("verbose"),
                         help="Print more detail (also before the command).")]


class _Command(click.Command):
    """A command of refund-audit: takes the global options after its name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_global_options())


class _Subgroup(click.Group):
    """A group of commands under the main one (`policy`, `model`): it and its commands take
    the global options after their names too."""

    command_class = _Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_global_options())


class _Main(click.Group):
    """The command group: a write to stdout whose reader went away ends the command with
    exit code 141 (ExitCode.OUTPUT_CLOSED), quietly. (click's own handling of it, inside
    `main` and in either mode, exits 1: "findings".) Its commands and groups take the
    global options after their names too (`_Command`, `_Subgroup`)."""

    command_class = _Command
    group_class = _Subgroup

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _output_closed()
            raise click.exceptions.Exit(ExitCode.OUTPUT_CLOSED) from None

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        # (The group's own --help and --version write while the context is made, before
        # `invoke`: there too a closed stdout ends with 141, not click's 1.)
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            _output_closed()
            raise click.exceptions.Exit(ExitCode.OUTPUT_CLOSED) from None


def end_process(code: int = ExitCode.OK) -> None:
    """The end of a command that has written everything: with ENDS_PROCESS, the exit
    handlers run (as at a normal exit), the standard streams flushed, and the process ended
    with `code` at once; else `sys.exit(code)` unless the code is 0 (the command returns)."""
    if ENDS_PROCESS:
        import atexit
        import contextlib
        import os

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            # (closed, or a broken pipe: nothing left to keep)
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(int(code))
    if code != ExitCode.OK:
        sys.exit(code)


class _FloatRange(click.FloatRange):
    """click's FloatRange refusing NaN (`--violation-rate nan`), which passes its bounds
    check (every comparison with NaN is false) and crashed the command after: a usage error
    naming the option, exit code 2, as for a value out of range. Every float option uses
    it."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number


class Settings:
    """Shared state of one invocation (the click context object)."""

    def __init__(self, quiet: bool, verbose: bool) -> None:
        self.quiet = quiet
        self.verbose = verbose

    def say(self, message: str) -> None:
        """One line to stdout, its control characters and line breaks shown (`[U+001B]`,
        `[U+000A]`, `safety.shown_on_one_line`): a file name, a label, a case id or a note
        from the input may hold an escape sequence the terminal would run, or a line break
        after which its text would print as a console line of its own (a case id
        `R9\nerror: forged line` printed `error: forged line` as if the tool had said it).
        Cut to its start and end where it is longer than `words.LINE_LIMIT`
        (`words.cut_middle`): a note or warning quoting a value of megabytes (a 1 MB
        lifecycle:transition) was printed whole, as errors were."""
        if not self.quiet:
            click.echo(shown_on_one_line(cut_middle(message)))

    def progress(self) -> Any:
        """The progress reporter of this invocation (audit.progress): stage lines on stderr
        when it is a terminal, per-rule timings with --verbose, nothing with --quiet."""
        from audit.progress import Progress

        return Progress.for_cli(quiet=self.quiet, verbose=self.verbose)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="refund-audit")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Audit refund processes against their SOP: import logs, check controls, report.

    The global options -q/--quiet and -v/--verbose go before or after the command.

    \b
    Example:
      refund-audit demo --out out/demo
    """
    from audit.memory import prepare_process

    prepare_process()  # huge pages off, freed memory reused: before anything large is made
    ctx.obj = Settings(quiet=quiet, verbose=verbose)


MAX_SAMPLE_CASES = 10_000_000
"""The most cases one `sample` generates (ten times the bench's largest log, 1,000,000
cases, about 2.6 GB of exports; a larger log is generated in parts, `--first-case`).
Before, `--cases` had no upper limit: a typo of 10000000000 started writing for hours, or
until the disk was full."""


MAX_FIRST_CASE = 1_000_000_000
"""The largest `sample --first-case`: a thousand parts of 1,000,000 cases (a hundred of the
largest sample, MAX_SAMPLE_CASES). The generator makes its ids from the case numbers
(audit.sample: a Zendesk ticket 40000 + n, ServiceNow CS + n, a refund id from 2n, the
Zendesk audit and event ids and the Jira history ids from 20n and 100n, the order and
charge numbers offset by (n - 1) x 10^7 and x 10^10): with the last case at most
1,010,000,000, a Zendesk ticket id stays a 32-bit integer and every number the JSON
exports hold stays below 2^53, read exactly by any JSON reader (JavaScript's, a float
column's). Before, `--first-case` had no upper limit: 99999999999999999999 wrote ticket ids
of 20 digits and charge ids of 30, which no 64-bit reader holds."""


@main.command()
@click.option("--channel", type=click.Choice(["ecommerce", "subscription", "offline", "all"]),
              default="all", show_default=True, help="Refund channel to generate.")
@click.option("--cases", type=click.IntRange(min=1, max=MAX_SAMPLE_CASES), default=300,
              show_default=True, help="Number of refund cases (all channels together), at "
              f"most {MAX_SAMPLE_CASES:,}.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--violation-rate", type=_FloatRange(0.0, 1.0), default=0.25,
              show_default=True, help="Share of cases with one injected violation.")
@click.option("--first-case", type=click.IntRange(min=1, max=MAX_FIRST_CASE), default=1,
              show_default=True,
              help="Number of the first case: generate a large log in parts (each with its "
              f"own --seed and --first-case) whose ids never collide; at most "
              f"{MAX_FIRST_CASE:,}.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write canonical.csv, ground_truth.csv, sample.json, exports/ "
              "(the source systems' exports) and sample_project.yaml with "
              "sample_sources.yaml (import --project reads the exports) into.")
@click.pass_obj
@reports_input_errors
def sample(settings: Settings, channel: str, cases: int, seed: int, violation_rate: float,
           first_case: int, out: Path) -> None:
    """Generate a realistic refund log with injected violations and their ground truth.

    The same options always give the same bytes.

    \b
    Example:
      refund-audit sample --channel all --cases 2000 --seed 7 --violation-rate 0.2 --out X
    """
    from audit.progress import using
    from audit.sample import SampleSpec, write_sample

    _writable_folder(out)  # (before: a traceback where --out could not be made)
    kinds: dict[str, str] = {}

    def write(staging: Path) -> list[Path]:
        paths = write_sample(SampleSpec(channel, cases, seed, violation_rate, first_case),
                             staging)
        kinds.update({path.name: kind for kind, path in paths.items()})
        return list(paths.values())

    with using(settings.progress()) as progress:
        progress.stage(f"generating {cases:,} case(s) ({channel}) into {out}")
        stale, others = clear_stale_staging(out)
        try:
            # Through a staging folder, moved in all or none (`write_staged`); the exports of
            # other systems an earlier sample left in exports/ removed. No SHA256SUMS: the
            # same options give the same bytes, and sample.json holds them.
            written, removed = write_staged(out, write, earlier=sample_in, checksums=False)
        except OSError as exc:  # a file where exports/ goes, a folder where a file goes
            raise InputError(f"cannot write {exc.filename or out}: {exc.strerror or exc}",
                             field="--out") from exc
        progress.done()
    for path in written:
        settings.say(f"{kinds[path.name]}: {path}")
    settings.say(f"exports: {out / 'exports'}/ (the same cases as the source systems export "
                 "them)")
    if removed:
        settings.say(f"removed {counted(len(removed), 'file')} of an earlier sample from "
                     f"{out}: " + ", ".join(str(p.relative_to(out)) for p in removed))
    for line in staging_told(out, stale, others):
        settings.say(line.lstrip())


@main.command("import")
@click.argument("sources", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", "named", multiple=True, metavar="SYSTEM:FILE",
              help="A source system's export, e.g. zendesk:audits.json or stripe:refunds.csv "
              "(repeatable; systems: zendesk, jira, servicenow, stripe, paypal, adyen, roles), "
              "or a log in a named format: csv, xes, parquet or ocel (csv:FILE reads a CSV as "
              "a generic log).")
@click.option("--project", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML project file listing the sources (see docs/sources.md).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xes", "parquet", "ocel", "zendesk",
                                                    "jira", "servicenow", "stripe", "paypal",
                                                    "adyen", "roles"]),
              help="Format of SOURCES (default: detected from the layout or file name; "
              "adyen reads the Settlement details and the Payment accounting report, "
              "told by their columns).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML column mapping for generic CSV logs (see docs/import.md).")
@click.option("--sources-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of ticketing/payment exports (default: "
              "models/sources.default.yaml).")
@click.option("--assume-tz", help="IANA time zone of timestamps written without an offset.")
@click.option("--encoding", help="Text encoding of CSV files (default: detected).")
@click.option("--object-type", help="OCEL 2.0: the object type whose objects become cases.")
@click.option("--follow-o2o", "follow_o2o", multiple=True, metavar="TYPE",
              help="OCEL 2.0: an event relating to no object of --object-type but to an "
              "object of TYPE that an object-to-object relation (either way) ties to such "
              "objects is an event of their cases (one hop; repeat for several types).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Canonical log to write (Parquet); LOG.quarantine.csv is written beside "
              "it, and LOG.correlation.csv where exports were correlated.")
@click.pass_obj
@reports_input_errors
def import_(settings: Settings, sources: tuple[Path, ...], named: tuple[str, ...],
            project: Path | None, fmt: str | None, mapping: Path | None,
            sources_config: Path | None, assume_tz: str | None, encoding: str | None,
            object_type: str | None, follow_o2o: tuple[str, ...], out: Path) -> None:
    """Import event logs (CSV, XES, Parquet, OCEL 2.0) or ticketing and payment exports.

    Exports of several systems are imported together and correlated into refund cases
    (ticket <-> order <-> charge <-> refund). Every input row ends in the log or in
    LOG.quarantine.csv beside it (file, row, field, value, reason, case), but for a record
    exported twice (dropped) and a charge no ticket or refund refers to (a sale, left out of the
    cases); the summary shows read = imported + quarantined per file, the duplicates dropped
    and the charges left out; the log's metadata keeps these counts, which `check` of the log
    tells.

    \b
    Examples:
      refund-audit import tickets.csv --mapping map.yaml --assume-tz Europe/Berlin \\
          --out work/log.parquet
      refund-audit import --source zendesk:audits.json --source stripe:refunds.csv \\
          --source stripe:charges.csv --source roles:role_history.csv --out work/log.parquet
      refund-audit import --project audit-q3.yaml --out work/log.parquet
    """
    from audit.correlate import CORRELATION_FILE
    from audit.ingest import NAME_ITS_FORMAT
    from audit.ingest.mapping import Mapping, check_time_zone, load_mapping
    from audit.progress import using
    from audit.sources.config import load_sources_config
    from audit.sources.pipeline import import_and_correlate
    from audit.sources.project import load_project, parse_source
    from audit.store import import_options, refuse_long_log_name, side_files, write_import

    refuse_long_log_name(out)  # (before the inputs are read: not after minutes of it)
    # (and so the log's suffix and its folder: before, `--out log.csv` or a folder that is
    # a file were refused only once every input was read and correlated)
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("the canonical log is written as Parquet: name it *.parquet",
                         file=out, field="--out")
    _writable_folder(out.parent)
    if assume_tz is not None:
        check_time_zone(assume_tz, field="--assume-tz")
    if encoding is not None:  # (checked where no input is a CSV too: never ignored)
        from audit.ingest.csv_reader import text_codec

        text_codec(encoding)
    inputs: list[tuple[Path, str | None]] = [(path, fmt) for path in sources]
    inputs += [parse_source(text) for text in named]
    config_path = sources_config
    if project is not None:
        loaded = load_project(project)
        inputs += loaded.sources
        config_path = config_path or loaded.config
    if not inputs:
        raise InputError("no input: give SOURCES, --source SYSTEM:FILE or --project FILE",
                         field="SOURCES")
    beside = side_files(out)
    written_here = [out, *beside.values()]
    _refuse_inputs_among_outputs(
        [path for path, _ in inputs] + [p for p in (mapping, config_path, project)
                                        if p is not None],
        lambda path: any(_same_file(path, o) for o in written_here), "--out",
        f"the log, or the {beside['quarantine'].name} or "
        f"{beside['correlation problems'].name} import writes (or removes) beside it")
    columns = load_mapping(mapping) if mapping else Mapping()
    _warn_zone_override(columns, assume_tz)
    config = load_sources_config(config_path)
    with using(settings.progress()) as progress:
        result = import_and_correlate(
            inputs, mapping=columns,
            assume_tz=assume_tz, encoding=encoding, object_type=object_type,
            follow_o2o=follow_o2o, sources_config=config,
            format_hint=NAME_ITS_FORMAT)
        progress.stage(f"writing {out}")
        # (the staging folders an import or a check killed while writing left beside the
        # log, of a process of this machine that has ended: removed and named, as check
        # and the demo remove those in --out; before, only a later check or demo did)
        stale, left = clear_stale_staging(out.parent)
        # (the mapping and sources file recorded by the bytes read: before, hashed again
        # once the import was done)
        written = write_import(result, out, import_options(
            fmt, assume_tz, encoding, object_type,
            None if mapping is None else (mapping, columns.sha256),
            None if config_path is None else (config_path, config.sha256),
            follow_o2o=follow_o2o))
        progress.done()
    for line in result.summary_lines():
        # (The correlation problems are in LOG.correlation.csv, not check's correlation.csv.)
        settings.say(line.replace(f"(see {CORRELATION_FILE})",
                                  f"(see {beside['correlation problems'].name})"))
    # (How many rows the side files hold: "correlation problems: FILE" read as if there
    # were some where it holds its header only.)
    rows = {"quarantine": len(result.quarantine),
            "correlation problems": (len(result.correlation_problems)
                                     if result.correlation_problems is not None else 0)}
    for kind, path in written.items():
        held = f" ({counted(rows[kind], 'row')})" if kind in rows else ""
        settings.say(f"{kind}: {path}{held}")
    for line in staging_told(out.parent, stale, left):
        settings.say(line.lstrip())
    end_process()  # the log written: not freed object by object (1M cases: about 0.8 s)


@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out/demo"), show_default=True, help="Folder for the demo's output.")
@click.pass_obj
@reports_input_errors
def demo(settings: Settings, out: Path) -> None:
    """Run the demo audit on the bundled sample logs (no options needed).

    \b
    Example:
      refund-audit demo --out out/demo
    """
    from audit.demo import run_demo
    from audit.progress import using

    _writable_folder(out)  # before the demo's audit, not after it (before: a traceback)
    refuse_foreign_checksums(out)
    with using(settings.progress()) as progress:
        lines, errors = run_demo(out)
        progress.done()
    for line in lines:
        settings.say(line)
    if errors:  # (as check: a crashed rule is exit code 2, never a clean-looking demo)
        for line in errors:
            click.echo(shown_on_one_line(line), err=True)
        end_process(ExitCode.INPUT_ERROR)


FAIL_ON = click.Choice(["info", "low", "medium", "high", "critical", "never"])


@main.command()
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Policy file (default: the bundled default policy).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for findings.json, findings.csv and the other reports.")
@click.option("--format", "formats", default="all", show_default=True,
              help="Comma-separated report formats (json, csv, xlsx, graphs, html) or 'all'.")
@click.option("--fail-on", type=FAIL_ON, default="high", show_default=True,
              help="Exit 1 when a finding (not waived) has this severity or higher.")
@click.option("--as-of", help="The audit's clock (ISO 8601 with zone); default: the policy's "
              "as_of, else now.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="Where rules run: here, or on a Dask cluster "
              "(docs/dask.md; needs the `dask` extra).")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="With --engine dask: the scheduler of a running cluster (default: start a "
              "LocalCluster with one worker per core it may run on).")
@click.option("--sop", "sop", type=click.Path(dir_okay=False, path_type=Path),
              help="SOP model (BPMN) for every channel, instead of the policy's `sop:`; "
                   "FILE#PROCESS reads that process (or pool) of a file with several "
                   "(a path that names an existing file is that file, '#' and all); a "
                   "bundled model's name (ecommerce.bpmn, subscription.bpmn, offline.bpmn) "
                   "names it where no such file is here.")
@_log_reading_options("")
@click.pass_obj
@reports_input_errors
def check(settings: Settings, sources: tuple[Path, ...], policy_path: Path | None, out: Path,
          formats: str, fail_on: str, as_of: str | None, assume_tz: str | None,
          engine: str, scheduler: str | None, sop: Path | None, mapping: Path | None,
          sources_config: Path | None, encoding: str | None, object_type: str | None,
          follow_o2o: tuple[str, ...]) -> None:
    """Check refund logs against the policy's rule catalogue and write the reports.

    SOURCES are canonical logs (Parquet from `import`) or any file `import` reads. Exit code
    0: no finding at or above --fail-on; 1: there are; 2: input error, a rule crashed, or
    another crash.

    \b
    Example:
      refund-audit check work/log.parquet --policy policy.yaml --out out/audit --fail-on high
    """
    from audit.engines import EngineSpec
    from audit.findings import severity_rank
    from audit.policy import default_policy_path
    from reports.writers import WRITERS, write_reports

    if scheduler is not None and engine != "dask":
        raise InputError("needs --engine dask", field="--scheduler")
    if policy_path is not None and not policy_path.exists():
        # (as compare's --policy; before: "cannot read: [Errno 2] No such file or directory:
        # 'p.yaml'", naming no option, after --out was made)
        raise InputError("no such file", file=policy_path, field="--policy")
    if engine == "dask":
        try:
            import distributed  # noqa: F401 (only to tell a missing extra early)
        except ImportError as exc:
            raise InputError("needs dask and distributed: pip install 'refund-audit[dask]'",
                             field="--engine") from exc
    spec = EngineSpec(engine, scheduler=scheduler)
    # (a format named twice is one report: before, `json,json` wrote findings.json twice and
    # said so twice)
    chosen = list(WRITERS) if formats == "all" else list(
        dict.fromkeys(f.strip() for f in formats.split(",")))
    unknown = [f for f in chosen if f not in WRITERS]
    if unknown:
        raise InputError(f"unknown format(s) {unknown}; known: {', '.join(WRITERS)}",
                         field="--format")
    # (the zone and the encoding checked, the mapping and the sources file read, before the
    # run: an error in them is told before minutes of import)
    reading = _import_reading(mapping, sources_config, encoding, assume_tz, object_type,
                              follow_o2o)
    from audit.progress import using

    _writable_folder(out)  # before the run, not after minutes of it
    refuse_foreign_checksums(out)
    read_too = [p for p in (policy_path, sop, mapping, sources_config) if p is not None]
    _refuse_inputs_among_outputs(
        [*sources, *read_too],
        lambda path: path.resolve().parent == out.resolve() and any(
            fnmatch.fnmatchcase(name, pattern) for pattern in REPORT_FILES
            for name in (path.name, path.resolve().name)),
        "--out", "a report file check writes or removes there")
    with using(settings.progress()) as progress:
        run = _run_check(list(sources), policy_path or default_policy_path(), as_of,
                         sop, spec, reading=reading)
        # (before the reports, which tell it: the manifest's warnings, the report's notes)
        # (the SOPs the run reads are its inputs too: --sop FILE#PROCESS's file, the
        # policy's `sop:` files)
        run.others_in_out = others_in(out, [*sources, *read_too, *run_sops(run.policy)])
        stale, others = clear_stale_staging(out)
        written, removed = _write_all(run, out, chosen, write_reports)
        progress.done()
    for line in _check_summary(run):
        settings.say(line)
    from reports.graphs import graph_files, written_lines

    for line in written_lines(written, graph_files(run), out):
        settings.say(f"  wrote {line}")
    if removed:
        settings.say(f"  removed {len(removed)} report file(s) of an earlier run from {out}: "
                     + ", ".join(p.name for p in removed))
    for line in staging_told(out, stale, others):
        settings.say(line)
    if run.result.errors:
        for error in run.result.errors:
            click.echo(shown_on_one_line(f"error: rule {error.rule} ({error.name}) crashed: "
                                         + cut_middle(str(error.error))), err=True)
        end_process(ExitCode.INPUT_ERROR)
    worst = run.worst_severity()
    end_process(ExitCode.FINDINGS if fail_on != "never" and worst is not None and
                severity_rank(worst) >= severity_rank(fail_on) else ExitCode.OK)


REPORT_FILES = ("findings.json", "findings.csv", "findings.xlsx", "report.html",
                "quarantine.csv", "correlation.csv", "dfg.svg", "dfg.png", "sop-*.svg", "sop-*.png",
                "SHA256SUMS")
"""The files a check writes into --out (names and patterns)."""


DISCOVER_FILES = ("model.bpmn", "model.svg", "model.png", "discovery-dfg.svg",
                  "discovery-dfg.png", "discovery.json", "discovery-quarantine.csv",
                  "variants.csv", "SHA256SUMS")
"""The files `discover` writes into --out (the model's only where a miner gives one: an
earlier run's model.* is removed where this run draws none). No name is a check's
(`REPORT_FILES`): each leaves the other's files in a folder both write into
(`conformance.discovery.DFG_NAME`)."""

CHANNELS = ("ecommerce", "subscription", "offline")
"""audit.canonical.CHANNELS, the choices of `compare --channel` and `discover --channel`
(not imported from there: it loads pandas, which `--help` need not wait for)."""
CHANNEL_HELP = (
    "Keep the cases of this channel only, on the log side{s}: a case's channel is decided "
    "as check decides it (its ticket's, else the first its events state by time; its "
    "ticket events are those whose label {policy} maps to a ticket step); cases stating no "
    "channel are left out. A note "
    "says how many were kept of how many; an error where none is. Without it every case is "
    "{verb} as one log, and a note names the option where they state several channels.")
COMPARE_FILES = ("compare.md", "compare.json", "diff.svg", "diff.png", "SHA256SUMS")
"""The files `compare` writes into --out."""

DIFF_FILES = ("diff.json", "diff.csv", "SHA256SUMS")
"""The files `diff` writes into --out (audit.rundiff.DIFF_FILES, not imported from there,
as `refuse_foreign_checksums` needs them for every command)."""

SAMPLE_FILES = ("canonical.csv", "ground_truth.csv", "sample.json", "sample_project.yaml",
                "sample_sources.yaml")
"""The files `sample` writes into --out, besides the exports in exports/ (`sample_in`)."""

OTHER_OUTPUTS = ("*.quarantine.csv", "*.correlation.csv", *SAMPLE_FILES, "model.bpmn",
                 "model.svg", "model.png", "discovery-dfg.svg", "discovery-dfg.png",
                 "discovery.json", "discovery-quarantine.csv", "variants.csv", "compare.md",
                 "compare.json", "diff.svg", "diff.png", "diff.json", "diff.csv")
"""The files this tool's other commands write into a folder, named as they name them
(besides a canonical log, `*.parquet` or `*.pq` holding an import's record): an import's or
the demo's side files, a sample's, discover's, compare's and diff's. A check neither writes nor
removes them."""


def others_in(out: Path, inputs: list[Path]) -> list[str]:
    """The names of the files in `out` that look like this tool's outputs of another command
    (`OTHER_OUTPUTS`, and canonical logs written by `import` or the demo), but for the run's
    `inputs` and the side files of an input log (which its report names): a check into the
    folder leaves them (it did not write them) and warns of them, as they would read as
    the run's (before: a demo's canonical.parquet beside the new reports, without a word)."""
    from audit.store import import_record, side_files

    ours: set[Path] = set()
    for path in inputs:
        # (a log given as a link: its own side files, and the linked log's, which the run
        # reads and names, as `audit.store.imported_earlier_text` finds them)
        linked: Any = ()
        with contextlib.suppress(OSError, RuntimeError):
            linked = side_files(path.resolve()).values() if path.is_symlink() else ()
        for each in (path, *side_files(path).values(), *linked):
            with contextlib.suppress(OSError, RuntimeError):
                ours.add(each.resolve())
    found: set[str] = set()
    try:
        entries = sorted(out.iterdir())
    except OSError:
        return []
    for path in entries:
        try:
            if not path.is_file() or path.resolve() in ours:
                continue
        except (OSError, RuntimeError):
            continue
        name = path.name
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in OTHER_OUTPUTS) or (
                path.suffix.lower() in (".parquet", ".pq") and import_record(path) is not None):
            found.add(name)
    return sorted(found)


def run_sops(policy: Any) -> list[Path]:
    """The SOP files a run's `policy` names (its `sop:` entries, or check's --sop, its
    process split off), as the run reads them."""
    return [path for key in policy.sop if (path := policy.sop_path(key)) is not None]


def _same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` name one file (through links too); false where either is not."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists()
                                              and os.path.samefile(a, b))
    except OSError:
        return False


def _refuse_inputs_among_outputs(inputs: list[Path], written: Callable[[Path], bool],
                                 option: str, what: str) -> None:
    """An input file the run would overwrite or remove is an input error naming it
    (before: `check D/findings.csv --out D` removed its own input as an earlier run's
    report, and `import D/quarantine.csv --out D/log.parquet` overwrote it)."""
    for path in inputs:
        try:
            hit = written(path)
        except OSError:
            hit = False
        if hit:
            raise InputError(f"this input is {what}; it would be overwritten or removed: "
                             f"choose another {option}", file=path, field=option)


def _writable_folder(out: Path) -> None:
    """Create --out and make sure a file can be written there, as an input error naming
    --out (before: a traceback after the whole run). The folders made here are removed
    again where the command then fails before writing into them (`reports_input_errors`)."""
    import tempfile

    missing = [folder for folder in (out, *out.parents) if not os.path.lexists(folder)]
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        finally:  # (made here: removed again where the command fails, `_remove_made`)
            made = _MADE_FOLDERS.get()
            if made is not None:
                made.extend(folder for folder in missing if folder.is_dir()
                            and not folder.is_symlink() and folder not in made)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        # (a file where the folder, or one of its folders, goes: named, not "File exists")
        in_the_way = next((folder for folder in (out, *out.parents)
                           if os.path.lexists(folder) and not folder.is_dir()), None)
        reason = (f"{in_the_way} is a file, not a folder" if in_the_way is not None
                  else exc.strerror or exc)
        raise InputError(f"cannot write into {out}: {reason}", field="--out") from exc


def _write_all(run: Any, out: Path, chosen: list[str],
               write_reports: Callable[..., list[Path]]) -> tuple[list[Path], list[Path]]:
    """The run's reports and quarantine.csv (and correlation.csv, where exports were
    correlated) written into `out` through a staging folder (`write_staged`): (the files
    written, the files removed)."""
    from audit.store import write_problems, write_quarantine

    def write(staging: Path) -> list[Path]:
        written = write_reports(run, staging, chosen)
        # The rows the counts call quarantined, with their reasons: never only a number.
        written.append(write_quarantine(run.imported.quarantine, staging / "quarantine.csv"))
        if run.imported.correlation_problems is not None:  # (exports were correlated)
            written.append(write_problems(run.imported.correlation_problems,
                                          staging / "correlation.csv"))
        return written

    return write_staged(out, write)


def write_staged(out: Path, write: Callable[[Path], list[Path]], *,
                 earlier: Callable[[Path], set[Path]] | None = None,
                 checksums: bool = True) -> tuple[list[Path], list[Path]]:
    """A run's files written by `write` into a folder of their own inside `out` (it is given that
    folder, and returns the main paths it wrote there), then moved over their names in `out`
    together, and an earlier run's files that this run did not write removed: (the files
    written, as paths in `out`, SHA256SUMS last; the files removed). `earlier(out)`: the files
    of an earlier run in `out` that this run replaces (default: a check's reports,
    `reports_in`); a file that is not one of them is never removed. A file written into a
    folder inside the staging folder (`sample`'s exports/) goes into that folder of `out`.
    SHA256SUMS (`checksums`), moved in with them, lists the sha256 of every file moved in
    (`audit.digest.write_checksums`; the files are then all in the staging folder itself).
    `check`, the demo, `discover`, `compare` and `sample` write so. A writer that fails, or an
    interrupt (Ctrl-C, SIGTERM), leaves `out` as it was (before: the new findings.json beside
    the earlier report.html, or a file cut short; until 2026-12-06 the demo, discover,
    compare and sample wrote into `out` itself); a link in `out` is replaced, never written
    through. A file that cannot be moved in leaves `out` as it was too: a
    directory in the way is an input error naming it before the first move, and a move that
    fails midway puts back the files moved (`move_in`; before: findings.json, findings.csv,
    the XLSX, the graphs and quarantine.csv were the new run's, report.html the old one's,
    and a traceback)."""
    import shutil
    import tempfile

    from audit.digest import write_checksums

    if checksums:
        refuse_foreign_checksums(out)  # (asked before the run too)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=out))
    made_dirs: list[Path] = []
    try:
        written = write(staging)
        made = sorted(p for p in staging.rglob("*") if p.is_file() and not p.is_symlink())
        if checksums:
            # The sha256 of each, beside them (moved in with them): the run's files as written.
            if any(p.parent != staging for p in made):
                raise ValueError("SHA256SUMS lists the files of the staging folder itself")
            written.append(write_checksums(staging, made))
            made = sorted([*made, written[-1]])
        targets = {out / p.relative_to(staging) for p in made}
        for target in sorted(targets):
            if target.is_dir() and not target.is_symlink():
                raise InputError(f"cannot write {target.relative_to(out)} into {out}: a "
                                 "directory is in the way (nothing was replaced)",
                                 file=target, field="--out")
            if target.parent != out and not target.parent.is_dir() and \
                    os.path.lexists(target.parent):
                raise InputError(f"cannot write {target.relative_to(out)} into {out}: "
                                 f"{target.parent.name} there is not a directory (nothing was "
                                 "replaced)", file=target.parent, field="--out")
        for folder in sorted({t.parent for t in targets} - {out}):
            if not folder.is_dir():  # (a folder of the run's that `out` does not hold yet)
                try:
                    folder.mkdir(parents=True)
                except OSError as exc:
                    raise InputError(f"cannot write into {out}: {exc.strerror or exc} "
                                     "(nothing was replaced)", file=folder,
                                     field="--out") from exc
                made_dirs.append(folder)
        removed = move_in(made, out, sorted((reports_in if earlier is None else earlier)(out)
                                            - targets), root=staging)
        made_dirs.clear()  # (moved in: the run's now)
        return [out / p.relative_to(staging) for p in written], removed
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(made_dirs):  # (made for files that were not moved in)
            with contextlib.suppress(OSError):
                folder.rmdir()


_CHECKSUMS_LINE = re.compile(r"[0-9a-f]{64}  (?P<name>[^\n/\\]+)")
"""A line of a SHA256SUMS `audit.digest.write_checksums` writes."""
_DEMO_FILES = ("canonical.parquet", "canonical.quarantine.csv", "canonical.correlation.csv")
"""The files the demo writes beside the reports (`audit.demo.run_demo`)."""


def refuse_foreign_checksums(out: Path) -> None:
    """An input error where `out` holds a SHA256SUMS that no run of this tool wrote: one
    with a line that is not `<sha256>  <name>` of a file a check, the demo, `discover`, `diff` or
    `compare` writes (the auditor's own, of the exports beside it). The run's would replace
    it (`write_staged`), and the auditor's checksums would be lost without a word. An empty
    one, or one of an earlier run of any of these commands, is replaced. (`sample` writes
    none, and leaves one there as it is.)"""
    from audit.digest import CHECKSUMS_FILE

    path = out / CHECKSUMS_FILE
    if not path.is_file():
        return
    try:
        with path.open("rb") as handle:
            data = handle.read(1 << 16)
            whole = not handle.read(1)
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror or exc} (the run writes its own "
                         f"{CHECKSUMS_FILE} there)", file=path, field="--out") from exc
    try:
        lines = data.decode("utf-8").splitlines() if whole else None
    except UnicodeDecodeError:
        lines = None
    names = [] if lines is None else [m.group("name") if (m := _CHECKSUMS_LINE.fullmatch(line))
                                      else None for line in lines]
    foreign = [name for name in names if name is None or not (
        name in _DEMO_FILES or any(fnmatch.fnmatchcase(name, pattern)
                                   for pattern in (*REPORT_FILES, *DISCOVER_FILES,
                                                   *COMPARE_FILES, *DIFF_FILES)))]
    if lines is None or foreign:
        listed = ", ".join(sorted({n for n in foreign if n is not None}))
        raise InputError(f"{CHECKSUMS_FILE} there is not one this tool wrote"
                         + (f" (it lists {listed})" if listed else "")
                         + f": the run writes its own {CHECKSUMS_FILE} into {out}, which "
                         "would replace it; move it, or write the reports into another "
                         "folder", file=path, field="--out")


def checksums_of_others(out: Path, own: tuple[str, ...]) -> list[str]:
    """The files in `out` that its SHA256SUMS lists (one a run of this tool wrote, as
    `refuse_foreign_checksums` lets through) and that are not named as the run's own
    (`own`, names and patterns): the run's SHA256SUMS replaces it and lists its own files
    only, so theirs is no longer listed (a check's reports where `discover` then writes into
    the folder). Empty where there is no such file, or it cannot be read."""
    from audit.digest import CHECKSUMS_FILE

    try:
        text = (out / CHECKSUMS_FILE).read_bytes()[:1 << 16].decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    names = {m.group("name") for line in text.splitlines()
             if (m := _CHECKSUMS_LINE.fullmatch(line))}
    return sorted(name for name in names
                  if not any(fnmatch.fnmatchcase(name, pattern) for pattern in own)
                  and (out / name).is_file())


def checksums_told(out: Path, dropped: list[str]) -> list[str]:
    """The warning telling `checksums_of_others(out, ...)` found before the run."""
    from audit.digest import CHECKSUMS_FILE

    return [f"warning: {CHECKSUMS_FILE} in {out}, replaced by this run's, listed "
            f"{counted(len(dropped), 'file')} of another run still there, no longer listed: "
            + ", ".join(dropped)] if dropped else []


def staging_told(out: Path, stale: list[str], others: list[str]) -> list[str]:
    """The lines telling what `clear_stale_staging(out)` found: the staging folders it
    removed (`stale`) and the others it left (`others`). `check` and the demo print them."""
    lines = []
    if stale:
        lines.append(f"  removed {counted(len(stale), 'staging folder')} of "
                     + ("a run that ended while writing (its process is" if len(stale) == 1
                        else "runs that ended while writing (their processes are")
                     + f" not running) from {out}: " + ", ".join(stale))
    if others:
        lines.append(f"warning: {out} holds {counted(len(others), 'folder')} of other runs "
                     "of this tool, left as they are: " + ", ".join(others))
    return lines


def move_in(made: list[Path], out: Path, earlier: list[Path], *,
            root: Path | None = None) -> list[Path]:
    """Move the files `made` over their names in `out` (or, where they were written under
    `root`, over their paths under `out`: `root`/exports/x.csv to `out`/exports/x.csv), and
    the `earlier` reports out of it, all or none; return the earlier reports removed. Each
    file replaced or removed is first moved into a folder aside (inside `out`: a rename),
    and where a move fails, the moves done are undone in reverse, the old files put back,
    and an InputError names the file; where putting back fails too, the error says the
    earlier files are in that folder, which is then kept. An interrupt (Ctrl-C, SIGTERM)
    midway is undone the same way, then raised (before: `out` held the new files moved in
    so far beside the earlier others, and those moved aside were left in the folder
    aside)."""
    import errno
    import shutil
    import tempfile

    aside = Path(tempfile.mkdtemp(prefix=staging_prefix(earlier=True), dir=out))
    # (target, its old file aside, the new file): each recorded before its moves, and what
    # was moved told on undoing by where the files are, so that an interrupt raised as a
    # rename returns (a signal that came during it) finds the rename in the moves to undo:
    # before, an earlier report moved aside then was removed with the folder aside.
    done: list[tuple[Path, Path | None, Path | None]] = []
    moves = [(None, path) for path in earlier] + [
        (path, out / (path.name if root is None else path.relative_to(root))) for path in made]
    failed = out
    try:
        for k, (new, target) in enumerate(moves):
            failed = target
            old: Path | None = None
            if target.is_dir() and not target.is_symlink():  # (made since it was looked at)
                raise IsADirectoryError(errno.EISDIR, "a directory is in the way")
            if os.path.lexists(target):
                # (the name cut short: a name near the file-name limit, with `k-` before
                # it, was longer than the folder aside could hold)
                old = aside / f"{k}-{_cut_name(target.name, _ASIDE_NAME)}"
            done.append((target, old, new))
            if old is not None:
                os.replace(target, old)
            if new is not None:
                os.replace(new, target)
    except BaseException as exc:  # a move failed, or an interrupt (Ctrl-C, SIGTERM) came
        try:
            for target, old, new in reversed(done):
                if old is not None and os.path.lexists(old):  # (moved aside: put back)
                    os.replace(old, target)
                elif new is not None and not os.path.lexists(new) and \
                        os.path.lexists(target):  # (moved in where none was: taken out)
                    target.unlink()
        except OSError as undo:
            if not isinstance(exc, OSError):  # (the interrupt goes on; the files are aside)
                exc.add_note(f"putting the earlier files back into {out} failed "
                             f"({undo.strerror or undo}): they are in {aside}")
                raise
            raise InputError(f"cannot write into {out}: {exc.strerror or exc}; putting the "
                             f"earlier files back failed too ({undo.strerror or undo}): "
                             f"they are in {aside}", file=failed, field="--out") from exc
        shutil.rmtree(aside, ignore_errors=True)
        if not isinstance(exc, OSError):  # (interrupted: `out` as it was, the interrupt raised)
            raise
        raise InputError(f"cannot write into {out}: {exc.strerror or exc} (the earlier files "
                         "were put back: nothing was replaced)", file=failed,
                         field="--out") from exc
    shutil.rmtree(aside, ignore_errors=True)
    return [target for target, old, new in done if new is None and old is not None]


_ASIDE_NAME = 100
"""The most bytes of an earlier file's name that the name it is moved aside under keeps
(`move_in`), after its number there: any file system's name limit holds it (before, the
whole name after the number: a re-import of a log whose side file's name was within 2
bytes of the limit failed with `File name too long`)."""


def _cut_name(name: str, most: int) -> str:
    """`name` cut to `most` bytes (as the file system holds it), at a character's end."""
    while len(os.fsencode(name)) > most:
        name = name[:-1]
    return name


_STAGING = re.compile(
    r"\.refund-audit-(earlier-)?([0-9]+)(?:\.([0-9]+))?@([A-Za-z0-9._-]+)-[a-z0-9_]{8}")
"""The name of a folder `_write_all` stages a run's reports in, or `move_in` moves the
earlier files aside into (`earlier-`), inside --out: its process (its id, and on Linux when
it started), machine (`staging_prefix`), then tempfile's eight characters."""


def staging_prefix(*, earlier: bool = False, pid: int | None = None) -> str:
    """The start of the name of a staging folder (`_STAGING`) of process `pid` (this one
    where None) on this machine: a later run can tell that its process ended. This
    process's id is followed by when it started (`_started`, where Linux tells it): a later
    process given the same id (ids are reused, 32,768 of them by default) is not taken for
    it. Before, a killed run's folder was left as "of a process that is running"."""
    if pid is not None:
        process = str(pid)
    else:
        started = _started(os.getpid())
        process = f"{os.getpid()}" + ("" if started is None else f".{started[1]}")
    return f".refund-audit-{'earlier-' if earlier else ''}{process}@{_machine()}-"


def _machine() -> str:
    """This machine's name as a staging folder's name holds it (letters, digits, `.`, `_`,
    `-`): an output folder on a shared disk is written from several machines, and a
    process id is only known on its own."""
    import socket

    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:64] or "_"


def _process_running(pid: int, started: int | None = None) -> bool:
    """Whether process `pid` of this machine runs (or may: another user's, where it cannot
    be asked, and on a system without POSIX signals, where signal 0 is no question). Where
    Linux tells it: a zombie has ended, and one that did not start at `started` (clock
    ticks since boot, where the folder's name holds them) is another process given the
    same id later."""
    if os.name != "posix" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (PermissionError: another user's process)
        return True
    now = _started(pid)
    if now is None:
        return True
    state, ticks = now
    return state != "Z" and (started is None or ticks == started)


def _started(pid: int) -> tuple[str, int] | None:
    """Linux's state of process `pid` and when it started (clock ticks since boot), from
    /proc; None where they cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        fields = stat[stat.rindex(")") + 2:].split()
        return fields[0], int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def clear_stale_staging(out: Path) -> tuple[list[str], list[str]]:
    """The staging folders other runs left in `out` (`_STAGING`; a run killed while writing
    its reports, by SIGKILL, or by a SIGTERM where no handler raised it, leaves its own;
    the console script's cleanup removes it on SIGTERM, `_on_sigterm`): those of a
    process of this machine that is not running are removed, but a folder aside (`earlier-`)
    only where empty, as it may hold the earlier files the run moved out of `out`. Returned:
    (the names removed, the others with what they are), for the run to tell: a folder of a
    running process, of another machine or of an older version (no process in its name) is
    left as it is."""
    import shutil

    removed: list[str] = []
    left: list[str] = []
    try:
        found = sorted(p for p in out.glob(".refund-audit-*")
                       if p.is_dir() and not p.is_symlink())
    except OSError:
        return [], []
    for path in found:
        named = _STAGING.fullmatch(path.name)
        # (a number beyond any process id, which os.kill refuses: not a run's name)
        if named is None or named.group(4) != _machine() or int(named.group(2)) >= 1 << 31:
            left.append(f"{path.name} (of an older version, or of another machine: whether "
                        "its process ended is not known)")
        elif _process_running(int(named.group(2)),
                              None if named.group(3) is None else int(named.group(3))):
            left.append(f"{path.name} (of a process that is running)")
        elif named.group(1):  # (a folder aside: the earlier files a dead run moved out)
            try:
                path.rmdir()
                removed.append(path.name)
            except OSError:
                left.append(f"{path.name} (of a run that ended while moving its files in: it "
                            "may hold the earlier files it moved aside; put back what you "
                            "need, then remove it)")
        else:
            try:
                shutil.rmtree(path)
                removed.append(path.name)
            except OSError as exc:
                left.append(f"{path.name} (of a run that ended while writing; it cannot be "
                            f"removed: {exc.strerror or exc})")
    return removed, left


def sample_in(out: Path) -> set[Path]:
    """The files in `out` named as `sample` names its own (`SAMPLE_FILES`, and the exports in
    exports/ of every system it writes)."""
    from audit.sample.exports import FILES

    return reports_in(out, SAMPLE_FILES) | reports_in(out / "exports", tuple(FILES.values()))


def reports_in(out: Path, patterns: tuple[str, ...] = REPORT_FILES) -> set[Path]:
    """The files in `out` named as a check's reports are (or as `patterns` name them)."""
    return {path for pattern in patterns for path in out.glob(pattern) if path.is_file()}


def _warn_zone_override(mapping: Any, assume_tz: str | None) -> None:
    """On stderr (even with --quiet: it changes what is read), where --assume-tz overrides
    the mapping's other `assume_tz` (`audit.ingest.mapping.zone_override`)."""
    from audit.ingest.mapping import zone_override

    told = zone_override(mapping, assume_tz)
    if told is not None:
        click.echo(f"warning: {shown_on_one_line(told)}", err=True)


def _run_check(sources: list[Path], policy: Path, as_of: str | None,
               sop: Path | None = None, engine: Any = None, *,
               reading: ImportReading) -> Any:
    from datetime import UTC, datetime

    from audit.checkrun import run_check
    from audit.policy import within_log_range

    clock = None
    if as_of is not None:
        try:
            clock = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(f"not an ISO 8601 time: {as_of!r}", field="--as-of") from exc
        if clock.tzinfo is None:
            raise InputError("--as-of needs a time zone, e.g. 2026-10-15T00:00:00Z",
                             field="--as-of")
        # In UTC, as the policy's as_of is: a waiver's expiry is judged by the UTC date,
        # and every report shows the clock in UTC.
        try:
            clock = within_log_range(clock.astimezone(UTC))
        except (ValueError, OverflowError) as exc:
            raise InputError(f"--as-of {as_of}: the clock must be within the years 1678 to "
                             "2261", field="--as-of") from exc
    # (the sources file as the manifest records it: the path as given; None where not
    # given, which the run records as the bundled file read)
    config = None if reading.sources_config is None else (
        reading.sources_config, reading.sources_config_entry(as_given=True))
    given = reading.given
    options = {"assume_tz": given.get("assume_tz"), "sop": sop, "mapping": reading.columns,
               "encoding": given.get("encoding"), "object_type": given.get("object_type"),
               "follow_o2o": given.get("follow_o2o", ()), "sources_config": config}
    if engine is None:
        return run_check(sources, policy, as_of=clock, **options)
    return run_check(sources, policy, as_of=clock, engine=engine, **options)


def clock_line(run: Any) -> str:
    """The console's line naming the audit's clock and where it came from: `--as-of`, the
    policy's as_of (with the policy's file name), or the time of the run."""
    if run.as_of_source == "--as-of":
        source = "--as-of"
    elif run.as_of_source == "policy":
        name = Path(run.policy.source).name if run.policy.source else ""
        source = "the policy's as_of" + (f", {name}" if name else "")
    else:
        source = "the time of the run"
    return f"clock: {run.result.as_of.isoformat()} ({source})"


def run_id_line(run: Any) -> str:
    """The console's line naming the run by its run id (`audit.runid`: report.html's header,
    findings.xlsx's Summary and findings.json's manifest give it), with how to check it
    where the run writes findings.json, else that nothing it wrote can."""
    from audit.store import findings_json_written

    told = ("`refund-audit verify` on the folder checks it and each file's sha256"
            if findings_json_written(run.memo.get("formats")) else
            "no findings.json written (--format): nothing this run wrote lets it be "
            "recomputed")
    return f"run id: {run.manifest()['run_id']} ({told})"


def _audited_text(run: Any, summary: dict[str, Any]) -> tuple[str, str]:
    """The cases and events the rules judged, as the console's first line tells them, and
    the end of its read counts, the counts with thousands separators. Where the audit's
    clock (`--as-of`, the policy's as_of) or the lifecycle left events of the log out, the
    line says how many of the log's events (and cases) were judged and why the others were
    not ("1,956 of the log's 2,196 events (240 dated after the clock: not judged)"); before,
    "audited 300 cases, 2130 events (read 2185 = imported 2185 ...)" left the reader to find
    66 events after the clock in a separate warning. And wherever the imported records made
    another number of events (a charge refunded in several cases is an event in each; a
    charge left out as a sale is none), it says how many (`; 2,185 records imported ->
    2,196 events`), so that its numbers add up as printed: before, this was said only
    where events were left out, and "2196 events (read 2185 = imported 2185 ...)" did not
    add up."""
    from audit import canonical as C  # (pandas: not imported by --help)

    cases, events = int(summary["cases"]), int(summary["events"])
    after = int(summary.get("events_after_clock") or 0)
    not_complete = sum(run.not_judged.values())
    log = run.imported.log
    imported = int(summary["imported"])
    made = ("" if len(log) == imported else
            f"; {counted(imported, 'record', spec=',')} imported -> "
            f"{counted(len(log), 'event', spec=',')}")
    if not after and not not_complete:
        return f"{counted(cases, 'case', spec=',')}, {counted(events, 'event', spec=',')}", made
    left = [f"{after:,} dated after the clock" if after else "",
            f"{not_complete:,} whose lifecycle:transition is not complete" if not_complete
            else ""]
    all_cases = int(log[C.CASE].nunique()) if len(log) else 0
    told = (f"{cases:,} of the log's {all_cases:,} cases" if all_cases != cases
            else counted(cases, "case", spec=","))
    told += (f", {events:,} of the log's {len(log):,} events "
             f"({', '.join(x for x in left if x)}: not judged)")
    return told, made


def _check_summary(run: Any) -> list[str]:
    from audit.currency import shown
    from audit.ingest import dropped_text, left_out_text, unread_text

    summary = run.summary()
    money = ", ".join(f"{shown(v, k)} {k}"
                      for k, v in summary["money_at_risk"].items()) or "none"
    severities = ", ".join(f"{k} {v:,}" for k, v in summary["by_severity"].items() if v)
    from audit.store import findings_json_written, imported_earlier_text

    audited, made_events = _audited_text(run, summary)
    lines = [
        f"audited {audited} "
        f"(read {summary['read']:,} = imported {summary['imported']:,} + quarantined "
        f"{summary['quarantined']:,}"
        + (f" ({summary['quarantined_in_cases_with_findings']:,} of them in cases with "
           "findings)" if summary.get("quarantined_in_cases_with_findings") else "")
        + dropped_text(summary["duplicates_dropped"], spec=",")
        + (f", {left_out_text(summary['left_out'], spec=',')}" if summary["left_out"]
           else "")
        + made_events + unread_text(summary.get("fields_unread", 0), spec=",") + ")",
        clock_line(run),
        run_id_line(run),
        # (counts grouped as the money and the audited line beside them: before, "findings:
        # 6488 in 5182 cases (... high 2786 ...)" beside "audited 20,000 cases")
        f"findings: {summary['findings']:,} in "
        f"{counted(summary['cases_with_findings'], 'case', spec=',')}"
        + (f" ({severities})" if severities else "")
        + f"; waived {summary['waived']:,}; money at risk: {money}",
    ]
    # A canonical log's own import: the rows it was made from, and where the rest are.
    # (with its quarantined rows in cases with findings, where its file beside it holds
    # what its record says)
    earlier = run.earlier_quarantine_counts()
    json_written = findings_json_written(run.memo.get("formats"))
    lines[1:1] = ["  " + imported_earlier_text(Path(path), record, earlier.get(path),
                                               json_written=json_written)
                  for path, record in run.imported_earlier.items()]
    if summary["money_at_risk"]:
        lines.append(f"  (money at risk: {summary['money_at_risk_definition']})")
    for code, row in summary["by_rule"].items():
        if row.get("status") == "crashed":
            lines.append(f"  {code} {row['name']:<26} crashed (not run)")
        elif row.get("note"):
            lines.append(f"  {code} {row['name']:<26} {row['note']}: judged no case")
        elif row["findings"]:
            lines.append(f"  {code} {row['name']:<26} {row['findings']:>5,}")
    for waiver in summary["waivers"]:
        if waiver["status"] != "used":
            whom = (f"case {waiver['case']}" if waiver["case"] is not None
                    else f"fingerprint {waiver['fingerprint']}")
            lines.append(f"  waiver for {waiver['rule']} on {whom} (line {waiver['line']}): "
                         f"{waiver['status']}")
    if summary.get("running_cases"):
        from audit.words import duration

        window = duration(run.policy.conformance.running_for)
        lines.append(f"  running at the clock: {counted(summary['running_cases'], 'case')} "
                     f"(an event less than conformance.running_for {window} before it, the "
                     "SOP not at an end): the SOP tasks after their last event are not due "
                     "yet, not skipped")
    if summary.get("refunded_above_charge"):
        lines.append(f"  refunded above the charge: "
                     f"{counted(summary['refunded_above_charge'], 'payment', spec=',')} "
                     "(a Stripe Dashboard payments export's Amount Refunded above the "
                     "payment's Amount, judged by no rule: see the warning)")
    if summary["errors"]:
        lines.append(f"errors: {summary['errors']} rule(s) crashed (see findings.json): "
                     f"rules run {len(summary['by_rule']) - summary['errors']} of "
                     f"{len(summary['by_rule'])}")
    lines += [f"warning: {warning}" for warning in run.warnings()]
    lines += [f"note: {note}" for note in run.import_notes()]
    lines += [f"note: {cut_middle(note)}" for note in run.policy.sop_notes]
    if run.as_of_source == "clock":
        clock = run.result.as_of.isoformat()
        lines.append(f"note: the audit's clock is the time of this run, {clock} (no --as-of, "
                     "no as_of in the policy): the timing rules judge as of it, so a later run "
                     "of the same inputs can find otherwise; to re-run this audit, give "
                     f"--as-of {clock}")
    return lines


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
def rules_(fmt: str) -> None:
    """List the rule catalogue.

    \b
    Example:
      refund-audit rules --format markdown
    """
    from audit.rules import default_rules
    from audit.rules.docs import as_json, index_page, table

    rules = default_rules()
    click.echo({"table": table, "json": as_json, "markdown": index_page}[fmt](rules))


@main.command()
@click.argument("rule")
@reports_input_errors
def explain(rule: str) -> None:
    """Explain one rule, by code or name.

    \b
    Example:
      refund-audit explain self-approval
    """
    from audit.rules import default_rules
    from audit.rules.docs import rule_page

    found = default_rules().get(rule)
    if found is None:
        raise InputError(f"no rule '{rule}' (see `refund-audit rules`)", field="RULE")
    click.echo(rule_page(found))


@main.group()
def policy() -> None:
    """Write or check a policy file.

    \b
    Example:
      refund-audit policy init policy.yaml
    """


@policy.command("init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path),
                default=Path("policy.yaml"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
@reports_input_errors
def policy_init(settings: Settings, path: Path, force: bool) -> None:
    """Write the commented default policy to PATH (default policy.yaml).

    \b
    Example:
      refund-audit policy init policy.yaml
    """
    from audit.policy import default_policy_path

    if os.path.lexists(path) and not force:  # (a link to no file too: never written through)
        raise InputError("exists; pass --force to overwrite", file=path)
    # The bundled policy pins the clock to its sample's; a policy of one's own uses the time
    # of the run until its author sets one.
    text = default_policy_path().read_text(encoding="utf-8")
    text = text.replace("\nas_of:", "\n# as_of:", 1)
    write_whole(path, text.encode("utf-8"), replace=force)
    settings.say(f"wrote {path}")


def write_whole(path: Path, data: bytes, *, replace: bool) -> None:
    """`data` written to a file of its own in `path`'s folder, then moved to `path` whole:
    an interrupt (Ctrl-C, SIGTERM), a full disk or a failed write leaves no file cut short,
    and an earlier file as it was (before, `policy init --force` truncated the earlier
    policy first, and a failed write left half of one). Where not `replace`, a file (or a
    link) at `path` is never replaced, also one made since it was asked for: the move is a
    hard link, which refuses an existing name (where the file system has none, a rename
    after asking again); with `replace`, a link at `path` is replaced, not written
    through, and an earlier file's permissions are kept. A write that fails is an input
    error naming `path` (exit code 2)."""
    import errno
    import secrets
    import stat

    partial = path.with_name(f".refund-audit-{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        try:
            # (created as `open` creates a file: its mode by the umask, not mkstemp's 0600)
            handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_BINARY", 0), 0o666)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            if replace:
                with contextlib.suppress(OSError):  # (the earlier file's permissions kept)
                    earlier = os.stat(path, follow_symlinks=False)
                    if stat.S_ISREG(earlier.st_mode):
                        os.chmod(partial, stat.S_IMODE(earlier.st_mode))
                os.replace(partial, path)
                return
            try:
                os.link(partial, path, follow_symlinks=False)
            except FileExistsError:
                raise InputError("exists; pass --force to overwrite", file=path) from None
            except OSError as exc:  # (no hard links here: FAT, some network file systems)
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP,
                                     errno.EXDEV, errno.ENOSYS, errno.EMLINK):
                    raise
                if os.path.lexists(path):
                    raise InputError("exists; pass --force to overwrite", file=path) from None
                os.replace(partial, path)
        except OSError as exc:  # (before: a traceback)
            raise InputError(f"cannot write: {exc.strerror or exc}", file=path) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(partial)


@policy.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
@reports_input_errors
def policy_check(settings: Settings, path: Path) -> None:
    """Check a policy file; errors name the line.

    \b
    Example:
      refund-audit policy check policy.yaml
    """
    from audit.checkrun import checked_policy

    # As check reads it: rule references, a selection that leaves a rule, the SOPs convert.
    loaded = checked_policy(path, installed=False)  # (the file, not this installation)
    settings.say(f"{path}: ok ({counted(len(loaded.activities), 'label')}, "
                 f"{counted(len(loaded.waivers), 'waiver')})")
    # What reading the SOPs found, every one: check tells a label's 'task of no SOP' only
    # where a case of a channel with an SOP holds the label (`checkrun._sop_warnings`).
    for warning in loaded.warnings:
        settings.say(f"warning: {warning}")



@main.group()
def model() -> None:
    """Inspect BPMN models (reference SOPs).

    \b
    Example:
      refund-audit model inspect ecommerce.bpmn --json
    """


@model.command("inspect")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full inspection as JSON.")
@click.option("--process", help="Process id (or pool name) to read when the file has several "
              "pools; PATH#PROCESS says the same.")
@reports_input_errors
def model_inspect(path: Path, as_json: bool, process: str | None) -> None:
    """Tasks, lanes with their tasks, gateways, the workflow net's size and soundness, and
    what could not be converted.

    Exit code 0 when the model converts into a sound workflow net, 1 when it is unsound,
    undecided or has refused elements, 2 when the file cannot be read. A bundled model's
    name (ecommerce.bpmn, subscription.bpmn, offline.bpmn) names it where no such file is
    here.

    \b
    Example:
      refund-audit model inspect ecommerce.bpmn --json
    """
    import json

    from conformance.bpmn import BpmnRefused
    from conformance.inspect import inspect_model

    if not path.exists() and "#" in path.name and process is None:
        # FILE#PROCESS, as check's --sop, the policy's sop and compare take it.
        from audit.policy import split_sop_entry

        try:
            file, process = split_sop_entry(str(path))
        except ValueError as exc:
            raise InputError(str(exc), file=path) from None
        path = Path(file)
    if not path.exists():
        from audit.policy import model_path

        path = model_path(str(path))  # (a bundled model's bare name: that model)
    if not path.exists():
        raise InputError("no such file", file=path)
    report = inspect_model(path, process=process)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        def echo(line: str) -> None:
            # (A model's names are its author's text: an ESC or U+202E in a task's name would
            # be run or reorder the line on the terminal, not be seen; a line break would
            # begin a console line of its own.)
            click.echo(shown_on_one_line(line))

        net = report.get("net") or {}
        echo(f"{path}: process {report['process']['name'] or report['process']['id']}")
        shape = (f"{net.get('places')} places, {net.get('transitions')} transitions"
                 if net.get("places") is not None else "none (the model is refused)")
        echo(f"  tasks: {len(report['tasks'])}; workflow net: {shape}; "
             f"sound: {report['sound'] or 'not judged'}")
        if len(report["pools"]) > 1:
            together = sum(p["chosen"] for p in report["pools"]) > 1
            echo("  pools: " + ", ".join(
                f"{p['name'] or p['id']} "
                + (f"(process {p['process']}"
                   + (", empty: a black box" if p["empty"] else "")
                   + (", not defined in the file: a black box" if p.get("missing") else "")
                   if p["process"] else "(no process: a black box")
                + ((", read together)" if together else ", the one read)") if p["chosen"]
                   else ")") for p in report["pools"]))
        for flow in report["message_flows"]:
            echo(f"  message flow {flow['name'] or flow['id']}: {flow['from']} -> {flow['to']}")
        for lane in report["lanes"]:
            name = lane["name"] or f"(unnamed, {lane['id']})"
            echo(f"  lane {name}: {', '.join(lane['tasks']) or '(no tasks)'}")
        for kind, gateways in report["gateways"].items():
            echo(f"  gateways ({kind}): " + ", ".join(
                f"{g['name'] or g['id']} ({g['role']})" for g in gateways))
        for refused in report["refused"]:
            refusal = BpmnRefused(**refused)  # (its name and line, as the errors give them)
            echo(f"  refused {refusal.element_type} {refusal.element_id}{refusal.located()}: "
                 f"{refusal.reason}")
        for note in report["notes"]:
            echo(f"  note: {note}")
    if report["sound"] != "yes" or report["refused"]:
        sys.exit(ExitCode.FINDINGS)


@main.command()
@click.argument("log_path", metavar="LOG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--miner", type=click.Choice(["inductive", "heuristics", "dfg"]),
              default="inductive", show_default=True, help="Discovery algorithm.")
@click.option("--noise", type=_FloatRange(0.0, 1.0), default=None,
              help="Leave out rare behaviour: 0 keeps everything [default: 0.2 for "
                   "inductive, 0 for heuristics and dfg].")
@click.option("--max-activities", type=click.IntRange(min=1), default=60, show_default=True,
              metavar="N",
              help="Mine the model from the N most frequent activities only, and draw the "
              "DFG with them; the events of the others are left out of the model and a note "
              "says how many (a log of thousands of distinct labels kept the miner and "
              "Graphviz busy for many minutes). Raise it to mine more.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for model.bpmn, model.svg, model.png, discovery-dfg.svg, "
              "discovery-dfg.png, discovery.json, discovery-quarantine.csv (the rows the "
              "import quarantined), variants.csv (every distinct activity sequence of the "
              "cases, with its cases and throughput times) and SHA256SUMS (the sha256 of "
              "each), moved in together.")
@click.option("--channel", type=click.Choice(CHANNELS), default=None,
              help=CHANNEL_HELP.format(s="", verb="mined", policy="--policy (where given, "
                                       "else the bundled policy, as check reads it)"))
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Policy file whose activities tell which labels are ticket events, to "
                   "decide each case's channel as check does with it (--channel, and the "
                   "cases by channel counted); default: the bundled policy.")
@_log_reading_options("")
@click.pass_obj
@reports_input_errors
def discover(settings: Settings, log_path: Path, miner: str, noise: float | None,
             max_activities: int, out: Path, channel: str | None,
             policy_path: Path | None, mapping: Path | None, sources_config: Path | None,
             encoding: str | None, assume_tz: str | None, object_type: str | None,
             follow_o2o: tuple[str, ...]) -> None:
    """Discover the as-is process model of an event log (csv, xes, parquet, ocel).

    Writes the model as BPMN 2.0 with a layout (opens in bpmn.io), drawn with event counts
    and median waiting times, and the directly-follows graph with frequencies and median
    durations, plus discovery.json (soundness and fitness of the model). model.bpmn is an
    SOP for check --sop and compare; a heuristics model no run of which can finish is for
    viewing only, and a note says so (use --miner inductive for an SOP). The model is
    mined from the 60 most frequent activities at most (--max-activities); a note says
    what was left out. --channel NAME mines the cases of one channel only (ecommerce,
    subscription, offline), as check decides a case's channel (with --policy P.yaml, as
    check decides it with that policy).

    \b
    Example:
      refund-audit discover log.parquet --miner inductive --noise 0.2 --out out/model
    """
    from audit.progress import using
    from conformance.discovery import discover as run_discovery
    from conformance.discovery import write_discovery

    if not log_path.exists():
        raise InputError("no such file", file=log_path)
    reading = _import_reading(mapping, sources_config, encoding, assume_tz, object_type,
                              follow_o2o)
    policy = None
    if policy_path is not None:  # (checked before the log is read, as compare and check do)
        from audit.policy import load_policy

        if not policy_path.exists():
            raise InputError("no such file", file=policy_path, field="--policy")
        policy = load_policy(policy_path)
    if miner != "dfg":  # (before: a traceback, after the import, where pm4py is missing)
        from importlib.util import find_spec

        from audit.checkrun import MINING_EXTRA

        if find_spec("pm4py") is None:
            raise InputError(f"the {miner} miner needs pm4py, which is not installed: "
                             f"{MINING_EXTRA} (or --miner dfg, which does not)",
                             field="--miner")
    _writable_folder(out)  # before the mining, not after it
    refuse_foreign_checksums(out)
    from audit.sources.pipeline import import_and_correlate

    with using(settings.progress()) as progress:  # (1M cases: minutes without a word)
        progress.stage(f"reading {log_path}")
        # (as check reads it: a source-system export's records correlated into refund
        # cases, as `import` then `discover` of its log makes them)
        imported = import_and_correlate([(log_path, None)], **reading.import_kwargs())
        from audit.correlate import unlisted_notes

        unlisted_notes(imported.notes)
        reading.tell_not_used(imported.notes, exports_among(imported))
        for line in imported.summary_lines():  # (rows quarantined are counted, never dropped)
            settings.say(line)
        from audit.store import import_record, imported_earlier_text

        record = import_record(log_path)  # (a canonical log's own import, as check tells it)
        if record is not None:
            settings.say(imported_earlier_text(log_path, record))
        log = imported.log
        if len(log) == 0:
            from audit.ingest import no_events_text

            raise InputError(no_events_text(imported, "mine"), file=log_path)
        from audit import canonical as C
        from conformance.channels import select_channel

        # (its cases of --channel only, each case's channel as check decides it: with the
        # policy given, as check reads that policy; before, discover had no --policy, and a
        # log whose ticket labels the bundled policy does not know was split otherwise than
        # check and compare --policy split it)
        log, channels = select_channel(log, channel, policy, file=log_path)

        others = C.not_completions(log)
        if sum(others.values()) == len(log):  # (a model of no event: pm4py's crash before)
            told = ", ".join(f"{k} {v:,}" for k, v in sorted(others.items()))
            raise InputError(f"no event of the log is a completion ({told}): discover "
                             "reads an activity by its completion, so there is nothing to "
                             "discover", file=log_path, field=C.LIFECYCLE)
        progress.stage(f"discovering ({miner} miner)")
        result = run_discovery(log, miner, noise,  # type: ignore[arg-type]
                               max_activities, channels=channels)
        from audit.digest import sha256_of
        from audit.store import read_with

        # (the options in effect, those given but not applied, a canonical log's own
        # import's: discovery.json's `import`)
        read = read_with(log_path, imported, reading.given)
        source = {"file": log_path.name,
                  "sha256": imported.digests.get(str(log_path)) or sha256_of(log_path)}
        stale, left = clear_stale_staging(out)
        dropped = checksums_of_others(out, DISCOVER_FILES)
        # (through a staging folder, moved in all or none: `write_staged`)
        written, removed = write_staged(
            out, lambda staging: list(write_discovery(
                result, log, staging, source=source, imported=imported, read=read,
                policy=None if policy is None or policy_path is None else {
                    "file": policy_path.name, "sha256": policy.sha256},
                files=reading.files(exports_among(imported))).values()),
            earlier=lambda folder: reports_in(folder, DISCOVER_FILES))
        progress.done()
    settings.say(f"discovered with the {result.miner} miner (noise {result.noise:g}) from "
                 f"{counted(result.cases, 'case', spec=',')}, "
                 f"{counted(result.events, 'event', spec=',')}")
    if result.variants is not None:
        settings.say(variants_line(result.variants))
    if result.soundness is not None:
        settings.say(f"model sound: {result.soundness.answer}")
    if result.fitness is not None:
        # (which fitness: pm4py's token-based replay, a pm4py user's first, gives another)
        settings.say(f"fitness: {result.fitness.log_fitness:.3f} by optimal alignments "
                     "(pm4py's fitness_alignments, not its token-based replay); "
                     f"{result.fitness.fitting_cases:,} of {result.fitness.cases:,} cases "
                     "fit perfectly")
    for note in result.notes:
        settings.say(f"note: {note}")
    for warning in result.warnings:
        settings.say(f"warning: {warning}")
    _say_written(settings, out, written, removed, stale, left, dropped)
    end_process()  # everything written: the log and the model not freed object by object


@dataclass(frozen=True)
class ImportReading:
    """How `check`, `discover` and `compare` read their inputs as `import` does: the options
    of `_log_reading_options`, checked and loaded (`_import_reading`)."""

    given: dict[str, Any]
    """The keyword arguments of `import_sources` given on the command line: assume_tz,
    encoding, object_type, follow_o2o (those given only), as `audit.store.read_with`
    records them."""
    columns: Any = None
    """--mapping's column mapping (`audit.ingest.mapping.Mapping`), None where not given."""
    mapping_path: Path | None = None
    sources_config: Any = None
    """--sources-config's file read (`audit.sources.config.SourcesConfig`), None where not
    given (the exports read with the bundled one)."""
    sources_config_path: Path | None = None

    def import_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `import_sources` (and `import_and_correlate`)."""
        return {**self.given, "mapping": self.columns, "sources_config": self.sources_config}

    def sources_config_entry(self, *, as_given: bool = False) -> dict[str, Any] | None:
        """The sources file given, `{file, sha256}`: check's manifest records the path as
        given (`as_given`), discovery.json and compare.json its name, as they name the
        policy and the mapping; the sha256 of the bytes read (before, of the file hashed
        again after the run: one edited in between was recorded by bytes not read)."""
        path = self.sources_config_path
        if path is None or self.sources_config is None:
            return None
        return {"file": str(path) if as_given else path.name,
                "sha256": self.sources_config.sha256}

    def files(self, exports: bool) -> dict[str, dict[str, Any] | None]:
        """discovery.json's and compare.json's `mapping` and `sources_config`: the files
        given, by name and sha256 (null where not given); the sources file `used` false
        where no input read was a source-system export (`exports`), as check's manifest
        records it (`audit.runid.used_sources_config`). Each sha256 is of the bytes
        read, as check's manifest records them (before, of the files hashed again once the
        run was done)."""
        config = self.sources_config_entry()
        if config is not None and not exports:
            config["used"] = False
        return {"mapping": None if self.mapping_path is None or self.columns is None else {
                    "file": self.mapping_path.name, "sha256": self.columns.sha256},
                "sources_config": config}

    def tell_not_used(self, notes: list[str], exports: bool) -> None:
        """Where --sources-config was given and no input read is a source-system export,
        the note check's run gives (`audit.checkrun.run_check`) appended to `notes`. The
        file is named without its folder (as `files` names it): the notes are written to
        discovery.json and compare.json, the same for the same log and options, however
        the file was given (before, its path as typed: `us.yaml` and its absolute path gave
        files that differed, and told the user's folders)."""
        if self.sources_config_path is None or exports:
            return
        notes.append(f"--sources-config {self.sources_config_path.name}: no input is a "
                     "source-system export (Zendesk, Jira, ServiceNow, Stripe, PayPal, "
                     "Adyen), the only kind it is read for: not used (a canonical log's "
                     "events were read with the sources file of its import)")


def exports_among(imported: Any) -> bool:
    """Whether an import (`ImportResult`) read a source-system export."""
    from audit.ingest import SOURCE_SYSTEMS

    return any(f.system in SOURCE_SYSTEMS for f in imported.files)


def _import_reading(mapping: Path | None, sources_config: Path | None,
                    encoding: str | None, assume_tz: str | None, object_type: str | None,
                    follow_o2o: tuple[str, ...]) -> ImportReading:
    """The reading options of `_log_reading_options` as `check`, `discover` and `compare`
    apply them, checked before any input is read: the zone and the encoding (where no
    input is a CSV too: never ignored), the mapping and the sources file read (an error in
    them told before minutes of import), a zone overriding the mapping's warned of. Before,
    check built its own and discover and compare took --assume-tz, --object-type and
    --follow-o2o only (compare --mapping too)."""
    if assume_tz is not None:
        from audit.ingest.mapping import check_time_zone

        check_time_zone(assume_tz, field="--assume-tz")
    if encoding is not None:
        from audit.ingest.csv_reader import text_codec

        text_codec(encoding)
    columns = None
    if mapping is not None:
        from audit.ingest.mapping import load_mapping

        columns = load_mapping(mapping)
    _warn_zone_override(columns, assume_tz)
    config = None
    if sources_config is not None:
        from audit.sources.config import load_sources_config

        config = load_sources_config(sources_config)
    given = {key: value for key, value in (("assume_tz", assume_tz), ("encoding", encoding),
                                           ("object_type", object_type),
                                           ("follow_o2o", tuple(follow_o2o))) if value}
    return ImportReading(given, columns, mapping, config, sources_config)


def variants_line(variants: Variants) -> str:
    """discover's console line of the variants: "variants: 65 among 100,000 cases; the most
    frequent, 37.0% of the cases (36,968): variants.csv lists each" (the share to one
    decimal, never "100.0%" short of all cases nor "0.0%" of some)."""
    from conformance.discovery import VARIANTS_NAME

    told = f"variants: {len(variants.variants):,} among {counted(variants.cases, 'case', spec=',')}"
    if not variants.variants:
        return told
    top = variants.variants[0]
    share = f"{variants.share(top):.1f}%"
    if share == "100.0%" and top.cases < variants.cases:
        share = "more than 99.9%"
    elif share == "0.0%":
        share = "less than 0.1%"
    return (f"{told}; the most frequent, {share} of the cases ({top.cases:,}): "
            f"{VARIANTS_NAME} lists each")


@main.command()
@click.argument("as_is", metavar="AS_IS", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("to_be", metavar="TO_BE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for compare.md, compare.json, diff.svg, diff.png and SHA256SUMS "
              "(the sha256 of each), moved in together.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Policy file whose activities.<label>.sop_task names a log's labels by "
                   "the SOP's tasks, and whose approvers and performers allow roles besides "
                   "the lanes, as check reads them (default: labels as written, lanes "
                   "alone).")
@click.option("--channel", type=click.Choice(CHANNELS), default=None,
              help=CHANNEL_HELP.format(s="s (a model side is unaffected)", verb="compared",
                                       policy="--policy (where given, else the bundled "
                                       "policy, as check reads it)"))
@click.option("--min-shift", "min_shift", type=_FloatRange(0.0, 100.0),
              default=MIN_SHIFT_POINTS, show_default=True, metavar="POINTS",
              help="Two logs only (refused against a model, which is not tested): the least "
                   "move of a share of cases, in percentage points, told "
                   "as a shift (or as a relation seen in one log only); it is told only "
                   "where it is also significant (a "
                   "two-sided test, Benjamini-Hochberg adjusted over every share tested, at "
                   "the false discovery rate --fdr).")
@click.option("--fdr", "fdr", type=_FloatRange(0.0, 1.0, min_open=True, max_open=True),
              default=SHIFT_ALPHA, show_default=True, metavar="Q",
              help="Two logs only (refused against a model): the false discovery rate of "
                   "the significance tests (above 0, "
                   "below 1): a share's Benjamini-Hochberg adjusted p-value must be at most "
                   "Q for a shift to be told; compare.json's shift_rule records it.")
@_log_reading_options(" (each log side)")
@click.pass_obj
@reports_input_errors
def compare(settings: Settings, as_is: Path, to_be: Path, out: Path,
            policy_path: Path | None, mapping: Path | None, channel: str | None,
            min_shift: float, fdr: float, sources_config: Path | None,
            encoding: str | None, assume_tz: str | None, object_type: str | None,
            follow_o2o: tuple[str, ...]) -> None:
    """Compare as-is and to-be, each a BPMN model (.bpmn) or an event log.

    A model is FILE.bpmn or FILE.bpmn#PROCESS; a bundled model's name (ecommerce.bpmn,
    subscription.bpmn, offline.bpmn) names it where no such file is here. With --policy, a
    log's labels that the policy maps to an SOP task (sop_task) are compared as that task.
    With --channel NAME, a log side keeps the cases of that channel only (as check decides
    a case's channel): compare one channel's as-is with its SOP.

    Writes the behavioural differences (order, repetition, required tasks, and who performs
    a task against a model's lanes) as sentences (compare.md), the same as JSON
    (compare.json) and a diff graph of directly-follows edges (diff.svg, diff.png).

    \b
    Example:
      refund-audit compare log.parquet ecommerce.bpmn --channel ecommerce --out out/diff
    """
    from click.core import ParameterSource

    from audit.progress import using
    from audit.safety import shown_on_one_line
    from conformance.compare import compare as compare_sides
    from conformance.compare import load_side, names_a_model, write_comparison

    # --min-shift and --fdr against a model were accepted and did nothing, unsaid (a model
    # is no sample: nothing is tested). Refused before any side is read, as --scheduler
    # without --engine dask is.
    context = click.get_current_context()
    given = [f"--{name.replace('_', '-')}" for name in ("min_shift", "fdr")
             if context.get_parameter_source(name) is not ParameterSource.DEFAULT]
    model = next(((role, path) for role, path in (("as-is", as_is), ("to-be", to_be))
                  if names_a_model(path)), None)
    if given and model is not None:
        several = len(given) > 1
        raise InputError(
            f"{' and '.join(given)} appl{'y' if several else 'ies'} to two logs only: the "
            f"{model[0]} side, {model[1].name}, is a model, and nothing is tested against a "
            "model (what it never allows is told however few the cases); leave "
            f"{'them' if several else 'it'} out")
    # Two models read no log: a reading option was accepted and did nothing (the sources
    # file recorded `used` false, with a note of a canonical log's events of no log read).
    # Refused before any side is read, as --min-shift and --fdr against a model are.
    reading_given = [f"--{name.replace('_', '-')}" for name in (
        "mapping", "sources_config", "encoding", "assume_tz", "object_type", "follow_o2o")
        if context.get_parameter_source(name) is not ParameterSource.DEFAULT]
    if reading_given and names_a_model(as_is) and names_a_model(to_be):
        several = len(reading_given) > 1
        raise InputError(
            f"{' and '.join(reading_given)} appl{'y' if several else 'ies'} to a log side "
            f"only: both sides are models ({as_is.name}, {to_be.name}), and no log is "
            f"read; leave {'them' if several else 'it'} out")
    tasks, allowed, policy = None, None, None
    if policy_path is not None:  # (checked before any side is read, as check does)
        from audit.policy import load_policy
        from conformance.compare import policy_roles

        if not policy_path.exists():  # (named as check names it)
            raise InputError("no such file", file=policy_path, field="--policy")
        policy = load_policy(policy_path)
        tasks, allowed = policy.sop_tasks(), policy_roles(policy)
    # (checked, and the mapping and sources file read, before any side is read, as check
    # does)
    reading = _import_reading(mapping, sources_config, encoding, assume_tz, object_type,
                              follow_o2o)
    _writable_folder(out)  # before the comparison, not after it
    refuse_foreign_checksums(out)
    with using(settings.progress()) as progress:  # (1M cases: minutes without a word)
        progress.stage(f"reading the as-is side {as_is}")
        before = load_side(as_is, "as-is", tasks, reading.columns, channel=channel,
                           policy=policy, reading=reading.given,
                           sources_config=reading.sources_config)
        progress.stage(f"reading the to-be side {to_be}")
        after = load_side(to_be, "to-be", tasks, reading.columns, channel=channel,
                          policy=policy, reading=reading.given,
                          sources_config=reading.sources_config)
        progress.stage("comparing")
        result = compare_sides(before, after, allowed, channel=channel, min_shift=min_shift,
                               fdr=fdr)
        exports = before.exports or after.exports
        reading.tell_not_used(result.notes, exports)
        progress.stage(f"writing {out}")
        stale, others = clear_stale_staging(out)
        dropped = checksums_of_others(out, COMPARE_FILES)
        # (through a staging folder, moved in all or none: `write_staged`)
        written, removed = write_staged(
            out, lambda staging: list(write_comparison(
                result, staging, {"policy": None if policy is None or policy_path is None else {
                    "file": policy_path.name, "sha256": policy.sha256},
                    **reading.files(exports)},
                reading=reading.given).values()),
            earlier=lambda folder: reports_in(folder, COMPARE_FILES))
        progress.done()
    below = sum(d.meets_rule is False for d in result.differences)
    settings.say(f"{len(result.differences)} difference(s)" + (
        (", all" if below == len(result.differences) else f", the last {below}")
        + " below the rule a shift is told by (an activity seen in one log only, in too few "
        "cases)" if below else ""))
    if not result.differences:
        settings.say("No differences in the compared relations ("
                     + ", ".join(result.relations_compared) + ").")
    for difference in result.differences:
        settings.say(f"- {shown_on_one_line(difference.sentence)}")
    # (as discover tells its notes: a side's rows quarantined were told in compare.md only,
    # and the console said nothing of them)
    for note in result.notes:
        settings.say(f"note: {note}")
    for warning in result.warnings:
        settings.say(f"warning: {warning}")
    _say_written(settings, out, written, removed, stale, others, dropped)


@main.command()
@click.argument("old", metavar="OLD", type=click.Path(path_type=Path))
@click.argument("new", metavar="NEW", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for diff.json, diff.csv and SHA256SUMS (the sha256 of each), moved "
              "in together; not a folder holding a check's run (OLD's, NEW's or another) or "
              "another command's SHA256SUMS.")
@click.option("--fail-on", type=FAIL_ON, default="never", show_default=True,
              help="Exit 1 when NEW has a finding of this severity or higher, not waived, "
              "that is new, or open again (OLD waived it), or whose severity rose.")
@click.pass_obj
@reports_input_errors
def diff(settings: Settings, old: Path, new: Path, out: Path | None, fail_on: str) -> None:
    """What changed between two audit runs: OLD and NEW, each a check's --out folder or
    its findings.json.

    Findings are matched by fingerprint: new (in NEW only), still open (in both), resolved
    (in OLD only, and NEW judged its case again and reports no finding of its rule there);
    a finding of OLD only and one of NEW only of the same rule and case are one "changed"
    finding (still open, citing other events: a case that went on); a finding of OLD
    whose case NEW did not judge (out of its period, not in its inputs; or, for
    unauthorized-approver or -performer, a role not recorded there) is "not
    re-judged", one whose rule ran in one run only "not comparable", one precedence
    suppressed in the other run is told so: none of them is called resolved or new.
    A still-open finding whose amount, severity, message or evidence changed lists its
    changes. Waivers added or ended (expired, removed) between the runs are counted, with
    their reason, approver and expiry, and a changed finding's waiver that named its old
    fingerprint (approve it again); the money at risk is bridged case by case from OLD's
    total to NEW's. Different policies, SOPs or inputs, NEW's clock before OLD's, the same
    findings.json twice, or one not listed in its SHA256SUMS are warned of, and so is a
    rule whose logic version differs between the runs (or is not recorded in one): its new
    and resolved findings may come from the rule's change, and their reasons say so. The
    parts of the two run ids that differ are named (inputs by file name and sha256, policy,
    SOPs, mapping, sources config, import options, clock, rules' logic versions, code
    digest, version), and
    whether the tool or what it judged differs. Exit code 0; 1
    with --fail-on SEVERITY where a finding of NEW at or above it, not waived in NEW, is
    worse than in OLD: new, open again (OLD waived it), or its severity rose (a finding
    still open as it was, not comparable or suppressed in OLD never counts); 2 where a run
    cannot be read or its findings disagree with its own summary.

    \b
    Example:
      refund-audit diff out/2026-q2 out/2026-q3 --out out/q3-vs-q2 --fail-on high
    """
    from audit.rundiff import diff_runs, fail_on_lines, load_run, summary_lines, write_diff

    before = load_run(old, "OLD")
    after = load_run(new, "NEW")
    if out is not None:
        for run in (before, after):  # (its SHA256SUMS would be replaced by the diff's)
            if _same_file(out, run.folder):
                raise InputError(f"this is the run folder of {run.which}: the diff's files "
                                 "and SHA256SUMS would go beside the run's and replace its "
                                 "SHA256SUMS; choose another --out", file=out, field="--out")
        _writable_folder(out)
        refuse_foreign_checksums(out)
        _refuse_a_run_folder(out)
    result = diff_runs(before, after)
    for line in summary_lines(result):
        settings.say(line)
    if fail_on != "never":
        for line in fail_on_lines(result, fail_on):
            settings.say(line)
    if out is not None:
        stale, others = clear_stale_staging(out)
        dropped = checksums_of_others(out, DIFF_FILES)
        written, removed = write_staged(
            out, lambda staging: write_diff(result, staging),
            earlier=lambda folder: reports_in(folder, DIFF_FILES))
        _say_written(settings, out, written, removed, stale, others, dropped)
    # (after the files are written, as check's: the job that fails still has its diff)
    if result.failing(fail_on):
        end_process(ExitCode.FINDINGS)


@main.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("given", metavar="[--inputs FILE...]", nargs=-1,
                type=click.Path(path_type=Path))
@click.option("--inputs", "inputs", is_flag=True,
              help="The files after DIR are the run's inputs as the auditor holds them (the "
              "exports; the policy, mapping, sources config and SOP files, and of a "
              "canonical log its "
              "LOG.quarantine.csv and the exports it was imported from, may be given too): "
              "each is "
              "compared by its sha256 with the inputs findings.json's manifest records the "
              "run read, by its bytes whatever its name, else by its name; one that "
              "differs, one the run did not read, and an input of the run none given holds "
              "are differences.")
@click.option("--sums-sha256", "sums", metavar="HEX",
              help="The sha256 of SHA256SUMS recorded apart from the folder when it was "
              "filed (verify prints it): the folder's must be it. Only this shows the files "
              "are those filed.")
@click.option("--run-id", "expected", metavar="HEX",
              help="The run id recorded apart from the folder when it was filed (its "
              "report.html's header, findings.xlsx's Summary): the folder's must be it. It "
              "names the run (inputs, settings, code), not its files: findings removed and "
              "SHA256SUMS rewritten leave it as it was.")
@click.pass_obj
@reports_input_errors
def verify(settings: Settings, folder: Path, given: tuple[Path, ...], inputs: bool,
           sums: str | None, expected: str | None) -> None:
    """Verify a check's output folder as filed: each file SHA256SUMS lists against its
    sha256, findings.json's run id recomputed from its manifest and its findings against
    its summary, report.html and findings.xlsx naming that run id, and, with --inputs,
    the files given against the inputs the run read.

    Exit code 0 where every file listed holds its sha256 and the run id is the one the
    manifest gives, its reports give (and --run-id gives), and SHA256SUMS' sha256 is
    --sums-sha256's; 1 where one differs (each named: a file changed or missing,
    findings.json not listed, its run id not its manifest's or none recorded, its findings
    not its summary's, a report naming another, another run id than --run-id's, another
    sha256 than --sums-sha256's, a listed name no regular file; with --inputs, a file given
    of another sha256 than the run's input of its name, one the run did not read, a second
    file of the bytes (or name) of one held, an input of the run none given holds, a
    canonical log's quarantine of data rows where its record says none were quarantined);
    a canonical log's quarantine of no sha256 recorded (its import quarantined nothing) is
    told not compared, not verified, and gives exit code 0 where all else holds; 2 where
    the folder, its SHA256SUMS or its findings.json cannot be read as a check's, a file
    given with --inputs cannot be read, or --run-id or --sums-sha256 is not 64 hex digits.
    A report's file not listed (report.html, findings.json, .csv or .xlsx, quarantine.csv,
    correlation.csv, the graphs) is a difference; other files not listed are named, not
    verified.
    Neither SHA256SUMS nor the run id is a seal (whoever edits a file can rewrite both).
    Only the sha256 of SHA256SUMS, printed, against --sums-sha256 recorded apart from the
    folder at filing shows the files are those filed; the run id names the run.

    \b
    Example:
      refund-audit verify out/2026-q3 --sums-sha256 9c0e41d2... --run-id 4b1fa596...
      refund-audit verify out/2026-q3 --inputs exports/2026-q3/*
    """
    from audit.verify import verify_folder

    if given and not inputs:
        raise click.UsageError(f"{given[0]}: a file after DIR: give the run's inputs after "
                               "--inputs (refund-audit verify DIR --inputs FILE...)")
    if inputs and not given:
        raise click.UsageError("--inputs names no file: give the run's input files after it "
                               "(refund-audit verify DIR --inputs FILE...)")
    found = verify_folder(folder, expected, sums, list(given) if inputs else None)
    for line in found.lines:
        settings.say(f"{folder}: {line}")
    for line in found.differs:
        click.echo(shown_on_one_line(f"differs: {folder}: {line}"))
    if found.differs:
        click.echo(f"{folder}: NOT verified: {counted(len(found.differs), 'difference')}")
        end_process(ExitCode.FINDINGS)
    settings.say(f"{folder}: verified: every file listed holds its sha256, and the run id "
                 "is its manifest's and its reports'" + (
                     "; each file given holds a file the run read, and each input it read is "
                     "given (--inputs)" if inputs and not found.uncompared else
                     f"; each file given but {len(found.uncompared)} holds a file the run "
                     "read, and each input it read is given (--inputs); not verified, not "
                     "compared (no sha256 recorded): " + ", ".join(found.uncompared)
                     if inputs else "") + (
                     "; SHA256SUMS is the one filed (--sums-sha256)" if sums is not None else
                     "; that these are the files filed, only --sums-sha256 (SHA256SUMS' "
                     "sha256 recorded at filing) shows"))


def _refuse_a_run_folder(out: Path) -> None:
    """An input error where `out`, diff's --out, holds a check's run (its findings.json) or
    a SHA256SUMS listing files diff does not write (`checksums_of_others`: another
    command's, a check's, discover's...): the diff's SHA256SUMS would replace that run's,
    which would no longer list its files, and a later diff of that folder could no longer
    tell its findings.json edited."""
    from audit.digest import CHECKSUMS_FILE

    if (out / "findings.json").exists():
        raise InputError("it holds a check's run (findings.json): the diff's SHA256SUMS would "
                         f"replace the run's {CHECKSUMS_FILE}, which would no longer list its "
                         "files; choose another --out", file=out, field="--out")
    others = checksums_of_others(out, DIFF_FILES)
    if others:
        raise InputError(f"its {CHECKSUMS_FILE} lists {counted(len(others), 'file')} of "
                         f"another run still there ({', '.join(others)}): the diff's "
                         f"{CHECKSUMS_FILE} would replace it, and they would no longer be "
                         "listed; choose another --out", file=out, field="--out")


def _say_written(settings: Settings, out: Path, written: list[Path], removed: list[Path],
                 stale: list[str], others: list[str], dropped: list[str]) -> None:
    """`discover`'s and `compare`'s lines of the files they wrote (`write_staged`), an
    earlier run's they removed, the staging folders found (`staging_told`) and the files
    of another run whose sha256 the SHA256SUMS replaced listed (`checksums_of_others`)."""
    from audit.digest import CHECKSUMS_FILE

    for path in written:
        settings.say(f"{path.name}: {path}" + (
            " (the sha256 of each file written: `sha256sum -c SHA256SUMS` in the folder "
            "checks them)" if path.name == CHECKSUMS_FILE else ""))
    if removed:
        settings.say(f"removed {counted(len(removed), 'file')} of an earlier run from {out}: "
                     + ", ".join(str(p.relative_to(out)) for p in removed))
    for line in [*staging_told(out, stale, others), *checksums_told(out, dropped)]:
        settings.say(line.lstrip())


if __name__ == "__main__":  # pragma: no cover
    run()  # (as the console script: its exit codes, see `run`)
