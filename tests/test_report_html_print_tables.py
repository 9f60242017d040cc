"""The Overview's tables a committee cites, printed on A4 in headless Chromium: a rule's code,
a waiver's expiry and status, a rule's name and family are never broken inside a word.

Printed, the rule table ("Findings counted by rule") squeezed its nine columns onto the
page and broke every rule code in two ("AP00" over "1"), its families inside their words
("conforma" over "nce"), its status ("configure" over "d"); the waiver table broke an
expired waiver's status ("expire" over "d") and its expiry ("2026-09-" over "30"): the very
cells a committee reads out ("the waiver of AP003, expiring 2027-03-31")."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path
from tests.test_report_html import Browser, browser, print_layout

__all__ = ["browser"]  # (the module's browser fixture, shared)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
# the sample's finding of refund-exceeds-charge (EV005) on case 40032, by its fingerprint
FINGERPRINT = "ea5d4215adc013c7"
URL = ("https://jira.example.com/browse/"
       "FINANCE-COMPLIANCE-20260930-refund-duplicate-agreement-approved")


@pytest.fixture(scope="module")
def waived(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample checked with four waivers: three in force (one naming a fingerprint, one
    citing a ticket's URL in its reason), one expired before the clock."""
    root = tmp_path_factory.mktemp("waived")
    policy = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    policy["waivers"] = [
        {"rule": "duplicate-refund", "case": "40288", "reason": "refunded twice by agreement",
         "approved_by": "CFO", "expires": "2026-12-31"},
        {"rule": "self-approval", "case": "40113", "reason": "only staff on duty",
         "approved_by": "Head of Internal Audit", "expires": "2026-09-30"},
        {"rule": "missing-second-approval", "case": "CS0000010",
         "reason": "second approver on leave", "approved_by": "Finance Director",
         "expires": "2027-03-31"},
        # a reason citing a ticket by its URL (one long word), and a waiver naming a
        # finding by its fingerprint (16 hex digits)
        {"rule": "refund-exceeds-charge", "fingerprint": FINGERPRINT,
         "reason": f"agreed in {URL}", "approved_by": "CFO", "expires": "2027-03-31"}]
    (root / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    out = root / "out"
    result = CliRunner().invoke(main, ["check", str(SAMPLE), "--policy",
                                       str(root / "policy.yaml"), "--out", str(out),
                                       "--format", "html", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


SPLIT = """(() => {
  // per table, its cells' texts drawn on more than one line (`whole` columns) and the words
  // (between spaces and hyphens) of its other cells drawn on more than one line
  const tops = range => new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
  const seen = (table, whole, free = []) => {
    const broken = [], split = [];
    for (const row of table.tBodies[0].rows) {
      [...row.cells].forEach((cell, at) => {
        const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let text = walk.nextNode(); text; text = walk.nextNode()) {
          const range = document.createRange();
          if (whole.includes(at)) {
            range.selectNodeContents(text);
            if (text.textContent.trim() && tops(range) > 1) broken.push(text.textContent);
            continue;
          }
          for (const m of text.textContent.matchAll(/[^\\s-]+/g)) {
            if (free.includes(at) && m[0].length > 24) continue;  // (a URL's, broken to fit)
            range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
            if (tops(range) > 1) split.push(m[0]);
          }
        }
      });
    }
    return [table.tBodies[0].rows.length, broken, split];
  };
  const waivers = document.querySelector('table[aria-labelledby="waivers-title"]');
  return [seen(document.getElementById('rule-table'), [0]), seen(waivers, [1, 5], [7]),
          document.documentElement.scrollWidth];
})()"""


def test_printed_rule_and_waiver_tables_break_no_code_date_or_word(
        browser: Browser, waived: Path) -> None:
    rules, waivers, width = print_layout(browser, waived / "report.html", SPLIT)
    assert (rules, waivers) == ([29, [], []], [4, [], []])
    # (nothing made wider than the page: A4 inside its margins; a reason's URL, kept whole,
    # made the waiver table 824 px wide)
    assert width <= 703, width
    assert browser.console_problems() == []
