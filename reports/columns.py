"""What each column of the findings sheets means: one table, which findings.xlsx's Columns sheet
shows and docs/reports.md's column table is made from (`python -m reports.columns` prints it;
a test checks that the page holds it as printed).

The meanings are read from the code that fills each field (`audit.rules.base.Rule.findings`,
`audit.findings.Finding`, each rule's `check`), not from a wish: `timestamp` is the time of
the event each rule names (`TIMESTAMP_OF`), `resources` the distinct people of the cited
events, `activities` one per cited event.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    """What the cell holds, as a reader of the sheet sees it."""
    meaning: str
    example: str
    """A value as findings.xlsx shows it (of the bundled sample's run where it has one)."""


COLUMNS: tuple[Column, ...] = (
    Column("rule", "text", "The rule's code: its family (AP approvals, SD segregation of duties, "
           "EV evidence, DU duplicates, SL timing, DQ data quality, CF conformance) and number. "
           "docs/rules/<code>.md says what it checks.", "SD001"),
    Column("name", "text", "The rule's name (part of the fingerprint).", "self-approval"),
    Column("severity", "text", "The rule's severity as the policy sets it: critical, high, "
           "medium, low or info (a text: sorted as text, critical < high < info < low < "
           "medium; sort by `severity_rank` for the order of severity).", "critical"),
    Column("severity_rank", "number", "`severity` as a number that sorts most severe first: "
           "1 critical, 2 high, 3 medium, 4 low, 5 info (findings.xlsx only: sort or filter "
           "the sheet by it, smallest to largest, for the findings in order of severity).",
           "1"),
    Column("case_id", "text", "The case (the refund's ticket, request or payout) the finding "
           "is about, as the input names it (`0040013` stays `0040013`).", "40021"),
    Column("channel", "text", "The case's refund channel (ecommerce, subscription or "
           "offline) as the rules judged it: its ticket's, else the first its events state; "
           "empty where none is stated. The Summary's \"Findings by channel\" subtotals by it "
           "(not part of the fingerprint).", "ecommerce"),
    Column("timestamp", "text (ISO 8601, UTC)", "The time of the one event the rule dates "
           "the finding by, which differs by rule (the table \"Which event's time timestamp "
           "is\"): for approval-after-payout the case's first approval, not the payout. "
           "Empty where that event has no time.", "2026-09-02T13:44:48+00:00"),
    Column("timestamp_utc", "date and time (UTC)", "`timestamp` as an Excel date and time in "
           "UTC, for date filters and grouping by month or quarter (findings.xlsx only; "
           "empty where `timestamp` is).", "2026-09-02 13:44:48"),
    Column("message", "text", "The finding in words: amounts in their currency's minor units, "
           "times in UTC, durations in words.", "Paula Schmidt raised the request and "
           "approved it"),
    Column("amount_at_risk", "number", "The amount the finding puts at risk, by the rule "
           "(e.g. the case's payouts in its currency), rounded to the currency's minor "
           "units; empty where the rule states none. Money at risk (Summary) is per "
           "currency the sum over cases of each case's largest open amount, not the sum of "
           "this column. A payout in another currency than its case's (the first "
           "request's, else the first payout's) is in no finding's amount (a case's "
           "findings are in its currency; instrument-mismatch states none where only the "
           "currency differs). `check` warns of the cases paid in another currency than "
           "the purchase each payout refunds (the purchase of the charge it names, else the "
           "case's first: instrument-mismatch's `other_currency_payout_eids`), with what "
           "those payouts paid per currency, and tells apart those in another currency than "
           "their case's, which the money at risk counts none of, from those in the case's "
           "own currency, which the amount rules weigh in it and the money at risk counts "
           "only where another finding of the case states them (`instrument-mismatch found "
           "1 case paid in another currency than the purchase refunded (15,000 JPY paid so): "
           "of these payouts, those in another currency than their case's (15,000 JPY) the "
           "money at risk counts none of ...`); and, in a warning of its own, of the cases "
           "holding a payout in another currency than the case's in its own purchase's "
           "currency (`1 case paid in another currency than the case's (EUR: ...), in the "
           "currency of the purchase each such payout refunds (80.00 USD paid so) ...`), "
           "which no amount rule weighs either.", "51.04"),
    Column("currency", "text", "The currency (ISO 4217) of the amount at risk, the case's "
           "as the rule judged it: a row may have a currency and no amount.", "EUR"),
    Column("resources", "list (text; '; ' between items)", "The distinct people of the cited "
           "events, each once, in the order of `event_ids` (an event naming no one adds "
           "none): it does not line up with `event_ids` or `activities`.", "Paula Schmidt"),
    Column("activities", "list (text; '; ' between items)", "The activity of each cited "
           "event, in the order of `event_ids`.", "Receive refund request; Approve refund"),
    Column("event_ids", "list (text; '; ' between items)", "The ids of the events the finding "
           "cites, in the rule's order (`sources` gives the files and rows they were read "
           "from).", "zendesk:40021:8100000482; zendesk:40021:8100000494"),
    Column("sources", "list (text; '; ' between items)", "Where the cited events were read "
           "from, as `file:row`: the file as the log names it (`source:file`) and the row "
           "in it (`source:row`: a CSV's spreadsheet row, the header row 1; a JSON export's "
           "record, an XES or OCEL file's event, a Parquet file's row, counted from 1), each "
           "distinct file and row once, by file name, then row (not in the order of "
           "`event_ids`); of a canonical log imported earlier, the exports' files and rows it "
           "kept. Empty where the finding cites no event. findings.json: a list of "
           "`{\"file\": ..., \"row\": ...}` objects. Not part of the fingerprint.",
           "zendesk_ticket_audits.json:482; zendesk_ticket_audits.json:494"),
    Column("waived", "TRUE/FALSE", "TRUE where a waiver of the policy covers the finding: it "
           "is listed (in grey italics) but not counted in Findings or money at risk.",
           "FALSE"),
    Column("waiver_reason", "text", "The waiver's reason, who approved it and when it "
           "expires; empty where not waived.", "Customer was refunded twice by agreement, "
           "see ticket 991 (approved by CFO, expires 2026-12-31)"),
    Column("waiver_expired", "text", "Where a waiver of the policy matches the finding but "
           "expired before the audit's clock (it waives nothing: the finding is open, "
           "`waived` FALSE, and counted): that waiver's reason, who approved it and when it "
           "expired (several: each, in the policy's order, joined by '; '); empty otherwise "
           "(and on a finding a waiver in force waives). Not part of the fingerprint.",
           "Customer was refunded twice by agreement, see ticket 991 (approved by CFO, "
           "expired 2026-09-30)"),
    Column("fingerprint", "text", "16 hex digits of the SHA-256 of the rule's name, the case "
           "and the event ids: the same finding has the same fingerprint in every run (how "
           "runs are compared, and what a waiver can name).", "53c58353deff664d"),
    Column("evidence", "text (JSON)", "The facts the rule judged, as a JSON object; its keys "
           "are the rule's own (the table per rule lists them; docs/rules/<code>.md says "
           "what the rule checks), e.g. `who` for self-approval, `requested_at` and "
           "`paid_at` for sla-breach; times ISO 8601 in UTC, durations ISO 8601 "
           "(`P14DT11H3M54S`, days of 24 hours).",
           '{"who": "Paula Schmidt"}'),
    Column("case_quarantined_rows", "number", "How many input rows of the case were "
           "quarantined (not imported): where it is above 0, the finding may rest on "
           "incomplete records. A line of one field alone, its record imported (an "
           "approval's unreadable amount), is not counted.", "0"),
)
"""Every column of the findings sheets, in their order (a test checks them against
reports.xlsx.XLSX_COLUMNS)."""

TIMESTAMP_OF: dict[str, str] = {
    "AP001": "the case's first payout",
    "AP002": "the case's first approval (either level)",
    "AP003": "the first-level approval (the second-level one where only that came before "
             "the first payout)",
    "AP004": "the earliest of the approvals it cites",
    "AP005": "the case's first payout",
    "CF001": "the earliest of the events it cites",
    "CF002": "the earliest of the events it cites",
    "CF003": "the earliest of the events it cites",
    "CF004": "the earliest of the events it cites",
    "DQ001": "the earliest of the events it cites",
    "DQ002": "the earliest of the events it cites",
    "DQ003": "the earliest of the payouts it cites",
    "DQ004": "the earliest of the events it cites (those stating another channel)",
    "DU001": "the earliest of the case's payouts that repeat an earlier case's",
    "DU002": "the case's first payout (the refund paid on the reused receipt); where "
             "approved and not paid, its standing approval",
    "EV001": "the case's first request (its first payout where it has no request)",
    "EV002": "the case's first payout",
    "EV003": "the case's last approval in force (from its first not withdrawn by a "
             "rejection nor ended by a close and a new request)",
    "EV004": "the first of the payouts it sums (those in the case's currency)",
    "EV005": "the first payout that went over the charge",
    "EV006": "the first payout by another method or in another currency than the purchase",
    "EV007": "the case's first payout",
    "EV008": "the case's first request",
    "SD001": "the requester's first approval of their own request",
    "SD002": "the first payout by a person who approved the refund",
    "SD003": "the second approval by the same person",
    "SD004": "the earliest of the events it cites",
    "SL001": "the payout, where paid late; where still open at the clock, when the SLA ran "
             "out",
    "SL002": "when the first late stage ended (for a stage still open at the clock, when its "
             "limit ran out)",
}
"""Which event's time a finding's `timestamp` is, per rule (the column each rule's `check`
hands `Rule.findings` as `when`)."""

EVIDENCE_KEYS: dict[str, tuple[str, ...]] = {
    "AP001": ("payout_eid", "payout_amount", "payout_currency", "currency"),
    "AP002": ("payout_time", "approvals_first_time"),
    "AP003": ("judged_amount", "threshold", "currency", "approval1_resource"),
    "AP004": ("who", "roles"),
    "AP005": ("approvals_min_amount", "payouts_sum", "currency"),
    "CF001": ("tasks", "fitness", "sop"),
    "CF002": ("tasks", "fitness", "sop"),
    "CF003": ("tasks", "fitness", "sop"),
    "CF004": ("fitness", "sop"),
    "DQ001": ("labels",),
    "DQ002": ("labels",),
    "DQ003": ("payouts_without_amount", "not_judged"),
    "DQ004": ("channel", "others", "events_of_other_channels"),
    "DU001": ("key", "earlier_case", "amount", "currency"),
    "DU002": ("receipts", "compared_as", "sharing_cases", "sharing_cases_n", "earlier_cases",
              "earlier_cases_n", "amount", "currency", "approved_not_paid"),
    "EV001": ("channel", "missing", "after_payout", "after_approval", "placeholder",
              "contradicted", "paid_at", "first_recorded_after_payout", "approved_at",
              "first_recorded_after_approval"),
    "EV002": ("missing_link", "missing_reason", "payout_amount", "payout_currency", "currency",
              "payout_charge"),
    "EV003": ("approved_at", "approval_eid", "waiting", "receipt_reused_before"),
    "EV004": ("request_amount", "prorata_amount", "payouts_sum", "currency"),
    "EV005": ("charge", "charge_amount", "refunded", "currency", "other_cases", "other_cases_n"),
    "EV006": ("purchase_method", "payout_method", "purchase_currency", "payout_currency",
              "other_currency_payout_eids"),
    "EV007": ("missing_link", "missing_reason", "payout_order", "payout_charge"),
    "EV008": ("channel", "purchased_at", "requested_at", "after", "window"),
    "SD001": ("who",),
    "SD002": ("who",),
    "SD003": ("who",),
    "SD004": ("who", "roles", "tasks", "lanes"),
    "SL001": ("requested_at", "paid_at", "took", "sla", "as_of", "open_for"),
    "SL002": ("late", "stages"),
}
"""The keys of a finding's `evidence`, per rule: the columns each rule's `check` hands
`Rule.findings` as `evidence` (a test reads them from the rules' code)."""


def markdown() -> str:
    """docs/reports.md's column table and the table of `timestamp` and `evidence` keys per
    rule."""
    lines = ["| column | type | meaning | example |", "|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.kind} | {c.meaning.replace('|', '/')} | "
              f"`{c.example}` |" for c in COLUMNS]
    lines += ["", "Per rule, which event's time `timestamp` is, and the keys of `evidence`:",
              "", "| rule | `timestamp` is the time of | `evidence` keys |", "|---|---|---|"]
    lines += [f"| {code} | {text} | {', '.join(f'`{k}`' for k in EVIDENCE_KEYS[code])} |"
              for code, text in TIMESTAMP_OF.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
