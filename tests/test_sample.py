"""The sample generator: byte-identical repeats, a valid canonical log, exact ground truth."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest

from audit import canonical as C
from audit.ingest import import_sources
from audit.sample import SampleSpec, generate, write_sample
from audit.sample import process as P
from audit.sample.generator import DEALT, INJECTIONS
from tests.oracle import expected_findings

REPO = Path(__file__).resolve().parents[1]


def _import(folder: Path) -> pd.DataFrame:
    result = import_sources([(folder / "canonical.csv", None)])
    assert result.quarantined == 0, result.quarantine.head()
    assert C.validate(result.log) == []
    return result.log


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    spec = SampleSpec(channel="all", cases=2000, seed=7, violation_rate=0.2)
    a, b = write_sample(spec, tmp_path / "a"), write_sample(spec, tmp_path / "b")
    for kind in a:
        assert a[kind].read_bytes() == b[kind].read_bytes(), kind
    c = write_sample(SampleSpec(channel="all", cases=2000, seed=8, violation_rate=0.2),
                     tmp_path / "c")
    assert a["canonical"].read_bytes() != c["canonical"].read_bytes()


def test_every_rule_family_is_injected(tmp_path: Path) -> None:
    out = write_sample(SampleSpec(channel="all", cases=2000, seed=7, violation_rate=0.2),
                       tmp_path)
    truth = pd.read_csv(out["ground_truth"])
    assert list(truth.columns) == ["case_id", "rule"]
    assert set(truth["rule"]) == {r for rules in INJECTIONS.values() for r in rules}
    log = _import(tmp_path)
    assert set(log[C.CHANNEL]) == set(C.CHANNELS)
    assert set(truth["case_id"]) <= set(log[C.CASE])


@pytest.mark.parametrize("seed,rate,channel", [(7, 0.2, "all"), (1, 0.5, "ecommerce"),
                                               (3, 0.3, "subscription"), (11, 0.4, "offline"),
                                               (5, 1.0, "all")])
def test_ground_truth_equals_the_oracle(tmp_path: Path, seed: int, rate: float,
                                        channel: str) -> None:
    write_sample(SampleSpec(channel=channel, cases=500, seed=seed, violation_rate=rate),
                 tmp_path)
    log = _import(tmp_path)
    truth = pd.read_csv(tmp_path / "ground_truth.csv", dtype=str)
    expected = set(truth.itertuples(index=False, name=None))
    oracle = expected_findings(log)
    assert oracle - expected == set(), "findings the generator did not declare"
    assert expected - oracle == set(), "declared violations the oracle does not see"


def test_no_violations_at_rate_zero(tmp_path: Path) -> None:
    write_sample(SampleSpec(channel="all", cases=400, seed=2, violation_rate=0.0), tmp_path)
    log = _import(tmp_path)
    assert (tmp_path / "ground_truth.csv").read_text() == "case_id,rule\n"
    assert expected_findings(log) == set()


def test_benign_look_alikes_are_present() -> None:
    sample = generate(SampleSpec(channel="all", cases=2000, seed=7, violation_rate=0.2))
    log = pd.DataFrame(sample.events)
    assert (log[C.ACTIVITY] == P.PAYOUT_FAILED).any(), "no failed payout re-issued"
    assert (log[C.ACTIVITY] == P.REJECT).any(), "no rejected request"
    paid = log[log[C.ACTIVITY] == P.PAYOUT]
    per_charge = paid.groupby(C.CHARGE_ID)[C.CASE].nunique()
    violating = {c for c, _ in sample.ground_truth}
    shared = per_charge[per_charge > 1].index
    benign = paid[paid[C.CHARGE_ID].isin(shared) & ~paid[C.CASE].isin(violating)]
    assert benign[C.CASE].nunique() >= 2, "no legitimate second partial refund of one charge"
    lena = log[log[C.RESOURCE] == P.PROMOTED]
    assert set(lena[C.ROLE]) == {P.ROLE_AGENT, P.ROLE_SUPERVISOR}
    two_level = log[log[C.ACTIVITY] == P.APPROVE_2][C.CASE]
    assert len(set(two_level) - violating) > 10


def test_bundled_sample_is_current(tmp_path: Path) -> None:
    """sample_logs/refund-sample is what `sample --seed 42 --cases 300` writes today."""
    bundled = REPO / "sample_logs" / "refund-sample"
    fresh = write_sample(SampleSpec(channel="all", cases=300, seed=42, violation_rate=0.25),
                         tmp_path)
    for path in fresh.values():
        assert (bundled / path.name).read_bytes() == path.read_bytes(), (
            f"{path.name} is stale: regenerate with `refund-audit sample --channel all --cases "
            "300 --seed 42 --violation-rate 0.25 --out sample_logs/refund-sample`")


@pytest.mark.parametrize("cases", [200, 3000])
def test_business_hours_and_utc(cases: int) -> None:
    # At 3000 cases second refunds of one charge are many: their requests (a day after the
    # first refund's close) fell on Saturdays.
    sample = generate(SampleSpec(channel="ecommerce", cases=cases, seed=4, violation_rate=0.0))
    log = pd.DataFrame(sample.events)
    times = pd.to_datetime(log[C.TIMESTAMP], utc=True)
    assert str(times.dt.tz) == "UTC"
    ticket = log[C.SOURCE_SYSTEM] == P.TICKETING["ecommerce"]
    local = times[ticket].dt.tz_convert(P.TIME_ZONE["ecommerce"])
    assert local.dt.day_of_week.max() <= 4
    on_the_hour = local.dt.hour.eq(18) & local.dt.minute.eq(0) & local.dt.second.eq(0)
    assert (local.dt.hour.between(8, 17) | on_the_hour).all()


def test_parts_numbered_apart_import_together_as_their_union(tmp_path: Path) -> None:
    """A log generated in two parts (first_case): no id is shared, and auditing the exports
    of both parts together finds exactly what auditing each part alone finds."""
    from audit.checkrun import run_check
    from audit.policy import default_policy_path

    specs = [SampleSpec("all", 250, 3, 0.3), SampleSpec("all", 250, 4, 0.3, first_case=251)]
    folders = [tmp_path / f"part{i}" for i in range(2)]
    for spec, folder in zip(specs, folders, strict=True):
        write_sample(spec, folder)

    def exports(folder: Path) -> list[Path]:
        # As a system exports in pages: one folder, a file per part, named apart.
        named = []
        for path in sorted((folder / "exports").iterdir()):
            target = tmp_path / "together" / f"{folder.name}-{path.name}"
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(path.read_bytes())
            named.append(target)
        return named

    def found(paths: list[Path]) -> set[tuple[str, str, str]]:
        run = run_check(paths, default_policy_path())
        assert run.imported.quarantined == 0
        return {(f.case_id, f.rule, f.fingerprint) for f in run.result.findings}

    parts = [pd.read_csv(f / "canonical.csv", dtype=str) for f in folders]
    for column in (C.EVENT_ID, C.CASE, C.TICKET_ID, C.REFUND_ID, C.ORDER_ID, C.CHARGE_ID):
        values = [set(p[column].dropna()) for p in parts]
        assert values[0] and values[1] and not values[0] & values[1], column
    alone = found(exports(folders[0])) | found(exports(folders[1]))
    together = found(exports(folders[0]) + exports(folders[1]))
    assert together == alone
    assert {case for case, _, _ in together} & set(parts[1][C.CASE])


def test_cases_share_an_order_only_when_refunding_one_charge_twice() -> None:
    """Order and charge numbers are drawn without repeats: two cases name one order only as
    a second refund of the same charge, never by chance (correlation joins by order)."""
    sample = generate(SampleSpec("all", 6000, 11, 0.2))
    log = pd.DataFrame(sample.events)
    ordered = log.dropna(subset=[C.ORDER_ID])
    shared = ordered.groupby(C.ORDER_ID)[C.CASE].nunique()
    shared = shared[shared > 1]
    assert len(shared)  # second refunds of one charge exist at this size
    charges = ordered[ordered[C.ORDER_ID].isin(shared.index)].groupby(C.ORDER_ID)[
        C.CHARGE_ID].nunique(dropna=False)
    assert (charges == 1).all()


def test_every_kind_appears_once_23_cases_have_one_not_at_rate_times_cases(
        tmp_path: Path) -> None:
    """docs/sample-generator.md said every kind appears 'once R × N reaches 23'; each case
    is drawn on its own, so at R × N = 23 (92 cases, rate 0.25) seed 2 gives 20 violating
    cases and 20 kinds. The page says what holds: every kind once 23 cases have one."""
    import json

    text = " ".join((REPO / "docs" / "sample-generator.md").read_text(encoding="utf-8").split())
    assert "once R × N reaches 23" not in text
    assert "every kind appears once 23 cases have been given one" in text
    for seed, violating in ((2, 20), (3, 25)):
        out = write_sample(SampleSpec(channel="all", cases=92, seed=seed, violation_rate=0.25),
                           tmp_path / str(seed))
        manifest = json.loads(out["manifest"].read_text(encoding="utf-8"))
        assert manifest["violating_cases"] == violating
        assert f"seed {seed} gives {violating} violating cases" in text
        truth = pd.read_csv(out["ground_truth"])
        # (The 23 dealt kinds: unauthorized-performer, dealt apart, is also a rule of two
        # of them.)
        kinds = set(truth["rule"]) & set(DEALT)
        assert (len(kinds) == len(DEALT)) == (violating >= len(DEALT) == 23)


@functools.lru_cache(maxsize=1)
def _large_sample() -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """A 10k-case sample (seed 7, rate 0.2): its events and its ground truth."""
    sample = generate(SampleSpec(channel="all", cases=10000, seed=7, violation_rate=0.2))
    return pd.DataFrame(sample.events), sample.ground_truth


def test_each_approval_is_by_an_approver_but_where_injected() -> None:
    """Every approval is given by a role allowed to give it at its time, except in the
    cases whose ground truth says unauthorized-approver. The wrong-order injection moved the
    approval to the evidence's earlier time, before its approver's promotion (48213 here:
    Lena Fischer, customer-service then): unauthorized-approver fired beyond the truth."""
    log, truth_pairs = _large_sample()
    allowed = log[C.ACTIVITY].map({P.APPROVE: P.FIRST_APPROVER_ROLES,
                                   P.APPROVE_2: P.SECOND_APPROVER_ROLES})
    out_of_role = [roles == roles and roles is not None and role not in roles
                   for roles, role in zip(allowed, log[C.ROLE], strict=True)]
    found = set(log.loc[out_of_role, C.CASE])
    truth = {case for case, rule in truth_pairs if rule == "unauthorized-approver"}
    assert len(truth) > 50
    assert sorted(found - truth) == [] and sorted(truth - found) == []


def test_each_task_is_done_by_a_role_of_its_lane_but_where_injected() -> None:
    """Every event of a task in a lane of the reference SOPs is done by a role of that lane
    (or, for rejections, finance, as the default policy's performers allow), except in the
    cases whose ground truth says unauthorized-performer. Lena Fischer, promoted between
    the evidence and the pro-rata calculation of a subscription (RFD-7137 here), still
    calculated it as a supervisor: a clean case that unauthorized-performer flagged."""
    from tests.oracle import LANE_ROLES

    log, truth_pairs = _large_sample()
    allowed = [LANE_ROLES.get(a, {P.ROLE_AGENT} if a == P.PRORATA and c == "subscription"
                              else None)
               for a, c in zip(log[C.ACTIVITY], log[C.CHANNEL], strict=True)]
    out_of_lane = [roles is not None and pd.notna(role) and role not in roles
                   for roles, role in zip(allowed, log[C.ROLE], strict=True)]
    found = set(log.loc[out_of_lane, C.CASE])
    truth = {case for case, rule in truth_pairs if rule == "unauthorized-performer"}
    assert len(truth) > 100
    assert sorted(found - truth) == [] and sorted(truth - found) == []


@pytest.mark.parametrize("channel,cases,seed", [("subscription", 32, 33), ("all", 464, 2)])
def test_wrong_order_keeps_the_approver_authorised(channel: str, cases: int, seed: int) -> None:
    """wrong-order moves the first approval back to the evidence's time: an approver who
    held an approving role at the approval's own time (Lena Fischer, promoted mid-period)
    must still hold one at the earlier time, or the case is also an undeclared
    unauthorized-approver. These specs each hold such a case (RFD-32, 40464)."""
    sample = generate(SampleSpec(channel, cases, seed, 1.0))
    declared = {c for c, r in sample.ground_truth if r == "unauthorized-approver"}
    allowed = {P.APPROVE: P.FIRST_APPROVER_ROLES, P.APPROVE_2: P.SECOND_APPROVER_ROLES}
    unauthorised = {e[C.CASE] for e in sample.events
                    if e[C.ACTIVITY] in allowed and e[C.ROLE] not in allowed[str(e[C.ACTIVITY])]}
    assert unauthorised - declared == set()


def test_wrong_order_ground_truth_equals_the_oracle(tmp_path: Path) -> None:
    write_sample(SampleSpec("subscription", 32, 33, 1.0), tmp_path)
    truth = pd.read_csv(tmp_path / "ground_truth.csv", dtype=str)
    assert ("RFD-32", "wrong-order") in set(truth.itertuples(index=False, name=None))
    assert expected_findings(_import(tmp_path)) == set(truth.itertuples(index=False, name=None))


def test_a_second_sample_into_one_folder_leaves_no_stale_export(tmp_path: Path) -> None:
    """exports/ holds only the systems of the generated channels: a sample of one channel
    written where a sample of all stood removes the other systems' export files (imported as
    `exports/*`, they would add the earlier run's cases), and leaves files of its own alone."""
    write_sample(SampleSpec("all", 30, 5, 0.3), tmp_path)
    (tmp_path / "exports" / "notes.txt").write_text("mine\n")
    write_sample(SampleSpec("ecommerce", 10, 5, 0.3), tmp_path)
    fresh = generate(SampleSpec("ecommerce", 10, 5, 0.3))
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == sorted(
        [*fresh.exports, "notes.txt"])


def test_violation_rate_deals_every_kind_round_robin() -> None:
    """As docs/sample-generator.md says: at rate 1 every case is injected, and the kinds that
    refund an earlier clean case's charge twice are dealt as missing-evidence (no clean case
    exists); at a lower rate, once 23 cases are injected after a clean paid case of the
    channel, every kind is."""
    every = generate(SampleSpec("ecommerce", 46, 3, 1.0))
    truth = pd.DataFrame(every.ground_truth, columns=["case", "rule"])
    assert truth["case"].nunique() == 46
    kinds = truth.groupby("case")["rule"].first()
    assert not set(kinds) & {"duplicate-refund", "refund-exceeds-charge"}
    # Two rounds of 23: missing-evidence itself and the two kinds in its place, each round.
    assert (kinds == "missing-evidence").sum() == 2 * 3
    some = generate(SampleSpec("ecommerce", 400, 3, 0.3))
    declared = {rule for _, rule in some.ground_truth}
    assert declared == {r for rules in INJECTIONS.values() for r in rules}


@pytest.mark.parametrize("in_the_way", ["exports", "canonical.csv", "exports/jira_issues.json"])
def test_sample_names_a_path_in_the_way(tmp_path: Path, in_the_way: str) -> None:
    """A file where exports/ goes, or a folder where a file goes: exit code 2 and one line
    naming it (before: an internal error with a traceback)."""
    from click.testing import CliRunner

    from audit.cli import main

    out = tmp_path / "out"
    (out / "exports").mkdir(parents=True)
    if in_the_way == "exports":
        (out / "exports").rmdir()
        (out / "exports").write_text("")
    else:
        (out / in_the_way).mkdir()
    before = sorted(out.rglob("*"))
    result = CliRunner().invoke(main, ["sample", "--channel", "subscription", "--cases", "3",
                                       "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    # (named as the path in the way; nothing of the sample moved in: it is written aside
    # first, and moved into --out all or none)
    assert (f"error: {out / in_the_way}: field '--out': cannot write "
            in result.output) and "(nothing was replaced)" in result.output
    assert sorted(out.rglob("*")) == before


@pytest.mark.parametrize("channel,cases,seed", [("all", 11, 32), ("all", 11, 50),
                                                ("all", 2000, 7)])
def test_every_event_lies_before_the_audit_clock(channel: str, cases: int, seed: int) -> None:
    """sample.json's as_of is the audit's clock: no event of the log comes after it. An
    sla-breach case requested on the period's last day was paid and closed on the as-of
    day, after the clock (40011 of the first spec, RFD-11 of the second)."""
    sample = generate(SampleSpec(channel, cases, seed, 1.0))
    times = pd.to_datetime(pd.Series([e[C.TIMESTAMP] for e in sample.events]), utc=True)
    assert times.max() < pd.Timestamp(P.AS_OF)


def test_unauthorized_performer_is_dealt_apart_and_changes_no_other_case(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The unauthorized-performer kind, added after the 23 others, is dealt from a random
    stream of its own once every case is generated: the bundled sample's spec generated with
    and without it differs only in its cases (3 here), each in one event's performer (the
    times, ids and every other case as they were: tests name the bundled sample's cases),
    and its ground truth only by their unauthorized-performer rows. (Dealt with the others,
    the kind reshuffled every sample.)"""
    from audit.sample.generator import APART, _Generator

    spec = SampleSpec(channel="all", cases=300, seed=42, violation_rate=0.25)
    sample = generate(spec)
    monkeypatch.setattr(_Generator, "_deal_apart", lambda self: None)
    without = generate(spec)
    apart = sorted(set(sample.ground_truth) - set(without.ground_truth))
    assert len(apart) >= 3 and {rule for _, rule in apart} == {APART}
    assert sorted({*without.ground_truth, *apart}) == sample.ground_truth
    assert len(sample.events) == len(without.events)
    changed = [(a, b) for a, b in zip(sample.events, without.events, strict=True) if a != b]
    assert sorted(a[C.CASE] for a, _ in changed) == sorted(case for case, _ in apart)
    for a, b in changed:
        assert {k for k in a if a[k] != b[k]} == {C.RESOURCE, C.ROLE}
    assert sample.exports.keys() == without.exports.keys()


def test_unauthorized_performer_takes_roles_out_of_the_lanes_the_oracle_allows() -> None:
    """The roles the injection gives each task are exactly those the oracle's lanes (and the
    default policy's performers) do not allow; the purchase and the approvals are not taken."""
    from audit.sample.generator import OUT_OF_LANE
    from tests.oracle import APPROVALS, LANE_ROLES

    people = {P.ROLE_AGENT, P.ROLE_SUPERVISOR, P.ROLE_FINANCE, P.ROLE_PAYMENTS}
    lanes = {**LANE_ROLES, P.PRORATA: {P.ROLE_AGENT}}  # (in the subscription SOP's lane)
    assert set(OUT_OF_LANE) == set(lanes)
    for task, roles in OUT_OF_LANE.items():
        assert set(roles) == people - lanes[task], task
    assert not set(OUT_OF_LANE) & {*APPROVALS, *P.PURCHASE.values()}


def test_unauthorized_performer_cases_break_only_their_task_lane() -> None:
    """Each case given unauthorized-performer alone has exactly one event done by a role out of
    its task's lane, by someone who does nothing else in the case (so no other segregation
    of duties control is touched)."""
    from tests.oracle import LANE_ROLES

    log, truth_pairs = _large_sample()
    rules: dict[str, set[str]] = {}
    for case, rule in truth_pairs:
        rules.setdefault(case, set()).add(rule)
    apart = {case for case, held in rules.items() if held == {"unauthorized-performer"}}
    assert len(apart) > 20
    events = log[log[C.CASE].isin(apart)]
    allowed = [LANE_ROLES.get(a, {P.ROLE_AGENT} if a == P.PRORATA else None)
               for a in events[C.ACTIVITY]]
    out = events[[roles is not None and role not in roles
                  for roles, role in zip(allowed, events[C.ROLE], strict=True)]]
    assert sorted(out[C.CASE]) == sorted(apart)
    for _, event in out.iterrows():
        case = events[events[C.CASE] == event[C.CASE]]
        assert (case[C.RESOURCE] == event[C.RESOURCE]).sum() == 1, event[C.CASE]
