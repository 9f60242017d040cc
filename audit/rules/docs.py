"""Rule documentation generated from the rule classes: docs/rules/*.md and the index.

`python -m audit.rules.docs [DIR]` rewrites the pages; a test fails when they are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from audit.rules.base import FAMILIES, SECTIONS, Rule
from audit.rules.registry import RuleSet, default_rules


def rule_record(rule: Rule) -> dict[str, Any]:
    return {"code": rule.code, "name": rule.name, "family": FAMILIES[rule.family],
            "severity": rule.severity, "summary": rule.summary,
            "logic_version": rule.logic_version,
            "suppresses": list(rule.suppresses),
            "options": [{"name": o.name, "description": o.description, "policy": o.source}
                        for o in rule.options]}


def rule_page(rule: Rule) -> str:
    sections = rule.doc_sections()
    lines = [f"# {rule.code} `{rule.name}`", "", f"{rule.summary}.", "",
             f"- Family: {rule.family} ({FAMILIES[rule.family]})",
             f"- Default severity: {rule.severity}",
             f"- Logic version: {rule.logic_version} (raised when its judgement changes: "
             "[Logic versions](README.md#logic-versions))"]
    if rule.suppresses:
        lines.append("- Replaces on the same case: "
                     + ", ".join(f"`{n}`" for n in rule.suppresses))
    for section in SECTIONS:
        lines += ["", f"## {section}", "", sections[section]]
    return "\n".join(lines) + "\n"


def index_page(rules: RuleSet) -> str:
    lines = ["# Rule catalogue", "",
             "Generated from the rule classes by `python -m audit.rules.docs`; do not edit.",
             "Select rules in the policy by code, name, family (`AP` or `approvals`) or glob.",
             "A glob (`*`, `?`, `[...]`) matches codes in any letter case and names as "
             "written (names are lower case), and selects every rule either matches: `ap*` "
             "selects AP001-AP005 and also `approved-not-paid` (EV003) and `approver-pays` "
             "(SD002), `AP*` the approvals alone; to mean a family, name it (`AP`, "
             "`approvals`).",
             "", "| code | name | family | severity | logic version | what |",
             "|---|---|---|---|---|---|"]
    for rule in rules:
        lines.append(f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | "
                     f"{FAMILIES[rule.family]} | {rule.severity} | {rule.logic_version} | "
                     f"{rule.summary} |")
    lines += ["", "## Precedences", "",
              "Where one finding explains another on the same case, only the more specific "
              "one is reported. A finding itself replaced replaces nothing (where "
              "`approved-not-paid` replaces a case's `sla-breach`, the case's "
              "`stage-overdue` findings stay), nor does a waived one (a waiver accepts "
              "its finding, not the ones its rule would replace):", ""]
    episodic = {r.name for r in rules if r.per_request}
    for rule in rules:
        if rule.suppresses:
            lines.append(f"- `{rule.name}` replaces "
                         + ", ".join(f"`{n}`" + (" (of the same request's episode)"
                                                 if rule.per_request and n in episodic
                                                 else "")
                                     for n in rule.suppresses))
    lines += ["", "## Money at risk counted once", "", *COUNTED_ONCE]
    lines += ["", "## Logic versions", "", *LOGIC_VERSIONS]
    return "\n".join(lines) + "\n"


COUNTED_ONCE = (
    "`duplicate-refund` (DU001) and `refund-exceeds-charge` (EV005) count money at risk "
    "once across cases and across the two rules: a repeat is found in one case, and no "
    "other case's excess over the charge counts it again; where DU001 replaces EV005 in a "
    "case, its amount at risk is never below the case's excess over the charge. Only "
    "these two: `payout-exceeds-approved` (AP005) and DU001 can report the same money (a "
    "case approved 50.00 paying 50.00 twice: AP005 50.00, DU001 50.00), and so can "
    "`amount-mismatch` (EV004) and EV005, or EV004 and DU001; `receipt-reused` (DU002) "
    "and DU001 report the same money where two refunds share a receipt and a charge or "
    "order (DU002 at risk for the later case's payouts, DU001 for its repeats), and DU002 "
    "and EV005 where they share a charge too. Adding up the amounts at "
    "risk of every finding counts such money more than once; each rule's own total "
    "does not.",
    "",
    "Known limit: EV005 takes the repeats DU001 finds out of a charge's sum before waivers "
    "apply, so a waived DU001 finding in one case still lowers another case's EV005 "
    "amount (A 60, B repeating it with its DU001 waived, C 50 on a charge of 100: C is "
    "found for 10.00, not the 50.00 it took the charge beyond once B's payout is "
    "accepted).",
)
"""The rule catalogue's section on which rules count money at risk once, and its limit."""


LOGIC_VERSIONS = (
    "Each rule has a logic version, a whole number set in its class (`logic_version`), "
    "which findings.json's manifest records for every rule a check ran (`rule_versions`, "
    "since findings.json format 4). `refund-audit diff OLD NEW` compares it: for a rule "
    "whose version differs between the two runs, its new, resolved and changed findings "
    "may come from the rule's change rather than from the refunds, and diff says so in "
    "each such finding's reason, in diff.json (`summary.rule_changes`, each finding's "
    "`rule_version_change`, the warnings), in diff.csv (`rule_version_change`, `1 -> 2`) "
    "and on the console. A findings.json of format 2 or 3 records no versions: diff "
    "calls them `unknown` and tells every rule so.",
    "",
    "**When to raise it**: by one, in the same commit, whenever a change makes the rule "
    "judge the same log and policy otherwise: a finding it did not report or no longer "
    "reports, another case, event or fingerprint cited, another amount at risk, currency "
    "or severity, another precedence (`suppresses`), or a case it now leaves for a later "
    "clock or can no longer judge. Also when its evidence gains, loses or renames a key, "
    "or its message says something else of the case (a reader comparing runs sees a change "
    "that is the rule's). **Not** for wording alone that says the same, speed, memory, "
    "refactoring with the same findings, its documentation, or a change outside the rule "
    "(the import, the engines, the policy: diff warns of different policies, SOPs and "
    "inputs itself). "
    "Never lower or reuse a number. In doubt, raise it: a needless raise costs a reader a "
    "second look at the rule's new and resolved findings; a missed one lets a rule's change "
    "pass for a change in the refunds.",
    "",
    "**The order of a case's events at one time** is no rule's and raises no version: "
    "findings.json's manifest records it (`event_order`, since 2026-12-07 within format 4; "
    "missing: 1). 1: by event id, ids refund-audit derived too (an XES file's, an OCEL "
    "log's, a CSV's or Parquet's without ids: in no order of the events); 2: by the ids a "
    "log states, else as the source lists them (`source:file`, `source:row`). Where the "
    "two runs differ, diff tells it as it tells a rule's change: every new, resolved and "
    "changed finding (and still-open one with changes) says in its reason that it may come "
    "from that change where its log's ids were derived and its events share a time; "
    "diff.json's `summary.event_order_change` counts them and a warning says so. Whether a "
    "log's ids were derived is not recorded: the words say where, not that it did.",
    "",
    "**Seeded at 1 for every rule** when versions were introduced (2026-12-07): no earlier "
    "version was recorded, so a run before it reads `unknown`, not 1. The logic of AP004, "
    "EV001 and DU001 changed in the session before, which a diff of such a run against a "
    "later one cannot tell apart from any other rule's: all read `unknown -> 1`. DU001 and "
    "EV005 were raised to 2 the same day, when they came to count money at risk once "
    "across cases and rules (an instalment repeating another case's payout flagged in one "
    "case, instalments past the charge EV005's excess, a case owed its requests added up); "
    "refined before any release the same day without a further raise (two cases paying "
    "instalments in turn found for all they repeat, DU001 at risk for at least its case's "
    "excess over the charge, requests added up only where an approval states an amount, "
    "a repeat left in a charge's sum where the payout it repeats is not in it). "
    "DU001 was raised to 3 when a payout stating no charge id came to be read as of its "
    "case's charge where the case names one only (a refund of a subscription's later "
    "renewal, its payout naming no charge, no longer a duplicate of another case's refund "
    "of an earlier renewal, the two linked by the subscription's order id alone); EV005 "
    "to 3 when it came to add such a payout to its case's one charge (before, a payout "
    "naming no charge was added to none: a renewal refunded beyond its amount so went "
    "unfound). EV004 was raised to 2 when a subscription refund came to owe its pro-rata "
    "amount, not the request (a calculation stating an amount weighs the payouts); DU001 "
    "to 4 when it came to read what such a refund owes alike (a case whose calculation "
    "states an amount was owed that amount, capped by its smallest approval, not its "
    "request). CF001-CF004 were raised to 2 when the SOP reader came to read a parallel "
    "event-based gateway (`eventGatewayType=\"Parallel\"`) as running every event branch "
    "(before, as a choice: a case running every branch was judged unfit), to refuse an "
    "activity's `startQuantity` or `completionQuantity` other than 1 (before, read as 1), "
    "and a parallel event-based gateway that does not start the process. "
    "CF001-CF004 were raised to 3, SD004 and AP004 to 2, when the SOP reader came to read "
    "a collaboration whose pools message flows join as one process (each message to a "
    "receive task or a message start or catch event an order its receiver waits for; the "
    "pool with the most tasks read instead where the pools do not read as one, with a "
    "warning): before, the pool with the most tasks was read alone, the other pools' tasks "
    "tasks of no SOP (their events unexpected activities, their performers unjudged) and the "
    "order the messages set no deviation. A pool without lanes gives its tasks no role, "
    "joined or alone (unauthorized-performer and unauthorized-approver leave them unjudged, "
    "as before). EV001 was raised to 2 when the policy's `evidence_due: approval` came to "
    "judge a refund's evidence at the approval its payout rests on (an item recorded after "
    "it late, named in `after_approval` with `approved_at` and "
    "`first_recorded_after_approval`, the approval cited; an approved case in progress "
    "judged at once); with the default, `payout`, it finds what it found, save that a "
    "late item's first record told and cited is its first value not contradicting its "
    "case (before, an earlier one naming another case's order, say, was told).",
    "CF001-CF004 were raised to 4, SD004 and AP004 to 3, when the SOP reader came to read "
    "an event-based gateway of a joined collaboration waiting for a message or a timer "
    "(\"wait for 'refund paid' or a timeout\") as a choice its receiver waits on: the "
    "message's branch where the message came, the timer's where none came yet, a message "
    "sent after the timer dropped. Before, a taken timer left the message unread, the "
    "joined net was unsound and the pool with the most tasks was read alone (the other "
    "pools' tasks tasks of no SOP, their performers unjudged).",
    "DU002 was raised "
    "to 2 when it came to find a case approved and not paid on a receipt another case was "
    "paid on (timed at its standing approval, the amount approved at risk, `approved_not_paid` "
    "in its evidence, true; an approval withdrawn by a rejection, or a case closed after "
    "it unpaid, is none), and a refund paid after such an approval as a reuse of it "
    "(before, both were no finding); every finding's evidence holds `approved_not_paid`; "
    "an approval without a time is not counted in the amount approved, and an earlier case "
    "paid at no stated time is told as refunded.",
    "EV003 was raised to 2 when it came to judge a case by its approvals in force, as "
    "EV001 and DU002 read them (from the first approval not withdrawn by a rejection nor "
    "ended by a close the refund was asked for again after): before, only a rejection "
    "withdrew one (a case approved, closed and asked for again, undecided, was found, and "
    "the ended approvals were cited and counted in its amount at risk). The grace still "
    "runs from the last approval in force. Its evidence names it (`approved_at`, before "
    "`approvals_last_time`; `approval_eid`), and where DU002 finds the case approved and "
    "not paid on a reused receipt the message says the payment is not to be made "
    "(`receipt_reused_before`; only the part beyond the receipt's sale where DU002 puts "
    "that part at risk; a case approved first on a receipt paid since in another case is "
    "told as such; a DU002 finding a waiver accepts, or DU002 failing, tells nothing).",
    "EV006 was raised to 2 when its evidence came to name the payouts paid in another "
    "currency than the purchase each refunds (`other_currency_payout_eids`, compared with "
    "the purchase of the charge each names, as the rule judges them): the check's warning "
    "of cases paid in another currency adds those up (before, it read every payout of the "
    "case in another currency than the first purchase's, so a payout in its own charge's "
    "currency was told as paid in another). What it finds is unchanged.",
)
"""The rule catalogue's section on the rules' logic versions: what they are, how `diff`
reads them, and when to raise one (`Rule.logic_version`)."""


def render_all(rules: RuleSet) -> dict[str, str]:
    pages = {f"{rule.code}.md": rule_page(rule) for rule in rules}
    pages["README.md"] = index_page(rules)
    return pages


def table(rules: RuleSet) -> str:
    rows = [(r.code, r.name, r.severity, r.summary) for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{c:<{widths[0]}}  {n:<{widths[1]}}  {s:<{widths[2]}}  {w}"
                     for c, n, s, w in rows)


def as_json(rules: RuleSet) -> str:
    return json.dumps([rule_record(r) for r in rules], indent=2)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("docs/rules")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_all(default_rules()).items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
