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

    A case still running at the audit's clock (its alignment ends with moves on SOP tasks
    after its last event, and that event is less than `conformance.running_for` before the
    clock) has not skipped those tasks: they are not due yet. Only the tasks it left out
    before its last event are reported; an open case idle for `running_for` or longer is
    judged as ended, so every task it has not done is skipped.

    Why it matters:
    A skipped step is a control that did not run: no approval, no customer notification, no
    closure. The SOP is the process the company committed to; a case that leaves out a step
    needs an explanation. A case approved yesterday has not skipped its payout: its waits
    are the timing rules' (sla-breach, stage-overdue, approved-not-paid).

    Example:
    Violating: `Receive refund request`, `Collect evidence`, `Approve refund`,
    `Execute payout`, `Close ticket` (the customer was never notified).
    Compliant: the same case with `Notify customer` before `Close ticket`; or
    `Receive refund request`, `Collect evidence`, `Approve refund` approved two days before
    the clock (running: the payout, notice and close are not due yet).

    Options:
    `sop`: the BPMN model per channel (or `check --sop` for all); `activities.<label>.sop_task`
    maps log labels to task names. The purchase is context, left out of the alignment, unless
    an SOP read has a task of its name (a model discovered from the log); unmapped labels
    are left out of the alignment (see unmapped-activity). Cases without a channel, or whose
    channel has no SOP, are not judged. A task that is skipped where it belongs and done
    elsewhere is a wrong-order, not a skipped task; skipped more often than done elsewhere,
    the skips left over (the last ones) are skipped tasks. `conformance.running_for`
    (default 14d; 0d: every case judged as ended): how recent a case's last event must be
    for it to run at the clock (see docs/alignments.md, cases running at the clock).

    References:
    van der Aalst, Adriansyah, van Dongen: Replaying history on process models for
    conformance checking and performance analysis (2012); IIA Standard 2320 (analysis).
    """

    code = "CF001"
    name = "skipped-activity"
    severity = "medium"
    logic_version = 4
    summary = "A task of the SOP was skipped"
    reads_sop = "net"
    options = (Option("sop", "BPMN model per channel", "sop"),
               Option("task names", "log label -> SOP task", "activities.<label>.sop_task"),
               Option("running for", "a case with an event this recent, not at an end of "
                      "its SOP, runs: the tasks after its last event are not due",
                      "conformance.running_for"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        matches = deviation_matches(facts, "skipped")
        if matches.empty:
            return []
        return self.findings(facts, matches, events=("eids",), when="when",
                             evidence=("tasks", "fitness", "sop"),
                             message="skipped the SOP's {tasks}")
