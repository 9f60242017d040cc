from __future__ import annotations

import numpy as np

from audit import canonical as C
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
    of the renewal, whatever the customer asked for. Of several calculations the last
    stating an amount counts (a recalculation replaces the first); one stating no amount,
    or an amount in another currency than the case's, is not read (the request is then
    what is owed). A request stating no currency is read in its case's (its
    first successful payout's, or the first its case states), as payouts and approvals
    stating none are; a case stating no currency at all is not judged (check warns,
    counting such cases). Payouts stating no currency count as in the request's currency;
    payouts in another currency are not added (an amount in USD added to one in EUR is no
    amount; `instrument-mismatch` reports them), whichever payout came first. A case none of
    whose payouts is in the request's currency, or whose request states no amount, is not
    judged, unless a pro-rata amount is (`payout-exceeds-approved` weighs the payouts
    against an approval stating one;
    where no approval states one either, check warns, counting such cases). A payout
    stating no amount is no part of the sum (it is never read as 0): beside one, a
    shortfall is not judged (that payout may have made it up), and an excess of the others
    alone is (at least that much too much, the message naming the payouts of unknown
    amount); `payout-without-amount` reports such payouts. A case whose every payout states
    no amount is not judged. A refund paid in instalments (25.00 and 25.00 against 50.00
    requested) is paid in full, as `duplicate-refund` reads it too. A finding judged
    against a pro-rata amount names the calculation among its events and its amount in
    `prorata_amount` ("pro-rata amount 5.61 EUR, paid 29.00 EUR (requested 29.00 EUR)").

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
    options = (Option("tolerance", "differences up to this are rounding", "amount_tolerance"),)

    def check(self, facts: CaseFacts) -> list[Finding]:
        c = facts.table("payouts_sum", "request_amount", "request_eid", "prorata_amount",
                        "prorata_eid", "currency")
        # What the case owes: its pro-rata calculation's amount where it states one (a
        # subscription refund is the unused share of the renewal, whatever the customer
        # asked for), else the request's.
        prorated = c["prorata_amount"].notna().to_numpy(dtype=bool)
        c["owed"] = c["prorata_amount"].where(prorated, c["request_amount"])
        c["difference"] = (c["payouts_sum"] - c["owed"]).abs()
        # The payouts `payouts_sum` adds up that state no amount (it leaves them out): with
        # one, a shortfall may be what it paid, so only an excess is judged (the sum of the
        # others already above the request: at least that much too much).
        counted = facts.paid_in_case_currency()
        unstated = np.bincount(
            facts.case_code[counted & np.asarray(facts.column(C.AMOUNT).isna(), dtype=bool)],
            minlength=facts.n_cases)
        over = (c["payouts_sum"] > c["owed"]).to_numpy(dtype=bool, na_value=False)
        # Judged on `payouts_sum`: the payouts in the case's currency (the request's, where
        # it states one), not on the first payout's currency (a first payout in USD hid a
        # shortfall in EUR paid after it).
        found = (c["payouts_sum"].notna() & c["owed"].notna()
                 & c["currency"].notna()
                 & (c["difference"] > facts.tolerance(c["currency"]))
                 ).to_numpy(dtype=bool) & ((unstated == 0) | over)
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
        on_prorata = prorated[codes]
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
                    "{currency}{beside} (requested {request_amount:.2f} {currency})")
        order = {case: k for k, case in enumerate(hits.index.astype(str).tolist())}
        return sorted(out, key=lambda f: order[f.case_id])
