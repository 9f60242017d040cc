"""What the CF rules share: the deviations of one kind as a frame of matches per case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit.rules.facts import CaseFacts


def deviation_matches(facts: CaseFacts, kind: str) -> pd.DataFrame:
    """One row per judged case with deviations of `kind`: the tasks, the events, the time of
    the first event involved, the SOP as the policy names it and the case's fitness."""
    if not facts.policy.sop:
        return pd.DataFrame()
    from conformance.deviations import deviating_cases  # with the models' modules: 0.16 s

    rows = []
    sops: dict[str, str] = {}  # per channel: its SOP's name
    for case in deviating_cases(facts.conformance.cases):  # most cases have none
        mine = [d for d in case.deviations if d.kind == kind]
        if not mine:
            continue
        rows.append({"case": case.case_id, "tasks": ", ".join(d.task for d in mine),
                     "eids": list(dict.fromkeys(e for d in mine for e in d.event_ids)),
                     "fitness": round(case.fitness, 4) if case.fitness is not None else None,
                     "sop": sops.get(case.channel)
                     or sops.setdefault(case.channel, str(facts.sop_name(case.channel)))})
    return with_times(facts, rows)


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
