"""Each rule alone against pm4py's nearest function, on the same generated log.

Same convention as bench/bench.py (which runs these): `ours_<name>(arg)` and
`pm4py_<name>(arg)` take the number of generated cases as a string, load the log outside the
timing and return `(result, seconds)`, the result being the number of cases found. `plan(sizes)`
lists the rows (case name, argument, pm4py function or None, ours function). The case names say
where the semantics differ; bench/README.md has the details. pm4py is given the log's labels
(the default policy's mapping) as plain activity names; it knows nothing about payment status,
amounts, currencies, ids or roles per level, so most pairs count different things: the point of
a pair is the cost of the nearest thing pm4py can do, not equal answers.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

CASE = "case:concept:name"
ACTIVITY = "concept:name"
REQUEST = "Receive refund request"
EVIDENCE = "Collect evidence"
APPROVE = "Approve refund"
SECOND = "Approve refund (second level)"
PAY = "Execute payout"
PURCHASES = ["Capture payment", "Charge subscription renewal", "Record store sale"]
SLA_SECONDS = 14 * 86400


def _bench() -> Any:
    """bench/bench.py, imported as `bench.bench` from the repository or as `bench` when it
    runs as a script (its folder first on the path)."""
    try:
        return importlib.import_module("bench.bench")
    except ImportError:
        return importlib.import_module("bench")


def _load(arg: str, *, coded: bool = False) -> Any:
    return _bench()._load(int(arg), coded=coded)


def _ours(arg: str, code: str) -> tuple[int, float]:
    """One rule alone through the engine (run_rules, the same path as `check` with a policy
    of `rules: {select: [CODE]}`)."""
    from dataclasses import replace

    from audit.rules import default_rules
    from audit.rules.engine import run_rules

    log = _load(arg, coded=True)  # as `check` hands it to the rules
    policy = replace(_bench()._policy(), select=(code,))
    rules = default_rules()
    start = time.perf_counter()
    found = run_rules(log, policy, rules, as_of=policy.as_of).findings
    return len({f.case_id for f in found}), time.perf_counter() - start


def _cases(frame: Any) -> int:
    return int(frame[CASE].nunique())


def _pm4py() -> Any:
    import warnings

    warnings.filterwarnings("ignore")
    import pm4py

    return pm4py


def _with_without(log: Any, present: list[str], absent: list[str]) -> Any:
    """pm4py: the cases with an event of `present` and none of `absent`."""
    pm4py = _pm4py()
    kept = pm4py.filter_event_attribute_values(log, ACTIVITY, present, level="case",
                                               retain=True)
    return pm4py.filter_event_attribute_values(kept, ACTIVITY, absent, level="case",
                                               retain=False)


# --- rule by rule ------------------------------------------------------------------------------

def ours_ap001(arg: str) -> object:
    return _ours(arg, "AP001")


def pm4py_ap001(arg: str) -> object:
    log = _load(arg)
    start = time.perf_counter()
    found = _cases(_with_without(log, [PAY], [APPROVE, SECOND]))
    return found, time.perf_counter() - start


def pm4py_ap001_declare(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    model = {"precedence": {(APPROVE, PAY): {"support": 1.0, "confidence": 1.0}}}
    diagnostics = pm4py.conformance_declare(log, model, return_diagnostics_dataframe=True)
    found = int((diagnostics["no_dev_total"] > 0).sum())
    return found, time.perf_counter() - start


def ours_ap002(arg: str) -> object:
    return _ours(arg, "AP002")


def pm4py_ap002(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    kept = pm4py.filter_eventually_follows_relation(log, [(PAY, APPROVE)], retain=True)
    return _cases(kept), time.perf_counter() - start


def ours_ap003(arg: str) -> object:
    return _ours(arg, "AP003")


def pm4py_ap003(arg: str) -> object:
    log = _load(arg)
    start = time.perf_counter()
    found = _cases(_with_without(log, [APPROVE], [SECOND]))
    return found, time.perf_counter() - start


def ours_ap004(arg: str) -> object:
    return _ours(arg, "AP004")


def pm4py_ap004(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    approvals = pm4py.filter_event_attribute_values(log, ACTIVITY, [APPROVE], level="event")
    bad = pm4py.filter_event_attribute_values(approvals, "org:role", ["supervisor", "finance"],
                                              level="event", retain=False)
    return _cases(bad), time.perf_counter() - start


def ours_ap005(arg: str) -> object:
    return _ours(arg, "AP005")


def ours_sd001(arg: str) -> object:
    return _ours(arg, "SD001")


def pm4py_sd001(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    kept = pm4py.filter_four_eyes_principle(log, REQUEST, APPROVE, keep_violations=True)
    return _cases(kept), time.perf_counter() - start


def pm4py_sd001_ltl(arg: str) -> object:
    from pm4py.algo.filtering.pandas.ltl import ltl_checker

    _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    kept = ltl_checker.four_eyes_principle(log, REQUEST, APPROVE,
                                           parameters={ltl_checker.Parameters.POSITIVE: False})
    return _cases(kept), time.perf_counter() - start


def ours_sd002(arg: str) -> object:
    return _ours(arg, "SD002")


def pm4py_sd002(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    kept = pm4py.filter_four_eyes_principle(log, APPROVE, PAY, keep_violations=True)
    return _cases(kept), time.perf_counter() - start


def ours_sd003(arg: str) -> object:
    return _ours(arg, "SD003")


def pm4py_sd003(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    kept = pm4py.filter_four_eyes_principle(log, APPROVE, SECOND, keep_violations=True)
    return _cases(kept), time.perf_counter() - start


def ours_ev001(arg: str) -> object:
    return _ours(arg, "EV001")


def pm4py_ev001(arg: str) -> object:
    log = _load(arg)
    start = time.perf_counter()
    found = _cases(_with_without(log, [REQUEST], [EVIDENCE]))
    return found, time.perf_counter() - start


def ours_ev002(arg: str) -> object:
    return _ours(arg, "EV002")


def pm4py_ev002(arg: str) -> object:
    log = _load(arg)
    start = time.perf_counter()
    found = _cases(_with_without(log, [PAY], [REQUEST]))
    return found, time.perf_counter() - start


def ours_ev003(arg: str) -> object:
    return _ours(arg, "EV003")


def pm4py_ev003(arg: str) -> object:
    log = _load(arg)
    start = time.perf_counter()
    found = _cases(_with_without(log, [APPROVE, SECOND], [PAY]))
    return found, time.perf_counter() - start


def ours_ev004(arg: str) -> object:
    return _ours(arg, "EV004")


def ours_ev005(arg: str) -> object:
    return _ours(arg, "EV005")


def ours_ev006(arg: str) -> object:
    return _ours(arg, "EV006")


def ours_ev007(arg: str) -> object:
    return _ours(arg, "EV007")


def pm4py_ev007(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    paid = pm4py.filter_event_attribute_values(log, ACTIVITY, [PAY], level="case")
    kept = pm4py.filter_eventually_follows_relation(
        paid, [(purchase, PAY) for purchase in PURCHASES], retain=False)
    return _cases(kept), time.perf_counter() - start


def ours_du001(arg: str) -> object:
    return _ours(arg, "DU001")


def pm4py_du001(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    kept = pm4py.filter_activities_rework(log, PAY, min_occurrences=2)
    return _cases(kept), time.perf_counter() - start


def ours_sl001(arg: str) -> object:
    return _ours(arg, "SL001")


def pm4py_sl001(arg: str) -> object:
    pm4py = _pm4py()
    log = _load(arg)
    start = time.perf_counter()
    kept = pm4py.filter_case_performance(log, SLA_SECONDS, float("inf"))
    return _cases(kept), time.perf_counter() - start


def ours_sl002(arg: str) -> object:
    return _ours(arg, "SL002")


def ours_dq001(arg: str) -> object:
    return _ours(arg, "DQ001")


def pm4py_dq001(arg: str) -> object:
    from audit.policy import default_policy_path, load_policy

    pm4py = _pm4py()
    log = _load(arg)
    labels = sorted(load_policy(default_policy_path()).control_of())
    start = time.perf_counter()
    kept = pm4py.filter_event_attribute_values(log, ACTIVITY, labels, level="event",
                                               retain=False)
    return _cases(kept), time.perf_counter() - start


def ours_dq002(arg: str) -> object:
    return _ours(arg, "DQ002")


def ours_cf001(arg: str) -> object:
    return _ours(arg, "CF001")


def ours_cf002(arg: str) -> object:
    return _ours(arg, "CF002")


def ours_cf003(arg: str) -> object:
    return _ours(arg, "CF003")


def ours_cf004(arg: str) -> object:
    return _ours(arg, "CF004")


PAIRS: list[tuple[str, str, str | None]] = [
    # (row label, ours, pm4py or None)
    ("AP001 missing approval vs case filter payout-without-approval (ignores payout status)",
     "ours_ap001", "pm4py_ap001"),
    ("AP001 missing approval vs declare precedence(approve, payout) (also flags approvals "
     "after payouts, ignores status)", "ours_ap001", "pm4py_ap001_declare"),
    ("AP002 approval after payout vs eventually-follows (pm4py: any approval after a payout)",
     "ours_ap002", "pm4py_ap002"),
    ("AP003 missing second approval vs case filter approve-without-second (no amount "
     "threshold)", "ours_ap003", "pm4py_ap003"),
    ("AP004 unauthorized approver vs event filter approve-by-other-role (first level only, "
     "no SOP lanes)", "ours_ap004", "pm4py_ap004"),
    ("AP005 payout exceeds approved (no pm4py counterpart)", "ours_ap005", None),
    ("SD001 self-approval vs filter_four_eyes_principle (pm4py: last approval only)",
     "ours_sd001", "pm4py_sd001"),
    ("SD001 self-approval vs ltl_checker.four_eyes_principle (pm4py: last approval only)",
     "ours_sd001", "pm4py_sd001_ltl"),
    ("SD002 approver pays vs filter_four_eyes_principle(approve, payout) (first level only)",
     "ours_sd002", "pm4py_sd002"),
    ("SD003 same approver twice vs filter_four_eyes_principle(approve, second approve)",
     "ours_sd003", "pm4py_sd003"),
    ("EV001 missing evidence vs case filter request-without-evidence-step (ours: fields per "
     "channel)", "ours_ev001", "pm4py_ev001"),
    ("EV002 orphan payout vs case filter payout-without-request (no evidence graph)",
     "ours_ev002", "pm4py_ev002"),
    ("EV003 approved not paid vs case filter approval-without-payout (no grace, no "
     "rejections)", "ours_ev003", "pm4py_ev003"),
    ("EV004 amount mismatch (no pm4py counterpart)", "ours_ev004", None),
    ("EV005 refund exceeds charge (no pm4py counterpart)", "ours_ev005", None),
    ("EV006 instrument mismatch (no pm4py counterpart)", "ours_ev006", None),
    ("EV007 no prior purchase vs not eventually-follows(purchase, payout) (no evidence graph)",
     "ours_ev007", "pm4py_ev007"),
    ("DU001 duplicate refund vs filter_activities_rework(payout, 2) (pm4py: within one case)",
     "ours_du001", "pm4py_du001"),
    ("SL001 SLA breach vs filter_case_performance(> 14 d) (pm4py: whole case duration)",
     "ours_sl001", "pm4py_sl001"),
    ("SL002 stage overdue (no pm4py counterpart)", "ours_sl002", None),
    ("DQ001 unmapped activity vs event filter on the unmapped labels (same cases)",
     "ours_dq001", "pm4py_dq001"),
    ("DQ002 missing resource (no pm4py counterpart)", "ours_dq002", None),
    ("CF001 skipped activity (alignments; pm4py's alignments not run here)", "ours_cf001",
     None),
    ("CF002 unexpected activity (alignments)", "ours_cf002", None),
    ("CF003 wrong order (alignments)", "ours_cf003", None),
    ("CF004 unfit case (alignments)", "ours_cf004", None),
]


def plan(sizes: list[int]) -> list[tuple[str, str, str | None, str]]:
    """(case name, argument, pm4py function or None, ours function)."""
    return [(f"{label} {n} cases", str(n), peer, ours)
            for n in sizes for label, ours, peer in PAIRS]


FUNCTIONS = {name: fn for name, fn in globals().items()
             if callable(fn) and name.startswith(("ours_", "pm4py_"))}
