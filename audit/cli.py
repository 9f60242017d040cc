"""The `refund-audit` command line: thin wiring of the pure stages; I/O lives here.

Exit codes are defined once in audit.errors.ExitCode: 0 ok, 1 findings at or above --fail-on,
2 usage or input error. pm4py and dask are never imported at start-up.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from audit import __version__
from audit.errors import ExitCode, InputError

F = TypeVar("F", bound=Callable[..., Any])


def reports_input_errors(func: F) -> F:
    """Turn InputError into one line on stderr and exit code 2 (never a traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            sys.exit(ExitCode.INPUT_ERROR)

    return wrapper  # type: ignore[return-value]


class Settings:
    """Shared state of one invocation (the click context object)."""

    def __init__(self, quiet: bool, verbose: bool) -> None:
        self.quiet = quiet
        self.verbose = verbose

    def say(self, message: str) -> None:
        if not self.quiet:
            click.echo(message)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="refund-audit")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Audit refund processes against their SOP: import logs, check controls, report.

    \b
    Example:
      refund-audit demo --out out/demo
    """
    ctx.obj = Settings(quiet=quiet, verbose=verbose)


@main.command()
@click.option("--channel", type=click.Choice(["ecommerce", "subscription", "offline", "all"]),
              default="all", show_default=True, help="Refund channel to generate.")
@click.option("--cases", type=click.IntRange(min=1), default=300, show_default=True,
              help="Number of refund cases (all channels together).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--violation-rate", type=click.FloatRange(0.0, 1.0), default=0.25,
              show_default=True, help="Share of cases with one injected violation.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write canonical.csv, ground_truth.csv and sample.json into.")
@click.pass_obj
@reports_input_errors
def sample(settings: Settings, channel: str, cases: int, seed: int, violation_rate: float,
           out: Path) -> None:
    """Generate a realistic refund log with injected violations and their ground truth.

    The same options always give the same bytes.

    \b
    Example:
      refund-audit sample --channel all --cases 2000 --seed 7 --violation-rate 0.2 --out X
    """
    from audit.sample import SampleSpec, write_sample

    paths = write_sample(SampleSpec(channel, cases, seed, violation_rate), out)
    for kind, path in paths.items():
        settings.say(f"{kind}: {path}")


@main.command("import")
@click.argument("sources", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "xes", "parquet", "ocel"]),
              help="Input format (default: from the file name).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML column mapping (see docs/import.md).")
@click.option("--assume-tz", help="IANA time zone of timestamps written without an offset.")
@click.option("--encoding", help="Text encoding of CSV files (default: detected).")
@click.option("--object-type", help="OCEL 2.0: the object type whose objects become cases.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Canonical log to write (Parquet); quarantine.csv is written beside it.")
@click.pass_obj
@reports_input_errors
def import_(settings: Settings, sources: tuple[Path, ...], fmt: str | None,
            mapping: Path | None, assume_tz: str | None, encoding: str | None,
            object_type: str | None, out: Path) -> None:
    """Import event logs (CSV, XES, Parquet, OCEL 2.0) into the canonical log.

    Every input row ends in the log or in quarantine.csv (file, row, field, value, reason);
    the summary shows read = imported + quarantined per file.

    \b
    Example:
      refund-audit import tickets.csv --mapping map.yaml --assume-tz Europe/Berlin \\
          --out work/log.parquet
    """
    from audit.ingest import import_sources
    from audit.ingest.mapping import Mapping, check_time_zone, load_mapping
    from audit.store import write_import

    if assume_tz is not None:
        check_time_zone(assume_tz)
    result = import_sources(
        [(path, fmt) for path in sources],
        mapping=load_mapping(mapping) if mapping else Mapping(),
        assume_tz=assume_tz, encoding=encoding, object_type=object_type)
    written = write_import(result, out)
    for line in result.summary_lines():
        settings.say(line)
    for kind, path in written.items():
        settings.say(f"{kind}: {path}")


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

    for line in run_demo(out):
        settings.say(line)


def _not_built(name: str, issue: int, summary: str, example: str) -> click.Command:
    @click.command(name, context_settings={"ignore_unknown_options": True,
                                           "allow_extra_args": True},
                   help=f"{summary} (not built yet).\n\n\b\nExample:\n  {example}")
    def command() -> None:
        click.echo(f"error: '{name}' is not built yet (tracked in issue #{issue}); "
                   "nothing was done", err=True)
        sys.exit(ExitCode.INPUT_ERROR)

    return command


for _name, _issue, _summary, _example in (
    ("discover", 4, "Discover the as-is process model (inductive, heuristics, DFG)",
     "refund-audit discover log.parquet --miner inductive --out out/model"),
    ("check", 5, "Check a log against the SOP and the policy's rule catalogue",
     "refund-audit check log.parquet --policy policy.yaml --out out/audit"),
    ("compare", 4, "Compare as-is and to-be (each a BPMN model or an event log)",
     "refund-audit compare log.parquet models/ecommerce.bpmn --out out/diff"),
    ("rules", 5, "List the rule catalogue", "refund-audit rules --format markdown"),
    ("explain", 5, "Explain one rule by code or name", "refund-audit explain self-approval"),
    ("policy", 5, "Write or check a policy file", "refund-audit policy init policy.yaml"),
    ("model", 4, "Inspect a BPMN model", "refund-audit model inspect models/ecommerce.bpmn"),
):
    main.add_command(_not_built(_name, _issue, _summary, _example))


if __name__ == "__main__":  # pragma: no cover
    main()
