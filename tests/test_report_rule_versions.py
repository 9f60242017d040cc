"""What a regulator reads beside findings.json: each rule's logic version (the manifest's
`rule_versions`) in report.html and findings.xlsx, and counts of thousands grouped in every
export and on the console, as the money beside them is.

A generated log of 1,200 cases, every one with an injected violation: more than 1,000
findings, and an input of more than 1,000 rows. report.html is read in headless Chromium
(tests/test_report_html.py's Browser), findings.xlsx with openpyxl.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.sample import SampleSpec, write_sample
from tests import test_report_html
from tests.test_report_html import Browser


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("versions")
    write_sample(SampleSpec(channel="all", cases=1200, seed=5, violation_rate=1.0), root)
    out = root / "out"
    result = CliRunner().invoke(main, ["check", str(root / "canonical.csv"), "--out", str(out),
                                       "--format", "json,csv,xlsx,html"])
    assert result.exit_code == 1, (result.output, result.exception)  # (1: findings)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    # (the figures below are of thousands: a count without its grouping would show)
    assert document["summary"]["findings"] >= 1000
    assert document["summary"]["cases_with_findings"] >= 1000
    assert max(i["read"] for i in document["manifest"]["inputs"]) >= 1000
    return out, result.output, document


browser = test_report_html.browser  # (its headless Chromium, a fixture of this module too)


def test_the_console_groups_the_findings_counts(run: tuple[Path, str, dict[str, Any]]) -> None:
    _, output, document = run
    summary = document["summary"]
    line = next(x for x in output.splitlines() if x.startswith("findings: "))
    severities = ", ".join(f"{k} {v:,}" for k, v in summary["by_severity"].items() if v)
    assert line.startswith(f"findings: {summary['findings']:,} in "
                           f"{summary['cases_with_findings']:,} cases ({severities}); "
                           f"waived {summary['waived']:,}; money at risk: "), line


def _summary_rows(out: Path) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(out / "findings.xlsx")["Summary"]
    return [list(row) for row in sheet.iter_rows()]


def test_findings_xlsx_gives_each_rules_logic_version(
        run: tuple[Path, str, dict[str, Any]]) -> None:
    out, _, document = run
    manifest = document["manifest"]
    rows = _summary_rows(out)
    head = next(i for i, row in enumerate(rows) if row[0].value == "Rule")
    names = [c.value for c in rows[head]]
    assert "Logic version" in names, names
    at = names.index("Logic version")
    shown: dict[str, Any] = {}
    for row in rows[head + 1:]:
        if row[0].value is None:
            break
        shown[row[0].value] = row[at].value
    assert shown == manifest["rule_versions"]
    assert set(shown) == set(manifest["rules"])


def test_findings_xlsx_groups_its_counts(run: tuple[Path, str, dict[str, Any]]) -> None:
    out, _, document = run
    manifest, summary = document["manifest"], document["summary"]
    rows = _summary_rows(out)
    labels = {row[0].value: row[1] for row in rows if row[0].value is not None}
    for label, value in (("Cases", summary["cases"]),
                         ("Events judged (dated up to the audit clock)", summary["events"]),
                         ("Rows read", summary["read"]), ("Findings", summary["findings"]),
                         ("Cases with findings", summary["cases_with_findings"])):
        assert labels[label].value == value, label
        assert labels[label].number_format == "#,##0", label
    head = next(i for i, row in enumerate(rows) if row[0].value == "Rule")
    findings_at = [c.value for c in rows[head]].index("Findings")
    for row in rows[head + 1:]:
        if row[0].value is None:
            break
        assert row[findings_at].value == summary["by_rule"][row[0].value]["findings"]
        assert row[findings_at].number_format == "#,##0"
    # (the inputs' counts too: an input of more than 1,000 rows)
    inputs = next(i for i, row in enumerate(rows) if row[0].value == "Input")
    read_at = [c.value for c in rows[inputs]].index("Read")
    for entry, row in zip(manifest["inputs"], rows[inputs + 1:], strict=False):
        assert row[read_at].value == entry["read"]
        assert row[read_at].number_format == "#,##0"


def test_report_html_gives_each_rules_logic_version(
        browser: Browser, run: tuple[Path, str, dict[str, Any]]) -> None:
    out, _, document = run
    manifest = document["manifest"]
    browser.open((out / "report.html").as_uri())
    assert browser.console_problems() == []
    heads = browser.evaluate("[...document.querySelectorAll('#rule-table thead th')]"
                             ".map(h => h.textContent.trim())")
    assert "Logic version" in heads, heads
    # The rule table: the version of each rule, as a reader sees it and as its data.
    table = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#rule-table tbody tr')].map(r => "
        "[r.querySelector('code').textContent, r.querySelector('[data-rule-version]')"
        ".textContent.trim()]))")
    assert table == {code: str(v) for code, v in manifest["rule_versions"].items()}
    # Each rule's section says it beside its family.
    sections = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('section.rule')].map(s => "
        "[s.dataset.rule, s.querySelector('p.summary').textContent]))")
    assert set(sections) == set(manifest["rules"])
    for code, text in sections.items():
        version = manifest["rule_versions"][code]
        assert re.search(rf"Logic version {version}\.$", text.strip()), (code, text)


def test_report_html_groups_its_counts(browser: Browser,
                                       run: tuple[Path, str, dict[str, Any]]) -> None:
    out, _, document = run
    manifest = document["manifest"]
    browser.open((out / "report.html").as_uri())
    assert browser.console_problems() == []
    # The run details' inputs: counts grouped, as the overview's "Rows" line groups them.
    cells = browser.evaluate(
        "[...document.querySelectorAll('table[aria-label=Inputs] tbody tr')].map(r => "
        "[...r.querySelectorAll('td')].map(d => d.textContent.trim()))")
    assert len(cells) == len(manifest["inputs"])
    for entry, row in zip(manifest["inputs"], cells, strict=True):
        assert row[2:5] == [f"{entry['read']:,}", f"{entry['imported']:,}",
                            f"{entry['quarantined']:,}"], row
    # The filters' counts of findings per rule and per channel, grouped.
    options = browser.evaluate("[...document.querySelectorAll('select option')]"
                               ".map(o => o.textContent.trim())")
    for channel, entry in document["summary"]["by_channel"].items():
        assert any(o.endswith(f"({entry['findings']:,})") and o.startswith(channel)
                   for o in options), (channel, options)


def test_report_html_and_findings_xlsx_name_their_shared_columns_alike(
        browser: Browser, run: tuple[Path, str, dict[str, Any]]) -> None:
    """The rule table and the inputs table of report.html and of findings.xlsx's Summary: the
    same column under the same name (the inputs' in the same order). Before, report.html's
    rule table said `Code, Rule` where the workbook (and findings.csv's `rule, name`) says
    `Rule, Name` (its "Rule" a name, theirs a code), and the workbook's inputs gave `Sales
    left out` before `Duplicates dropped`, the other way round from report.html."""
    out, _, document = run
    browser.open((out / "report.html").as_uri())
    html_rules = browser.evaluate("[...document.querySelectorAll('#rule-table thead th')]"
                                  ".map(h => h.textContent.trim())")
    html_inputs = browser.evaluate(
        "[...document.querySelectorAll('table[aria-label=Inputs] thead th')]"
        ".map(h => h.textContent.trim())")
    first_rule = browser.evaluate(
        "[...document.querySelector('#rule-table tbody tr').cells]"
        ".map(c => c.textContent.trim())")
    rows = _summary_rows(out)
    xlsx_rules = [c.value for c in next(r for r in rows if r[0].value == "Rule")
                  if c.value is not None]
    xlsx_inputs = [c.value for c in next(r for r in rows if r[0].value == "Input")
                   if c.value is not None]
    assert html_inputs == xlsx_inputs
    assert html_rules[:2] == xlsx_rules[:2] == ["Rule", "Name"]
    assert {"Severity", "Findings", "Cases", "Family", "Logic version"} <= (
        set(html_rules) & set(xlsx_rules))
    # (and what each holds: the rule's code under Rule, its name under Name, as findings.csv)
    code = min(document["manifest"]["rules"])
    assert first_rule[:2] == [code, document["summary"]["by_rule"][code]["name"]]


def test_a_crashed_rules_row_sorts_under_the_column_it_shows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser: Browser) -> None:
    """A crashed rule's row spans Findings, Cases and Waived with one cell ("crashed: not
    run", sorting as -1): sorted by Cases or by Logic version, the row is read under that
    column, as the header counts it. Before, its cells were read by position: under Cases
    its Logic version cell (1, after the rules of 0 cases), under Logic version none."""
    from audit.rules.duties.sd001_self_approval import SelfApproval
    from tests.test_report_totals import case_rows, check, write_log, write_policy

    def explode(self: SelfApproval, facts: object) -> list[object]:
        raise RuntimeError("boom in SD001")

    monkeypatch.setattr(SelfApproval, "check", explode)
    log = write_log(tmp_path / "log.csv", case_rows("C1", "EUR", 100))
    _, out = check(tmp_path, log, write_policy(tmp_path / "policy.yaml"))
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    version = document["manifest"]["rule_versions"]["SD001"]
    browser.open((out / "report.html").as_uri())
    assert browser.console_problems() == []

    def sorted_by(name: str) -> list[list[str]]:
        """The rule table's (code, the column's sort key) sorted ascending by `name`."""
        keys: list[list[str]] = browser.evaluate(f"""(() => {{
            const table = document.getElementById('rule-table');
            const heads = [...table.tHead.rows[0].cells];
            const at = heads.findIndex(h => h.textContent.trim() === {json.dumps(name)});
            heads[at].querySelector('button').click();
            if (heads[at].getAttribute('aria-sort') !== 'ascending') {{
                heads[at].querySelector('button').click();
            }}
            return [...table.tBodies[0].rows].map(r => {{
                let column = 0;
                for (const cell of r.cells) {{
                    column += cell.colSpan;
                    if (column > at) {{
                        return [r.querySelector('code').textContent, cell.dataset.value];
                    }}
                }}
                return [r.querySelector('code').textContent, null];
            }});
        }})()""")
        return keys

    cases = sorted_by("Cases")
    assert cases[0] == ["SD001", "-1"], cases
    keys = [float(value) for _, value in cases]
    assert keys == sorted(keys)
    versions = sorted_by("Logic version")
    keys = [float(value) for _, value in versions]
    assert keys == sorted(keys), versions
    assert ["SD001", str(version)] in versions


def _adyen_check(tmp_path: Path, *extra: str) -> tuple[Path, dict[str, Any]]:
    """`check` of an Adyen report: a refund's exact repeat row (a duplicate dropped) and two
    sales no refund refers to (left out), every format."""
    from tests.test_pos_beside_exports import ADYEN_HEADER, _adyen_row, _write

    rows = [ADYEN_HEADER, _adyen_row("8815000000000011", "Settled", "BER-01"),
            _adyen_row("8815000000000011", "Refunded", "BER-01", "8825000000000011"),
            _adyen_row("8815000000000011", "Refunded", "BER-01", "8825000000000011"),
            _adyen_row("8815000000000012", "Settled", "BER-01"),
            _adyen_row("8815000000000013", "Settled", "BER-01")]
    export = _write(tmp_path / "settlement.csv", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(export), "--out", str(out),
                                       "--format", "json,xlsx,html", *extra])
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return out, json.loads((out / "findings.json").read_text(encoding="utf-8"))


def test_the_inputs_counts_stand_under_the_same_headers(tmp_path: Path,
                                                         browser: Browser) -> None:
    """report.html's and findings.xlsx's inputs tables give each count under the same
    header, for an input that both dropped a duplicate and left sales out (1 and 2: the
    columns swapped would show)."""
    out, document = _adyen_check(tmp_path)
    entry = document["manifest"]["inputs"][0]
    assert (entry["duplicates_dropped"], entry["left_out"]) == (1, 2)
    rows = _summary_rows(out)
    head = next(i for i, row in enumerate(rows) if row[0].value == "Input")
    xlsx = {h.value: c.value for h, c in zip(rows[head], rows[head + 1], strict=False)
            if h.value is not None}
    browser.open((out / "report.html").as_uri())
    html = browser.evaluate(
        "(() => { const t = document.querySelector('table[aria-label=Inputs]');"
        " const heads = [...t.tHead.rows[0].cells].map(h => h.textContent.trim());"
        " const cells = [...t.tBodies[0].rows[0].cells].map(c => c.textContent.trim());"
        " return Object.fromEntries(heads.map((h, i) => [h, cells[i]])); })()")
    for name, value in (("Duplicates dropped", 1), ("Sales left out", 2), ("Read", 5),
                        ("Quarantined", 0)):
        assert xlsx[name] == value, (name, xlsx)
        assert html[name] == str(value), (name, html)


def test_a_version_not_recorded_is_said_so_alike(tmp_path: Path, browser: Browser,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the manifest records no rule versions, report.html says "not recorded" as
    findings.xlsx does. Before, report.html showed the running code's version, which need
    not be the one that made the findings."""
    from audit.checkrun import CheckRun

    made = CheckRun.manifest

    def without(self: CheckRun) -> dict[str, Any]:
        manifest = made(self)
        manifest.pop("rule_versions", None)
        return manifest

    monkeypatch.setattr(CheckRun, "manifest", without)
    out, document = _adyen_check(tmp_path)
    assert "rule_versions" not in document["manifest"]
    rows = _summary_rows(out)
    head = next(i for i, row in enumerate(rows) if row[0].value == "Rule")
    at = [c.value for c in rows[head]].index("Logic version")
    xlsx = {row[0].value: row[at].value for row in rows[head + 1:head + 1 + len(
        document["manifest"]["rules"])]}
    assert set(xlsx.values()) == {"not recorded"}
    browser.open((out / "report.html").as_uri())
    shown = browser.evaluate(
        "[...document.querySelectorAll('#rule-table tbody [data-rule-version]')]"
        ".map(c => c.textContent.trim())")
    assert shown and set(shown) == {"not recorded"}
    assert browser.evaluate("document.querySelectorAll('span.logic-version').length") == 0
