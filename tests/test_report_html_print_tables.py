"""The Overview's tables a committee cites, printed on A4 in headless Chromium: a rule's code,
a waiver's expiry and status, a rule's name and family are never broken inside a word.

Printed, the rule table ("Findings counted by rule") squeezed its nine columns onto the
page and broke every rule code in two ("AP00" over "1"), its families inside their words
("conforma" over "nce"), its status ("configure" over "d"); the waiver table broke an
expired waiver's status ("expire" over "d") and its expiry ("2026-09-" over "30"): the very
cells a committee reads out ("the waiver of AP003, expiring 2027-03-31"). A waiver's reason
broke its ordinary words ("acknowledg" over "ement") where its column could shrink to any
width, and a fingerprint waiver of a long rule name approved by an e-mail address made the
table wider than the page (719 px on 703)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from audit.cli import main
from audit.policy import default_policy_path
from reports.html import breakable
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
        # a reason of ordinary words, some long ("acknowledgement" was broken in two where
        # the reason's column could shrink to any width)
        {"rule": "self-approval", "case": "40113",
         "reason": "only staff on duty; acknowledgement of the segregation exception "
                   "recorded by internal audit",
         "approved_by": "Head of Internal Audit", "expires": "2026-09-30"},
        {"rule": "missing-second-approval", "case": "CS0000010",
         "reason": "second approver on leave", "approved_by": "Finance Director",
         "expires": "2027-03-31"},
        # a reason citing a ticket by its URL (one long word), and a waiver naming a
        # finding by its fingerprint (16 hex digits)
        {"rule": "refund-exceeds-charge", "fingerprint": FINGERPRINT,
         "reason": f"agreed in {URL}", "approved_by": "CFO", "expires": "2027-03-31"},
        # the widest row a committee files: a fingerprint waiver that never matched, of a
        # long rule name, approved by an e-mail address (719 px before, on a page of 703)
        {"rule": "unauthorized-performer", "fingerprint": "0123456789abcdef",
         "reason": "contractor covering the refunds desk during the migration",
         "approved_by": "finance.director@example.com", "expires": "2027-06-30"}]
    (root / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    out = root / "out"
    result = CliRunner().invoke(main, ["check", str(SAMPLE), "--policy",
                                       str(root / "policy.yaml"), "--out", str(out),
                                       "--format", "html", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


SPLIT = """(() => {
  // per table, its cells' texts drawn on more than one line (`whole` columns), the words
  // of its other cells drawn on more than one line (`split`: between spaces and hyphens; of
  // a `free` column between spaces only, "acknowledgement" as a word of a hyphenated
  // phrase), and of free columns the URLs and words longer than 24 characters drawn on more
  // than one line (`long`: broken to fit). A word is read across the cell's text nodes
  // (a <wbr> ends one).
  const tops = range => new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
  const seen = (table, whole, free = []) => {
    const broken = [], split = [], long = [];
    for (const row of table.tBodies[0].rows) {
      [...row.cells].forEach((cell, at) => {
        const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        const nodes = [];
        for (let text = walk.nextNode(); text; text = walk.nextNode()) nodes.push(text);
        const range = document.createRange();
        if (whole.includes(at)) {
          for (const text of nodes) {
            range.selectNodeContents(text);
            if (text.textContent.trim() && tops(range) > 1) broken.push(text.textContent);
          }
          return;
        }
        const all = nodes.map(text => text.textContent).join('');
        const place = offset => {  // (the node and offset of a character of `all`)
          for (const text of nodes) {
            if (offset <= text.textContent.length) return [text, offset];
            offset -= text.textContent.length;
          }
        };
        const words = free.includes(at) ? /\\S+/g : /[^\\s-]+/g;
        for (const m of all.matchAll(words)) {
          range.setStart(...place(m.index));
          range.setEnd(...place(m.index + m[0].length));
          const longWord = free.includes(at) && (m[0].includes('://') || m[0].length > 24);
          if (tops(range) > 1) (longWord ? long : split).push(m[0]);
        }
      });
    }
    return [table.tBodies[0].rows.length, broken, split, long];
  };
  const waivers = document.querySelector('table[aria-labelledby="waivers-title"]');
  return [seen(document.getElementById('rule-table'), [0]), seen(waivers, [1, 5], [6, 7]),
          document.documentElement.scrollWidth];
})()"""


def test_printed_rule_and_waiver_tables_break_no_code_date_or_word(
        browser: Browser, waived: Path) -> None:
    rules, waivers, width = print_layout(browser, waived / "report.html", SPLIT)
    assert (rules, waivers[:3]) == ([29, [], [], []], [5, [], []])
    # the reason's URL and the e-mail address broken to fit (at a /, a . or a - the
    # template marks), not widening the table: a URL kept whole made the waiver table
    # 860 px wide on a page of 703 (A4 inside its margins)
    assert sorted(waivers[3]) == sorted([URL, "finance.director@example.com"]), waivers[3]
    assert width <= 703, width
    assert browser.console_problems() == []


def test_a_long_word_of_free_text_breaks_at_its_parts_escaped() -> None:
    """The template's `breakable`: a word longer than 24 characters gets a <wbr> after each
    of its / . - ? _ @ & =, the text escaped first (no markup of a reason's own, no entity
    broken by a <wbr>), its controls shown as everywhere; shorter words are left whole."""
    url = "https://x.example/a?b=1&c=<i>"
    assert str(breakable(f"acknowledgement <b>of</b> {url}\x01")) == (
        "acknowledgement &lt;b&gt;of&lt;/b&gt; https:/<wbr>/<wbr>x.<wbr>example/<wbr>"
        "a?<wbr>b=<wbr>1&amp;<wbr>c=<wbr>&lt;i&gt;[U+0001]")
    assert str(breakable("finance.director@example.com")) == (
        "finance.<wbr>director@<wbr>example.<wbr>com")
    assert str(breakable("a.b-c/d e")) == "a.b-c/d e"
