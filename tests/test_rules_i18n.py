"""Labels in another language: the same controls, mapped by the policy, give the same findings.

A generated log is relabelled to Chinese and re-imported from a UTF-8 CSV; the policy
tests/data/policies/policy.zh.yaml maps the Chinese labels to the default policy's controls.
The findings (case, rule, events) must equal those of the English log with the default policy,
including unmapped-activity for the translated label that neither policy maps.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audit import canonical as C
from audit.ingest import import_sources
from audit.policy import Policy, default_policy_path, load_policy
from audit.rules.engine import AuditResult, run_rules
from audit.rules.registry import default_rules
from audit.sample import SampleSpec, write_sample
from audit.sample import process as P

ZH_POLICY = Path(__file__).parent / "data" / "policies" / "policy.zh.yaml"
ZH = {
    "Capture payment": "扣款成功",
    "Charge subscription renewal": "订阅续费扣款",
    "Record store sale": "门店销售记录",
    P.REQUEST: "收到退款申请",
    P.EVIDENCE: "收集证据",
    P.PRORATA: "按比例计算金额",
    P.APPROVE: "批准退款",
    P.APPROVE_2: "二级审批",
    P.REJECT: "拒绝退款",
    P.PAYOUT: "执行付款",
    P.PAYOUT_FAILED: "付款失败",
    P.NOTIFY: "通知客户",
    P.CLOSE: "关闭工单",
    P.UNMAPPED_LABEL: "客户回电",  # unmapped in both policies
}
RULES = default_rules()
Key = tuple[str, str, tuple[str, ...], str, str]


def _keys(result: AuditResult) -> set[Key]:
    return {(f.case_id, f.name, tuple(sorted(f.event_ids)), f.severity, f.fingerprint)
            for f in result.findings}


def _audit(path: Path, policy: Policy) -> tuple[pd.DataFrame, AuditResult]:
    imported = import_sources([(path, None)])
    assert imported.quarantined == 0
    assert C.validate(imported.log) == []
    assert policy.as_of is not None
    return imported.log, run_rules(imported.log, policy, RULES, as_of=policy.as_of)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("i18n")
    english = write_sample(SampleSpec("all", 600, 7, 0.5), folder)["canonical"]
    raw = pd.read_csv(english, dtype=str, keep_default_na=False)
    assert set(raw[C.ACTIVITY]) <= set(ZH), set(raw[C.ACTIVITY]) - set(ZH)
    raw[C.ACTIVITY] = raw[C.ACTIVITY].map(ZH)
    chinese = folder / "canonical.zh.csv"
    raw.to_csv(chinese, index=False, encoding="utf-8")
    return english, chinese


def test_the_chinese_policy_maps_the_same_controls() -> None:
    zh = load_policy(ZH_POLICY, known_rules=RULES.known)
    en = load_policy(default_policy_path(), known_rules=RULES.known)
    assert {ZH[label]: a.control for label, a in en.activities.items()} == zh.control_of()
    assert {label: a.sop_task for label, a in zh.activities.items()} == {
        ZH[label]: label for label in en.activities}


def test_chinese_labels_give_the_same_findings(logs: tuple[Path, Path]) -> None:
    english, chinese = logs
    _, en = _audit(english, load_policy(default_policy_path(), known_rules=RULES.known))
    zh_log, zh = _audit(chinese, load_policy(ZH_POLICY, known_rules=RULES.known))
    assert en.errors == [] and zh.errors == []
    assert set(zh_log[C.ACTIVITY]) <= set(ZH.values())
    assert len({f.name for f in en.findings}) >= 18, "the sample exercises too few rules"
    assert _keys(zh) == _keys(en)
    # The activities of each finding are the same events, labelled in Chinese.
    en_activities = {(f.case_id, f.name): [ZH[a] for a in f.activities] for f in en.findings}
    assert {(f.case_id, f.name): f.activities for f in zh.findings} == en_activities


def test_an_unmapped_label_in_chinese_is_still_reported(logs: tuple[Path, Path]) -> None:
    _, chinese = logs
    zh_log, zh = _audit(chinese, load_policy(ZH_POLICY, known_rules=RULES.known))
    with_label = set(zh_log.loc[zh_log[C.ACTIVITY].eq(ZH[P.UNMAPPED_LABEL]), C.CASE])
    unmapped = [f for f in zh.findings if f.name == "unmapped-activity"]
    assert with_label and {f.case_id for f in unmapped} == with_label
    assert all(f.evidence["labels"] == "客户回电" for f in unmapped)


DE = {
    "Capture payment": "Zahlung erfasst",
    "Charge subscription renewal": "Abo-Verlängerung abgebucht",
    "Record store sale": "Verkauf in der Filiale",
    P.REQUEST: "Erstattung angefordert",
    P.EVIDENCE: "Nachweise geprüft",
    P.PRORATA: "Anteiligen Betrag ermittelt",
    P.APPROVE: "Erstattung genehmigt",
    P.APPROVE_2: "Erstattung genehmigt (2. Stufe)",
    P.REJECT: "Erstattung abgelehnt",
    P.PAYOUT: "Auszahlung ausgeführt",
    P.PAYOUT_FAILED: "Auszahlung fehlgeschlagen",
    P.NOTIFY: "Kunde benachrichtigt",
    P.CLOSE: "Vorgang geschlossen",
    P.UNMAPPED_LABEL: "Kunde zurückgerufen",  # unmapped in both policies
}


@pytest.mark.parametrize(("log_form", "policy_form"), [("NFD", "NFC"), ("NFC", "NFD")])
def test_german_labels_whose_umlauts_are_written_apart_give_the_same_findings(
        tmp_path: Path, log_form: str, policy_form: str) -> None:
    """A German export whose `ü` is written as `u` and a combining diaeresis (as systems
    and editors on macOS write it), checked with a policy typed with the composed `ü`, or
    the other way round: the labels look alike, but compared unequal, so 'Auszahlung
    ausgeführt' mapped no event, every payout, evidence and renewal was an unmapped
    activity, and the approval and payout rules saw no payout. The import composes the
    log's labels and the policy its own, so the findings are the English log's."""
    import unicodedata

    english = write_sample(SampleSpec("all", 200, 7, 0.5), tmp_path)["canonical"]
    raw = pd.read_csv(english, dtype=str, keep_default_na=False)
    raw[C.ACTIVITY] = raw[C.ACTIVITY].map(
        lambda label: unicodedata.normalize(log_form, DE[label]))
    german = tmp_path / "canonical.de.csv"
    raw.to_csv(german, index=False, encoding="utf-8")
    text = default_policy_path().read_text(encoding="utf-8")
    for label, german_label in DE.items():
        if f"  {label}: {{control: " in text:
            written = unicodedata.normalize(policy_form, german_label)
            text = text.replace(f"  {label}: {{control: ", f"  {written}: {{sop_task: {label}, "
                                "control: ")
    policy_path = tmp_path / "policy.de.yaml"
    policy_path.write_text(text, encoding="utf-8")
    _, en = _audit(english, load_policy(default_policy_path(), known_rules=RULES.known))
    de_log, de = _audit(german, load_policy(policy_path, known_rules=RULES.known))
    assert de.errors == []
    assert set(de_log[C.ACTIVITY]) <= {unicodedata.normalize("NFC", v) for v in DE.values()}
    assert _keys(de) == _keys(en)
    unmapped = {f.evidence["labels"] for f in de.findings if f.name == "unmapped-activity"}
    assert unmapped == {"Kunde zurückgerufen"}
