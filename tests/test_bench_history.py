"""docs/performance.md's history of the 1M full audit is the table bench/results gives
(`make docs` regenerates it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import history

ROOT = Path(__file__).resolve().parent.parent


def test_the_documented_history_is_the_result_files_table() -> None:
    documented = history.between_markers(ROOT / "docs" / "performance.md")
    assert documented == history.table(), "stale: run `make docs`"
    assert len(history.rows()) >= 30


def test_a_row_per_1m_full_audit_with_the_recorded_commit(tmp_path: Path) -> None:
    def result(code: str | None, case: str, seconds: float,
               **more: object) -> dict[str, object]:
        return {"machine": {"code": code}, "results": [
            {"case": case, "ours": {
                "median_s": seconds, "peak_rss_mb": 2600.4, "tree_pss_peak_mb": 2500.6,
                "result": "9 findings; import+correlate 50.5s, rules+conformance 10.2s, "
                          "json 1.0s, csv 1.0s, xlsx 2.0s, graphs 1.0s, html 1.4s", **more}}]}

    # The reports' seconds are the whole less import and rules: 66.6 s in all, the writers
    # one after another (6.4 s); 63.7 s in all, the XLSX overlapping the others (3 s).
    files = {"20270101T000000Z": result("abc1234", history.CASE, 66.6),
             "20270102T000000Z": result(None, history.CASE, 63.7),
             "20270103T000000Z": result("def5678", "full audit from raw exports 100000 cases",
                                        7.0),
             # Timed unsampled, the tree's peak from a sampled run of its own (66.0 s).
             "20270104T000000Z": result("0123abc", history.CASE, 62.5, sampled_s=66.0)}
    files["20270104T000000Z"]["results"][0]["ours"]["result"] += (  # type: ignore[index]
        "; CPU 76.4 s user + 19.3 s system, 6.01M page faults")  # (from 2026-12-04 on)
    files["20270104T000000Z"]["machine"]["probe"] = {  # type: ignore[index]
        "python": 1.0, "fresh_memory": 0.634, "total": 1.634}
    for stem, content in files.items():
        (tmp_path / f"{stem}.json").write_text(json.dumps(content), encoding="utf-8")
    assert history.rows(tmp_path) == [
        "| `20270101T000000Z` | abc1234 | 67 | yes | – | – | 2,600 | 2,501 | 50 | 10 | 6 |",
        "| `20270102T000000Z` | ? | 64 | yes | – | – | 2,600 | 2,501 | 50 | 10 | 3 |",
        "| `20270104T000000Z` | 0123abc | 62 | no | 1.63 | 96 | 2,600 | 2,501 | 50 | 10 | 2 |",
    ]
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{history.START}\nold\n{history.END}\nafter\n", encoding="utf-8")
    assert history.rewrite(doc, tmp_path) and not history.rewrite(doc, tmp_path)
    assert history.between_markers(doc) == history.table(tmp_path)
    assert doc.read_text(encoding="utf-8").startswith("before\n")
    assert doc.read_text(encoding="utf-8").endswith("\nafter\n")


def test_ab_summary_medians_ratios_and_changed_findings() -> None:
    from bench import ab

    def run(round_: int, commit: str, import_s: float, digest: str) -> dict[str, object]:
        return {"round": round_, "commit": commit, "seconds": import_s + 1.0,
                "max_rss_mib": 100.0, "findings": 3, "findings_csv_sha256": digest,
                "stages": {"import+correlate": import_s, "json": 1.0}}

    report: dict[str, object] = {
        "machine": {"date": "d", "cpu": "c", "cores": 2, "platform": "p", "python": "3",
                    "load": "0"},
        "cases": 10, "rounds": 2, "commits": {"aaa": "OLD", "bbb": "NEW"},
        "runs": [run(1, "aaa", 4.0, "x"), run(1, "bbb", 2.0, "x"),
                 run(2, "bbb", 3.0, "x"), run(2, "aaa", 6.0, "x")]}
    ab.summarise(report)
    assert report["same_findings"] is True
    assert report["median"] == {"aaa": {"import+correlate": 5.0, "json": 1.0, "total": 6.0},
                                "bbb": {"import+correlate": 2.5, "json": 1.0, "total": 3.5}}
    report["runs"][1]["huge_pages"] = "off"  # recorded from 2026-12-02's seventh session on
    text = ab.markdown(report)
    assert "| 1 | bbb | 3.0 | 100 | off | – | import+correlate 2.0, json 1.0 |" in text
    assert "| 1 | aaa | 5.0 | 100 | – | – | import+correlate 4.0, json 1.0 |" in text
    assert "| import+correlate | 5.00 | 2.50 | 0.50 |" in text
    assert "| total | 6.00 | 3.50 | 0.58 |" in text and "the same: yes" in text
    assert "CPU" not in "".join(report["median"]["aaa"])  # not every run recorded it
    report["runs"][3]["findings_csv_sha256"] = "y"
    ab.summarise(report)
    assert report["same_findings"] is False and "the same: **no**" in ab.markdown(report)
    # The CPU of every process of each run (bench.cpu_since), from 2026-12-04 on: medians.
    for k, user in enumerate([40.0, 30.0, 34.0, 44.0]):
        report["runs"][k]["cpu"] = {"user_s": user, "system_s": user / 4,
                                    "minor_faults": 2_500_000.0}
    ab.summarise(report)
    assert report["median"]["aaa"]["CPU (user + system)"] == 52.5  # 50 and 55
    assert report["median"]["bbb"]["CPU system"] == 8.0  # 7.5 and 8.5
    text = ab.markdown(report)
    assert "| CPU (user + system) | 52.50 | 40.00 | 0.76 |" in text
    assert "| 1 | bbb | 3.0 | 100 | off | 30.0 / 7.5, 2.50M | import+correlate 2.0," in text
    assert "warm-up" not in text  # (result files from before the warm-up: none recorded)
    # A warm-up audit of OLD, not counted in the medians: its seconds named in the text.
    report["warmup"] = [{"commit": "aaa", "seconds": 71.64}]
    ab.summarise(report)
    assert report["median"]["aaa"]["total"] == 6.0
    assert "after 1 warm-up audit of aaa, not counted (71.6 s)" in ab.markdown(report)


def test_bench_times_come_from_unsampled_runs_and_the_tree_peak_from_a_sampled_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import bench

    calls: list[tuple[str, int, bool]] = []

    def child(function: str, arg: str, repeat: int, *,
              sample_tree: bool = False) -> dict[str, object]:
        calls.append((function, repeat, sample_tree))
        if function == "broken":
            return {"error": "failed"}
        result: dict[str, object] = {"median_s": 70.0 if sample_tree else 55.0,
                                     "peak_rss_mb": 2000.0}
        if sample_tree:
            result["tree_pss_peak_mb"] = 2600.0
        return result

    monkeypatch.setattr(bench, "measure_in_child", child)
    measured = bench.measure("ours_full_audit", "1000000", 3)
    assert calls == [("ours_full_audit", 3, False), ("ours_full_audit", 1, True)]
    assert measured == {"median_s": 55.0, "peak_rss_mb": 2000.0, "tree_pss_peak_mb": 2600.0,
                        "sampled_s": 70.0}
    calls.clear()
    assert bench.measure("broken", "1", 3) == {"error": "failed"}
    assert calls == [("broken", 3, False)]  # no sampled run after a failed one
    report = {"machine": {"date": "d", "cpu": "c", "cores": 2, "memory_gb": 24,
                          "platform": "p", "python": "3", "pandas": "x", "numpy": "x",
                          "pm4py": "x", "refund_audit": "x", "load": "0"},
              "repeat": 3, "results": [{"case": history.CASE, "ours": measured,
                                        "pm4py": None, "speedup_vs_pm4py": None}]}
    row = next(line for line in bench.markdown(report).splitlines()
               if line.startswith(f"| {history.CASE}"))
    assert row.startswith(f"| {history.CASE} | 55.000 | – | – | 2000.0 | 2600.0 | 70.000 |")


def test_cpu_use_counts_this_process_and_the_ones_it_waited_for() -> None:
    import subprocess
    import sys

    from bench import bench

    before = bench.cpu_use()
    subprocess.run([sys.executable, "-c", "sum(range(30_000_000))"], check=True)
    used = bench.cpu_since(before)
    assert used["user_s"] > 0.3  # the child's loop (about 0.5-1 s): counted once waited for
    assert used["minor_faults"] > 0 and used["system_s"] >= 0
    text = bench.cpu_text({"user_s": 76.44, "system_s": 19.27, "minor_faults": 6_008_705})
    assert text == "CPU 76.4 s user + 19.3 s system, 6.01M page faults"
    assert history.CPU.search(text) is not None
    assert not re.findall(r"([a-z+]+) ([\d.]+)s", text)  # no stage for history.rows


def test_the_machine_record_names_pm4py_without_importing_it() -> None:
    """The bench's parent process records pm4py's version from the installed metadata, so
    that pm4py is imported (about 1 s, 100 MB, a licence banner) only by the runs that use
    it. In a fresh interpreter: this test process has imported pm4py already."""
    import subprocess
    import sys
    from importlib.metadata import version

    script = ("import json, sys; sys.path.insert(0, 'bench'); import bench; "
              "bench.speed_probe = dict; m = bench.machine(); "
              "print(json.dumps([m['pm4py'], m['r4pm'], 'pm4py' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=120)
    assert json.loads(done.stdout.splitlines()[-1]) == [version("pm4py"), version("r4pm"),
                                                         False]
    assert "pm4py" not in done.stderr
    from bench import bench

    assert bench.installed_version("no-such-distribution-here") is None


def test_tree_pss_counts_a_sample_only_where_the_tree_stayed_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A process forked (or gone) while the tree's members are read one after another would
    be counted with its parent's pre-fork pages twice (or missed): such a sample is read
    again, and given up (0) where the members keep changing. A real tree (this process and
    a child) is counted whole."""
    import os
    import subprocess
    import sys

    from bench import bench

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        me = os.getpid()
        alone = bench.tree_pss_kb(child.pid)
        together = bench.tree_pss_kb(me)
        assert alone > 0 and together > alone  # the child's PSS is part of this tree's

        real = bench._tree
        calls: list[int] = []

        def forking(pid: int) -> list[int]:  # a new member on every second listing
            calls.append(pid)
            return real(pid) + ([child.pid] if len(calls) % 2 == 0 else [])

        monkeypatch.setattr(bench, "_tree", forking)
        assert bench.tree_pss_kb(child.pid) == 0
        assert len(calls) == 2 * bench.TREE_TRIES

        settled: list[int] = []

        def settling(pid: int) -> list[int]:  # changes during the first read only
            settled.append(pid)
            return real(pid) + ([child.pid] if len(settled) == 2 else [])

        monkeypatch.setattr(bench, "_tree", settling)
        assert bench.tree_pss_kb(child.pid) > 0 and len(settled) == 4
    finally:
        child.kill()
        child.wait()


def test_the_targets_per_rule_growth_is_the_result_files() -> None:
    """The Targets section said 'each rule alone 7.0x to 11.7x from 100k to 1M' from
    `20261205T083301Z`: its rows give SD001 4.9x against the four-eyes filter (a 100k time
    twice that of its other row). Every growth the row states is recomputed from the result
    file."""
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    row = next(line for line in performance.splitlines()
               if line.startswith("- **time linear in events"))
    run = "20261205T083301Z"
    results = json.loads((ROOT / "bench" / "results" / f"{run}.json").read_text())["results"]
    seconds: dict[str, dict[int, float]] = {}
    for result in results:
        named = re.fullmatch(r"(.+) (\d+) cases", result["case"])
        if named and re.match(r"[A-Z]{2}\d{3} ", named[1]):
            seconds.setdefault(named[1], {})[int(named[2])] = result["ours"]["median_s"]
    growth = {case: by[1_000_000] / by[100_000] for case, by in seconds.items()
              if {100_000, 1_000_000} <= set(by)}
    claim = re.search(r"each rule alone ([\d.]+)x to ([\d.]+)x from 100k to 1M, `" + run +
                      r"`; SD001's row against the four-eyes filter ([\d.]+)x.*?which grew "
                      r"([\d.]+)x\)", row)
    assert claim is not None, row
    sd001 = {case: g for case, g in growth.items() if case.startswith("SD001 ")}
    four_eyes = next(g for case, g in sd001.items() if "filter_four_eyes" in case)
    ltl = next(g for case, g in sd001.items() if "ltl_checker" in case)
    others = [g for case, g in growth.items() if g != four_eyes]
    assert claim.groups() == (f"{min(others):.1f}", f"{max(others):.1f}", f"{four_eyes:.1f}",
                              f"{ltl:.1f}")
    named = re.search(r"DQ001, DU001 and SD002 grew .*? and ([\d.]+)x, ([\d.]+)x and ([\d.]+)x "
                      r"in `" + run + "`'s", row)
    assert named is not None, row
    of = {code: next(g for case, g in growth.items() if case.startswith(code + " "))
          for code in ("DQ001", "DU001", "SD002")}
    assert named.groups() == tuple(f"{of[code]:.1f}" for code in ("DQ001", "DU001", "SD002"))
