from __future__ import annotations

from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.conformance.common import deviation_matches
from audit.rules.facts import CaseFacts


class WrongOrder(Rule):
    """What it checks:
    A task of the SOP was done, but not where the SOP puts it: the optimal alignment of the
    case skips the task at its place and finds the same task as an unexpected event elsewhere.
    Each skip pairs with one such event, in order (the first skip with the first event); the
    finding names the task and the misplaced events. Skips or events of the task left over
    are skipped-activity or unexpected-activity findings.

    Why it matters:
    Order carries the control: evidence collected after the approval means the approval was
    given without it; an approval after the payout approves nothing.

    Example:
    Violating: `Receive refund request`, `Approve refund`, `Collect evidence`,
    `Execute payout`, `Notify customer`, `Close ticket`.
    Compliant: `Collect evidence` before `Approve refund`.

    Options:
    `sop` and `activities.<label>.sop_task` as for skipped-activity. Where the alignment could
    move either of two swapped tasks at equal cost, the one it moves is named. Where a case
    did one branch of a choice late, the alignment skips that branch, not another one of
    equal cost: a wrong-order, not another branch skipped and the task unexpected. Among
    equally cheap alignments of up to 4 deviations, one with the most such pairs is taken (a
    swap within a loop is a wrong-order, not two unexpected events).

    References:
    Adriansyah: Aligning observed and modeled behavior (PhD thesis, TU Eindhoven, 2014);
    COSO Internal Control: control activities.
    """

    code = "CF003"
    name = "wrong-order"
    severity = "medium"
    logic_version = 4
    summary = "A task done out of the SOP's order"
    reads_sop = "net"
    options = (Option("sop", "BPMN model per channel", "sop"),
               Option("task names", "log label -> SOP task", "activities.<label>.sop_task"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        matches = deviation_matches(facts, "wrong-order")
        if matches.empty:
            return []
        return self.findings(facts, matches, events=("eids",), when="when",
                             evidence=("tasks", "fitness", "sop"),
                             message="out of the SOP's order: {tasks}")
