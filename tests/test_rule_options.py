"""The options a rule's page documents are the ones that change what it does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from audit.policy import default_policy_path, load_policy
from audit.rules.conformance.cf004_unfit_case import UnfitCase
from audit.rules.engine import run_rules
from audit.rules.registry import default_rules
from conformance.align import r4pm_available
from tests.rules.logbuilder import build_log, timestamp
from tests.test_rule_cases import merged

RULES = default_rules()
MODELS = default_policy_path().parent
# Far enough from the SOP that neither engine's exact replay settles it without a search.
TANGLED = ["Receive refund request", "Approve refund", "Collect evidence", "Execute payout",
           "Notify customer", "Close ticket", "Notify customer", "Approve refund"]


def _unfit(tmp_path: Path, conformance: dict[str, Any]) -> list[str]:
    base = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    base["sop"] = {channel: str(MODELS / name) for channel, name in base["sop"].items()}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(merged(base, {"conformance": conformance})),
                    encoding="utf-8")
    policy = load_policy(path, known_rules=RULES.known)
    log = build_log({"C1": [{"a": label} for label in TANGLED]}, policy)
    result = run_rules(log, policy, RULES,
                       as_of=timestamp("2026-10-15T00:00Z").to_pydatetime())
    assert result.errors == []
    return [f.case_id for f in result.findings if f.name == "unfit-case"]


ENGINES = [pytest.param("r4pm", "max_states", 1,
                        marks=pytest.mark.skipif(not r4pm_available(),
                                                 reason="r4pm not installed")),
           pytest.param("pm4py", "max_seconds", 1e-6)]


@pytest.mark.parametrize("engine,key,tiny", ENGINES)
def test_unfit_case_names_the_search_bound_each_engine_obeys(
        tmp_path: Path, engine: str, key: str, tiny: float) -> None:
    """CF004's page named only `max_seconds`, which r4pm (the engine `auto` picks where it is
    installed) never reads: its bound is `max_states`. Each engine's own key bounds it."""
    assert _unfit(tmp_path, {"engine": engine}) == []
    assert _unfit(tmp_path, {"engine": engine, key: tiny}) == ["C1"]
    assert f"conformance.{key}" in {option.source for option in UnfitCase.options}
    assert f"`conformance.{key}`" in " ".join((UnfitCase.__doc__ or "").split())


def test_refund_exceeds_charge_interleaved_example_is_what_the_catalogue_finds(
        tmp_path: Path) -> None:
    """EV005's page gave 'A 50, B 30, A 50 on a charge of 100' as the interleaved case it
    finds on A: A's second 50 repeats its first, so the catalogue reports duplicate-refund
    there, which replaces refund-exceeds-charge. The example on the page is what it finds."""
    import re

    from audit.rules.evidence.ev005_refund_exceeds_charge import RefundExceedsCharge

    doc = " ".join((RefundExceedsCharge.__doc__ or "").split())
    shown = re.search(r"interleaved \(A (\d+), B (\d+), A (\d+) on a charge of (\d+)\)", doc)
    assert shown is not None
    first, other, second, charged = (float(n) for n in shown.groups())
    base = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    base.pop("sop")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(base), encoding="utf-8")
    policy = load_policy(path, known_rules=RULES.known)

    def case(amount: float, payouts: list[tuple[str, float]]) -> dict[str, Any]:
        return {"charge": "ch_1", "charged": charged, "amount": amount, "events": [
            {"a": "Capture payment", "t": "2026-07-01T07:00Z", "id": f"cap-{amount}"},
            {"a": "Receive refund request"}, {"a": "Collect evidence"}, {"a": "Approve refund"},
            *({"a": "Execute payout", "t": t, "amount": a} for t, a in payouts)]}

    log = build_log({"A": case(first + second, [("2026-07-02T08:00Z", first),
                                                ("2026-07-04T08:00Z", second)]),
                     "B": case(other, [("2026-07-03T08:00Z", other)])}, policy)
    result = run_rules(log, policy, RULES, as_of=timestamp("2026-10-15T00:00Z").to_pydatetime())
    found = [(f.case_id, f.amount_at_risk) for f in result.findings
             if f.name == "refund-exceeds-charge"]
    assert found == [("A", first + other + second - charged)]
    assert "with 20.00 at risk" in doc and first + other + second - charged == 20


def test_rules_json_lists_every_policy_key_a_rules_page_names() -> None:
    """`refund-audit rules --format json` gives each rule's options (the policy keys that
    change it) for tooling. It left out keys the rule's own page names: amount_tolerance of
    AP005, DU001 and EV005, the activities of AP002, EV002, EV007 and SD001-SD003, AP004's
    SOP lanes, the as_of clock of EV003 and SL001, CF004's conformance.engine."""
    import re

    from audit.policy import _TOP_KEYS

    def covered(key: str, sources: set[str]) -> bool:
        return any(key == s or key.startswith(s + ".") or s.startswith(key + ".")
                   for s in sources)

    missing = {}
    for rule in RULES:
        doc = " ".join((type(rule).__doc__ or "").split())
        options = doc.split("Options:")[1].split("References:")[0]
        named = {key for key in re.findall(r"`([a-z_-]+(?:\.[a-z_<>-]+)*)`", options)
                 if key.split(".")[0] in _TOP_KEYS}
        sources = {option.source for option in rule.options}
        if left := sorted(key for key in named if not covered(key, sources)):
            missing[rule.code] = left
    assert missing == {}
