"""What the CF rules share: the deviations of one kind as a frame of matches per case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit.rules.facts import CaseFacts


def deviation_matches(facts: CaseFacts, kind: str) -> pd.DataFrame:
    """One row per judged case with deviations of `kind`: the tasks, the events, the time of
    the first event involved, the SOP as the policy names it and the case's fitness.

    The deviating cases are read once for skipped-activity, unexpected-activity and
    wrong-order (at 1M cases 61k of them, each made a CaseConformance: 0.08 s a reading):
    the first of them asked makes the rows of the three kinds, and the facts hold the other
    kinds' until their rules take them (`CaseFacts.deviation_rows`): only the kinds whose
    rules this run judges (`CaseFacts.judges`), not rows no rule will take (a policy
    ignoring CF002 and CF003, `--select CF001`)."""
    if not facts.policy.sop:
        return pd.DataFrame()
    held = facts.deviation_rows
    if kind not in held:
        held.update(_deviation_rows(facts, [k for k, code in RULE_OF_KIND.items()
                                            if k == kind or facts.judges(code)]))
    return with_times(facts, held.pop(kind, []))


RULE_OF_KIND = {"skipped": "CF001", "inserted": "CF002", "wrong-order": "CF003"}
"""Per kind of deviation (`conformance.deviations.KINDS`), the code of the rule reporting it
(through `deviation_matches`)."""


def _deviation_rows(facts: CaseFacts, kinds: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per kind of deviation of `kinds`, the rows of the cases with deviations of it, in the
    cases' order."""
    from conformance.deviations import deviating_cases  # with the models' modules

    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    sops: dict[str, str] = {}  # per channel: its SOP's name
    for case in deviating_cases(facts.conformance.cases):  # most cases have none
        fitness = round(case.fitness, 4) if case.fitness is not None else None
        for kind, out in rows.items():
            mine = [d for d in case.deviations if d.kind == kind]
            if not mine:
                continue
            out.append({"case": case.case_id, "tasks": ", ".join(d.task for d in mine),
                        "eids": list(dict.fromkeys(e for d in mine for e in d.event_ids)),
                        "fitness": fitness,
                        "sop": sops.get(case.channel)
                        or sops.setdefault(case.channel, str(facts.sop_name(case.channel)))})
    return rows


def with_times(facts: CaseFacts, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).set_index("case")
    flat = [e for ids in frame["eids"] for e in ids]
    times = facts.event_times(list(dict.fromkeys(flat)), frame.index)
    # The earliest time of each row's events, in one grouped pass (NaT where none is known).
    owner = np.repeat(np.arange(len(frame)), [len(ids) for ids in frame["eids"]])
    earliest = times.reindex(flat).groupby(owner).min().reindex(range(len(frame)))
    frame["when"] = list(earliest)
    where = facts.case_positions(frame.index)
    if where is not None and len(where) == len(frame):  # every case known: only theirs
        frame["currency"] = facts.at_cases(where, "currency")["currency"].to_numpy()
        return frame
    return frame.join(facts.table("currency"))
