"""The demo: the bundled sample's source-system exports through import, correlation and the
full audit, with embedded defaults."""

from __future__ import annotations

from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

from audit.checkrun import run_check_log
from audit.currency import shown
from audit.policy import default_policy_path
from audit.sources.pipeline import import_and_correlate
from audit.store import refuse_twin, write_import
from audit.words import counted
from reports.graphs import graph_files, written_lines
from reports.writers import write_reports

SAMPLE = "refund-sample"
"""Folder in sample_logs/ with the bundled generated sample (seed 42, 300 cases)."""


def run_demo(out: Path) -> tuple[list[str], list[str]]:
    """Audit the bundled sample's exports into `out`; return the lines to print, and an
    error line per rule that crashed (as `check` tells them, on stderr: the audit is not
    whole, and the command ends with exit code 2). The canonical log, its side files and
    the reports are written as `check` writes its reports (`audit.cli.write_staged`): into
    a staging folder inside `out`, then moved in together, so that a writer that fails or
    an interrupt leaves `out` as it was (before, the demo wrote into `out` itself: a demo
    that failed midway left its new files beside the earlier run's, and a file cut short).
    An earlier run's reports in `out` that the demo does not write (a check's
    quarantine.csv and correlation.csv, graphs of other SOPs) are removed and named, as
    `check` removes them: they would read as the demo's. The staging folders of runs that
    ended while writing are removed and named, as `check` does."""
    from audit.cli import (
        clear_stale_staging,
        clock_line,
        others_in,
        run_id_line,
        staging_told,
        write_staged,
    )

    log = out / "canonical.parquet"
    refuse_twin(log)  # (before the audit: the staging folder holds no twin to refuse)
    folder = files("sample_logs").joinpath(SAMPLE, "exports")
    with ExitStack() as stack:
        exports = sorted(
            (Path(stack.enter_context(as_file(item))) for item in folder.iterdir()
             if item.is_file() and not item.name.startswith(".")), key=lambda p: p.name)
        imported = import_and_correlate([(path, None) for path in exports])
        run = run_check_log(imported, exports, default_policy_path())
        out.mkdir(parents=True, exist_ok=True)
        # (an import's log, a sample's files there: left, and warned of, as `check` does)
        run.others_in_out = others_in(out, [log])
        stale, others = clear_stale_staging(out)

        def write(staging: Path) -> list[Path]:
            written = write_import(run.imported, staging / log.name)
            return [*written.values(), *write_reports(run, staging)]

        written, removed = write_staged(out, write)
    summary = run.summary()
    money = ", ".join(f"{shown(v, k)} {k}"
                      for k, v in summary["money_at_risk"].items()) or "none"
    lines = [
        f"refund-audit demo: bundled sample '{SAMPLE}' "
        f"({counted(summary['cases'], 'refund case')}, "
        "3 channels), read from its ticketing and payment exports, default policy",
        *(f"  {line}" for line in run.imported.summary_lines()),
        # (the clock that judged the sample, as check names it: the bundled policy's as_of)
        f"  {clock_line(run)}",
        f"  {run_id_line(run)}",
        f"  findings: {summary['findings']:,} in "
        f"{counted(summary['cases_with_findings'], 'case', spec=',')}; "
        f"money at risk: {money}",
        *([f"  (money at risk: {summary['money_at_risk_definition']})"]
          if summary["money_at_risk"] else []),
        *(f"    {code} {row['name']:<26} {row['findings']:>4,}"
          for code, row in summary["by_rule"].items() if row["findings"]),
        f"  output in {out}/:",
        *(f"    {line}" for line in written_lines(
            [Path(p.name) for p in written], graph_files(run), None)),
        *([f"  removed {len(removed)} report file(s) of an earlier run from {out}: "
           + ", ".join(p.name for p in removed)] if removed else []),
        *staging_told(out, stale, others),
        # (what check's console tells beside its findings, the folder's other files among
        # them: the manifest and the report hold them too)
        *(f"warning: {warning}" for warning in run.warnings()),
        *(f"note: {note}" for note in run.import_notes()),
    ]
    errors = [f"error: rule {error.rule} ({error.name}) crashed: {error.error}"
              for error in run.result.errors]
    return lines, errors
