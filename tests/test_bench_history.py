"""docs/performance.md's history of the 1M full audit is the table bench/results gives
(`make docs` regenerates it)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import history

ROOT = Path(__file__).resolve().parent.parent


def test_the_documented_history_is_the_result_files_table() -> None:
    documented = history.between_markers(ROOT / "docs" / "performance.md")
    assert documented == history.table(), "stale: run `make docs`"
    assert len(history.rows()) >= 30


def test_a_row_per_1m_full_audit_with_the_recorded_commit(tmp_path: Path) -> None:
    def result(code: str | None, case: str, seconds: float) -> dict[str, object]:
        return {"machine": {"code": code}, "results": [
            {"case": case, "ours": {
                "median_s": seconds, "peak_rss_mb": 2600.4, "tree_pss_peak_mb": 2500.6,
                "result": "9 findings; import+correlate 50.5s, rules+conformance 10.2s, "
                          "json 1.0s, csv 1.0s, xlsx 2.0s, graphs 1.0s, html 1.4s"}}]}

    # The reports' seconds are the whole less import and rules: 66.6 s in all, the writers
    # one after another (6.4 s); 63.7 s in all, the XLSX overlapping the others (3 s).
    files = {"20270101T000000Z": result("abc1234", history.CASE, 66.6),
             "20270102T000000Z": result(None, history.CASE, 63.7),
             "20270103T000000Z": result("def5678", "full audit from raw exports 100000 cases",
                                        7.0)}
    for stem, content in files.items():
        (tmp_path / f"{stem}.json").write_text(json.dumps(content), encoding="utf-8")
    assert history.rows(tmp_path) == [
        "| `20270101T000000Z` | abc1234 | 67 | 2,600 | 2,501 | 50 | 10 | 6 |",
        "| `20270102T000000Z` | ? | 64 | 2,600 | 2,501 | 50 | 10 | 3 |",
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
    assert "| 1 | bbb | 3.0 | 100 | off | import+correlate 2.0, json 1.0 |" in text
    assert "| 1 | aaa | 5.0 | 100 | – | import+correlate 4.0, json 1.0 |" in text
    assert "| import+correlate | 5.00 | 2.50 | 0.50 |" in text
    assert "| total | 6.00 | 3.50 | 0.58 |" in text and "the same: yes" in text
    report["runs"][3]["findings_csv_sha256"] = "y"
    ab.summarise(report)
    assert report["same_findings"] is False and "the same: **no**" in ab.markdown(report)
