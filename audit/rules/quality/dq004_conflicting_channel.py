from __future__ import annotations

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.findings import Finding
from audit.rules.base import Rule
from audit.rules.facts import CaseFacts
from audit.words import counted


class ConflictingChannel(Rule):
    """What it checks:
    The events of one case state more than one channel (`refund:channel`). Every rule reads
    a case's channel as its ticket's, the first its ticket events (request, evidence,
    approvals, rejection, notice, close) state, else the first any of its events states (in
    time order): the evidence required, the SOP the case is aligned on and the lanes that
    judge who did its tasks are that channel's. One finding per case, naming the events
    that state another channel.

    Why it matters:
    A refund case has one channel: an e-commerce order, a subscription or an offline
    store. Events stating another point to events of two refunds joined into one case
    (case ids reused, a wrong correlation key) or to a source writing the channel wrongly.
    Either way the controls judged the case by one channel's rules, which may be the wrong
    ones: missing-evidence may have asked for an order and a payment voucher of an offline
    refund whose receipt and photo are what the SOP requires. A payment system mapped to
    one channel (the sources config) that also takes another channel's payments gives every
    such case a finding: the ticket's channel is read, and the mapping is worth a look.

    Example:
    Violating: `Receive refund request` with `refund:channel` ecommerce and `Collect
    evidence` of the same case with offline.
    Compliant: every event of the case states ecommerce, or some state it and others none
    (an event stating no channel is read as its case's).

    Options:
    None.

    References:
    ISA 500 (reliability of information produced by the entity); ISA 315 (the information
    system: the boundaries of the transactions recorded).
    """

    code = "DQ004"
    name = "conflicting-channel"
    severity = "medium"
    logic_version = 1
    summary = "Case whose events state more than one channel"

    def check(self, facts: CaseFacts) -> list[Finding]:
        if not facts.has(C.CHANNEL):
            return []
        values = facts.column(C.CHANNEL)
        stated = ~np.asarray(values.isna(), dtype=bool)
        at = np.flatnonzero(stated)
        if len(at) < 2:
            return []
        # (a coded column's own codes: not a copy held for the run; not the codes of
        # CASE_CHANNEL, which gives every event its case's)
        codes = (values.codes if isinstance(values, pd.Categorical)
                 else facts.codes(C.CHANNEL))
        first = facts.channel_at()  # per case: the event whose channel is the case's
        cases = facts.case_code[at]
        other = at[codes[at] != codes[first[cases]]]
        if len(other) == 0:
            return []
        hits = facts.grouped(other, others=C.CHANNEL)
        hit_cases = np.unique(facts.case_code[other])  # (the order of grouped's rows)
        channels = values.take(first[hit_cases]).to_numpy(dtype=object)
        hits["channel"] = [str(c) for c in channels.tolist()]
        hits["events_of_other_channels"] = [len(ids) for ids in hits["eids"].tolist()]
        hits["told"] = [counted(n, "event", spec=",") for n in  # ("1,234 events")
                        hits["events_of_other_channels"].tolist()]
        hits["state"] = ["states" if n == 1 else "state"  # ("1 event states")
                         for n in hits["events_of_other_channels"].tolist()]
        return self.findings(
            facts, hits, events=("eids",), when="when",
            evidence=("channel", "others", "events_of_other_channels"),
            message="{told} {state} another channel ({others}) than the case's, {channel}: "
                    "every rule judged the case as {channel}")
