"""Each rule's logic version (`Rule.logic_version`): set in its own definition, refused by
the registry otherwise, told by the rule catalogue, and raised when the rule's findings on
the bundled sample change (`RECORDED`: a guard against a rule's change that would pass for
a change in the refunds in `diff`).

`PYTHONPATH=. python tests/test_rule_versions.py` records the findings of each rule on the
bundled sample with its version into `RECORDED` (after raising the version of each rule
whose judgement changed; or, where the sample, its policy or the clock changed and no rule,
without raising any)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.rules.base import Rule
from audit.rules.docs import render_all
from audit.rules.registry import RegistryError, RuleSet, default_rules

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_logs" / "refund-sample" / "canonical.csv"
RECORDED = REPO / "tests" / "data" / "rule_logic_findings.json"
"""Per rule code, its logic version and a digest of its findings on the bundled sample
(`_judged`; the sample with one receipt reused, `_planted`) as recorded when that version
was set."""


def test_every_rule_states_its_logic_version_in_its_own_definition() -> None:
    for rule in default_rules():
        version = type(rule).__dict__.get("logic_version")
        assert type(version) is int and version >= 1, rule.code


def _made_up(**body: Any) -> type[Rule]:
    doc = ("What it checks:\n x\nWhy it matters:\n x\nExample:\n x\nOptions:\n x\n"
           "References:\n x\n")
    return type("MadeUp", (Rule,), {"__doc__": doc, "code": "DQ990", "name": "made-up",
                                    "severity": "low", "summary": "made up",
                                    "check": lambda self, facts: [], **body})


@pytest.mark.parametrize("body", [{}, {"logic_version": 0}, {"logic_version": "1"},
                                  {"logic_version": True}, {"logic_version": 1.0}])
def test_the_registry_refuses_a_rule_without_a_whole_logic_version(body: dict[str, Any]
                                                                   ) -> None:
    with pytest.raises(RegistryError, match=r"DQ990: logic_version .* is not a whole number "
                                            r"from 1 set in the rule's own definition"):
        RuleSet([_made_up(**body)])
    assert len(RuleSet([_made_up(logic_version=3)])) == 1


def test_a_rule_made_from_another_states_its_own_logic_version() -> None:
    """A rule class deriving from another inherits its judgement's code, not its version:
    without one of its own it is refused (its version would move with the other's)."""
    base = _made_up(logic_version=2)
    derived = type("Derived", (base,), {"code": "DQ991", "name": "made-up-too"})
    with pytest.raises(RegistryError, match="DQ991: logic_version None"):
        RuleSet([derived])


def test_the_catalogue_tells_each_rules_logic_version_and_when_to_raise_it() -> None:
    rules = default_rules()
    pages = render_all(rules)
    index = pages["README.md"]
    assert "| code | name | family | severity | logic version | what |" in index
    assert "## Logic versions" in index and "**When to raise it**" in index
    for rule in rules:
        assert (f"- Logic version: {rule.logic_version} (raised when its judgement changes: "
                "[Logic versions](README.md#logic-versions))") in pages[f"{rule.code}.md"]
        assert (f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | ") in index
        assert f"| {rule.severity} | {rule.logic_version} | {rule.summary} |" in index
    result = CliRunner().invoke(main, ["rules", "--format", "json"])
    assert result.exit_code == 0
    assert {r["code"]: r["logic_version"] for r in json.loads(result.output)} == {
        rule.code: rule.logic_version for rule in rules}


def test_the_logic_version_history_tells_every_raise() -> None:
    """The catalogue's history of the versions ("Seeded at 1 ...") names every rule above 1
    in a sentence saying to what it was raised: a raise left out of it leaves a reader of a
    diff `1 -> 2` without the why. (It lacked EV004's raise to 2, DU001's to 4 and
    CF001-CF004's to 2.)"""
    import re

    from audit.rules.docs import LOGIC_VERSIONS

    history = " ".join(LOGIC_VERSIONS)
    history = history[history.index("**Seeded at 1 for every rule**"):]
    sentences = re.split(r"(?<=[.)])\s+(?=[A-Z*])", history)

    def named(sentence: str) -> set[str]:
        codes = set(re.findall(r"\b[A-Z]{2}\d{3}\b", sentence))
        for family, first, last in re.findall(r"\b([A-Z]{2})(\d{3})-[A-Z]{2}(\d{3})\b",
                                              sentence):
            codes.update(f"{family}{n:03d}" for n in range(int(first), int(last) + 1))
        return codes

    for rule in default_rules():
        if rule.logic_version > 1:
            assert any(rule.code in named(s) and f"to {rule.logic_version}" in s
                       for s in sentences), (rule.code, rule.logic_version)


def _judged(document: dict[str, Any]) -> dict[str, str]:
    """Per rule code that ran, a digest of what it judged on a check's findings.json: each
    of its findings' fingerprint (rule, case, events), severity, amount at risk, currency
    and evidence keys, the fingerprints of its findings precedence suppressed, and of the
    findings it suppressed (its `suppresses`: the rule whose precedence changes is the one
    to raise); not their messages (a rewording is no change of judgement)."""
    judged: dict[str, list[Any]] = {code: [] for code in document["manifest"]["rules"]}
    for finding in document["findings"]:
        judged[finding["rule"]].append(
            [finding["fingerprint"], finding["severity"], finding["amount_at_risk"],
             finding["currency"], sorted(finding["evidence"])])
    for entry in document["suppressed"]:
        judged[entry["rule"]].append(["suppressed", entry["fingerprint"]])
        # (and under the rule that suppressed it: a change of its `suppresses` is its own)
        judged[entry["suppressed_by"]].append(["suppresses", entry["rule"],
                                               entry["fingerprint"]])
    return {code: hashlib.sha256(json.dumps(sorted(rows, key=json.dumps)).encode()
                                 ).hexdigest()
            for code, rows in judged.items()}


def _planted(folder: Path) -> Path:
    """The bundled sample with one receipt reused (it holds none): CS0000015 (paid 212.56
    EUR on 2026-08-14) presents CS0000038's receipt (paid 2026-07-23, its store sale 28.74
    EUR) written otherwise, ` Receipt-CS38.JPG`, so that receipt-reused's judgement (how
    receipts compare, who is found, the money beyond the sale) is in its digest (on the
    sample alone its digest was that of no finding, and any change of it passed). Every
    other rule's findings are the sample's (tests/test_receipt_reused.py)."""
    import pandas as pd

    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    receipt = frame["evidence:receipt"]
    frame.loc[(frame["case:concept:name"] == "CS0000015") & (receipt != ""),
              "evidence:receipt"] = " Receipt-CS38.JPG"
    folder.mkdir(parents=True, exist_ok=True)
    planted = folder / "canonical-planted.csv"
    frame.to_csv(planted, index=False)
    return planted


def _sample_check(out: Path) -> dict[str, Any]:
    planted = _planted(out.parent / "planted")
    result = CliRunner().invoke(main, ["check", str(planted), "--out", str(out), "--format",
                                       "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


def test_a_rules_findings_on_the_sample_change_only_with_its_logic_version(
        tmp_path: Path) -> None:
    """Each rule's findings on the bundled sample are those recorded for its logic version:
    a rule judging the sample otherwise keeps its version only by mistake (diff would call
    its findings new or resolved as if the refunds had changed). Only what the sample
    shows: a change of judgement on cases it does not hold passes unseen here."""
    document = _sample_check(tmp_path / "run")
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    versions = document["manifest"]["rule_versions"]
    judged = _judged(document)
    assert set(recorded) == set(versions), "rules added or removed: record them"
    unraised = [code for code, digest in judged.items()
                if digest != recorded[code]["findings"]
                and versions[code] == recorded[code]["logic_version"]]
    assert not unraised, (
        f"the findings of {', '.join(unraised)} on the bundled sample changed while their "
        "logic_version did not: raise it (docs/rules/README.md#logic-versions), then record "
        "with `PYTHONPATH=. python tests/test_rule_versions.py`; where the sample, its policy "
        "or the clock changed and no rule, record without raising")
    unrecorded = [code for code, digest in judged.items()
                  if (digest, versions[code]) != (recorded[code]["findings"],
                                                  recorded[code]["logic_version"])]
    assert not unrecorded, (f"{', '.join(unrecorded)}: another logic version than recorded; "
                            "record with `PYTHONPATH=. python tests/test_rule_versions.py`")


def test_a_suppressed_finding_is_judged_under_the_rule_that_suppressed_it_too() -> None:
    """A finding precedence suppressed was filed under its own rule only: EV003 ceasing to
    suppress SL001's finding and DU001 suppressing it instead (a change of their
    `suppresses`) left EV003's and DU001's digests as they were, and asked for SL001's
    version to be raised, not theirs (docs/rules/README.md: raise the rule whose precedence
    changed). Now it is filed under the suppressing rule too."""
    def document(by: str) -> dict[str, Any]:
        return {"manifest": {"rules": ["DU001", "EV003", "SL001"]}, "findings": [],
                "suppressed": [{"rule": "SL001", "case_id": "40141",
                                "fingerprint": "19edb4847ab57a1c", "suppressed_by": by}]}

    before, after = _judged(document("EV003")), _judged(document("DU001"))
    assert before["SL001"] == after["SL001"]  # (its finding suppressed in both)
    assert before["EV003"] != after["EV003"]
    assert before["DU001"] != after["DU001"]
    empty = _judged({**document("EV003"), "suppressed": []})
    assert before["DU001"] == empty["DU001"] and after["EV003"] == empty["EV003"]


def record(folder: Path) -> None:
    """Write `RECORDED` from a check of the bundled sample."""
    document = _sample_check(folder)
    versions = document["manifest"]["rule_versions"]
    RECORDED.write_text(json.dumps(
        {code: {"logic_version": versions[code], "findings": digest}
         for code, digest in sorted(_judged(document).items())}, indent=1) + "\n",
        encoding="utf-8")
    print(f"wrote {RECORDED}")


if __name__ == "__main__":  # pragma: no cover
    import tempfile

    with tempfile.TemporaryDirectory() as temporary:
        record(Path(temporary) / "run")
    sys.exit(0)
