"""Benchmarks of refund-audit against pm4py's nearest functions, on the same data, same run.

Run on demand (`make bench`, never in the unit tests). Each measurement runs in its own
process so that peak memory (max RSS) belongs to one implementation and one case; each is
repeated and the median kept. Results go to bench/results/ with the machine and versions.

    python bench/bench.py [--quick] [--cases 10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data" / "pm4py-tests"
WORK = REPO / "out" / "bench"


# --- the measured functions: each returns a small result to sanity-check ---------------------

PART = 100_000
"""Cases per generated part: larger logs are generated in parts of this size (each with its
own seed and first case number, so no id is shared), two at a time; the parts' exports are
imported together, as a system exported in pages would be."""
ID_COLUMNS = ("event:id", "case:concept:name", "ticket:id", "order:id", "payment:charge_id",
              "payment:refund_id", "evidence:order")


def _generated(cases: int) -> Path:
    """The canonical log (parquet) of the generated log of `cases` cases; its raw exports
    are in the same folder's exports/."""
    from audit.sample import SampleSpec, write_sample

    folder = WORK / f"gen-{cases}"
    if cases <= PART:
        if not (folder / "exports").exists():
            write_sample(SampleSpec("all", cases, 7, 0.2), folder)
        canonicals = [folder / "canonical.csv"]
    else:
        if cases % PART:
            raise SystemExit(f"sizes above {PART:,} must be multiples of it")
        specs = [SampleSpec("all", PART, 7 + i, 0.2, first_case=i * PART + 1)
                 for i in range(cases // PART)]
        parts = [folder / f"part-{i:02d}" for i in range(len(specs))]
        missing = [(spec, part) for spec, part in zip(specs, parts, strict=True)
                   if not (part / "sample.json").exists()]
        if missing:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(2) as pool:
                list(pool.map(write_sample, *zip(*missing, strict=True)))
        exports = folder / "exports"
        exports.mkdir(exist_ok=True)
        for part in parts:
            for path in sorted((part / "exports").iterdir()):
                linked = exports / f"{part.name}-{path.name}"
                if not linked.exists():
                    os.link(path, linked)
        canonicals = [part / "canonical.csv" for part in parts]
    parquet = folder / "canonical.parquet"
    if not parquet.exists():
        import pandas as pd

        from audit import canonical as C
        from audit.ingest import import_sources

        logs = [import_sources([(path, None)]).log for path in canonicals]
        # In the order one import of all the parts gives (each part's log is in it already).
        log = C.sorted_frame([pd.concat(logs, ignore_index=True)],
                             [C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW])
        log.to_parquet(parquet)
    return parquet


def _load(cases: int, *, coded: bool = False) -> Any:
    """The generated log with each column in one Arrow chunk (the import's sort gathers
    every column into one; a parquet file read as it is gives one chunk per row group, on
    which every take pays a copy of the column). `coded`: labels, people, roles, systems
    and files as categories (audit.canonical.compact), and the repeated ids too
    (compact_ids), as `check` hands the log to the rules; else as text, which pm4py
    requires."""
    import pyarrow.parquet as pq

    from audit import canonical as C

    log = pq.read_table(_generated(cases)).combine_chunks().to_pandas()
    log = C.plain(log)  # the file may hold categories: text unless asked for
    if coded:
        C.compact(log)
        C.compact_ids(log)
    return log


def _policy() -> Any:
    from audit.policy import default_policy_path, load_policy

    return load_policy(default_policy_path())


def ours_import_xes(arg: str) -> object:
    from audit.ingest import import_sources

    return len(import_sources([(SHARED / arg, None)]).log)


def pm4py_import_xes(arg: str) -> object:
    import pm4py

    # pm4py picks r4pm's Rust reader when r4pm and polars are installed; we install r4pm
    # (alignments) without polars, so name pm4py's own default Python parser.
    return len(pm4py.read_xes(str(SHARED / arg), variant="iterparse"))


def ours_import_csv(arg: str) -> object:
    from audit.ingest import import_sources

    _generated(int(arg))
    return len(import_sources([(WORK / f"gen-{arg}" / "canonical.csv", None)]).log)


def pm4py_import_csv(arg: str) -> object:
    import pandas as pd
    import pm4py

    _generated(int(arg))
    frame = pd.read_csv(WORK / f"gen-{arg}" / "canonical.csv")
    frame["time:timestamp"] = pd.to_datetime(frame["time:timestamp"], utc=True, format="ISO8601")
    return len(pm4py.format_dataframe(frame, case_id="case:concept:name",
                                      activity_key="concept:name",
                                      timestamp_key="time:timestamp"))


def ours_import_parquet(arg: str) -> object:
    """A canonical log stored as Parquet (a month audited before), imported again."""
    from audit.ingest import import_sources

    return len(import_sources([(_generated(int(arg)), None)]).log)


def pm4py_import_parquet(arg: str) -> object:
    import pandas as pd
    import pm4py

    frame = pd.read_parquet(_generated(int(arg)))
    return len(pm4py.format_dataframe(frame, case_id="case:concept:name",
                                      activity_key="concept:name",
                                      timestamp_key="time:timestamp"))


def ours_all_rules(arg: str) -> object:
    from audit.rules import default_rules
    from audit.rules.engine import run_rules

    log = _load(int(arg), coded=True)
    policy = _policy()
    start = time.perf_counter()
    found = len(run_rules(log, policy, default_rules(), as_of=policy.as_of).findings)
    return found, time.perf_counter() - start


def ours_dfg(arg: str) -> object:
    log = _load(int(arg))
    start = time.perf_counter()
    ordered = log.sort_values(["case:concept:name", "time:timestamp", "event:id"])
    same_case = ordered["case:concept:name"].eq(ordered["case:concept:name"].shift(-1))
    pairs = (ordered["concept:name"].where(same_case)
             + "\x00" + ordered["concept:name"].shift(-1).where(same_case))
    edges = pairs.dropna().value_counts()
    return len(edges), time.perf_counter() - start


def pm4py_dfg(arg: str) -> object:
    import pm4py

    log = _load(int(arg))
    start = time.perf_counter()
    dfg, _, _ = pm4py.discover_dfg(log)
    return len(dfg), time.perf_counter() - start


def _bpmn_corpus() -> list[Path]:
    """Every BPMN file of the shared data (the BPMN MIWG reference and bpmn.io suites, the
    Camunda invoice models, pm4py's test models): the files the tests judge one by one."""
    files = sorted((SHARED.parent).rglob("*.bpmn"))
    if not files:
        raise SystemExit(f"no .bpmn files under {SHARED.parent}")
    return files


def ours_convert_bpmn_corpus(arg: str) -> object:
    """Our reading, conversion to a workflow net and soundness check (what `check` does with
    a SOP) of every shared BPMN file; the result counts the sound, the otherwise judged and
    the refused files."""
    from conformance.petri import bpmn_to_workflow_net

    verdicts: Counter[str] = Counter()
    for path in _bpmn_corpus():
        conversion = bpmn_to_workflow_net(path)
        verdicts["refused" if conversion.net is None else
                 conversion.soundness.verdict if conversion.soundness else "unchecked"] += 1
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(verdicts.items()))


def pm4py_convert_bpmn_corpus(arg: str) -> object:
    """pm4py's BPMN reader and its conversion to a Petri net (no soundness check) of the same
    files; the result counts the files converted and those either step raised on."""
    import pm4py

    verdicts: Counter[str] = Counter()
    for path in _bpmn_corpus():
        try:
            pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
        except Exception as error:  # pm4py's errors are counted, not raised
            verdicts[f"failed ({type(error).__name__})"] += 1
        else:
            verdicts["converted"] += 1
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(verdicts.items()))


def cpu_use() -> dict[str, float]:
    """CPU seconds (user, system) and minor page faults so far of this process and of the
    processes it started and waited for (the reading workers, the forked rules and
    writers), from `getrusage`."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    started = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"user_s": own.ru_utime + started.ru_utime,
            "system_s": own.ru_stime + started.ru_stime,
            "minor_faults": float(own.ru_minflt + started.ru_minflt)}


def cpu_since(before: dict[str, float]) -> dict[str, float]:
    """`cpu_use()` less `before` (an earlier `cpu_use()`)."""
    return {key: value - before[key] for key, value in cpu_use().items()}


def cpu_text(used: dict[str, float]) -> str:
    """`cpu_since`'s figures in words (no "<name> <seconds>s" pair, which history.py reads
    as a stage)."""
    return (f"CPU {used['user_s']:.1f} s user + {used['system_s']:.1f} s system, "
            f"{used['minor_faults'] / 1e6:.2f}M page faults")


def full_audit(exports: list[Path], out: Path
               ) -> tuple[Any, dict[str, float], float, dict[str, float]]:
    """The whole audit of `exports` into `out`, as `check` runs it: import + correlate,
    rules + conformance, then the reports; the run, each stage's seconds, the seconds of
    the whole and the CPU it used (`cpu_since`, every process of the audit). The reports
    overlap where `write_reports` writes the XLSX in a forked process, so the whole is
    timed, not summed from the stages. The audit code is imported here, from wherever
    `audit` resolves (bench/ab.py points it at a worktree, whose commit may predate
    `write_reports`: its writers then run one after another)."""
    from audit import memory
    from audit.checkrun import run_check_log
    from audit.policy import default_policy_path
    from audit.sources.pipeline import import_and_correlate
    from reports import writers

    # As the CLI does before any command (a commit older than prepare_process: huge pages
    # only, or nothing at all).
    prepare = getattr(memory, "prepare_process", getattr(memory, "without_huge_pages", None))
    if prepare is not None:
        prepare()
    out.mkdir(parents=True, exist_ok=True)
    stages: dict[str, float] = {}
    used = cpu_use()
    begin = start = time.perf_counter()
    imported = import_and_correlate([(path, None) for path in exports])
    stages["import+correlate"] = time.perf_counter() - start
    start = time.perf_counter()
    run = run_check_log(imported, exports, default_policy_path())
    stages["rules+conformance"] = time.perf_counter() - start
    if hasattr(writers, "write_reports"):
        writers.write_reports(run, out, seconds=stages)
    else:
        for name, writer in writers.WRITERS.items():
            start = time.perf_counter()
            writer(run, out)
            stages[name] = time.perf_counter() - start
    seconds = time.perf_counter() - begin
    return run, stages, seconds, cpu_since(used)


def ours_full_audit(arg: str) -> object:
    """The whole audit of a generated log from the source systems' raw exports
    (`full_audit`). The result names each stage's seconds (the XLSX writer's overlap the
    others' where it runs in a forked process); the time is the whole's (generation is not
    timed)."""
    _generated(int(arg))
    exports = sorted((WORK / f"gen-{arg}" / "exports").iterdir())
    run, stages, seconds, used = full_audit(exports, WORK / f"audit-{arg}")
    text = ", ".join(f"{k} {v:.1f}s" for k, v in stages.items())
    return f"{len(run.result.findings)} findings; {text}; {cpu_text(used)}", seconds


def _imported(cases: int) -> Path:
    """The canonical log that `refund-audit import` writes of a generated log's exports (all
    its parts), as last month's log is made: correlated, keeping what its records stated
    (the `stated:*` columns). Made once, in a process of its own (not counted in the
    memory of the run that reads it)."""
    folder = _generated(cases).parent
    path = folder / "imported.parquet"
    if not path.exists():
        exports = sorted((folder / "exports").iterdir())
        made = folder / "imported.tmp.parquet"
        subprocess.run([sys.executable, "-c", "from audit.cli import main; main()", "import",
                        *map(str, exports), "--out", str(made)], check=True,
                       stdout=subprocess.DEVNULL)
        made.replace(path)
    return path


def ours_audit_canonical(arg: str) -> object:
    """The whole audit (`full_audit`) of a generated log's canonical log (Parquet), as an
    auditor checks a log imported before. Above one part, the log that `import` wrote of
    the exports (`_imported`), beside the last part's exports, as a month's run checks last
    month's log with this month's exports (their records are in the log already: the log's
    events of exports are taken back as their records stated them, each export record is
    dropped as a repeat of its event, and all are correlated again)."""
    log = _generated(int(arg))
    inputs = [log]
    if int(arg) > PART:
        last = int(arg) // PART - 1
        inputs = [_imported(int(arg)), *sorted(
            (WORK / f"gen-{arg}" / "exports").glob(f"part-{last:02d}-*"))]
    run, stages, seconds, used = full_audit(inputs, WORK / f"audit-log-{arg}")
    text = ", ".join(f"{k} {v:.1f}s" for k, v in stages.items())
    return f"{len(run.result.findings)} findings; {text}; {cpu_text(used)}", seconds


# --- BPI Challenge 2012: discovery and alignments against an inductive model ------------------

BPIC = "bpic2012.xes.gz"


def _bpic_log() -> Any:
    """BPIC2012 as imported, its columns as text: the import codes labels as categories,
    which pm4py's miners refuse ("the activity column should be of type string"; the
    BPIC2012 cases failed so from the import's coding on), as `_load` gives pm4py text."""
    import pandas as pd

    from audit import canonical as C

    parquet = WORK / "bpic2012.parquet"
    if not parquet.exists():
        from audit.ingest import import_sources

        WORK.mkdir(parents=True, exist_ok=True)
        import_sources([(SHARED / BPIC, None)]).log.to_parquet(parquet)
    return C.plain(pd.read_parquet(parquet))


def _bpic_model(miner: str) -> tuple[Any, list[tuple[str, ...]]]:
    """pm4py's inductive miner on BPIC2012 ('im': noise 0, 'imf': noise 0.2), once, cached;
    and the log's variants, most frequent first (ties by the sequence)."""
    import pickle

    cached = WORK / f"bpic2012-{miner}.pkl"
    if not cached.exists():
        import pm4py

        log = _bpic_log()
        model = pm4py.discover_petri_net_inductive(
            log, noise_threshold=0.0 if miner == "im" else 0.2)
        ordered = log.sort_values(["case:concept:name", "time:timestamp", "event:id"])
        traces = ordered.groupby("case:concept:name", sort=False)["concept:name"].agg(list)
        counts = Counter(tuple(str(a) for a in t) for t in traces)
        variants = sorted(counts, key=lambda v: (-counts[v], v))
        cached.write_bytes(pickle.dumps((model, variants)))
    model, variants = pickle.loads(cached.read_bytes())
    return model, variants


def _bpic_sample(arg: str) -> tuple[Any, list[tuple[str, ...]]]:
    """arg 'MINER:N': every k-th variant (by frequency) so that N are taken; N='all' for all."""
    miner, count = arg.split(":")
    model, variants = _bpic_model(miner)
    if count != "all":
        step = max(1, len(variants) // int(count))
        variants = variants[::step][: int(count)]
    return model, variants


def _costs_text(costs: list[int | None]) -> str:
    """Sum, bounded count and a digest of the per-variant costs in variant order: equal
    digests mean equal costs variant by variant."""
    import hashlib

    digest = hashlib.sha256(repr(costs).encode()).hexdigest()[:10]
    total = sum(c for c in costs if c is not None)
    return f"cost {total}, bounded {sum(c is None for c in costs)}, costs #{digest}"


def ours_discover_bpic2012(arg: str) -> object:
    from conformance.discovery import discover

    log = _bpic_log()
    start = time.perf_counter()
    found = discover(log, "inductive", 0.0)
    return type(found).__name__, time.perf_counter() - start


def pm4py_discover_bpic2012(arg: str) -> object:
    import pm4py

    log = _bpic_log()
    start = time.perf_counter()
    net, _, _ = pm4py.discover_petri_net_inductive(log)
    return len(net.transitions), time.perf_counter() - start


def ours_align_bpic2012(arg: str) -> object:
    """Our Aligner (r4pm engine, a process per core) on the sampled variants; the result is
    (sum of costs, variants that hit the search bound)."""
    from conformance.align import Aligner
    from conformance.petri import from_pm4py

    model, variants = _bpic_sample(arg)
    net = from_pm4py(*model)
    start = time.perf_counter()
    found = Aligner(net, engine="r4pm").align(variants)
    elapsed = time.perf_counter() - start
    return _costs_text([found[v].cost for v in variants]), elapsed


def ours_align_bpic2012_search_only(arg: str) -> object:
    """The same without the exact replay: every variant searched by r4pm's A*."""
    from conformance.align import Aligner
    from conformance.petri import from_pm4py

    model, variants = _bpic_sample(arg)
    net = from_pm4py(*model)
    start = time.perf_counter()
    found = Aligner(net, engine="r4pm", replay_first=False).align(variants)
    elapsed = time.perf_counter() - start
    return _costs_text([found[v].cost for v in variants]), elapsed


def pm4py_align_bpic2012(arg: str) -> object:
    """pm4py's default alignments (A* on the state equation) of one trace per sampled variant."""
    import pandas as pd
    import pm4py

    model, variants = _bpic_sample(arg)
    rows = [{"case:concept:name": f"{i:06d}", "concept:name": a,
             "time:timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(minutes=j)}
            for i, v in enumerate(variants) for j, a in enumerate(v)]
    frame = pd.DataFrame(rows)
    start = time.perf_counter()
    aligned = pm4py.conformance_diagnostics_alignments(frame, *model)
    elapsed = time.perf_counter() - start
    return _costs_text([int(a["cost"]) // 10_000 for a in aligned]), elapsed


HEAVY = {"pm4py_align_bpic2012", "ours_align_bpic2012_search_only", "ours_full_audit",
         "ours_audit_canonical"}
"""Run once (no repeats): minutes each. They time only their work, so need no warm-up run."""

FUNCTIONS: dict[str, Callable[[str], object]] = {
    name: fn for name, fn in globals().items()
    if callable(fn) and name.startswith(("ours_", "pm4py_"))
}
try:  # imported from the repository as bench.bench
    from bench import rules_vs_pm4py
except ImportError:  # run as a script (or imported as `bench`): bench/ is first on the path
    import rules_vs_pm4py
FUNCTIONS.update(rules_vs_pm4py.FUNCTIONS)
SLOW_PEERS_UP_TO = {"pm4py_ap001_declare": 100_000}
"""pm4py functions skipped above a size (declare conformance: 43 s at 100k cases)."""


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc), as far as they can be read."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def tree_pss_kb(pid: int) -> int:
    """Summed proportional set size (kB) of a process and its descendants: the memory they
    hold together, pages they share counted once in all. 0 where /proc does not say, or
    where the tree's members changed while it was read (TREE_TRIES times).

    The members are read one after another (about 0.06 s each at 1M cases): a process
    forked in between had its parent counted before the fork, whole, and itself after,
    with half the pages they then share, counted twice (a sampler of this kind read 3.1 GB
    in a month's run whose tree held about 2.8 GB); one that exits in between is missed.
    So a sample counts only where the members are the same before and after it."""
    for _ in range(TREE_TRIES):
        members = _tree(pid)
        total = 0
        for member in members:
            try:
                with open(f"/proc/{member}/smaps_rollup") as handle:
                    for line in handle:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except (OSError, ValueError):
                continue
        if sorted(_tree(pid)) == sorted(members):
            return total
    return 0


TREE_TRIES = 3
"""Reads of the process tree's PSS before a sample is given up (its members changed)."""


TREE_SAMPLE_S = 0.1
"""How often the process tree's summed PSS is sampled (a spike shorter than this may be
missed; max RSS is exact, but per process). 0.2 s until the eleventh session, when a run
sampled at 0.1 s peaked at 2,724 MiB in the reports where the bench's 0.2 s read 2,627.

The sampling slows what it measures: each read of /proc/<pid>/smaps_rollup walks the page
tables of a process holding gigabytes (about 0.06 s a sample at 1M cases) and holds its
memory map's lock meanwhile, which the process's page faults and mappings wait for. The 1M
full audit took 62.4 and 63.9 s sampled against 54.1 and 55.3 s unsampled, alternately in
one session (2026-12-04). So the times are measured in runs that are not sampled, and the
tree's peak in a run of its own (`measure`)."""


def measure_in_child(function: str, arg: str, repeat: int, *,
                     sample_tree: bool = False) -> dict[str, Any]:
    """Run one function `repeat` times in a fresh interpreter; return medians and max RSS,
    and with `sample_tree` the peak of the summed PSS of its process tree (sampled every
    TREE_SAMPLE_S: worker processes included; the sampling slows the run, see there)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", function, arg, str(repeat)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss_kb(proc.pid))
            done.wait(TREE_SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_tree:
        sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    if sample_tree:
        sampler.join()
    if proc.returncode != 0:
        return {"error": stderr.strip().splitlines()[-1] if stderr else "failed"}
    result = dict(json.loads(stdout.strip().splitlines()[-1]))
    if sample_tree:
        result["tree_pss_peak_mb"] = round(peak[0] / 1024, 1) if peak[0] else None
    return result


def measure(function: str, arg: str, repeat: int) -> dict[str, Any]:
    """Our function's times (median of `repeat` runs) and max RSS from runs that are not
    sampled, then its process tree's peak PSS from one more run that is: `sampled_s` is
    that run's time, slower by the sampling (TREE_SAMPLE_S)."""
    timed = measure_in_child(function, arg, repeat)
    if "error" in timed:
        return timed
    sampled = measure_in_child(function, arg, 1, sample_tree=True)
    timed["tree_pss_peak_mb"] = sampled.get("tree_pss_peak_mb")
    timed["sampled_s"] = sampled.get("median_s")
    return timed


def child(function: str, arg: str, repeat: int) -> None:
    from audit.memory import prepare_process

    warnings.filterwarnings("ignore")
    # Every function, ours and pm4py's alike, in the process the CLI would give it.
    prepare_process()
    fn = FUNCTIONS[function]
    if function not in HEAVY:
        fn(arg)  # warm-up: imports, generated data, caches on disk
    seconds: list[float] = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(arg)
        elapsed = time.perf_counter() - start
        if isinstance(result, tuple):  # the function timed only the work, not the loading
            result, elapsed = result
        seconds.append(float(elapsed))
    # The largest of this process and its children (the aligner's worker processes).
    peak_mb = max(resource.getrusage(who).ru_maxrss
                  for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(json.dumps({"median_s": statistics.median(seconds), "runs_s": seconds,
                      "peak_rss_mb": round(peak_mb, 1), "result": str(result)}))


def code_version() -> str | None:
    """The commit of the code measured (the repository `audit` is imported from), with
    "+changes" when its tracked files differ from it; None outside a git checkout."""
    import subprocess

    import audit

    root = Path(audit.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                 cwd=root, capture_output=True, text=True,
                                 check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if changed else "")


def speed_probe(rounds: int = 3) -> dict[str, float]:
    """Seconds (medians of `rounds`) of fixed pieces of work like the audit's, to compare the
    machine's speed between result files: the same code's 1M audit took 85-109 s on
    2026-12-03 and 52.7-56.5 s (once 66.3 s) on 2026-12-04 on machines that describe
    themselves alike (2-core "AMD EPYC" virtual machines), and nothing recorded said which
    part of the machine differed. `python`: a dict of a million short texts, sorted;
    `numpy`: a stable argsort of 5M integers; `arrow`: a sort of a million texts; `sha256`:
    64 MB hashed; `fresh_memory`: 256 MiB of new anonymous memory written a byte a page,
    four times (the page faults a large run pays stage after stage); `total`: their sum.
    Fixed inputs (seeded), so only the machine and the library versions change them."""
    import hashlib
    import mmap
    import random

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = random.Random(7)
    texts = [f"case-{rng.randrange(10**9)}" for _ in range(1_000_000)]
    integers = np.random.default_rng(7).integers(0, 10**12, 5_000_000)
    arrow_texts = pa.array(texts, type=pa.large_string())
    block = np.random.default_rng(8).bytes(64 << 20)

    def python() -> None:
        counts: dict[str, int] = {}
        for text in texts:
            counts[text] = counts.get(text, 0) + 1
        sorted(counts)

    def fresh_memory() -> None:
        for _ in range(4):
            with mmap.mmap(-1, 256 << 20) as memory:
                np.frombuffer(memory, dtype=np.uint8)[::mmap.PAGESIZE] = 1

    work: dict[str, Callable[[], object]] = {
        "python": python, "numpy": lambda: np.argsort(integers, kind="stable"),
        "arrow": lambda: pc.sort_indices(arrow_texts),
        "sha256": lambda: hashlib.sha256(block).hexdigest(), "fresh_memory": fresh_memory}
    parts: dict[str, float] = {}
    for name, step in work.items():
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        parts[name] = round(statistics.median(times), 3)
    parts["total"] = round(sum(parts.values()), 3)
    return parts


def probe_text(machine: dict[str, Any]) -> str:
    """The machine's speed probe as text ("–" where the file predates it)."""
    probe = machine.get("probe")
    if not probe:
        return "–"
    return ", ".join(f"{name} {seconds:.3f}" for name, seconds in probe.items())


def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution`, None where it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    import msgspec
    import numpy
    import pandas
    import pyarrow

    from audit import __version__

    # From the installed distributions' metadata: importing pm4py here would put its
    # import (about 1 s, 100 MB) and its licence banner in the bench's own process.
    pm4py_version, r4pm_version = installed_version("pm4py"), installed_version("r4pm")

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "host": platform.node(),
            "platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gb": round(int(memory) / 1024 / 1024, 1),
            "python": platform.python_version(), "pandas": pandas.__version__,
            "numpy": numpy.__version__, "pyarrow": pyarrow.__version__,
            "msgspec": msgspec.__version__, "pm4py": pm4py_version, "r4pm": r4pm_version,
            # (findings.xlsx is deflated by ISA-L where installed, by zlib where not)
            "isal": installed_version("isal"),
            "refund_audit": __version__, "code": code_version(),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "probe": speed_probe()}


def plan(sizes: list[int]) -> list[tuple[str, str, str | None, str]]:
    """(case name, argument, pm4py function or None, ours function)."""
    rows: list[tuple[str, str, str | None, str]] = [
        ("import XES running-example", "running-example.xes", "pm4py_import_xes",
         "ours_import_xes"),
        ("import XES receipt", "08_receipt.xes.gz", "pm4py_import_xes", "ours_import_xes"),
        ("import XES bpic2012", "bpic2012.xes.gz", "pm4py_import_xes", "ours_import_xes"),
        ("discover inductive bpic2012", "-", "pm4py_discover_bpic2012",
         "ours_discover_bpic2012"),
        ("convert the shared BPMN corpus to workflow nets (ours with its soundness check)",
         "-", "pm4py_convert_bpmn_corpus", "ours_convert_bpmn_corpus"),
        ("align bpic2012 on IM (noise 0), 40 sampled variants", "im:40",
         "pm4py_align_bpic2012", "ours_align_bpic2012"),
        ("align bpic2012 on IMf (noise 0.2), 40 sampled variants", "imf:40",
         "pm4py_align_bpic2012", "ours_align_bpic2012"),
        ("align bpic2012 on IMf (noise 0.2), all variants", "imf:all", None,
         "ours_align_bpic2012"),
        ("align bpic2012 on IM (noise 0), all variants", "im:all", None,
         "ours_align_bpic2012"),
        ("align bpic2012 on IMf (noise 0.2), all variants, A* only (no replay)", "imf:all",
         None, "ours_align_bpic2012_search_only"),
    ]
    for n in sizes:
        if n <= PART:  # one canonical.csv per generated part
            rows += [(f"import CSV generated {n} cases", str(n), "pm4py_import_csv",
                      "ours_import_csv")]
        rows += [(f"full audit from raw exports {n} cases", str(n), None, "ours_full_audit")]
        rows += [(f"import Parquet canonical log {n} cases", str(n), "pm4py_import_parquet",
                  "ours_import_parquet")]
        beside = " beside the last part's exports" if n > PART else ""
        rows += [(f"full audit of the canonical log{beside} {n} cases", str(n), None,
                  "ours_audit_canonical")]
        rows += [
            (f"DFG {n} cases", str(n), "pm4py_dfg", "ours_dfg"),
            (f"all rules {n} cases", str(n), None, "ours_all_rules"),
        ]
        rows += [row for row in rules_vs_pm4py.plan([n])
                 if n <= SLOW_PEERS_UP_TO.get(row[2] or "", n)]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=3, metavar=("FUNCTION", "ARG", "REPEAT"))
    parser.add_argument("--cases", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 cases, one repeat")
    parser.add_argument("--only", help="comma-separated words: run the cases whose name has one")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    sizes = [1000] if args.quick else [int(n) for n in args.cases.split(",")]
    repeat = 1 if args.quick else args.repeat
    rows: list[dict[str, Any]] = []
    report = {"machine": machine(), "repeat": repeat, "results": rows}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    rows_planned = plan(sizes)
    if args.only:
        rows_planned = [r for r in rows_planned if any(w in r[0] for w in args.only.split(","))]
    for name, arg, peer, ours in rows_planned:
        print(f"{name} ...", file=sys.stderr, flush=True)
        mine = measure(ours, arg, 1 if ours in HEAVY else repeat)
        theirs = measure_in_child(peer, arg, 1 if peer in HEAVY else repeat) if peer else None
        ratio = (round(theirs["median_s"] / mine["median_s"], 2)
                 if theirs and "median_s" in theirs and "median_s" in mine
                 and mine["median_s"] > 0 else None)
        rows.append({"case": name, "ours": mine, "pm4py": theirs, "speedup_vs_pm4py": ratio})
        # Written after every case, so a run stopped part-way keeps what it measured.
        (out / f"{stamp}.json").write_text(json.dumps(report, indent=2) + "\n",
                                           encoding="utf-8")
        (out / f"{stamp}.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


def growth(report: dict[str, Any]) -> list[str]:
    """Linear growth check: for each case measured at several sizes, seconds per 1,000 cases
    at each size (flat = linear; rising = worse than linear)."""
    import re

    series: dict[str, list[tuple[int, float]]] = {}
    for row in report["results"]:
        found = re.search(r" (\d+) cases", row["case"])
        ours = row["ours"]
        if found and ours and "median_s" in ours:
            name = row["case"].replace(found.group(0), " N cases")
            series.setdefault(name, []).append((int(found.group(1)), ours["median_s"]))
    lines = []
    for name, points in series.items():
        if len(points) > 1:
            per = ", ".join(f"{n:,}: {1000 * t / n:.4f}" for n, t in sorted(points))
            lines.append(f"| {name} | {per} |")
    if not lines:
        return []
    return ["", "Growth (ours): seconds per 1,000 cases at each size; flat means linear.", "",
            "| case | N: s per 1,000 cases |", "|---|---|", *lines]


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"# Benchmark {m['date']}", "",
             f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['platform']}; Python "
             f"{m['python']}, pandas {m['pandas']}, numpy {m['numpy']}, pm4py {m['pm4py']}, "
             f"refund-audit {m['refund_audit']} (code {m.get('code') or 'unknown'}), "
             f"r4pm {m.get('r4pm')}, pyarrow {m.get('pyarrow')}, msgspec {m.get('msgspec')}, "
             f"isal {m.get('isal')}. Median of "
             f"{report['repeat']} run(s) after a warm-up (alignments of all variants, pm4py's "
             "alignments and the full audit: one run, no warm-up), each implementation in its "
             "own process; peak = max RSS of that process or of its largest child; tree "
             "PSS = the peak of the summed proportional set size of the process and all its "
             f"children (worker processes included), sampled every {TREE_SAMPLE_S} s in one "
             "more run of ours, not in the timed ones: the sampling slows the process it "
             "reads (that run's seconds: \"ours sampled (s)\"). Load average at the start: "
             f"{m.get('load')}. Speed probe (`speed_probe`, seconds, lower is faster): "
             f"{probe_text(m)}.",
             "", "| case | ours (s) | pm4py (s) | pm4py / ours | ours peak MB | "
             "ours tree PSS MB | ours sampled (s) | pm4py peak MB | result ours / pm4py |",
             "|---|---|---|---|---|---|---|---|---|"]

    def cell(d: dict[str, Any] | None, key: str) -> str:
        if d is None:
            return "–"
        if "error" in d:
            return f"error: {d['error'][:60]}"
        value = d.get(key)
        if value is None:
            return "–"
        return (f"{value:.3f}" if isinstance(value, float) and key in ("median_s", "sampled_s")
                else str(value))

    for row in report["results"]:
        lines.append(
            f"| {row['case']} | {cell(row['ours'], 'median_s')} | "
            f"{cell(row['pm4py'], 'median_s')} | {row['speedup_vs_pm4py'] or '–'} | "
            f"{cell(row['ours'], 'peak_rss_mb')} | {cell(row['ours'], 'tree_pss_peak_mb')} | "
            f"{cell(row['ours'], 'sampled_s')} | {cell(row['pm4py'], 'peak_rss_mb')} | "
            f"{cell(row['ours'], 'result')} / {cell(row['pm4py'], 'result')} |")
    lines += growth(report)
    lines += ["", "Where a rule and its pm4py peer count different things, the case name says "
              "so; bench/README.md has the details. Logs above 100,000 cases are generated "
              "in 100k-case parts (own seed, ids numbered apart) and imported together."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
