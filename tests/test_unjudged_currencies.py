"""What the policy leaves unjudged, told by the run: a policy whose second-approval
thresholds name some of the log's currencies only (an auditor's EUR limits), whose
missing-second-approval judges the others' refunds by nothing; and a log label the policy
maps not that is close to one it maps (a typo), whose events are unmapped activities."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import main
from audit.policy import default_policy_path
from audit.sample import SampleSpec, write_sample

WORDS = "missing-second-approval judges no refund in"


def _check(tmp_path: Path, log: Path, name: str, *changes: tuple[str, str]) -> list[str]:
    text = default_policy_path().read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(text, encoding="utf-8")
    out = tmp_path / name
    result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy), "--out",
                                       str(out), "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    return [w for w in manifest["warnings"] if WORDS in w]


def test_currencies_without_a_threshold_are_told(tmp_path: Path) -> None:
    log = write_sample(SampleSpec("ecommerce", 60, 3, 0.2), tmp_path / "s")["canonical"]
    frame = pd.read_csv(log, dtype=str, keep_default_na=False)
    refunds = frame[frame[C.ACTIVITY].isin(["Receive refund request", "Execute payout"])
                    & frame[C.CURRENCY].ne("")]
    cases = refunds.drop_duplicates([C.CASE, C.CURRENCY]).groupby(C.CURRENCY).size()
    assert {"GBP", "USD"} <= set(cases.index)
    eur_only = ("{EUR: 500, USD: 550, GBP: 450}", "{EUR: 500}")
    (told,) = _check(tmp_path, log, "eur", eur_only)
    assert told.startswith(f"{WORDS} GBP ({cases['GBP']} cases), USD ({cases['USD']} cases): "
                           "the policy sets no thresholds.second_approval for them")
    assert _check(tmp_path, log, "all") == []
    assert _check(tmp_path, log, "ignored", eur_only,
                  ("  ignore: []", "  ignore: [AP003]")) == []


def test_a_label_close_to_a_mapped_one_is_told(tmp_path: Path) -> None:
    """A typo in the export (`Approve refnd`): its event was an unmapped activity and its
    case a missing approval, with nothing saying which label it resembles. The run now
    warns, naming both; an unmapped label like no mapped one (`Customer called back`)
    is reported by unmapped-activity alone, as before."""
    log = write_sample(SampleSpec("ecommerce", 40, 5, 0.6), tmp_path / "s")["canonical"]
    frame = pd.read_csv(log, dtype=str, keep_default_na=False)
    assert (frame[C.ACTIVITY] == "Customer called back").any()
    first = frame.index[frame[C.ACTIVITY] == "Approve refund"][0]
    frame.loc[first, C.ACTIVITY] = "Approve refnd"
    typo = tmp_path / "typo.csv"
    frame.to_csv(typo, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(typo), "--out", str(out), "--format",
                                       "json", "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    told = [w for w in manifest["warnings"] if "is mapped by no policy entry" in w]
    assert told == ["the label 'Approve refnd' (1 event) is mapped by no policy entry, but is "
                    "close to the mapped 'Approve refund': a typo in the export or the "
                    "policy? Its events are judged as unmapped (unmapped-activity), not as "
                    "'Approve refund' (approve)"]


def test_a_tolerance_of_a_minor_unit_or_more_of_a_logs_currency_is_told(tmp_path: Path) -> None:
    """A policy stating amount_tolerance 0.005 (as the default policy did) reads up to 5
    fils of a KWD refund over its charge or approval as rounding: the run says so, naming
    the currency. Left out (the default now), or too small to hide a minor unit, no word."""
    log = tmp_path / "kwd.csv"
    rows = [("K1", "Capture payment", "1.375", "KWD"), ("K1", "Receive refund request",
                                                        "1.375", "KWD"),
            ("K1", "Execute payout", "1.379", "KWD"), ("E1", "Receive refund request",
                                                       "10.00", "EUR")]
    log.write_text("case,activity,timestamp,amount,currency\n" + "".join(
        f"{case},{activity},2026-07-0{n + 1}T09:00:00Z,{amount},{code}\n"
        for n, (case, activity, amount, code) in enumerate(rows)), encoding="utf-8")

    def told(*changes: tuple[str, str]) -> list[str]:
        text = default_policy_path().read_text(encoding="utf-8")
        for old, new in changes:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        policy = tmp_path / f"policy{len(list(tmp_path.glob('policy*')))}.yaml"
        policy.write_text(text, encoding="utf-8")
        out = tmp_path / policy.stem
        result = CliRunner().invoke(main, ["check", str(log), "--policy", str(policy),
                                           "--out", str(out), "--format", "json",
                                           "--fail-on", "never"])
        assert result.exit_code == 0, (result.output, result.exception)
        manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
        return [w for w in manifest["warnings"] if "amount_tolerance" in w]

    stated = "# amount_tolerance: 0.005"
    assert told((stated, "amount_tolerance: 0.005")) == [
        "the policy's amount_tolerance (0.005) is a minor unit or more of KWD: differences "
        "up to it between amounts in it are read as rounding, not found; leave "
        "amount_tolerance out to use half a minor unit of each currency"]
    assert told((stated, "amount_tolerance: 0.01")) == [
        "the policy's amount_tolerance (0.01) is a minor unit or more of EUR, KWD: "
        "differences up to it between amounts in them are read as rounding, not found; "
        "leave amount_tolerance out to use half a minor unit of each currency"]
    assert told() == told((stated, "amount_tolerance: 0.0005")) == []
