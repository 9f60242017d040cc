"""audit.memory: memory freed between stages goes back to the operating system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.memory import _malloc_trim, return_free_memory

STATM = Path("/proc/self/statm")


def resident_mb() -> float:
    return int(STATM.read_text().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not STATM.exists() or _malloc_trim() is None,
                    reason="needs Linux /proc and a C library with malloc_trim (glibc)")
def test_freed_heap_memory_is_returned() -> None:
    # 300 MB of 1 kB blocks (above Python's small-object allocator: from malloc's heap),
    # freed except the last, which pins the top of the heap: free() alone returns nothing.
    blocks = [bytes(1000) + str(k).encode() for k in range(300_000)]
    last = blocks[-1]
    held = resident_mb()
    del blocks
    kept = resident_mb()
    return_free_memory()
    after = resident_mb()
    assert kept > held - 100  # freed, but still resident
    assert after < kept - 200, (held, kept, after)
    assert last.endswith(b"299999")


_CALLER_LOCALS_FREED = '''
import gc, sys, weakref
import pandas as pd
from audit.policy import default_policy_path, load_policy
from conformance.deviations import check_conformance

assert "pm4py.algo.conformance.tokenreplay.algorithm" not in sys.modules
policy = load_policy(default_policy_path())
tasks = policy.sop_tasks()
label = next(iter(tasks))
gc.disable()  # as during a run: check_conformance and the rule engine pause the collector

def caller():
    # A rule's temporary: must be freed when the rule returns, not when the collector runs.
    frame = pd.DataFrame({"case:concept:name": ["c1", "c1"], "concept:name": [label, label],
                          "event:id": ["e1", "e2"], "refund:channel": ["ecommerce"] * 2})
    check_conformance(frame, tasks, policy.sop_path)  # imports pm4py for the precision
    return weakref.ref(frame)

ref = caller()
assert "pm4py.algo.conformance.tokenreplay.algorithm" in sys.modules
print("alive" if ref() is not None else "freed")
'''


def test_first_pm4py_import_does_not_keep_the_callers_frames() -> None:
    """pm4py's first import (inside the precision of check_conformance, collector paused)
    leaves reference cycles through tracebacks that hold every frame of the stack; at 1M cases
    that kept ~0.5 GB of the rules' temporaries. In a fresh process: a caller's local is freed
    as soon as the caller returns."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _CALLER_LOCALS_FREED], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "freed"


_HUGE_PAGES = '''
import ctypes, json, subprocess, sys
from audit.memory import huge_pages_off, without_huge_pages
# Huge pages back on (PR_SET_THP_DISABLE 0): this process may have inherited them off, as
# the CLI's tests turn them off in the test process.
zero = ctypes.c_ulong(0)
ctypes.CDLL(None).prctl(ctypes.c_int(41), zero, zero, zero, zero)
before = huge_pages_off()
now = without_huge_pages()
# A process started afterwards (fork and exec) has the setting too.
child = subprocess.run([sys.executable, "-c",
                        "from audit.memory import huge_pages_off; print(huge_pages_off())"],
                       capture_output=True, text=True, check=True).stdout.strip()
print(json.dumps({"before": before, "now": now, "after": huge_pages_off(),
                  "child": child == "True"}))
'''


def _huge_pages_run(keep: bool) -> dict[str, bool]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "REFUND_AUDIT_HUGE_PAGES"}
    if keep:
        env["REFUND_AUDIT_HUGE_PAGES"] = "keep"
    result: dict[str, bool] = _fresh_process_json(_HUGE_PAGES, env)
    return result


def _fresh_process_json(script: str, env: dict[str, str], *args: str) -> Any:
    """What `script`, run in a fresh Python process with `env`, prints last as JSON."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _prctl_thp_known() -> bool:
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    zero = ctypes.c_ulong(0)  # PR_GET_THP_DISABLE: -1 where the kernel has no such setting
    return int(ctypes.CDLL(None).prctl(ctypes.c_int(42), zero, zero, zero, zero)) >= 0


@pytest.mark.skipif(not _prctl_thp_known(), reason="needs Linux 3.15+ (PR_GET_THP_DISABLE)")
def test_huge_pages_are_turned_off_for_the_process_and_its_children() -> None:
    result = _huge_pages_run(keep=False)
    assert result == {"before": False, "now": True, "after": True, "child": True}


@pytest.mark.skipif(not _prctl_thp_known(), reason="needs Linux 3.15+ (PR_GET_THP_DISABLE)")
def test_huge_pages_are_kept_when_asked() -> None:
    result = _huge_pages_run(keep=True)
    assert result == {"before": False, "now": False, "after": False, "child": False}


def test_every_command_runs_with_huge_pages_off_and_freed_memory_reused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import audit.memory
    from audit.cli import main

    calls: list[str] = []
    monkeypatch.setattr(audit.memory, "without_huge_pages",
                        lambda: calls.append("huge pages") or True)
    monkeypatch.setattr(audit.memory, "reuse_freed_memory",
                        lambda: calls.append("malloc") or True)
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0, result.output
    assert calls == ["huge pages", "malloc"]


_REUSE = '''
import json, resource, sys
import numpy as np
import pyarrow  # loaded now: return_free_memory imports it
from audit.memory import huge_pages_off, return_free_memory, reuse_freed_memory, without_huge_pages

without_huge_pages()  # faults counted per 4 KiB page
reused = reuse_freed_memory() if sys.argv[1] == "reuse" else False

def resident_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

np.ones(1 << 20)  # numpy's own first allocations, outside the count
start = faults()
for _ in range(5):  # 200 MB made, written and freed, five times
    block = np.ones(25 << 20)
    del block
made = faults() - start
held = resident_mb()
return_free_memory()
print(json.dumps({"reused": reused, "faults": made, "freed_held_mb": held - resident_mb(),
                  "thp_off": huge_pages_off()}))
'''


def _reuse_run(how: str, **env_extra: str) -> dict[str, Any]:
    import os

    env = {k: v for k, v in os.environ.items()  # the machine's own settings left out
           if k not in ("REFUND_AUDIT_MALLOC", "GLIBC_TUNABLES") and not k.startswith("MALLOC_")}
    env.update(env_extra)
    result: dict[str, Any] = _fresh_process_json(_REUSE, env, how)
    return result


@pytest.mark.skipif(not STATM.exists() or _malloc_trim() is None,
                    reason="needs Linux /proc and glibc's malloc")
def test_freed_memory_is_reused_until_returned() -> None:
    """Without the settings each 200 MB array is a mapping of its own, unmapped when freed:
    every one faults its 51,200 pages in again. With them the heap keeps the freed block,
    so only the first faults; return_free_memory still hands it back (the 200 MB held
    until then)."""
    pages = (25 << 20) * 8 // 4096
    default = _reuse_run("default")
    reused = _reuse_run("reuse")
    if not (default["thp_off"] and reused["thp_off"]):
        pytest.skip("huge pages could not be turned off: faults are not counted per page")
    assert not default["reused"] and reused["reused"]
    assert default["faults"] > 4.5 * pages, default
    assert reused["faults"] < 1.5 * pages, reused
    assert default["freed_held_mb"] < 50 and reused["freed_held_mb"] > 150, (default, reused)


@pytest.mark.skipif(not STATM.exists() or _malloc_trim() is None,
                    reason="needs Linux /proc and glibc's malloc")
@pytest.mark.parametrize("env", [{"REFUND_AUDIT_MALLOC": "keep"},
                                 {"MALLOC_TRIM_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}])
def test_malloc_settings_are_left_when_asked(env: dict[str, str]) -> None:
    result = _reuse_run("reuse", **env)
    assert not result["reused"]
    assert result["faults"] > 4.5 * (25 << 20) * 8 // 4096, result


_EXPORTS = Path(__file__).parent.parent / "sample_logs" / "refund-sample" / "exports"
_SOURCES = Path(__file__).parent / "data" / "sources"


@pytest.mark.parametrize("path, system", [
    *[(_EXPORTS / name, system) for name, system in [
        ("zendesk_ticket_audits.json", "zendesk"), ("jira_issues.json", "jira"),
        ("servicenow_sys_audit.csv", "servicenow"), ("stripe_charges.csv", "stripe"),
        ("stripe_refunds.csv", "stripe"), ("paypal_activity.csv", "paypal"),
        ("adyen_settlement_details.csv", "adyen")]],
    (_SOURCES / "adyen" / "payment_accounting.csv", "adyen"),
    (_SOURCES / "stripe" / "balance_itemized.csv", "stripe"),
], ids=lambda value: getattr(value, "name", str(value)))
def test_a_read_export_leaves_no_cycle_holding_its_columns(path: Path, system: str) -> None:
    """What a reader made of an export is freed when dropped, not kept by a reference cycle
    until the cyclic collector runs: a reading worker reads file after file, and each
    payment export's columns kept that way (15-20 MB a file at 100k cases, the quarantine's
    cell lookups referring back to their collector) took the 1M audit's two workers about
    0.6 GB higher by the end of the reading, the run's memory peak."""
    import gc

    import pyarrow as pa

    from audit.ingest import _read_one
    from audit.sources.common import Collector

    gc.collect()
    debug = gc.get_debug()
    try:
        gc.disable()
        one = _read_one((path, system), mapping=None, assume_tz=None, encoding=None,
                        object_type=None, sources_config=None, hash_now=False)
        assert len(one.log)
        del one
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        kept = [type(o).__name__ for o in gc.garbage
                if isinstance(o, pa.Array | pa.ChunkedArray | Collector)]
    finally:
        gc.set_debug(debug)
        gc.garbage.clear()
        gc.enable()
    assert kept == []
