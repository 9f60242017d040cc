from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.conformance.common import deviation_matches
from audit.rules.facts import CaseFacts


class SkippedActivity(Rule):
    """What it checks:
    A task of the case's SOP was not done: the optimal alignment of the case on its channel's
    SOP model moves on that task without a log event. The finding names the skipped tasks and
    the events around each gap.

    Why it matters:
    A skipped step is a control that did not run: no approval, no customer notification, no
    closure. The SOP is the process the company committed to; a case that leaves out a step
    needs an explanation.

    Example:
    Violating: `Receive refund request`, `Collect evidence`, `Approve refund`,
    `Execute payout`, `Close ticket` (the customer was never notified).
    Compliant: the same case with `Notify customer` before `Close ticket`.

    Options:
    `sop`: the BPMN model per channel (or `check --sop` for all); `activities.<label>.sop_task`
    maps log labels to task names. The purchase is context, left out of the alignment, unless
    an SOP read has a task of its name (a model discovered from the log); unmapped labels
    are left out of the alignment (see unmapped-activity). Cases without a channel, or whose
    channel has no SOP, are not judged. A task that is skipped where it belongs and done
    elsewhere is a wrong-order, not a skipped task; skipped more often than done elsewhere,
    the skips left over (the last ones) are skipped tasks.

    References:
    van der Aalst, Adriansyah, van Dongen: Replaying history on process models for
    conformance checking and performance analysis (2012); IIA Standard 2320 (analysis).
    """

    code = "CF001"
    name = "skipped-activity"
    severity = "medium"
    summary = "A task of the SOP was skipped"
    reads_sop = "net"
    options = (Option("sop", "BPMN model per channel", "sop"),
               Option("task names", "log label -> SOP task", "activities.<label>.sop_task"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        matches = deviation_matches(facts, "skipped")
        if matches.empty:
            return []
        return self.findings(facts, matches, events=("eids",), when="when",
                             evidence=("tasks", "fitness", "sop"),
                             message="skipped the SOP's {tasks}")
