"""A/B: the full audit of one generated log by two commits, run alternately in one session.

    python bench/ab.py OLD NEW [--cases 100000] [--rounds 2]

This machine's speed moves by a third within an hour, so two bench files an hour apart
cannot say whether a change made the audit faster. Here each commit is checked out into a
temporary git worktree and audits the same raw exports (generated as bench/bench.py does)
in its own process, OLD NEW, NEW OLD, OLD NEW, ...: the stages' seconds (import+correlate,
rules+conformance, each writer), max RSS, and whether the two commits' findings.csv are the
same (the worktree's path, which the SOP evidence names, read as one). The result goes to
bench/results/ab-<UTC time>.json and .md with the machine, both commits and every round.
Never part of `make test`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def child(exports: str, out: str, root: str) -> None:
    """Run with the worktree first on the path: one full audit, its stages as JSON."""
    import resource

    import audit

    if not Path(audit.__file__).resolve().is_relative_to(Path(root).resolve()):
        raise SystemExit(f"audit imported from {audit.__file__}, not from {root}")
    sys.path.insert(0, str(HERE))
    from bench import full_audit  # this checkout's bench.py, the worktree's audit code

    files = sorted(p for p in Path(exports).iterdir() if p.is_file())
    run, stages, seconds, used = full_audit(files, Path(out))
    text = (Path(out) / "findings.csv").read_bytes().replace(
        str(Path(root).resolve()).encode(), b"<root>")
    print(json.dumps({"stages": stages, "seconds": seconds, "cpu": used,
                      "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "huge_pages": _huge_pages(),
                      "findings": len(run.result.findings),
                      "findings_csv_sha256": hashlib.sha256(text).hexdigest()}))


def _huge_pages() -> str | None:
    """Whether this process ran with transparent huge pages ("on", "off"), as the kernel
    says (/proc/self/status, Linux 5.0+): a commit from before b50caf8 leaves them on, a
    later one turns them off as its CLI does. None where the kernel does not say."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("THP_enabled:"):
                return "on" if line.split(":")[1].strip() == "1" else "off"
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def _measure(worktree: Path, exports: Path, out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(worktree)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                           str(exports), str(out), str(worktree)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{worktree.name}: the audit failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def summarise(report: dict[str, Any]) -> None:
    """Add each commit's median per stage (and of the totals, and of the CPU seconds where
    every run recorded them) and whether every run's findings.csv was the same."""
    runs, stages = report["runs"], list(report["runs"][0]["stages"])
    report["same_findings"] = len({run["findings_csv_sha256"] for run in runs}) == 1
    with_cpu = all("cpu" in run for run in runs)  # (result files before the CPU was kept)

    def median(commit: str, value: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(value(r) for r in runs if r["commit"] == commit)

    report["median"] = {
        commit: {**{stage: median(commit, lambda r, s=stage: r["stages"][s])
                    for stage in stages},
                 "total": median(commit, lambda r: r["seconds"]),
                 **({"CPU (user + system)": median(
                     commit, lambda r: r["cpu"]["user_s"] + r["cpu"]["system_s"]),
                     "CPU system": median(commit, lambda r: r["cpu"]["system_s"])}
                    if with_cpu else {})}
        for commit in report["commits"]}


def markdown(report: dict[str, Any]) -> str:
    m, names = report["machine"], list(report["commits"])
    probe = ", ".join(f"{name} {seconds:.3f}" for name, seconds in (m.get("probe") or {}).items())
    lines = [f"# A/B {names[0]} -> {names[1]} ({report['cases']:,} cases), {m['date']}", "",
             f"{m['cpu']}, {m['cores']} cores; {m['platform']}; Python {m['python']}. "
             f"{report['rounds']} round(s), the two commits in turn (OLD NEW, NEW OLD, ...), "
             "each audit in its "
             f"own process{_warmup_text(report)}. Load average at the start: {m['load']}; "
             "speed probe (s, "
             f"bench.speed_probe): {probe or '–'}. Findings (findings.csv) "
             f"the same: {'yes' if report['same_findings'] else '**no**'}.", "",
             "| stage | " + " | ".join(f"{n} median (s)" for n in names) + " | new / old |",
             "|---|---|---|---|"]
    for stage in report["median"][names[0]]:
        old, new = (report["median"][n][stage] for n in names)
        ratio = f"{new / old:.2f}" if old else "–"
        lines.append(f"| {stage} | {old:.2f} | {new:.2f} | {ratio} |")
    lines += ["", "| round | commit | seconds | max RSS (MiB) | huge pages | CPU user / system "
              "(s), page faults | stages |", "|---|---|---|---|---|---|---|"]
    for run in report["runs"]:
        stages = ", ".join(f"{s} {v:.1f}" for s, v in run["stages"].items())
        cpu = run.get("cpu")
        used = (f"{cpu['user_s']:.1f} / {cpu['system_s']:.1f}, "
                f"{cpu['minor_faults'] / 1e6:.2f}M" if cpu else "–")
        lines.append(f"| {run['round']} | {run['commit']} | {run['seconds']:.1f} | "
                     f"{run['max_rss_mib']:,.0f} | {run.get('huge_pages') or '–'} | {used} | "
                     f"{stages} |")
    return "\n".join(lines) + "\n"


def _warmup_text(report: dict[str, Any]) -> str:
    """", after N untimed warm-up audit(s) of OLD (X s)" where the A/B ran any (result
    files from before the warm-up: none)."""
    warm = report.get("warmup") or []
    if not warm:
        return ""
    seconds = ", ".join(f"{w['seconds']:.1f}" for w in warm)
    return (f", after {len(warm)} warm-up audit{'s' if len(warm) > 1 else ''} of "
            f"{warm[0]['commit']}, not counted ({seconds} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1, metavar="N",
                        help="untimed audits (OLD's) before the rounds (default 1): the first "
                             "audit of a session reads the exports from disk and was the "
                             "slowest run in four of five A/Bs of 2026-12-06")
    parser.add_argument("--child", nargs=3, metavar=("EXPORTS", "OUT", "ROOT"),
                        help=argparse.SUPPRESS)
    if "--child" in sys.argv:
        at = sys.argv.index("--child")
        child(*sys.argv[at + 1:at + 4])
        return 0
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import bench  # the generator and the machine's description, from this checkout

    exports = bench._generated(args.cases).parent / "exports"
    commits = {_git("rev-parse", "--short", ref): ref for ref in (args.old, args.new)}
    if len(commits) != 2:
        raise SystemExit("OLD and NEW are the same commit")
    report: dict[str, Any] = {"machine": bench.machine(), "cases": args.cases,
                              "rounds": args.rounds, "commits": commits, "runs": [],
                              "warmup": []}
    with tempfile.TemporaryDirectory(prefix="refund-audit-ab-") as tmp:
        trees = {}
        for commit in commits:
            trees[commit] = Path(tmp) / commit
            _git("worktree", "add", "--detach", str(trees[commit]), commit)
        try:
            # Each tree's modules compiled before any run is timed (else the first timed run
            # of a commit the warm-up did not run would compile its own), quietly.
            for tree in trees.values():
                subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)],
                               capture_output=True, check=False)
            # Not counted: each warm-up's seconds are kept apart, in the report's "warmup".
            for k in range(args.warmup):
                commit = next(iter(trees))
                print(f"warm-up {k + 1}: {commit} ...", flush=True)
                run = _measure(trees[commit], exports, Path(tmp) / f"out-{commit}")
                report["warmup"].append({"commit": commit, "seconds": run["seconds"]})
            for k in range(args.rounds):
                # OLD NEW, NEW OLD, ...: a drift of the machine's speed within the session
                # (and the first run's cold caches) falls on both commits alike.
                for commit in list(trees)[:: -1 if k % 2 else 1]:
                    print(f"round {k + 1}: {commit} ...", flush=True)
                    run = _measure(trees[commit], exports, Path(tmp) / f"out-{commit}")
                    report["runs"].append({"round": k + 1, "commit": commit, **run})
        finally:
            for tree in trees.values():
                _git("worktree", "remove", "--force", str(tree))
    summarise(report)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"ab-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n",
                                              encoding="utf-8")
    text = markdown(report)
    (RESULTS / f"ab-{stamp}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if report["same_findings"] else 1


if __name__ == "__main__":
    sys.exit(main())
