"""report.html reads the log as it stood at the audit's clock, as the rules do: the DFG, the
SOP overlays and the evidence graphs are drawn from the events the rules judged, and a case's
page lists its events after the clock marked as not judged. Before, they read the whole
imported log: at a clock of 2026-09-01 the sample's DFG said "Discovered from 300 cases"
beside a population of 272, the SOP captions 125/57/90 judged cases where
summary.conformance says 98/43/64, and a case's events after the clock were listed unmarked
beside findings saying they were missing. A case stating no channel was "unknown" in the
population (and merged with the cases no rule judged), "(no channel)" everywhere else."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from lxml import html as lhtml

from audit.checkrun import run_check
from audit.cli import main
from audit.policy import default_policy_path

CLOCK = "2026-09-01T00:00:00Z"
LATE = "2027-01-01T00:00:00Z"  # after every event of the sample


@dataclass
class Checked:
    document: dict[str, Any]
    page: Any  # the parsed report.html
    text: str


def _sample() -> Path:
    with as_file(files("sample_logs").joinpath("refund-sample", "canonical.csv")) as path:
        return Path(path)


def _check(log: Path, out: Path, *extra: str) -> Checked:
    done = CliRunner().invoke(main, ["check", str(log), "--out", str(out), "--fail-on",
                                     "never", "--format", "json,html", *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    text = (out / "report.html").read_text(encoding="utf-8")
    return Checked(document, lhtml.fromstring(text), text)


@pytest.fixture(scope="module")
def at_clock(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    return _check(_sample(), tmp_path_factory.mktemp("clock"), "--as-of", CLOCK)


def _words(node: Any) -> str:
    return " ".join(node.text_content().split())


def _captions(page: Any) -> dict[str, str]:
    """Each process graph's caption by the graph's name (dfg, sop-<channel>)."""
    out = {}
    for caption in page.xpath("//figcaption[starts-with(@id, 'graph-')]"):
        name = caption.get("id")[len("graph-"):-len("-caption")]
        out[name] = _words(caption)
    return out


def _overlay_cases(captions: dict[str, str]) -> dict[str, int]:
    """Per channel, the judged cases an SOP overlay's caption names."""
    out = {}
    for name, text in captions.items():
        found = re.search(r"The SOP of channel (\S+) \(.*?\) with the ([\d,]+) judged cases",
                          text)
        if name.startswith("sop-"):
            assert found, text
            out[found.group(1)] = int(found.group(2).replace(",", ""))
    return out


def test_the_sop_captions_count_the_cases_conformance_judged(at_clock: Checked) -> None:
    conformance = at_clock.document["summary"]["conformance"]
    assert at_clock.document["summary"]["events_after_clock"] > 0  # (the cut is exercised)
    shown = _overlay_cases(_captions(at_clock.page))
    assert shown == {channel: row["cases"] for channel, row in conformance.items()}


def test_the_dfg_is_discovered_from_the_cases_at_the_clock(at_clock: Checked) -> None:
    summary = at_clock.document["summary"]
    found = re.search(r"Discovered from ([\d,]+) cases", _captions(at_clock.page)["dfg"])
    assert found
    log = pd.read_csv(_sample(), usecols=["case:concept:name", "time:timestamp"])
    before = log[pd.to_datetime(log["time:timestamp"], utc=True) <= pd.Timestamp(CLOCK)]
    assert int(found.group(1).replace(",", "")) == summary["cases"] == \
        before["case:concept:name"].nunique() < log["case:concept:name"].nunique()


def test_a_case_page_marks_its_events_after_the_clock(at_clock: Checked) -> None:
    log = pd.read_csv(_sample(), usecols=["event:id", "time:timestamp"])
    late = set(log.loc[pd.to_datetime(log["time:timestamp"], utc=True) > pd.Timestamp(CLOCK),
                       "event:id"])
    marked_cases = 0
    for table in at_clock.page.xpath("//table[contains(@class, 'events')]"):
        rows = table.xpath("./tbody/tr")
        marked = {_words(r.xpath("./td[last()]")[0]) for r in rows
                  if r.get("data-after-clock") == "true"}
        listed = {_words(r.xpath("./td[last()]")[0]) for r in rows}
        assert marked == listed & late  # every event after the clock, and those only
        for row in rows:
            text = _words(row)
            assert ("after the clock, not judged" in text) == (row.get("data-after-clock")
                                                               == "true")
            assert ("after-clock" in (row.get("class") or "").split()) == (
                row.get("data-after-clock") == "true")
        marked_cases += bool(marked)
    assert marked_cases > 0  # (some case shown has events after the clock, listed)


def _population(page: Any) -> str:
    term = page.xpath("//dt[normalize-space()='Population']")[0]
    return _words(term.getnext())


def test_the_population_names_a_case_of_no_channel_as_every_other_output(
        tmp_path: Path) -> None:
    """A case stating no channel is "(no channel)" (not "unknown"), and a case of which the
    rules judged no event (a start only) is its own item, not counted as a channel's."""
    rows = list(csv.DictReader(_sample().open(encoding="utf-8")))
    for row in rows:
        if row["case:concept:name"] == "RFD-1":
            row["refund:channel"] = ""
    started = dict(rows[1])
    started.update({"event:id": "started-1", "case:concept:name": "STARTED-1",
                    "lifecycle:transition": "start", "ticket:id": "STARTED-1",
                    "refund:channel": "ecommerce", "order:id": "", "payment:charge_id": "",
                    "refund:amount": "", "refund:currency": ""})
    rows.append(started)
    log = tmp_path / "log.csv"
    with log.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    checked = _check(log, tmp_path / "out", "--as-of", LATE)
    population = _population(checked.page)
    assert "unknown" not in population
    by_channel = checked.document["summary"]["by_channel"]
    assert by_channel[""]["cases"] == 1
    assert "(no channel) 1," in population
    channels, _, rest = population.partition("; ")
    assert channels.endswith("(not judged) 1)")
    # (its start is no event judged, and is one of the log's: counted apart)
    assert checked.document["summary"]["events_not_complete"] == 1
    assert rest.startswith(f"the log holds {len(rows):,} events: 1 whose lifecycle:transition "
                           "is not complete")
    counted = dict(re.findall(r"(\([a-z ]+\)|[a-z]+) (\d+)", channels.split("(", 1)[1]))
    assert {k: int(v) for k, v in counted.items() if k != "(not judged)"} == {
        name or "(no channel)": row["cases"] for name, row in by_channel.items()}


def test_with_a_clock_after_every_event_the_graphs_read_the_imported_log_itself(
        tmp_path: Path) -> None:
    """No event after the clock: the report reads the imported log itself (no copy), and its
    graphs and case pages are those of any other clock after every event."""
    run = run_check([_sample()], default_policy_path(), as_of=datetime(2027, 1, 1, tzinfo=UTC))
    assert run.after_clock == 0
    assert run.log_at_clock() is run.imported.log
    late = _check(_sample(), tmp_path / "late", "--as-of", LATE)
    later = _check(_sample(), tmp_path / "later", "--as-of", "2028-01-01T00:00:00Z")
    assert not late.page.xpath("//tr[@data-after-clock]")
    assert "after the clock, not judged" not in late.text
    assert _captions(late.page) == _captions(later.page)
    figures = "//figure[contains(@class, 'graph') and not(contains(@class, 'case-graph'))]"
    assert [lhtml.tostring(f) for f in late.page.xpath(figures)] == [
        lhtml.tostring(f) for f in later.page.xpath(figures)]
    found = re.search(r"Discovered from ([\d,]+) cases", _captions(late.page)["dfg"])
    assert found and int(found.group(1)) == late.document["summary"]["cases"] == 300
    assert _overlay_cases(_captions(late.page)) == {
        channel: row["cases"] for channel, row in late.document["summary"][
            "conformance"].items()}


def test_the_evidence_graphs_are_drawn_from_the_log_at_the_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A case's evidence graph shows what the findings were judged on: at a clock before
    CS0000209's payout (2026-09-30 19:53; approved on 2026-09-23, an approved-not-paid at
    the clock), no payout of it (the graph drew the refund paid). (The case was RFD-55 at
    2026-10-01, until missing-second-approval judged paid cases only: approved once and not
    paid at that clock, RFD-55 has no finding there, and no page.)"""
    import reports.evidence
    from audit import canonical as C
    from audit.evidence_graph import evidence_graphs
    from reports.evidence import attach_case_graphs, evidence_dot
    from reports.view import build_view

    clock = datetime(2026, 9, 29, tzinfo=UTC)
    run = run_check([_sample()], default_policy_path(), as_of=clock)
    assert run.after_clock > 0
    monkeypatch.setattr(reports.evidence, "render_dot", lambda dot, _: dot.encode())
    view = build_view(run)
    attach_case_graphs(view.cases, run, limit=len(view.cases))
    drawn = {c.case_id: c.graph_svg for c in view.cases if c.graph_svg}
    assert "CS0000209" in drawn
    log = run.imported.log
    mine = log[(log[C.CASE] == "CS0000209").to_numpy(dtype=bool)]
    at_clock = mine[(mine[C.TIMESTAMP] <= pd.Timestamp(clock)).to_numpy(dtype=bool)]
    assert len(at_clock) < len(mine)
    controls = run.policy.control_of()
    assert drawn["CS0000209"] == evidence_dot(evidence_graphs(at_clock, controls)["CS0000209"])
    assert drawn["CS0000209"] != evidence_dot(evidence_graphs(mine, controls)["CS0000209"])
