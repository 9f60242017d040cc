from __future__ import annotations

import numpy as np

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts


class UnmappedActivity(Rule):
    """What it checks:
    An event's activity label is not mapped in the policy's `activities`, so no control and
    no SOP task can be judged on it.

    Why it matters:
    Unmapped labels are blind spots: an approval written as "Genehmigt" that the policy does
    not know looks like a missing approval. They are reported, never guessed.

    Example:
    Violating: an event `Customer called back` when the policy maps no such label.
    Compliant: the label is listed under `activities` (with control `other` if it has no
    control meaning).

    Options:
    `activities`: label -> control (and SOP task).

    References:
    ISA 500 (reliability of information produced by the entity).
    """

    code = "DQ001"
    name = "unmapped-activity"
    severity = "low"
    logic_version = 1
    summary = "Activity label not mapped by the policy"
    options = (Option("labels", "label -> control mapping", "activities"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        at = np.flatnonzero(facts.mask("unmapped"))
        if len(at) == 0:
            return []
        hits = facts.grouped(at, labels=C.ACTIVITY)
        return self.findings(facts, hits, events=("eids",), when="when", evidence=("labels",),
                             message="labels not mapped by the policy: {labels}")
