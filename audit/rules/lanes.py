"""Who may do what by the SOP's lanes: the lanes holding each event's task, and whether the
role the event records is one of them. Shared by unauthorized-approver (AP004, the
approvals) and unauthorized-performer (SD004, every other task).

Decided per distinct (channel, label) pair and per distinct (lanes, role) pair, never per
event: a log of millions of events has a few dozen of each.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.policy import Policy
from audit.rules.facts import CASE_CHANNEL, CaseFacts


def lane_roles_at(facts: CaseFacts, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event at sorted positions `at`: the roles of the SOP lanes holding its task (a
    tuple of role keys), or None where the case's channel has no SOP or the SOP puts the
    task in no lane; and the code of its (channel, label) pair, by which `in_lanes`
    decides (events of one pair hold one lanes' tuple). Decided once per pair."""
    if not facts.policy.sop or len(at) == 0:
        return np.full(len(at), None, dtype=object), np.zeros(len(at), dtype=np.int64)
    codes, first = pairs(facts.codes(CASE_CHANNEL)[at], facts.codes(C.ACTIVITY)[at])
    lanes_of_pair = lanes_of_pairs(facts.policy, facts.column(CASE_CHANNEL).take(at[first]),
                                   facts.column(C.ACTIVITY).take(at[first]))
    return lanes_of_pair[codes], codes


def lanes_of_pairs(policy: Policy, channels: Any, labels: Any) -> np.ndarray:
    """Per (channel, label) pair (each distinct, in two arrays): the roles of the lanes
    holding the label's task in the channel's SOP, None where the channel has no SOP or its
    SOP puts the task in no lane."""
    from conformance.deviations import lane_roles

    tasks = policy.sop_tasks()
    per_channel: dict[object, dict[str, tuple[str, ...]] | None] = {}
    out = np.full(len(channels), None, dtype=object)
    for k, (channel, label) in enumerate(zip(channels, labels, strict=True)):
        if channel not in per_channel:
            key = None if pd.isna(channel) else str(channel)
            path = policy.sop_path(key)
            per_channel[channel] = (lane_roles(path, policy.sop_process(key))
                                    if path is not None else None)
        lanes = per_channel[channel]
        out[k] = None if lanes is None else lanes.get(tasks.get(str(label), str(label)))
    return out


def pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each (a, b) pair, position of each pair's first occurrence), the pairs
    coded in the order of (a, b) as np.unique orders them. Codes of a few dozen values each
    (channels, labels, roles) make a small table of every possible pair: looked up, not
    sorted (np.unique sorted the 4 million events SD004 judges at 1M cases)."""
    n = len(a)
    a64 = a.astype(np.int64) + 1  # (-1, a missing value, is 0)
    b64 = b.astype(np.int64) + 1
    width = int(b64.max(initial=0)) + 1
    combined = a64 * width + b64
    size = (int(a64.max(initial=0)) + 1) * width
    if size > 4 * n + 4096:  # (sparse codes: a table larger than the events)
        _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
        return codes.reshape(-1), first
    first_at = np.full(size, n, dtype=np.int64)
    np.minimum.at(first_at, combined, np.arange(n, dtype=np.int64))
    present = np.flatnonzero(first_at < n)
    code_of = np.full(size, -1, dtype=np.int64)
    code_of[present] = np.arange(len(present))
    return code_of[combined], first_at[present]


def role_keys_of(facts: CaseFacts) -> list[str]:
    """The key (`conformance.bpmn.role_key`) of each distinct role of the log, indexed by
    `facts.codes(C.ROLE)`: a coded column's categories, keyed once each, or else the value
    at each code's first event."""
    from conformance.bpmn import role_key

    values = facts.column(C.ROLE)
    if isinstance(values, pd.Categorical):
        return [role_key(str(c)) for c in values.categories]
    codes = facts.codes(C.ROLE)
    held = np.flatnonzero(codes >= 0)
    first = np.full(int(codes.max(initial=-1)) + 1, len(codes), dtype=np.int64)
    np.minimum.at(first, codes[held], held)
    return [role_key(str(values[int(k)])) for k in first]


def role_keys(roles: pd.Series) -> pd.Series:
    """Each role as a key (`conformance.bpmn.role_key`: "Customer Service" is
    `customer-service`), None where none is recorded; keyed once per distinct role."""
    from conformance.bpmn import role_key

    codes, uniques = pd.factorize(roles)
    return pd.Series(np.array([role_key(str(u)) for u in uniques] + [None],
                              dtype=object)[codes], index=roles.index)


def in_lanes(facts: CaseFacts, at: np.ndarray, lanes: np.ndarray, lane_codes: np.ndarray,
             keyed: np.ndarray) -> np.ndarray:
    """Per event at sorted positions `at`: whether its role key (`keyed`, None where no
    role is recorded) is one of the roles of its lanes (`lanes` and their pair codes
    `lane_codes`, from `lane_roles_at`; False where None). Decided once per (pair, role)."""
    out = np.zeros(len(at), dtype=bool)
    where = np.flatnonzero(~pd.isna(lanes))
    if not len(where):
        return out
    codes, first = pairs(lane_codes[where], facts.codes(C.ROLE)[at[where]])
    # (A role not recorded is in no lane: `pd.NA in lanes` has no truth value.)
    ok = np.array([_held(lanes[where[f]], keyed[where[f]]) for f in first], dtype=bool)
    out[where] = ok[codes]
    return out


def _held(lanes: Any, role: Any) -> bool:
    return isinstance(lanes, tuple) and not pd.isna(role) and role in lanes


def cases_of(facts: CaseFacts, at: np.ndarray) -> list[object]:
    """The ids of the cases of the events at sorted positions `at`, each once, in the order
    of `CaseFacts.case_ids` (sorted): marked per case, not sorted (millions of events)."""
    marked = np.zeros(facts.n_cases, dtype=bool)
    marked[facts.case_code[at]] = True
    found: list[object] = facts.case_ids[np.flatnonzero(marked)].tolist()
    return found

def unrecorded_told(counts: dict[str, int], nobody: dict[str, int] | None = None, *,
                    missing_resource: bool = True, approvals: dict[str, int] | None = None,
                    approvals_nobody: dict[str, int] | None = None,
                    cases: Sequence[Sequence[str]] = ()) -> str:
    """The one warning of the events the role rules could not judge as no role is recorded:
    `counts`, unauthorized-performer's (`sd004_unauthorized_performer.unrecorded_roles`),
    and `approvals`, unauthorized-approver's (`ap004_unauthorized_approver.
    unrecorded_approvals`), each per activity label (their labels are apart: an approval is
    no task unauthorized-performer judges); `nobody` and `approvals_nobody`: those of them
    naming no person, whom a role history cannot give a role; `missing_resource`: whether
    missing-resource (DQ002) ran, which reports those. A role not recorded is a gap in the
    data, told here once, not a finding of either rule. `cases`: the ids of the cases
    holding them, per rule, each sorted (findings.json `unjudged_cases`): the first few of
    them all, by case id, are named, so the reader sees where to look."""
    approvals = approvals or {}
    tasks = sum(counts.values())
    approved = sum(approvals.values())
    total = tasks + approved
    each = "; ".join(f"{label} {n:,}" for label, n in {**approvals, **counts}.items())
    many = total != 1
    unnamed = sum((nobody or {}).values()) + sum((approvals_nobody or {}).values())
    named = total - unnamed
    advice = []
    if unnamed:
        one = unnamed == 1
        reported = (f" (missing-resource reports {'it' if one else 'them'})"
                    if missing_resource else "")
        advice.append(f"{unnamed:,} name{'s' if one else ''} no person{reported}: record who "
                      f"did {'it' if one else 'them'}")
    if named:
        one = named == 1
        advice.append(f"{named:,} name{'s' if one else ''} a person whose role is not "
                      f"recorded: import a role history covering "
                      f"{'it' if one else 'them'} to judge {'it' if one else 'them'}")
    rules = " and ".join(rule for rule, n in (("unauthorized-approver", approved),
                                              ("unauthorized-performer", tasks)) if n)
    them = "them" if many else "it"
    if not approved:
        what = (f"{'their tasks are' if many else 'its task is'} in a lane of the SOP, but who "
                f"did {them}, in which role, the log does not say")
    else:
        what = (f"who did {them}, in which role, the log does not say, a gap in the data, "
                f"not a finding: {approved:,} approval{'s' if approved != 1 else ''} whose "
                "authority to approve is not shown")
        if tasks:
            what += (f", and {tasks:,} task{'s' if tasks != 1 else ''} in a lane of the SOP "
                     "not judged")
    return (f"{rules} did not judge {total:,} event{'s' if many else ''} whose role is not "
            f"recorded ({each}){_in_cases(cases)}: {what}; " + "; ".join(advice))


NAMED_CASES = 3
"""How many case ids a warning of events not judged names (the first by case id)."""


def _in_cases(cases: Sequence[Sequence[str]]) -> str:
    """" in cases C1, C2, C3 and others": the first `NAMED_CASES` ids of the sorted lists
    `cases` merged, each once (a merge of their heads, not a set of them all: millions of
    ids); empty where none is given. (findings.json's `unjudged_cases` lists each; not
    named here: a run of --format html writes no findings.json.)"""
    first: list[str] = []
    more = False
    for case in heapq.merge(*cases):
        if first and case == first[-1]:
            continue
        if len(first) == NAMED_CASES:
            more = True
            break
        first.append(case)
    if not first:
        return ""
    named = ", ".join(shown_id(case) for case in first)
    return (f" in case{'s' if len(first) > 1 else ''} {named}"
            + (" and others" if more else ""))


def shown_id(case: str, limit: int = 60) -> str:
    """A case id as a warning names it: whole, or its start where longer than `limit`."""
    return case if len(case) <= limit else f"{case[:limit]}..."
