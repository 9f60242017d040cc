from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.conformance.common import deviation_matches
from audit.rules.facts import CaseFacts


class UnexpectedActivity(Rule):
    """What it checks:
    An activity happened where the case's SOP does not allow it: the optimal alignment on the
    channel's SOP model has a log move for the event (it cannot be matched to any task at that
    point). The finding names the activities and their events.

    Why it matters:
    Work the SOP does not foresee (a second notification, a payout nobody asked for at that
    stage) is either rework, a workaround, or a step taken outside the controls.

    Example:
    Violating: `Receive refund request`, `Collect evidence`, `Notify customer`,
    `Approve refund`, `Execute payout`, `Notify customer`, `Close ticket` (the first
    notification is not in the SOP at that point).
    Compliant: one `Notify customer`, after the payout.

    Options:
    `sop` and `activities.<label>.sop_task` as for skipped-activity. An activity that is both
    missing where it belongs and present elsewhere is a wrong-order deviation instead: each
    skip of the task takes one of its unexpected events, in order, and the events left over
    are unexpected.

    References:
    van der Aalst: Process Mining, Data Science in Action (2016), ch. 8 (conformance
    checking); IIA Standard 2320 (analysis).
    """

    code = "CF002"
    name = "unexpected-activity"
    severity = "low"
    logic_version = 4
    summary = "An activity the SOP does not allow at that point"
    reads_sop = "net"
    options = (Option("sop", "BPMN model per channel", "sop"),
               Option("task names", "log label -> SOP task", "activities.<label>.sop_task"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        matches = deviation_matches(facts, "inserted")
        if matches.empty:
            return []
        return self.findings(facts, matches, events=("eids",), when="when",
                             evidence=("tasks", "fitness", "sop"),
                             message="not allowed by the SOP at that point: {tasks}")
