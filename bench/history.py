"""The history of the 1M-case full audit: one row per result file in bench/results/.

`python bench/history.py` prints the table; `python bench/history.py docs/performance.md`
rewrites the table between the file's history markers (`make docs` does). A test checks that
the table in docs/performance.md is the one the result files give.

A result file names the commit it measured from 2026-12-02 on (`machine.code`); the commits
of the files before that are listed in MEASURED, from the notes of the sessions that made
them. The reports' seconds are the whole audit's less import and rules: from 5b52a64 on the
XLSX writer overlaps the others (a forked process), so the writers' seconds no longer add
up to the reports' time. "Timed while sampled": the run's time was taken while the bench
sampled the process tree's memory (2026-12-02 to 2026-12-04), which slowed it (about 15% at
1M cases when measured, see bench.TREE_SAMPLE_S). "Speed probe": the machine's total time for
fixed pieces of work (bench.speed_probe, from 2026-12-04): the same code's audit differs
between machines by more than most changes save.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CASE = "full audit from raw exports 1000000 cases"
START, END = "<!-- history:start -->", "<!-- history:end -->"

MEASURED = {
    "20261126T171942Z": "430a1df", "20261126T211716Z": "430a1df",
    "20261127T040112Z": "≤ c20fccd", "20261127T042805Z": "≤ c20fccd",
    "20261127T045452Z": "≤ c20fccd", "20261127T073611Z": "25b3ded",
    "20261127T082926Z": "dc24b4c", "20261127T091647Z": "e4e0e86",
    "20261127T100741Z": "738e533", "20261127T101513Z": "738e533",
    "20261127T101912Z": "d465d68", "20261127T103548Z": "35af9f5",
    "20261127T121223Z": "094903a", "20261127T121633Z": "f9fb0cc",
    "20261127T123416Z": "d8570f0", "20261127T124511Z": "52c4304",
    "20261127T125429Z": "f78754a", "20261201T220622Z": "89626e2",
    "20261201T223527Z": "2791497", "20261202T000841Z": "6a10994",
    "20261202T001254Z": "2cdf4eb", "20261202T001736Z": "6a10994",
    "20261202T003007Z": "fc009f4", "20261202T003716Z": "de03c05",
    "20261202T014005Z": "927377b", "20261202T020834Z": "9cafe91",
    "20261202T025211Z": "0c110f4", "20261202T030821Z": "3e9828c",
    "20261202T032426Z": "c87ab43", "20261202T032823Z": "3e9828c",
    "20261202T033040Z": "c87ab43", "20261202T041602Z": "b0eed64",
    "20261202T050223Z": "1cd0ce4",
}
"""Result file -> the commit it measured, for the files that do not record it."""

HEADER = ("| result file | code | seconds | timed while sampled | speed probe (s) | CPU (s) "
          "| max RSS (MiB) | tree PSS (MiB) | import+correlate (s) | rules+conformance (s) "
          "| reports (s) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")
CPU = re.compile(r"CPU ([\d.]+) s user \+ ([\d.]+) s system")
"""The CPU the bench's full audit records in its result (bench.cpu_text, from 2026-12-04's
twenty-first session on)."""


def rows(results: Path = RESULTS) -> list[str]:
    """One table row per result file holding a 1M full audit, oldest first."""
    out = []
    for path in sorted(results.glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        for result in report.get("results", []):  # (ab-*.json: A/B runs, no table)
            ours = result.get("ours")
            if result["case"] != CASE or not ours:
                continue
            stages = {k: float(v) for k, v in re.findall(r"([a-z+]+) ([\d.]+)s",
                                                         str(ours["result"]))}
            code = report["machine"].get("code") or MEASURED.get(path.stem, "?")
            pss = ours.get("tree_pss_peak_mb")
            reports = ours["median_s"] - stages["import+correlate"] - stages["rules+conformance"]
            # Until 2026-12-04 the tree's PSS was sampled in the timed run, which the
            # sampling slowed (bench.TREE_SAMPLE_S); since then in a run of its own.
            sampled = "yes" if pss is not None and "sampled_s" not in ours else "no"
            probe = (report["machine"].get("probe") or {}).get("total")
            cpu = CPU.search(str(ours["result"]))
            out.append(
                f"| `{path.stem}` | {code} | {ours['median_s']:.0f} | {sampled} | "
                f"{'–' if probe is None else f'{probe:.2f}'} | "
                f"{'–' if cpu is None else f'{float(cpu[1]) + float(cpu[2]):.0f}'} | "
                f"{ours['peak_rss_mb']:,.0f} | {'–' if pss is None else f'{pss:,.0f}'} | "
                f"{stages['import+correlate']:.0f} | {stages['rules+conformance']:.0f} | "
                f"{reports:.0f} |")
    return out


def table(results: Path = RESULTS) -> str:
    return "\n".join([HEADER, *rows(results)])


def rewrite(doc: Path, results: Path = RESULTS) -> bool:
    """Replace the table between the history markers of `doc`; True if it changed."""
    text = doc.read_text(encoding="utf-8")
    head, found, rest = text.partition(START)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise SystemExit(f"{doc}: no {START} ... {END} markers")
    new = f"{head}{START}\n{table(results)}\n{END}{tail}"
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text


def between_markers(doc: Path) -> str:
    """The table in `doc` as it stands."""
    text = doc.read_text(encoding="utf-8")
    return text.partition(START)[2].partition(END)[0].strip("\n")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        changed = rewrite(Path(sys.argv[1]))
        print(f"{sys.argv[1]}: {'rewritten' if changed else 'up to date'}")
    else:
        print(table())
