from __future__ import annotations

import numpy as np

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.words import counted

UNJUDGED = (("AP005", "payout-exceeds-approved"), ("EV004", "amount-mismatch"),
            ("EV005", "refund-exceeds-charge"), ("DU001", "duplicate-refund"),
            ("AP003", "missing-second-approval"))
"""The rules that weigh a payout's amount, and so could not weigh one stating none."""


class PayoutWithoutAmount(Rule):
    """What it checks:
    A successful payout (not failed, reversed or pending, and not undone by a later failed
    or reversed event of its refund) states no `refund:amount`: money left, and the log does
    not say how much. One finding per case, naming each such payout; its amount at risk is
    unknown and left empty (never 0), so the run's money at risk does not count it, and the
    message says so.

    Why it matters:
    The amount controls weigh the amounts paid: `payout-exceeds-approved`,
    `amount-mismatch`, `refund-exceeds-charge`, `duplicate-refund` and
    `missing-second-approval` cannot judge a payout whose amount is not stated (one of them
    finding nothing on such a case is no evidence that the payout was within the approval,
    the request or the charge). A payout of unknown amount is money out of the door that no
    control covered; the gap is reported, never read as 0.

    Example:
    Violating: `Execute payout` with an empty `refund:amount` (a generic CSV export whose
    amount column is blank on that row).
    Compliant: every successful payout states its amount; a `Payout failed` event without
    an amount is no money paid.
    Not judged: a payout whose amount is stated but not its currency (counted in the case's
    currency by the amount rules).

    Options:
    Labels from `activities` (control `pay`). The message and the evidence
    (`not_judged`) name the amount controls the policy runs.

    References:
    ISA 500 (accuracy and completeness of information produced by the entity); ISA 330
    (responses to assessed risks: a control that did not operate on an item).
    """

    code = "DQ003"
    name = "payout-without-amount"
    severity = "high"
    logic_version = 1
    summary = "Payout without a stated amount"
    options = (Option("labels", "labels mapped to the controls", "activities"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        unstated = np.asarray(facts.column(C.AMOUNT).isna(), dtype=bool)
        at = np.flatnonzero(facts.mask("paid") & unstated)
        if len(at) == 0:
            return []
        hits = facts.grouped(at)
        hits["payouts_without_amount"] = [len(ids) for ids in hits["eids"].tolist()]
        hits["told"] = [counted(n, "successful payout", spec=",") for n in
                        hits["payouts_without_amount"].tolist()]
        hits["them"] = ["it" if n == 1 else "them" for n in
                        hits["payouts_without_amount"].tolist()]
        # The amount controls this run judges: a control the policy does not run checked
        # nothing either way, and is not named as one that could not.
        ran = [name for code, name in UNJUDGED if facts.judges(code)]
        hits["not_judged"] = ", ".join(ran)
        if ran:
            hits["controls"] = f"the amount controls ({', '.join(ran)}) could not check"
        else:
            hits["controls"] = "no amount control runs in this check to weigh"
        return self.findings(
            facts, hits, events=("eids",), when="when",
            evidence=("payouts_without_amount", "not_judged"),
            message="{told} with no amount stated: the amount at risk is unknown, and "
                    "{controls} {them}")
