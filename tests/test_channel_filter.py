"""`compare --channel` and `discover --channel`: the cases of one channel only, each case's
channel decided as check decides it (its ticket's, else the first its events state by
time). Before, `compare sample ecommerce.bpmn` compared the cases of all three channels
against the e-commerce SOP, and a note only said they were "compared as one log"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from audit import canonical as C
from audit.cli import CHANNELS, main
from conformance.channels import Channels, select_channel
from conformance.compare import compare_files

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs" / "refund-sample" / "canonical.csv"
ECOMMERCE = ROOT / "models" / "ecommerce.bpmn"
OFFLINE = ROOT / "models" / "offline.bpmn"
HEADER = "event:id,case:concept:name,concept:name,time:timestamp,refund:channel\n"
SOP_RUN = ("Receive refund request", "Collect evidence", "Approve refund", "Execute payout",
           "Notify customer", "Close ticket")


def _rows(case: str, day: int, labels: tuple[str, ...], channels: list[str]) -> str:
    return "".join(f"{case}-{k},{case},{label},2026-01-{day:02d}T{10 + k:02d}:00:00Z,"
                   f"{channel}\n"
                   for k, (label, channel) in enumerate(zip(labels, channels, strict=True)))


def _german_request_log(tmp_path: Path) -> tuple[Path, Path]:
    """A log of two cases (G1: a purchase stating offline, then a ticket labelled 'Antrag
    erhalten' stating ecommerce; E1: an e-commerce SOP run) and a copy of the bundled
    policy that maps 'Antrag erhalten' to the request."""
    log = tmp_path / "log.csv"
    log.write_text(HEADER + _rows("G1", 1, ("Capture payment", "Antrag erhalten"),
                                  ["offline", "ecommerce"])
                   + _rows("E1", 2, SOP_RUN, ["ecommerce"] * 6), encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    text = (ROOT / "models" / "policy.default.yaml").read_text(encoding="utf-8")
    assert "  Receive refund request: {control: request}" in text
    policy.write_text(text.replace("  Receive refund request: {control: request}",
                                   "  Receive refund request: {control: request}\n"
                                   "  Antrag erhalten: {control: request}"), encoding="utf-8")
    return log, policy


# E1, E2: the e-commerce SOP's run. X1: its purchase (first by time) states offline, its
# ticket events ecommerce: check's channel is the ticket's, ecommerce (the first stated by
# time, or by row, would be offline). O1: an offline case paying out before the approval.
# N1: a case stating no channel.
ECOMMERCE_ROWS = (_rows("E1", 1, SOP_RUN, ["ecommerce"] * 6)
                  + _rows("E2", 2, SOP_RUN, ["ecommerce"] * 6)
                  + _rows("X1", 3, ("Capture payment", *SOP_RUN), ["offline"] + ["ecommerce"] * 6))
OFFLINE_ROWS = _rows("O1", 4, ("Receive refund request", "Collect evidence", "Execute payout",
                               "Approve refund", "Notify customer", "Close ticket"),
                     ["offline"] * 6)
NO_CHANNEL_ROWS = _rows("N1", 5, SOP_RUN, [""] * 6)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER + ECOMMERCE_ROWS + OFFLINE_ROWS + NO_CHANNEL_ROWS, encoding="utf-8")
    return path


def _sample_channels() -> dict[str, set[str]]:
    """The sample's cases by channel, by hand: every event of a sample case states its
    case's channel (asserted), so the channel column alone says it."""
    frame = pd.read_csv(SAMPLE, dtype=str)
    per_case = frame.groupby("case:concept:name")["refund:channel"].agg(set)
    assert all(len(stated) == 1 for stated in per_case)  # (else the count below is not check's)
    out: dict[str, set[str]] = {}
    for case, stated in per_case.items():
        out.setdefault(next(iter(stated)), set()).add(str(case))
    return out


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_the_cli_choices_are_the_canonical_channels() -> None:
    assert CHANNELS == C.CHANNELS


def test_a_case_is_of_the_channel_check_decides(mixed: Path) -> None:
    """X1's first event by time (its purchase) states offline, its ticket ecommerce: kept
    as ecommerce, as check judges it; N1 states none and is left out, and counted."""
    from audit.ingest import import_sources

    log = import_sources([(mixed, None)]).log
    kept, channels = select_channel(log, "ecommerce", file=mixed)
    assert sorted(kept[C.CASE].astype(str).unique()) == ["E1", "E2", "X1"]
    assert len(kept) == 19  # (every event of the kept cases, X1's offline purchase too)
    assert channels == Channels({"ecommerce": 3, "offline": 1}, 1, "ecommerce")
    assert channels.kept_text() == ("--channel ecommerce: 3 of 5 cases; 1 case states no "
                                    "channel and is left out")
    offline, _ = select_channel(log, "offline", file=mixed)
    assert sorted(offline[C.CASE].astype(str).unique()) == ["O1"]
    whole, counts = select_channel(log, None, file=mixed)
    assert whole is log and counts.kept == counts.cases == 5


@pytest.mark.parametrize("channel", ["ecommerce", "subscription", "offline"])
def test_compare_keeps_the_cases_of_the_channel(channel: str, tmp_path: Path) -> None:
    expected = _sample_channels()
    code, output = _invoke("compare", str(SAMPLE), f"{channel}.bpmn", "--channel", channel,
                           "--out", str(tmp_path / "out"))
    assert code in (0, 1), output
    record = json.loads((tmp_path / "out" / "compare.json").read_text(encoding="utf-8"))
    assert record["channel"] == channel
    assert record["as_is"]["cases"] == len(expected[channel])
    assert record["as_is"]["channels"] == {
        "channel": channel, "cases": 300, "kept": len(expected[channel]),
        "without_channel": 0, "by_channel": {c: len(ids) for c, ids in sorted(expected.items())}}
    examples = {case for d in record["differences"] for case in d["examples"]}
    assert examples <= expected[channel]
    note = f"as-is log: --channel {channel}: {len(expected[channel])} of 300 cases"
    assert note in record["notes"]
    assert f"note: {note}" in output
    assert "state 3 channels" not in output
    md = (tmp_path / "out" / "compare.md").read_text(encoding="utf-8")
    assert f"(channel {channel}: {len(expected[channel])} of 300 cases)" in md
    svg = (tmp_path / "out" / "diff.svg").read_text(encoding="utf-8")
    assert f"(channel {channel}: {len(expected[channel])} of 300 cases)" in svg


def test_the_offline_cases_difference_disappears_under_the_channel(mixed: Path,
                                                                   tmp_path: Path) -> None:
    """Against the e-commerce SOP, the mixed log shows an order the model never allows,
    caused by the offline case alone; with --channel ecommerce it is gone, and the
    differences are those of a log of the e-commerce cases only (written by hand)."""
    whole = compare_files(mixed, ECOMMERCE)
    kept = compare_files(mixed, ECOMMERCE, channel="ecommerce")
    only = tmp_path / "only-ecommerce.csv"
    only.write_text(HEADER + ECOMMERCE_ROWS, encoding="utf-8")
    by_hand = compare_files(only, ECOMMERCE)

    def keyed(result: object) -> set[tuple[str, tuple[str, ...]]]:
        return {(d.kind, d.activities) for d in result.differences}  # type: ignore[attr-defined]

    from_offline = keyed(whole) - keyed(kept)
    assert ("order", ("Execute payout", "Approve refund")) in from_offline
    for difference in whole.differences:
        if (difference.kind, difference.activities) in from_offline:
            assert difference.examples == ("O1",), difference
    assert not [d for d in kept.differences if d.kind in ("order", "missing-after")]
    assert [d.as_dict() for d in kept.differences] == [d.as_dict() for d in by_hand.differences]
    assert kept.as_is.cases == 3 and whole.as_is.cases == 5
    assert kept.channel == "ecommerce" and whole.channel is None
    assert ("as-is log: --channel ecommerce: 3 of 5 cases; 1 case states no channel and is "
            "left out") in kept.notes


def test_without_the_option_the_note_names_it_and_the_models_channel(mixed: Path,
                                                                     tmp_path: Path) -> None:
    """No filtering without --channel; the note names the option, with the channel whose
    SOP the model side is (the bundled offline.bpmn, or a copy of it by another name)."""
    result = compare_files(mixed, ECOMMERCE)
    assert result.as_is.cases == 5
    assert ("as-is log: its cases state 2 channels (ecommerce 3 cases, offline 1); 1 case "
            "states none: all are compared as one log (check aligns each case with its own "
            "channel's SOP): give --channel ecommerce (the to-be model is the ecommerce SOP) "
            "to compare its cases only") in result.notes
    copy = tmp_path / "to-be.bpmn"
    shutil.copyfile(OFFLINE, copy)
    against = compare_files(mixed, copy)
    assert any("give --channel offline (the to-be model is the offline SOP)" in n
               for n in against.notes), against.notes
    # A model that is no channel's SOP: the channel of the most cases is named.
    other = tmp_path / "other.bpmn"
    other.write_text(ECOMMERCE.read_text(encoding="utf-8").replace(
        "Close ticket", "Close the ticket"), encoding="utf-8")
    plain = compare_files(mixed, other)
    assert any(n.endswith("give --channel ecommerce to compare its cases only")
               for n in plain.notes), plain.notes


def test_a_log_of_one_channel_against_another_channels_sop_is_noted(tmp_path: Path) -> None:
    only = tmp_path / "offline.csv"
    only.write_text(HEADER + OFFLINE_ROWS, encoding="utf-8")
    assert ("as-is log: its cases state 1 channel (offline 1 case), none ecommerce: the "
            "to-be model compared with is the ecommerce SOP (check aligns each case with "
            "its own channel's SOP)") in compare_files(only, ECOMMERCE).notes
    assert not [n for n in compare_files(only, OFFLINE).notes if "channel" in n]


def test_a_channel_that_keeps_no_case_is_an_input_error(mixed: Path, tmp_path: Path) -> None:
    for command in (["compare", str(mixed), "ecommerce.bpmn"], ["discover", str(mixed)]):
        code, output = _invoke(*command, "--channel", "subscription", "--out",
                               str(tmp_path / command[0]))
        assert code == 2, output
        assert ("field '--channel': --channel subscription keeps no case: its cases state 2 "
                "channels (ecommerce 3 cases, offline 1); 1 case states none") in output
        assert str(mixed) in output
        assert not (tmp_path / command[0]).exists() or not any(
            (tmp_path / command[0]).iterdir())
    bare = tmp_path / "bare.csv"
    bare.write_text(HEADER.replace(",refund:channel", "") + "a,c1,A,2026-01-01T10:00:00Z\n",
                    encoding="utf-8")
    code, output = _invoke("compare", str(bare), "ecommerce.bpmn", "--channel", "ecommerce",
                           "--out", str(tmp_path / "bare"))
    assert code == 2 and "no case of the log states a channel (refund:channel)" in output
    code, output = _invoke("compare", str(mixed), "ecommerce.bpmn", "--channel", "phone",
                           "--out", str(tmp_path / "bad"))
    assert code == 2 and "'phone' is not one of" in output


def test_two_models_under_a_channel_say_nothing_was_filtered() -> None:
    result = compare_files(OFFLINE, ECOMMERCE, channel="offline")
    assert ("--channel offline: both sides are models, which it does not filter: nothing "
            "was left out") in result.notes


@pytest.mark.parametrize("channel", ["subscription", "offline"])
def test_discover_mines_the_cases_of_the_channel(channel: str, tmp_path: Path) -> None:
    expected = _sample_channels()
    out = tmp_path / "out"
    code, output = _invoke("discover", str(SAMPLE), "--miner", "dfg", "--channel", channel,
                           "--out", str(out))
    assert code == 0, output
    record = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    frame = pd.read_csv(SAMPLE, dtype=str)
    events = frame[frame["case:concept:name"].isin(expected[channel])]
    assert record["channel"] == channel
    assert record["cases"] == len(expected[channel])
    assert record["events"] == len(events)
    assert record["channels"]["kept"] == len(expected[channel])
    assert record["channels"]["cases"] == 300
    assert {a: v["events"] for a, v in record["activities"].items()} == \
        events["concept:name"].value_counts().to_dict()
    note = f"--channel {channel}: {len(expected[channel])} of 300 cases"
    assert note in record["notes"] and f"note: {note}" in output
    svg = (out / "discovery-dfg.svg").read_text(encoding="utf-8")
    assert f"channel {channel} only: {len(expected[channel])} of 300 cases" in svg


def test_discover_without_the_channel_notes_the_channels(tmp_path: Path) -> None:
    expected = _sample_channels()
    out = tmp_path / "out"
    code, output = _invoke("discover", str(SAMPLE), "--miner", "dfg", "--out", str(out))
    assert code == 0, output
    record = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert record["channel"] is None and record["cases"] == 300
    assert record["channels"]["by_channel"] == {c: len(v) for c, v in sorted(expected.items())}
    assert any(n.startswith("the log's cases state 3 channels") and
               n.endswith("give --channel ecommerce to mine its cases only")
               for n in record["notes"]), record["notes"]
    svg = (out / "discovery-dfg.svg").read_text(encoding="utf-8")
    assert " only: " not in svg


def test_discover_names_the_channel_in_the_models_title(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _invoke("discover", str(mixed), "--noise", "0", "--channel", "ecommerce",
                           "--out", str(out))
    assert code == 0, output
    record = json.loads((out / "discovery.json").read_text(encoding="utf-8"))
    assert record["cases"] == 3 and record["fitness"]["cases"] == 3
    assert record["channels"] == {"channel": "ecommerce", "cases": 5, "kept": 3,
                                  "without_channel": 1,
                                  "by_channel": {"ecommerce": 3, "offline": 1}}
    title = "channel ecommerce only: 3 of 5 cases"
    assert title in (out / "model.svg").read_text(encoding="utf-8")
    assert title in (out / "discovery-dfg.svg").read_text(encoding="utf-8")


def test_compare_decides_a_cases_channel_by_the_policy_given(tmp_path: Path) -> None:
    """Which events are the ticket's is the policy's word: a case whose purchase states
    offline and whose ticket, labelled 'Antrag erhalten', states ecommerce is an e-commerce
    case with a policy mapping that label to the request, as check with that policy judges
    it; with the bundled policy, which does not know the label, its first event by time
    decides (offline)."""
    log, policy = _german_request_log(tmp_path)
    from audit.policy import load_policy

    with_policy = compare_files(log, ECOMMERCE, load_policy(policy), channel="ecommerce")
    assert with_policy.as_is.channels == Channels({"ecommerce": 2}, 0, "ecommerce")
    bundled = compare_files(log, ECOMMERCE, channel="ecommerce")
    assert bundled.as_is.channels == Channels({"ecommerce": 1, "offline": 1}, 0, "ecommerce")
    code, output = _invoke("compare", str(log), "ecommerce.bpmn", "--policy", str(policy),
                           "--channel", "ecommerce", "--out", str(tmp_path / "out"))
    assert code in (0, 1), output
    assert "note: as-is log: --channel ecommerce: 2 of 2 cases" in output


def test_discover_decides_a_cases_channel_by_the_policy_given(tmp_path: Path) -> None:
    """discover had no --policy: its --channel decided each case's channel with the bundled
    policy, so a case whose purchase states offline and whose ticket, labelled 'Antrag
    erhalten', states ecommerce was mined as offline, where check and compare with the
    company's policy (mapping the label to the request) judge it e-commerce: the same log
    and option gave discover 1 e-commerce case and compare 2. Now `discover --policy`
    decides as they do, and discovery.json names the policy."""
    log, policy = _german_request_log(tmp_path)
    import hashlib

    from audit.ingest import import_sources
    from audit.policy import load_policy
    from audit.rules.facts import channels_of_cases

    # check's own decision with that policy, on the log as imported.
    decided = channels_of_cases(import_sources([(log, None)]).log, load_policy(policy))
    assert decided.to_dict() == {"E1": "ecommerce", "G1": "ecommerce"}
    code, output = _invoke("discover", str(log), "--miner", "dfg", "--channel", "ecommerce",
                           "--policy", str(policy), "--out", str(tmp_path / "with"))
    assert code == 0, output
    assert "note: --channel ecommerce: 2 of 2 cases" in output
    summary = json.loads((tmp_path / "with" / "discovery.json").read_text(encoding="utf-8"))
    assert summary["channels"]["by_channel"] == {"ecommerce": 2}
    assert summary["cases"] == 2
    assert summary["policy"] == {"file": "policy.yaml",
                                 "sha256": hashlib.sha256(policy.read_bytes()).hexdigest()}
    variants = (tmp_path / "with" / "variants.csv").read_text(encoding="utf-8")
    assert "Capture payment -> Antrag erhalten" in variants  # (G1, mined as e-commerce)
    # Without it, the bundled policy: G1's first event by time (offline) decides.
    code, output = _invoke("discover", str(log), "--miner", "dfg", "--channel", "ecommerce",
                           "--out", str(tmp_path / "bundled"))
    assert code == 0, output
    assert "note: --channel ecommerce: 1 of 2 cases" in output
    summary = json.loads((tmp_path / "bundled" / "discovery.json").read_text(encoding="utf-8"))
    assert summary["channels"]["by_channel"] == {"ecommerce": 1, "offline": 1}
    assert summary["policy"] is None
    # A policy that is not there: an input error naming it, before the log is read.
    code, output = _invoke("discover", str(log), "--policy", str(tmp_path / "none.yaml"),
                           "--out", str(tmp_path / "none"))
    assert code == 2 and "none.yaml: field '--policy': no such file" in output, output
    assert not (tmp_path / "none").exists()
