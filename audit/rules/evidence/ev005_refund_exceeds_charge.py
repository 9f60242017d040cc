from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts


class RefundExceedsCharge(Rule):
    """What it checks:
    The successful payouts against one captured charge, added up over all cases in time
    order, exceed the charge's captured amount. The case whose payout crosses the line (and
    every later one) gets the finding.

    Why it matters:
    A customer can be refunded at most what they paid. Partial refunds spread over several
    tickets are the usual way an excess goes unnoticed, because each one looks small.

    Example:
    Violating: charge of 100.00 EUR; case A refunds 60.00, later case B refunds 50.00.
    Compliant: case B refunds 40.00.
    Precedence: not reported where `duplicate-refund` already explains the excess.

    Options:
    `amount_tolerance` (default 0.005). Charges without a purchase event in the log are not
    judged (see `no-prior-purchase`); payouts in another currency than the charge are left to
    `instrument-mismatch`.

    References:
    ISA 500 (audit evidence: accuracy, cut-off); card-scheme rules on refunds.
    """

    code = "EV005"
    name = "refund-exceeds-charge"
    severity = "high"
    summary = "Refunds add up to more than the charge"

    def check(self, facts: CaseFacts) -> list[Finding]:
        charged = ~np.asarray(facts.column(C.CHARGE_ID).isna(), dtype=bool)
        columns = (C.CHARGE_ID, C.CASE, C.EVENT_ID, C.TIMESTAMP, C.AMOUNT, C.CURRENCY)
        payouts = facts.frame(np.flatnonzero(facts.mask("paid") & charged), columns)
        purchases = facts.frame(np.flatnonzero(facts.mask("purchase") & charged), columns)
        charges = (purchases[purchases[C.CHARGE_ID].notna()].groupby(C.CHARGE_ID)
                   .agg(charge_amount=(C.AMOUNT, "first"), charge_currency=(C.CURRENCY, "first"),
                        charge_eid=(C.EVENT_ID, "first")))
        per_case = (payouts.groupby([C.CHARGE_ID, C.CASE])
                    .agg(paid=(C.AMOUNT, "sum"), first_time=(C.TIMESTAMP, "min"),
                         currency=(C.CURRENCY, "first"))
                    .reset_index().join(charges, on=C.CHARGE_ID))
        per_case = per_case[per_case["charge_amount"].notna()
                            & (per_case["currency"] == per_case["charge_currency"])]
        per_case = per_case.sort_values([C.CHARGE_ID, "first_time", C.CASE], kind="stable")
        per_case["refunded"] = per_case.groupby(C.CHARGE_ID)["paid"].cumsum()
        per_case["excess"] = per_case["refunded"] - per_case["charge_amount"]
        hits = per_case[per_case["excess"] > facts.tolerance()]
        # The payouts' event ids, for the (charge, case) pairs found only, in log order.
        keys = [C.CHARGE_ID, C.CASE]
        found = pd.MultiIndex.from_frame(hits[keys])
        mine = payouts[pd.MultiIndex.from_frame(payouts[keys]).isin(found)]
        eids = mine.groupby(keys)[C.EVENT_ID].agg(list).rename("eids")
        hits = hits.join(eids, on=keys)
        hits = hits.rename(columns={C.CHARGE_ID: "charge"}).groupby(C.CASE).first()
        return self.findings(
            facts, hits, events=("charge_eid", "eids"), when="first_time", amount="excess",
            evidence=("charge", "charge_amount", "refunded", "currency"),
            message="refunds on charge {charge} reach {refunded:.2f} {currency}, "
                    "above the captured {charge_amount:.2f}")
