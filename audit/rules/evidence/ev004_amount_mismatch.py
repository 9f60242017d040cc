from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import figure
from audit.findings import Finding
from audit.rules.base import Option, Rule
from audit.rules.facts import CaseFacts
from audit.words import counted as counted_words


class AmountMismatch(Rule):
    """What it checks:
    The successful payouts of a case in the request's currency add up to a different amount
    than the case owes: the ticket's request, or, where the case calculated a pro-rata
    amount (an activity the policy maps to the control `prorate`, the default policy's
    `Calculate pro-rata amount`), that amount: a subscription refund is the unused share
    of the renewal, whatever the customer asked for; but a customer who asked for less
    than the pro-rata amount is owed no more than asked (a shortfall is weighed against
    the smaller of the two, an excess against the pro-rata amount). Of several
    calculations the last stating an amount counts (a recalculation replaces the first);
    one stating no amount is not read, and where the last stating one states another
    currency than the case's, the request is what is owed (not an earlier calculation the
    last replaced). A request stating no currency is read in its case's (its
    first successful payout's, or the first its case states), as payouts and approvals
    stating none are; a case stating no currency at all is not judged (check warns,
    counting such cases). Payouts stating no currency count as in the request's currency;
    payouts in another currency are not added (an amount in USD added to one in EUR is no
    amount; `instrument-mismatch` reports them), whichever payout came first. A case none of
    whose payouts is in the request's currency, or whose request states no amount, is not
    judged, unless a pro-rata amount is (`payout-exceeds-approved` weighs the payouts
    against an approval stating one; where no approval and no pro-rata calculation states
    one either, check warns, counting such cases). A payout
    stating no amount is no part of the sum (it is never read as 0): beside one, a
    shortfall is not judged (that payout may have made it up), and an excess of the others
    alone is (at least that much too much, the message naming the payouts of unknown
    amount); `payout-without-amount` reports such payouts. A case whose every payout states
    no amount is not judged. A refund paid in instalments (25.00 and 25.00 against 50.00
    requested) is paid in full, as `duplicate-refund` reads it too (which reads what is
    owed from the pro-rata amount as well). A finding where the pro-rata amount differs
    from the request (beyond the tolerance, or the request states none) names the
    calculation among its events and its amount in `prorata_amount` ("pro-rata amount 5.61
    EUR, paid 29.00 EUR (requested 29.00 EUR)"; without the request's part where it states
    no amount); where the two are equal (a refund of the whole renewal, as the sample logs
    write every calculation) the finding is told as against the request, with the events,
    message and so fingerprint it had before the control `prorate` (a waiver of it holds).

    Why it matters:
    The ticket says what the customer is owed; a payout that differs is a wrong payment, a
    keying error, or a sign that the payout belongs to another case. For a subscription
    the pro-rata calculation says it: a refund of the whole renewal after most of the
    period was used pays out money the SOP does not owe, and one paying the calculated
    share of a larger request is no mismatch.

    Example:
    Violating: request 120.00 EUR, approved 120.00 EUR, paid 100.00 EUR.
    Violating: request 100.00 EUR, paid 10.00 USD, then 40.00 EUR: 60.00 EUR at risk (the
    USD payout is told in the message, not counted).
    Violating (subscription): requested 29.00 EUR, pro-rata amount 5.61 EUR (25 of 31
    days used), approved and paid 29.00 EUR: 23.39 EUR at risk.
    Compliant: paid 120.00 EUR.
    Compliant (subscription): requested 29.00 EUR, pro-rata amount 24.32 EUR, paid 24.32
    EUR.
    Compliant (subscription): requested 10.00 EUR, pro-rata amount 24.32 EUR, paid 10.00
    EUR (the customer asked for less than owed).
    Not judged: request 120.00 EUR, paid 100.00 EUR and a payout stating no amount (the
    payout is reported as `payout-without-amount`).
    Precedence: not reported where `payout-exceeds-approved` fires on the case.

    Options:
    `amount_tolerance` (default: half a minor unit of the currency, 0.005 EUR, 0.0005 KWD,
    0.5 JPY). `activities`: the label of the pro-rata calculation mapped to
    `{control: prorate}` (a policy written before this control maps `Calculate pro-rata
    amount` to `other`, whose amounts no rule reads: where the policy maps no label to
    `prorate` and events of a label mapped to `other` state an amount, check warns, naming
    the label).

    References:
    ISA 500 (audit evidence: accuracy).
    """

    code = "EV004"
    name = "amount-mismatch"
    severity = "medium"
    logic_version = 2
    summary = "Amount paid differs from the amount requested (or calculated pro-rata)"
    options = (Option("tolerance", "differences up to this are rounding", "amount_tolerance"),
               Option("labels", "the label mapped to prorate (the pro-rata calculation)",
                      "activities"))

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payouts_sum", "request_amount", "request_eid", "prorata_amount",
                        "prorata_eid", "currency")
        # What the case owes: its pro-rata calculation's amount where it states one (a
        # subscription refund is the unused share of the renewal, whatever the customer
        # asked for), else the request's. A shortfall is weighed against the smaller of the
        # two: a customer asking less than the pro-rata amount and paid what they asked is
        # owed no more.
        prorated = c["prorata_amount"].notna().to_numpy(dtype=bool)
        request = c["request_amount"].astype("Float64")
        prorata = c["prorata_amount"].astype("Float64")
        c["owed"] = prorata.where(prorated, request)
        asked_less = prorated & (request < prorata).fillna(False).to_numpy(dtype=bool)
        at_least = c["owed"].where(~asked_less, request)
        tolerance = facts.tolerance(c["currency"])
        excess = (c["payouts_sum"] - c["owed"]).to_numpy(dtype=float, na_value=np.nan)
        shortfall = (at_least - c["payouts_sum"]).to_numpy(dtype=float, na_value=np.nan)
        tol = np.asarray(tolerance, dtype=float)
        over = excess > tol
        short = shortfall > tol
        c["difference"] = np.where(over, excess, shortfall)
        # The payouts `payouts_sum` adds up that state no amount (it leaves them out): with
        # one, a shortfall may be what it paid, so only an excess is judged (the sum of the
        # others already above what is owed: at least that much too much).
        counted = facts.paid_in_case_currency()
        unstated = np.bincount(
            facts.case_code[counted & np.asarray(facts.column(C.AMOUNT).isna(), dtype=bool)],
            minlength=facts.n_cases)
        # Judged on `payouts_sum`: the payouts in the case's currency (the request's, where
        # it states one), not on the first payout's currency (a first payout in USD hid a
        # shortfall in EUR paid after it).
        found = (c["payouts_sum"].notna() & c["owed"].notna() & c["currency"].notna()
                 ).to_numpy(dtype=bool) & (over | (short & (unstated == 0)))
        # Told (and its calculation cited) as judged against the pro-rata amount only where
        # that differs from the request: a calculation of the whole request (a refund in
        # the first days, as the sample logs write every one) leaves the finding as it was
        # before the control `prorate`, its message and fingerprint (and so a waiver of it).
        differs = (prorated & ~((prorata - request).abs() <= tolerance).fillna(False)
                   .to_numpy(dtype=bool))
        hits = c[found].copy()
        codes = np.flatnonzero(found)
        # The payouts summed, and the time of the first of them (not a payout in another
        # currency: it is no part of the difference).
        summed = np.flatnonzero(facts.paid_in_case_currency() & found[facts.case_code])
        payouts = facts.grouped(summed).reindex(hits.index)
        hits["payout_eids"] = payouts["eids"].array
        hits["when"] = payouts["when"].array
        hits["beside"] = [
            (f" (not counting {t} paid in another currency)" if t else "")
            + (f", and {counted_words(int(n), 'payout', spec=',')} stating no amount" if n else "")
            for t, n in zip(facts.paid_elsewhere_texts(codes), unstated[codes].tolist(),
                            strict=True)]
        on_prorata = differs[codes]
        hits["requested"] = [
            f" (requested {figure(float(v), unit)} {unit})" if v == v else ""
            for v, unit in zip(pd.to_numeric(hits["request_amount"], errors="coerce")
                               .tolist(), hits["currency"].astype(str).tolist(), strict=True)]
        out = self.findings(
            facts, hits[~on_prorata], events=("request_eid", "payout_eids"), when="when",
            amount="difference", evidence=("request_amount", "payouts_sum", "currency"),
            message="requested {request_amount:.2f} {currency}, paid {payouts_sum:.2f} "
                    "{currency}{beside}")
        out += self.findings(
            facts, hits[on_prorata], events=("request_eid", "prorata_eid", "payout_eids"),
            when="when", amount="difference",
            evidence=("request_amount", "prorata_amount", "payouts_sum", "currency"),
            message="pro-rata amount {prorata_amount:.2f} {currency}, paid {payouts_sum:.2f} "
                    "{currency}{beside}{requested}")
        order = {case: k for k, case in enumerate(hits.index.astype(str).tolist())}
        return sorted(out, key=lambda f: order[f.case_id])
