from __future__ import annotations

import numpy as np

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts


class MissingResource(Rule):
    """What it checks:
    An event has no `org:resource`: nobody is recorded as having done it.

    Why it matters:
    Segregation-of-duties checks are only as good as the record of who did what; an event
    without a person can hide a self-approval or an approver who paid.

    Example:
    Violating: `Close ticket` with an empty resource.
    Compliant: every event names its resource (systems as e.g. `stripe-api`).

    Options:
    None.

    References:
    ISA 500 (completeness of information produced by the entity).
    """

    code = "DQ002"
    name = "missing-resource"
    severity = "low"
    logic_version = 1
    summary = "Event without a resource"

    def check(self, facts: CaseFacts) -> list[Finding]:
        at = np.flatnonzero(np.asarray(facts.column(C.RESOURCE).isna(), dtype=bool))
        if len(at) == 0:
            return []
        hits = facts.grouped(at, labels=C.ACTIVITY)
        return self.findings(facts, hits, events=("eids",), when="when", evidence=("labels",),
                             message="no resource recorded for: {labels}")
