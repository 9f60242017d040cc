"""One payment record in two exports with different statuses (a refund `pending` in an
export taken while it was under way, `succeeded` in a later one, the same refund id): the
copy kept is the one of the most advanced status, pending < succeeded < failed, reversed
(a refund that succeeded may fail or be reversed later), then (failed beside reversed) the
first by file label and row, whatever order the exports are given in; the other copy goes
to the quarantine, naming the kept one and both statuses.
Before, the copy of the export given first was kept: the canonical log and the findings
depended on the order of the inputs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from audit import canonical as C
from audit.ingest import ImportResult
from audit.sources.pipeline import import_and_correlate

DATA = Path(__file__).parent / "data" / "sources"


def _refunds(path: Path, status: dict[str, str]) -> Path:
    """The bundled Stripe refunds export at `path`, the refunds named given those statuses."""
    rows = list(csv.reader(io.StringIO((DATA / "stripe" / "refunds.csv").read_text(
        encoding="utf-8"))))
    at = rows[0].index("status")
    for row in rows[1:]:
        row[at] = status.get(row[0], row[at])
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def _findings(log: pd.DataFrame) -> list[tuple[str, str, tuple[str, ...]]]:
    from audit.policy import default_policy_path, load_policy
    from audit.rules.engine import run_rules
    from audit.rules.registry import default_rules

    rules = default_rules()
    policy = load_policy(default_policy_path(), known_rules=rules.known)
    result = run_rules(log, policy, rules, as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    assert result.errors == []
    return sorted((f.name, str(f.case_id), tuple(sorted(map(str, f.event_ids))))
                  for f in result.findings)


def test_the_most_advanced_status_is_kept_whatever_the_inputs_order(tmp_path: Path) -> None:
    early = _refunds(tmp_path / "a" / "refunds.csv", {"re_3PR2002": "pending",
                                                      "re_3PR2004": "failed"})
    # (re_3PR2001: failed in a, reversed in b, alike in the precedence: the first by file)
    late = _refunds(tmp_path / "b" / "refunds.csv", {"re_3PR2001": "reversed"})
    others: list[tuple[Path, str | None]] = [(DATA / "zendesk" / "ticket_audits.json", "zendesk"),
              (DATA / "stripe" / "charges.csv", "stripe")]
    runs = []
    for pair in ([early, late], [late, early]):
        result = import_and_correlate(others + [(path, "stripe") for path in pair])
        log = result.log.sort_values(C.EVENT_ID, kind="stable").reset_index(drop=True)
        runs.append((result, log))
    (first, one), (second, two) = runs
    pd.testing.assert_frame_equal(one.astype("string"), two.astype("string"))
    status = dict(zip(one[C.EVENT_ID].astype(str), one[C.PAYMENT_STATUS].astype(str),
                      strict=True))
    assert {k: status[f"stripe:{k}"] for k in ("re_3PR2001", "re_3PR2002", "re_3PR2004")} \
        == {"re_3PR2001": "failed", "re_3PR2002": "succeeded", "re_3PR2004": "failed"}
    where = dict(zip(one[C.EVENT_ID].astype(str), one[C.SOURCE_FILE].astype(str),
                     strict=True))
    assert [where[f"stripe:re_3PR200{k}"] for k in (1, 2, 4)] == [
        "a/refunds.csv", "b/refunds.csv", "a/refunds.csv"]

    def lines(result: ImportResult) -> list[list[object]]:
        quarantine = result.quarantine
        repeats = quarantine[quarantine["reason"].astype(str).str.startswith("duplicate")]
        return sorted(repeats[["file", "row", "field", "value", "reason"]].values.tolist())

    assert lines(first) == lines(second) == [
        ["a/refunds.csv", 3, "id", "re_3PR2002",
         "duplicate event id stripe:re_3PR2002 with status pending (the copy at "
         "b/refunds.csv row 3, status succeeded, is kept: the most advanced status, "
         "pending < succeeded < failed, reversed)"],
        ["b/refunds.csv", 2, "id", "re_3PR2001",
         "duplicate event id stripe:re_3PR2001 with status reversed (the copy at "
         "a/refunds.csv row 2, status failed, is kept: reversed and failed alike in "
         "pending < succeeded < failed, reversed, the first by file and row)"],
        ["b/refunds.csv", 5, "id", "re_3PR2004",
         "duplicate event id stripe:re_3PR2004 with status succeeded (the copy at "
         "a/refunds.csv row 5, status failed, is kept: the most advanced status, "
         "pending < succeeded < failed, reversed)"]]
    # Every record is imported or quarantined (re_3PR2003's amount, 49.90, in both), and
    # the summary counts them alike in both orders.
    counts = [{f.file: (f.read, f.imported, f.quarantined, f.deduplicated)
               for f in result.files} for result in (first, second)]
    assert counts[0] == counts[1]
    assert counts[0]["a/refunds.csv"] == (4, 2, 2, 0)  # re_3PR2002 and re_3PR2003
    assert counts[0]["b/refunds.csv"] == (4, 1, 3, 0)  # re_3PR2002 kept
    for result in (first, second):
        note = [n for n in result.notes if "different statuses" in n]
        assert note == ["3 payment record(s) given in two exports with different "
                        "statuses: the copy of the most advanced status is kept (pending < "
                        "succeeded < failed, reversed), the others quarantined"]
    found = _findings(first.log)
    assert found and found == _findings(second.log)


def test_a_months_run_takes_the_next_exports_more_advanced_status(tmp_path: Path) -> None:
    """July's log holds a refund pending; August's export states it succeeded. The log's
    copy was kept whatever its status (a canonical log's events stay), so the refund stayed
    pending for ever: unpaid to every rule. Now the more advanced status is kept, the log's
    copy quarantined naming both statuses and the log, and a note counts it (review)."""
    from audit.store import write_import

    july = _refunds(tmp_path / "july" / "refunds.csv", {"re_3PR2002": "pending"})
    august = _refunds(tmp_path / "august" / "refunds.csv", {})
    first = import_and_correlate([(DATA / "zendesk" / "ticket_audits.json", "zendesk"),
                                  (DATA / "stripe" / "charges.csv", "stripe"),
                                  (july, "stripe")])
    log = tmp_path / "july.parquet"
    write_import(first, log)
    for inputs in ([(log, None), (august, "stripe")], [(august, "stripe"), (log, None)]):
        result = import_and_correlate(inputs)
        kept = result.log[result.log[C.EVENT_ID].astype(str) == "stripe:re_3PR2002"]
        assert kept[C.PAYMENT_STATUS].astype(str).tolist() == ["succeeded"]
        assert kept[C.SOURCE_ROW].tolist() == [3]
        reasons = result.quarantine["reason"].astype(str)
        told = reasons[reasons.str.contains("re_3PR2002")].tolist()
        assert told == ["duplicate event id stripe:re_3PR2002 with status pending (this copy "
                        "from july.parquet) (the copy at refunds.csv row 3, status "
                        "succeeded, is kept: the most advanced status, pending < succeeded "
                        "< failed, reversed)"]
        assert any(n.startswith("1 payment record(s) given in two exports with different "
                                "statuses") for n in result.notes)
