"""Compare: log against model (both directions), log against log, model against model; the
sentences' numbers are checked against counts computed here with pandas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import pandas as pd
import pytest
from click.testing import CliRunner

from audit.cli import main
from audit.policy import load_policy
from audit.sample import SampleSpec, write_sample
from conformance.compare import (
    END,
    MAX_DIFF_EDGES,
    START,
    Side,
    compare,
    compare_files,
    diff_dot,
    side_from_traces,
    write_comparison,
)
from tests.bpmn_texts import COLLABORATION, SEQ_A_TASK_C

ROOT = Path(__file__).resolve().parents[1]
ECOMMERCE = ROOT / "models" / "ecommerce.bpmn"
SUBSCRIPTION = ROOT / "models" / "subscription.bpmn"
SOP_LABELS = {"Receive refund request", "Collect evidence", "Reject refund", "Approve refund",
              "Approve refund (second level)", "Execute payout", "Payout failed",
              "Notify customer", "Close ticket"}
CONTROL_FLOW = {"order", "skipped", "repetition"}


@pytest.fixture(scope="module")
def clean_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    spec = SampleSpec(channel="ecommerce", cases=300, seed=1, violation_rate=0.0)
    return write_sample(spec, out)["canonical"]


@pytest.fixture(scope="module")
def violated_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("violated")
    spec = SampleSpec(channel="ecommerce", cases=300, seed=1, violation_rate=0.5)
    return write_sample(spec, out)["canonical"]


def _ordered(path: Path) -> pd.DataFrame:
    log = pd.read_csv(path, dtype=str)
    log["time"] = pd.to_datetime(log["time:timestamp"], utc=True)
    return log.sort_values(["case:concept:name", "time", "event:id"], kind="stable")


def cases_with_a_before_b(path: Path, a: str, b: str) -> int:
    """Cases where some `a` happens before some `b` (time order, ties by event id)."""
    log = _ordered(path)
    log["rank"] = log.groupby("case:concept:name").cumcount()
    first_a = log[log["concept:name"] == a].groupby("case:concept:name")["rank"].min()
    last_b = log[log["concept:name"] == b].groupby("case:concept:name")["rank"].max()
    both = pd.concat([first_a.rename("a"), last_b.rename("b")], axis=1).dropna()
    return int((both["a"] < both["b"]).sum())


def cases_without(path: Path, activity: str) -> int:
    log = pd.read_csv(path, dtype=str)
    having = log.loc[log["concept:name"] == activity, "case:concept:name"].nunique()
    return int(log["case:concept:name"].nunique() - having)


def cases_repeating(path: Path, activity: str) -> int:
    log = pd.read_csv(path, dtype=str)
    counts = log[log["concept:name"] == activity].groupby("case:concept:name").size()
    return int((counts > 1).sum())


def by_kind(differences: list[dict[str, object]], kind: str) -> list[dict[str, object]]:
    return [d for d in differences if d["kind"] == kind]


def test_clean_sample_conforms_to_its_sop(clean_log: Path, tmp_path: Path) -> None:
    result = compare_files(clean_log, ECOMMERCE)
    assert not [d.sentence for d in result.differences if d.kind in CONTROL_FLOW]
    assert not any("never allows" in d.sentence for d in result.differences)
    unknown = [d for d in result.differences if d.kind == "not-in-to-be"]
    assert [d.activities for d in unknown] == [("Capture payment",)]
    assert "is not in the to-be model" in unknown[0].sentence
    assert result.compared == frozenset(SOP_LABELS)
    written = write_comparison(result, tmp_path)
    edges = json.loads(written["compare.json"].read_text(encoding="utf-8"))["edges"]
    assert not [e for e in edges if e["status"] == "only-as-is"]


def test_violations_are_reported_with_correct_numbers(violated_log: Path,
                                                      tmp_path: Path) -> None:
    result = compare_files(violated_log, ECOMMERCE)
    written = write_comparison(result, tmp_path)
    data = json.loads(written["compare.json"].read_text(encoding="utf-8"))
    cases = pd.read_csv(violated_log, dtype=str)["case:concept:name"].nunique()
    differences = data["differences"]
    # Orders the SOP never allows, counted independently.
    orders = {tuple(d["activities"]): d for d in by_kind(differences, "order")}
    for a, b in [("Execute payout", "Approve refund"), ("Approve refund", "Collect evidence")]:
        expected = cases_with_a_before_b(violated_log, a, b)
        assert expected > 0
        found = orders[(a, b)]
        assert found["as_is"] == {"cases": expected, "of": cases,
                                  "share": round(expected / cases, 6)}
        assert found["to_be"] == {"allowed": False}
        assert f"({expected} of {cases})" in str(found["sentence"])
        assert f"{round(100 * expected / cases)}% of cases" in str(found["sentence"])
        assert str(found["sentence"]).endswith("the to-be model never allows this.")
    # Every reported order is one the SOP forbids, with the independently counted cases.
    for (a, b), found in orders.items():
        assert found["as_is"]["cases"] == cases_with_a_before_b(violated_log, a, b)
    # Skipped steps: every SOP run collects evidence.
    skipped = {d["activities"][0]: d for d in by_kind(differences, "skipped")}
    missing = cases_without(violated_log, "Collect evidence")
    assert missing > 0
    assert skipped["Collect evidence"]["as_is"]["cases"] == missing
    assert ("'Collect evidence' is required by the to-be model but missing in "
            f"{round(100 * missing / cases)}% of cases ({missing} of {cases}).") in [
        d["sentence"] for d in differences]
    for found in by_kind(differences, "repetition"):
        activity = str(found["activities"][0])
        assert found["as_is"]["cases"] == cases_repeating(violated_log, activity)
    assert "Customer called back" in {d["activities"][0]
                                      for d in by_kind(differences, "not-in-to-be")}
    markdown = written["compare.md"].read_text(encoding="utf-8")
    assert all(f"- {d['sentence']}" in markdown for d in differences)
    svg = written["diff.svg"].read_text(encoding="utf-8")
    assert "only as-is" in svg and "<script" not in svg


def test_model_as_is_against_log_to_be(violated_log: Path) -> None:
    result = compare_files(ECOMMERCE, violated_log)
    order = next(d for d in result.differences if d.kind == "order"
                 and d.activities == ("Execute payout", "Approve refund"))
    expected = cases_with_a_before_b(violated_log, "Execute payout", "Approve refund")
    assert order.to_be.cases == expected and order.as_is.allowed is False
    assert "of to-be cases" in order.sentence and "the as-is model never allows" in \
        order.sentence


def test_log_against_log(clean_log: Path, violated_log: Path) -> None:
    same = compare_files(clean_log, clean_log)
    assert same.differences == []
    assert all(e.status == "both" for e in same.edges)
    result = compare_files(clean_log, violated_log)
    expected = cases_with_a_before_b(violated_log, "Execute payout", "Approve refund")
    sentence = (f"In {round(100 * expected / 300)}% of to-be cases ({expected} of 300), "
                "'Execute payout' happens before 'Approve refund'; this never happens in the "
                "as-is log.")
    assert sentence in [d.sentence for d in result.differences]
    called_back = [d for d in result.differences if d.kind == "not-in-as-is"]
    assert [d.activities for d in called_back] == [("Customer called back",)]
    # Orders involving a label on one side only are not repeated as order sentences.
    assert not [d for d in result.differences if d.kind == "order"
                and "Customer called back" in d.activities]


def test_model_against_model() -> None:
    same = compare_files(ECOMMERCE, ECOMMERCE)
    assert same.differences == []
    other = compare_files(ECOMMERCE, SUBSCRIPTION)
    assert [d.activities for d in other.differences if d.kind == "not-in-as-is"] == [
        ("Calculate pro-rata amount",)]


def test_model_against_model_orders_and_requirements() -> None:
    as_is = side_from_traces([("a", "b", "c"), ("a", "c")], "as-is", "as-is")
    to_be = side_from_traces([("a", "c", "b")], "to-be", "to-be")
    sentences = [d.sentence for d in compare(as_is, to_be).differences]
    assert "The as-is model allows 'b' before 'c'; the to-be model never allows this." in \
        sentences
    assert "The to-be model allows 'c' before 'b'; the as-is model never allows this." in \
        sentences
    assert "'b' is required by the to-be model but optional in the as-is model." in sentences


def test_percentages_round_half_up() -> None:
    """Python's rounding is half to even: 1 of 8 cases read "12%"."""
    from conformance.compare import percent

    assert [percent(1, 8), percent(5, 8), percent(1, 40), percent(1, 3)] == [
        "13%", "63%", "3%", "33%"]


def test_percentages_below_one_percent() -> None:
    log = side_from_traces([], "as-is", "log")
    log.kind = "log"
    log.traces = {("a", "b"): 299, ("b", "a"): 1}
    log.labels = frozenset({"a", "b"})
    model = side_from_traces([("a", "b")], "to-be", "model")
    sentences = [d.sentence for d in compare(log, model).differences]
    assert ("In less than 1% of cases (1 of 300), 'b' happens before 'a'; the to-be model "
            "never allows this.") in sentences


def test_cli_compare(violated_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "diff"
    result = CliRunner().invoke(main, ["compare", str(violated_log), str(ECOMMERCE), "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ difference\(s\)", result.output)
    for name in ("compare.json", "compare.md", "diff.svg", "diff.png"):
        assert (out / name).stat().st_size > 0
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions/>", encoding="utf-8")
    bad = CliRunner().invoke(main, ["compare", str(violated_log), str(broken), "--out",
                                    str(out)])
    assert bad.exit_code == 2, bad.output


def _model(path: Path, body: str) -> Path:
    """A BPMN file of one process with `body` (tasks named by their ids)."""
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="http://www.'
                    'omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><process '
                    f'id="p">{body}</process></definitions>', encoding="utf-8")
    return path


def _flows(*hops: tuple[str, str]) -> str:
    return "".join(f'<sequenceFlow id="f{k}" sourceRef="{a}" targetRef="{b}"/>'
                   for k, (a, b) in enumerate(hops))


def test_a_loop_is_compared_beyond_its_first_round(tmp_path: Path) -> None:
    """A loop over four tasks: its second round is 4 more activities, past the play-out's
    old bound (activities + 3). A case that loops twice read "happens more than once; the
    model allows it only once", a false statement; the model's runs are now judged on its
    reachability graph."""
    tasks = "".join(f'<task id="{t}" name="{t}"/>' for t in "ABCDE")
    body = ('<startEvent id="s"/><exclusiveGateway id="m"/><exclusiveGateway id="x"/>'
            '<endEvent id="e"/>' + tasks + _flows(("s", "m"), ("m", "A"), ("A", "B"),
                                                  ("B", "C"), ("C", "D"), ("D", "x"),
                                                  ("x", "m"), ("x", "E"), ("E", "e")))
    model = _model(tmp_path / "loop.bpmn", body)
    log = tmp_path / "log.csv"
    rows = ["case:concept:name,concept:name,time:timestamp"]
    for k, activity in enumerate("ABCDABCDE"):
        rows.append(f"c1,{activity},2026-07-01T{10 + k}:00:00Z")
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = compare_files(log, model)
    assert result.differences == [], [d.sentence for d in result.differences]
    assert compare_files(model, model).differences == []


def test_a_model_repeating_task_names_is_compared(tmp_path: Path) -> None:
    """Ten tasks, 'Notify' five times (six names): the old bound counted names, not tasks,
    so the model 'had no run that reaches its end' (exit 2)."""
    names = ["Start", "Notify", "A", "Notify", "B", "Notify", "C", "Notify", "D", "Notify"]
    tasks = "".join(f'<task id="t{k}" name="{n}"/>' for k, n in enumerate(names))
    hops = [("s", "t0"), *[(f"t{k}", f"t{k + 1}") for k in range(9)], ("t9", "e")]
    model = _model(tmp_path / "dup.bpmn", '<startEvent id="s"/><endEvent id="e"/>' + tasks
                   + _flows(*hops))
    result = compare_files(model, model)
    assert result.differences == []
    assert result.to_be.behaviour is not None and result.to_be.behaviour.required == set(names)


def test_a_diff_graph_of_many_edges_draws_those_on_one_side_first(tmp_path: Path) -> None:
    """Two logs of 30 activities in shuffled orders have hundreds of directly-follows edges:
    Graphviz took about a minute over 600 (receipt.bpmn against its log). At most
    MAX_DIFF_EDGES are drawn, those on one side only first, and the graph says so."""
    import random

    from conformance.compare import MAX_DIFF_EDGES, diff_dot

    rng = random.Random(3)
    names = [f"step {k:02d}" for k in range(30)]
    as_is = side_from_traces([tuple(rng.sample(names, 30)) for _ in range(40)], "as-is", "a")
    to_be = side_from_traces([tuple(rng.sample(names, 30)) for _ in range(40)], "to-be", "b")
    result = compare(as_is, to_be)
    assert len(result.edges) > MAX_DIFF_EDGES
    dot = diff_dot(result)
    assert dot.split("subgraph cluster_legend")[0].count(" -> ") == MAX_DIFF_EDGES
    assert f"{MAX_DIFF_EDGES:,} of {len(result.edges):,} edges drawn" in dot


def test_a_cut_diff_graph_keeps_the_as_is_logs_most_taken_departures() -> None:
    """Where the diff graph is cut to MAX_DIFF_EDGES, the edges on one side only that are
    drawn are those the most as-is cases took (before: the first in the order listed, so a
    departure most cases took could be cut while rare ones were drawn)."""
    import random

    from conformance.compare import MAX_DIFF_EDGES, diff_dot

    rng = random.Random(5)
    names = [f"step {k:02d}" for k in range(30)]
    traces = {tuple(rng.sample(names, 30)): rng.randint(1, 50) for _ in range(40)}
    log = Side("as-is", "log", "log", traces, {}, frozenset(names))
    model = side_from_traces([tuple(names)], "to-be", "sop")
    result = compare(log, model)
    only = sorted((e.as_is.cases or 0 for e in result.edges if e.status == "only-as-is"),
                  reverse=True)
    assert len(only) > MAX_DIFF_EDGES and only[0] > only[MAX_DIFF_EDGES]
    dot = diff_dot(result).split("subgraph cluster_legend")[0]
    of = sum(traces.values())
    drawn = sorted((int(n) for n in re.findall(rf"(\d+) of {of:,} cases", dot)), reverse=True)
    assert drawn == only[:MAX_DIFF_EDGES]
    # The log on the to-be side: its edges only there are ranked by their cases too.
    to_be = Side("to-be", "log", "log", traces, {}, frozenset(names))
    swapped = compare(side_from_traces([tuple(names)], "as-is", "sop"), to_be)
    only = sorted((e.to_be.cases or 0 for e in swapped.edges if e.status == "only-to-be"),
                  reverse=True)
    assert len(only) > MAX_DIFF_EDGES and only[0] > only[MAX_DIFF_EDGES]
    dot = diff_dot(swapped).split("subgraph cluster_legend")[0]
    told = re.findall(r"only to-be\\n- / ([\d,]+)\"", dot)  # (DOT's "\\n": a new line)
    drawn = sorted((int(n.replace(",", "")) for n in told), reverse=True)
    assert drawn == only[:MAX_DIFF_EDGES]


def test_compare_shows_control_characters_instead_of_passing_them_on(tmp_path: Path) -> None:
    """An ESC or a right-to-left override in a label reached compare.md and the terminal as
    it was (an ESC starts a terminal command); both are shown as [U+XXXX]."""
    label = "Pay\x1b[31m\u202eout"
    as_is = side_from_traces([("a", label)], "as-is", "a")
    to_be = side_from_traces([("a",)], "to-be", "b")
    result = compare(as_is, to_be)
    write_comparison(result, tmp_path)
    text = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert r"Pay\[U+001B\]\[31m\[U+202E\]out" in text
    assert "\x1b" not in text and "\u202e" not in text
    # The sides' names too (a log's file name: before, written as it was).
    as_is.name = "log\x1b]0;x\x07.csv"
    write_comparison(compare(as_is, to_be), tmp_path)
    text = (tmp_path / "compare.md").read_text(encoding="utf-8")
    assert r"model log\[U+001B\]\]0;x\[U+0007\].csv" in text and "\x1b" not in text


def test_compare_md_shows_a_label_of_markup_as_text(tmp_path: Path) -> None:
    """compare.md wrote labels as they were: in a Markdown viewer a label
    `<img src=x onerror=alert(1)>` was an element, `[refund](javascript:alert(1))` a link,
    `**Pay**` bold, and the policy's `activities.<label>.sop_task` lost its `<label>` (an
    unknown HTML tag). Each is escaped, so the viewer shows the text as written."""
    labels = ["<img src=x onerror=alert(1)>", "[refund](javascript:alert(1))", "**Pay**",
              "a|b", "x &amp; y", "`code`"]
    as_is = side_from_traces([tuple(labels)], "as-is", "<b>as-is</b>.csv")
    to_be = side_from_traces([("a",)], "to-be", "b")
    text = write_comparison(compare(as_is, to_be), tmp_path)["compare.md"].read_text(
        encoding="utf-8")
    for raw in ("<img", "<b>", "[refund](", "**Pay**", "a|b", "&amp;", "`code`"):
        assert re.search(r"(?<!\\)" + re.escape(raw), text) is None, raw
    for escaped in (r"\<img src=x onerror=alert(1)\>", r"\[refund\](javascript:alert(1))",
                    r"\*\*Pay\*\*", r"a\|b", r"x \&amp; y", r"\`code\`",
                    r"model \<b\>as-is\</b\>.csv"):
        assert escaped in text, escaped


def test_a_logs_quarantined_rows_are_counted_in_the_notes(tmp_path: Path) -> None:
    """A row with an unreadable time was dropped from the comparison without a word."""
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\nc1,A,2026-01-01T10:00:00Z\n"
                   "c1,B,not a time\n", encoding="utf-8")
    result = compare_files(log, log)
    assert "as-is log: read 2 = imported 1 + quarantined 1" in " ".join(result.notes)


LIFECYCLE_LOG = ("event:id,case:concept:name,concept:name,time:timestamp,lifecycle:transition\n"
                 "e1,c1,A,2026-09-01T10:00:00Z,start\n"
                 "e2,c1,A,2026-09-01T10:10:00Z,complete\n"
                 "e3,c1,B,2026-09-01T11:00:00Z,start\n"
                 "e4,c1,B,2026-09-01T11:10:00Z,complete\n"
                 "e5,c1,C,2026-09-01T12:00:00Z,\n")
SEQ_ABC = SEQ_A_TASK_C.replace("TASK", "B")


def test_a_log_side_counts_completions_only_and_says_how_many_it_left_out(
        tmp_path: Path) -> None:
    """An activity logged as start and complete was counted twice: 'A' happens more than
    once, though `check` (which judges completions only) found nothing. The starts are left
    out, as check leaves them out, and counted in a warning (console, JSON, compare.md)."""
    log, model = tmp_path / "log.csv", tmp_path / "seq.bpmn"
    log.write_text(LIFECYCLE_LOG, encoding="utf-8")
    model.write_text(SEQ_ABC, encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["compare", str(log), str(model), "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "0 difference(s)" in run.output
    told = ("as-is log: 2 events whose lifecycle:transition is not complete (start 2) were "
            "not counted")
    assert f"warning: {told}" in run.output
    written = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert written["differences"] == []
    assert [w[:len(told)] for w in written["warnings"]] == [told]
    assert written["as_is"]["cases"] == 1
    assert told in (out / "compare.md").read_text(encoding="utf-8")
    # Log against log: one trace A, B, C on both sides, each side warned of.
    both = compare_files(log, log)
    assert list(both.as_is.traces) == [("A", "B", "C")]
    assert len(both.warnings) == 2 and both.warnings[1].startswith("to-be log: 2 events")


TIED_LOG = ("event:id,case:concept:name,concept:name,time:timestamp\n"
            "z1,c1,B,2026-09-01T10:00:00Z\n"
            "a1,c1,A,2026-09-01T10:00:00Z\n"
            "c1,c1,C,2026-09-01T12:00:00Z\n")


def test_events_at_one_time_are_ordered_by_event_id_as_check_orders_them(
        tmp_path: Path) -> None:
    """B and A at the same time, B first in the file: `check` orders them by event id (a1
    before z1) and finds the case fitting A, B, C; compare took the file's order and said
    "'B' happens before 'A'; the to-be model never allows this"."""
    log, model = tmp_path / "log.csv", tmp_path / "seq.bpmn"
    log.write_text(TIED_LOG, encoding="utf-8")
    model.write_text(SEQ_ABC, encoding="utf-8")
    result = compare_files(log, model)
    assert result.differences == []
    assert compare_files(log, log).as_is.traces == {("A", "B", "C"): 1}
    # The order check's rules read (audit.rules.facts: case, time, event id) is the same.
    from audit import canonical as C
    from audit.ingest import import_sources

    imported = import_sources([(log, None)]).log
    order = C.event_order(imported)
    assert order is not None
    assert imported[C.ACTIVITY].take(order).tolist() == ["A", "B", "C"]




def _collaboration_and_shop_log(tmp_path: Path) -> tuple[Path, Path]:
    """A BPMN file of two pools (COLLABORATION) and a log of two cases A, B, C."""
    model = tmp_path / "collab.bpmn"
    model.write_text(COLLABORATION, encoding="utf-8")
    log = tmp_path / "shop.csv"
    log.write_text("case_id,activity,timestamp\n" + "".join(
        f"{case},{activity},2026-09-01T1{k}:00:00Z\n"
        for case in ("c1", "c2") for k, activity in enumerate("ABC")), encoding="utf-8")
    return model, log


def test_a_pool_of_a_collaboration_is_compared_as_file_hash_process(tmp_path: Path) -> None:
    """A BPMN file of two pools: compare read the one with the most tasks (the Customer's)
    without a word, and could not be told to read the Shop's. It now warns which pool it
    read, takes FILE#PROCESS (process id or pool name) as check's SOP entries do, and
    refuses an unknown process naming the file's."""
    model, log = _collaboration_and_shop_log(tmp_path)
    unnamed = CliRunner().invoke(main, ["compare", str(log), str(model), "--out",
                                        str(tmp_path / "any")])
    assert unnamed.exit_code == 0, unnamed.output
    assert "read 'pc' (pool 'Customer')" in unnamed.output
    assert "collab.bpmn#PROCESS" in unnamed.output
    for process in ("ps", "Shop"):
        named = CliRunner().invoke(main, ["compare", str(log), f"{model}#{process}", "--out",
                                          str(tmp_path / process)])
        assert named.exit_code == 0, named.output
        assert "0 difference(s)" in named.output and "warning" not in named.output
        # (the console names the relations compared, as compare.md does)
        assert ("No differences in the compared relations (activities, the order of two "
                "activities, repetition, required activities, activities required before a "
                "later step, steps required after an earlier one).") in named.output
    unknown = CliRunner().invoke(main, ["compare", str(log), f"{model}#Nope", "--out",
                                        str(tmp_path / "nope")])
    assert unknown.exit_code == 2
    assert "no process or pool 'Nope'" in unknown.output


def test_sides_that_share_few_activities_are_warned_of() -> None:
    """A log labelled in English against an SOP whose tasks are in German gave a dozen
    differences with exit 0 and no word: every one of them was of names. A warning says how
    many activities the sides share where it is none, or fewer than half of either side's."""
    english = side_from_traces([("Receive", "Approve", "Pay", "Close")], "as-is", "log")
    german = side_from_traces([("Antrag", "Freigeben", "Auszahlung", "Close")], "to-be", "sop")
    assert compare(english, german).warnings == [
        "the two sides share 1 activity (as-is 4, to-be 4): the differences may be of names "
        "rather than of behaviour; where a log names the SOP's tasks otherwise (the policy's "
        "activities.<label>.sop_task), compare with --policy P.yaml"]
    # Half of each side shared: no warning.
    half = side_from_traces([("Receive", "Approve", "Auszahlung", "Close")], "to-be", "sop")
    assert compare(english, half).warnings == []


def test_compare_reads_a_logs_labels_through_the_policys_sop_task(clean_log: Path,
                                                                  tmp_path: Path) -> None:
    """`check --policy` aligns a label by its `sop_task`; compare had no --policy, so a log
    labelling a task otherwise ('Belege sammeln' for 'Collect evidence') showed the task as
    missing in 100% of cases. With --policy, the log's labels are compared as check reads
    them: the same differences as the log labelled with the SOP's task names."""
    german = tmp_path / "german.csv"
    log = pd.read_csv(clean_log, dtype=str)
    log["concept:name"] = log["concept:name"].replace({"Collect evidence": "Belege sammeln",
                                                       "Notify customer": "Kunde  informieren"})
    log.to_csv(german, index=False)
    policy = tmp_path / "policy.yaml"
    text = (ROOT / "models" / "policy.default.yaml").read_text(encoding="utf-8")
    text = text.replace("  Collect evidence: {control: evidence}",
                        "  Belege sammeln: {control: evidence, sop_task: Collect evidence}")
    text = text.replace("  Notify customer: {control: notify}",
                        "  Kunde  informieren: {control: notify, sop_task: '  Notify\tcustomer'}")
    policy.write_text(text, encoding="utf-8")
    expected = compare_files(clean_log, ECOMMERCE,
                             load_policy(ROOT / "models" / "policy.default.yaml"))
    out = tmp_path / "diff"
    result = CliRunner().invoke(main, ["compare", str(german), "ecommerce.bpmn", "--policy",
                                       str(policy), "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert [d["sentence"] for d in found["differences"]] == [
        d.sentence for d in expected.differences]
    assert not by_kind(found["differences"], "skipped")
    assert "Belege sammeln" not in found["as_is"]["activities"]
    assert {"Collect evidence", "Notify customer"} <= set(found["as_is"]["activities"])
    assert ("as-is log: read through the policy's sop_task, as check reads it: 'Belege "
            "sammeln' as 'Collect evidence', 'Kunde  informieren' as 'Notify customer'"
            in found["notes"])
    # A log on the to-be side is read through the policy too: nothing differs.
    both = CliRunner().invoke(main, ["compare", str(clean_log), str(german), "--policy",
                                     str(policy), "--out", str(out)])
    assert both.exit_code == 0, both.output
    assert json.loads((out / "compare.json").read_text(encoding="utf-8"))["differences"] == []
    # Without the policy the labels are compared as written (the task shows as missing).
    plain = compare_files(german, ECOMMERCE)
    skipped = [d for d in plain.differences if d.kind == "skipped"]
    assert {d.activities for d in skipped} == {("Collect evidence",), ("Notify customer",)}
    # A policy that cannot be read is an input error before any side is read.
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 2\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["compare", str(german), "ecommerce.bpmn", "--policy",
                                    str(broken), "--out", str(tmp_path / "other")])
    assert bad.exit_code == 2 and "only version 1" in bad.output, bad.output
    assert not (tmp_path / "other").exists()


def _cases_by_role_outside(path: Path, activity: str, allowed: set[str]) -> int:
    log = pd.read_csv(path, dtype=str)
    rows = log[(log["concept:name"] == activity) & log["org:role"].notna()
               & ~log["org:role"].isin(allowed)]
    return int(rows["case:concept:name"].nunique())


def test_lanes_are_compared(clean_log: Path, tmp_path: Path) -> None:
    """A designer who moved 'Execute payout' from the Payments lane to the Finance lane got
    "No differences" from compare (model against model), and a log whose payouts are all
    done by payments was "the same" as that model: lanes were ignored, while check's
    unauthorized-performer reports every such payout. Now two models' lanes are compared
    per task, and a log's roles (`org:role`) against the model's lanes (and, with a policy,
    the roles it allows besides, as check judges them)."""
    moved = tmp_path / "moved.bpmn"
    text = ECOMMERCE.read_text(encoding="utf-8")
    payout = "<bpmn:flowNodeRef>Task_ExecutePayout</bpmn:flowNodeRef>"
    second = "<bpmn:flowNodeRef>Task_ApproveSecond</bpmn:flowNodeRef>"
    assert payout in text and second in text
    moved.write_text(text.replace(payout, "").replace(second, second + payout),
                     encoding="utf-8")
    models = compare_files(ECOMMERCE, moved)
    assert [(d.kind, d.activities, d.roles) for d in models.differences] == [
        ("lane", ("Execute payout",), (("payments",), ("finance",)))]
    assert models.differences[0].sentence == (
        "'Execute payout' is in lane Payments in the as-is model and in lane Finance in the "
        "to-be model.")  # (the lanes' names as written, as `model inspect` shows them)
    # The log against the moved model: every payout by payments is outside its lane.
    result = compare_files(clean_log, moved)
    lanes = {d.activities[0]: d for d in result.differences if d.kind == "lane"}
    payouts = _cases_by_role_outside(clean_log, "Execute payout", {"finance"})
    assert payouts > 0
    assert lanes["Execute payout"].as_is.as_dict() == {
        "cases": payouts, "of": 300, "share": round(payouts / 300, 6)}
    assert lanes["Execute payout"].roles == (("payments",), ("finance",))
    assert f"({payouts} of 300), 'Execute payout' is performed by payments, outside its " \
           "lane in the to-be model (Finance)." in lanes["Execute payout"].sentence
    # The bundled SOP: the generator's approvals and rejections by finance are outside the
    # Supervisor lane, which the default policy allows (approvers, performers).
    bundled = compare_files(clean_log, ECOMMERCE)
    outside = {d.activities[0]: d.as_is.cases for d in bundled.differences
               if d.kind == "lane"}
    assert outside == {a: _cases_by_role_outside(clean_log, a, {"supervisor"})
                       for a in ("Approve refund", "Reject refund")}
    assert all(outside.values())
    # Without --policy the lanes alone judge, unlike check (the default policy): said so.
    without = ("without --policy, who performs a task is judged by the model's lanes alone: "
               "check also allows the roles its policy names (approvers, performers); "
               "compare with --policy P.yaml to judge roles as check does")
    assert without in bundled.notes
    policy = load_policy(ROOT / "models" / "policy.default.yaml")
    judged = compare_files(clean_log, ECOMMERCE, policy)
    assert not [d for d in judged.differences if d.kind == "lane"]
    assert without not in judged.notes
    assert without not in models.notes  # two models: no roles of a log to judge
    # The model on the to-be side (log as to-be): the same count, the sides swapped.
    swapped = {d.activities[0]: d for d in compare_files(moved, clean_log).differences
               if d.kind == "lane"}
    assert swapped["Execute payout"].to_be.cases == payouts
    assert swapped["Execute payout"].roles == (("finance",), ("payments",))
    # A log that records no role: not compared, and said so.
    roleless = tmp_path / "roleless.csv"
    pd.read_csv(clean_log, dtype=str).drop(columns=["org:role"]).to_csv(roleless, index=False)
    quiet = compare_files(roleless, moved)
    assert not [d for d in quiet.differences if d.kind == "lane"]
    assert ("the as-is log records no role (org:role): who performs the tasks is not compared "
            "with the to-be model's lanes") in quiet.notes


def test_a_lane_sentence_counts_the_cases_of_each_role(tmp_path: Path) -> None:
    """'Approve refund' approved by finance in 18 e-commerce cases of the bundled sample and
    by customer-service in 1 was told "performed by customer-service, finance, outside its
    lane ... (Supervisor)": a designer could not tell the one case of an agent approving
    from the 18 of finance (which the policy allows), compare.json had no count per role,
    and the examples (the five least case ids) showed finance's cases only. Now each role
    is named with its cases, most first; compare.json has them (`role_cases`); and the
    examples begin with a case of each role."""
    rows = ["case:concept:name,concept:name,time:timestamp,org:role"]
    roles = {f"c{k}": "Finance" for k in range(1, 7)} | {"c7": "Customer Service"}
    # c8 records both roles outside the lane, and the lane's own: counted for each role.
    rows += [f"{case},A,2026-01-0{k}T10:00:00Z,{role}"
             for k, (case, role) in enumerate(roles.items(), 1)]
    rows += ["c8,A,2026-01-08T10:00:00Z,finance", "c8,A,2026-01-08T11:00:00Z,customer service",
             "c8,A,2026-01-08T12:00:00Z,Supervisor", "c9,A,2026-01-09T10:00:00Z,Supervisor"]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    model = _model(tmp_path / "m.bpmn", '<laneSet id="ls"><lane id="l" name="Supervisor">'
                   '<flowNodeRef>A</flowNodeRef></lane></laneSet><startEvent id="s"/>'
                   '<task id="A" name="A"/><endEvent id="e"/>' + _flows(("s", "A"), ("A", "e")))
    frame = pd.read_csv(log, dtype=str)
    outside = frame[frame["org:role"].str.lower().str.replace(" ", "-") != "supervisor"]
    by_role = outside.groupby(outside["org:role"].str.lower().str.replace(" ", "-"))[
        "case:concept:name"].nunique().to_dict()
    assert by_role == {"finance": 7, "customer-service": 2}  # (counted apart from compare)
    for result, side in ((compare_files(log, model), "as_is"),
                         (compare_files(model, log), "to_be")):
        [lane] = [d for d in result.differences if d.kind == "lane"]
        whose = "" if side == "as_is" else "to-be "
        model_side = "to-be" if side == "as_is" else "as-is"
        assert lane.sentence == (
            f"In 89% of {whose}cases (8 of 9), 'A' is performed by Finance (7 cases), "
            f"Customer Service (2 cases), outside its lane in the {model_side} model "
            "(Supervisor). 1 of these 8 cases records more than one of these roles and "
            "counts for each.")
        view = lane.as_dict()
        assert view["role_cases"] == by_role
        # (7 + 2 cases of 8: c8 records both; said so, as the counts add up to more)
        assert view["cases_with_several_roles"] == 1
        assert list(view["role_cases"]) == ["finance", "customer-service"]  # most first
        assert view[side]["cases"] == 8
        # A case of each role first (c7, customer service's least), then the least others.
        assert view["examples"] == ["c1", "c7", "c2", "c3", "c4"]
    # One role alone: named without a count (the sentence's own count is its).
    one = tmp_path / "one.csv"
    one.write_text("\n".join(rows[:7]) + "\n", encoding="utf-8")
    [lane] = [d for d in compare_files(one, model).differences if d.kind == "lane"]
    assert "(6 of 6), 'A' is performed by Finance, outside its lane" in lane.sentence
    assert lane.as_dict()["role_cases"] == {"finance": 6}
    assert lane.as_dict()["cases_with_several_roles"] == 0
    assert "more than one of these roles" not in lane.sentence


def test_the_count_of_edges_on_one_side_agrees_with_its_verb(tmp_path: Path) -> None:
    """compare.md said "1 directly-follows edge (with a case's start and end) occur on one
    side only"."""
    one = side_from_traces([("A", "B")], "as-is", "one")
    loop = side_from_traces([("A", "B"), ("A", "B", "B")], "to-be", "loop")
    text = write_comparison(compare(one, loop), tmp_path / "one")["compare.md"].read_text(
        encoding="utf-8")
    assert "1 directly-follows edge (with a case's start and end) occurs on one side only" \
        in text
    other = side_from_traces([("A", "C")], "to-be", "other")
    text = write_comparison(compare(one, other), tmp_path / "two")["compare.md"].read_text(
        encoding="utf-8")
    assert "4 directly-follows edges (with a case's start and end) occur on one side only" \
        in text


XOR_A_B_OR_C = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <process id="p"><startEvent id="s"/><task id="a" name="A"/><exclusiveGateway id="g"/>
    <task id="b" name="B"/><task id="c" name="C"/><exclusiveGateway id="j"/><endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <sequenceFlow id="f2" sourceRef="a" targetRef="g"/>
    <sequenceFlow id="f3" sourceRef="g" targetRef="b"/>
    <sequenceFlow id="f4" sourceRef="g" targetRef="c"/>
    <sequenceFlow id="f5" sourceRef="b" targetRef="j"/>
    <sequenceFlow id="f6" sourceRef="c" targetRef="j"/>
    <sequenceFlow id="f7" sourceRef="j" targetRef="e"/>
  </process>
</definitions>
"""


def test_compare_md_lists_the_sops_paths_never_taken_and_the_logs_paths_not_in_it(
        tmp_path: Path) -> None:
    """The SOP's branch to 'C' is never taken (A -> C, C -> end); two cases of five did B
    before A (start -> B, B -> A, A -> end), paths the SOP does not have, one of them with
    'D', not in the SOP, between B and A (as the diff graph says). compare.md lists
    both under the count of edges on one side only, each path of the log with its cases.
    Before, it said only "5 directly-follows edges ... occur on one side only: see the diff
    graph": which SOP paths no case took was to be read off the drawing."""
    model, log = tmp_path / "sop.bpmn", tmp_path / "log.csv"
    model.write_text(XOR_A_B_OR_C, encoding="utf-8")
    cases = {"c1": "AB", "c2": "AB", "c3": "AB", "c4": "BA", "c5": "BDA"}
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp\n" + "".join(
        f"{case}{k},{case},{label},2026-09-01T1{k}:00:00Z\n"
        for case, labels in cases.items() for k, label in enumerate(labels)), encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["compare", str(log), str(model), "--out", str(out)])
    assert run.exit_code == 0, run.output
    text = (out / "compare.md").read_text(encoding="utf-8")
    listed = ("5 directly-follows edges (with a case's start and end) occur on one side only: "
              "see the diff graph.\n\n"
              "Only in the as-is log:\n\n"
              "- from 'A' to its end: 2 of 5 cases, 40.0%\n"
              "- from 'B' to 'A': 2 of 5 cases, 40.0%, 1 of them only via left-out steps\n"
              "- from a case's start to 'B': 2 of 5 cases, 40.0%\n\n"
              "Only in the to-be model, taken by no case of the as-is log:\n\n"
              "- from 'A' to 'C'\n"
              "- from 'C' to its end\n")
    assert listed in text, text
    document = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    never = sorted((e["source"], e["target"]) for e in document["edges"]
                   if e["status"] == "only-to-be")
    assert never == [("A", "C"), ("C", None)]


def test_compare_md_tells_left_out_steps_of_a_to_be_log_too(tmp_path: Path) -> None:
    """The model as the as-is side, the log as the to-be: the log's edge B -> A, one of its
    two cases only through 'D' (not in the model), says so in compare.md as compare.json and
    the diff graph do. Before, compare.md told it only where the log was the as-is side."""
    model, log = tmp_path / "sop.bpmn", tmp_path / "log.csv"
    model.write_text(XOR_A_B_OR_C, encoding="utf-8")
    cases = {"c1": "AB", "c2": "AB", "c3": "AB", "c4": "BA", "c5": "BDA"}
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp\n" + "".join(
        f"{case}{k},{case},{label},2026-09-01T1{k}:00:00Z\n"
        for case, labels in cases.items() for k, label in enumerate(labels)), encoding="utf-8")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["compare", str(model), str(log), "--out", str(out)])
    assert run.exit_code == 0, run.output
    text = (out / "compare.md").read_text(encoding="utf-8")
    listed = ("Only in the as-is model, taken by no case of the to-be log:\n\n"
              "- from 'A' to 'C'\n"
              "- from 'C' to its end\n\n"
              "Only in the to-be log:\n\n"
              "- from 'A' to its end: 2 of 5 cases, 40.0%\n"
              "- from 'B' to 'A': 2 of 5 cases, 40.0%, 1 of them only via left-out steps\n"
              "- from a case's start to 'B': 2 of 5 cases, 40.0%\n")
    assert listed in text, text
    document = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    [told] = [e for e in document["edges"] if (e["source"], e["target"]) == ("B", "A")]
    assert (told["status"], told["only_via_left_out"]) == ("only-to-be", 1)
    assert "1 only via left-out steps" in diff_dot(compare_files(model, log))


def test_activities_labelled_as_a_case_s_start_or_end_stay_activities(tmp_path: Path) -> None:
    """Two logs with activities labelled '▶ start' and '■ end' (the diff graph's text for a
    case's ends): the edges from and to them are edges between activities in compare.md,
    compare.json and the diff graph. Before, START and END were those plain strings: the
    as-is log's B -> '■ end' was merged with B's end of a case (counted on both sides, not
    listed), the to-be's '▶ start' -> B listed as "from a case's start to 'B'", and
    compare.json wrote these labels as null, flagged as a case's start or end."""
    def write(path: Path, cases: dict[str, list[str]]) -> Path:
        path.write_text("event:id,case:concept:name,concept:name,time:timestamp\n" + "".join(
            f"{case}{k},{case},{label},2026-09-01T1{k}:00:00Z\n"
            for case, labels in cases.items() for k, label in enumerate(labels)),
            encoding="utf-8")
        return path

    as_is = write(tmp_path / "as-is.csv", {"c1": ["A", "B"], "c2": ["A", "B"],
                                           "c3": ["▶ start", "A", "B"],
                                           "c4": ["A", "B", "■ end"]})
    to_be = write(tmp_path / "to-be.csv", {"c1": ["A", "B"], "c2": ["A", "B"],
                                           "c3": ["▶ start", "B"], "c4": ["A", "■ end"]})
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["compare", str(as_is), str(to_be), "--out", str(out)])
    assert run.exit_code == 0, run.output
    text = (out / "compare.md").read_text(encoding="utf-8")
    below = "1 of 4 cases, 25.0%, below the rule a shift is told by"
    assert ("Only in the as-is log:\n\n"
            f"- from 'B' to '■ end': {below}\n"
            f"- from '▶ start' to 'A': {below}\n\n"
            "Only in the to-be log:\n\n"
            f"- from 'A' to '■ end': {below}\n"
            f"- from '▶ start' to 'B': {below}\n") in text, text
    edges = {(e["source"], e["target"]): (e["status"], e["from_start"], e["to_end"])
             for e in json.loads((out / "compare.json").read_text(encoding="utf-8"))["edges"]}
    assert edges == {
        ("A", "B"): ("both", False, False), (None, "A"): ("both", True, False),
        ("B", None): ("both", False, True), (None, "▶ start"): ("both", True, False),
        ("■ end", None): ("both", False, True),
        ("B", "■ end"): ("only-as-is", False, False),
        ("▶ start", "A"): ("only-as-is", False, False),
        ("A", "■ end"): ("only-to-be", False, False),
        ("▶ start", "B"): ("only-to-be", False, False)}, edges
    # The graph draws the labels as activities, besides its start and end.
    dot = diff_dot(compare_files(as_is, to_be))
    assert re.search(r'a\d+ \[label="▶ start', dot) and re.search(r'a\d+ \[label="■ end', dot)
    label = "■ end"  # (a plain label on the left: the comparison START and END answer)
    assert START != "▶ start" and label != END and str(START) == "▶ start"


def test_compare_json_s_edges_are_in_one_order_in_every_process(tmp_path: Path) -> None:
    """A log with activities labelled '▶ start' and '■ end' against a one-case log, compared
    in two processes of different hash seeds: compare.json's bytes are the same, its edges
    sorted with a case's start (null source) before any activity and its end (null target)
    after any. Before, START equalled no label but was not ordered against one of its text
    (neither less nor greater), the edges were sorted in a set's order, and START's hash
    took in its class's address: three runs with PYTHONHASHSEED=0 wrote three orders."""
    import os
    import subprocess
    import sys

    def write(path: Path, cases: dict[str, list[str]]) -> Path:
        path.write_text("event:id,case:concept:name,concept:name,time:timestamp\n" + "".join(
            f"{case}{k},{case},{label},2026-09-01T1{k}:00:00Z\n"
            for case, labels in cases.items() for k, label in enumerate(labels)),
            encoding="utf-8")
        return path

    h1 = write(tmp_path / "h1.csv", {"c1": ["▶ start", "A"], "c2": ["B"],
                                     "c3": ["▶ start", "C"], "c4": ["D"],
                                     "c5": ["▶ start", "E"], "c6": ["F", "■ end"],
                                     "c7": ["G"]})
    h2 = write(tmp_path / "h2.csv", {"c1": ["A", "B"]})
    written = []
    for seed in ("0", "1", "2"):
        out = tmp_path / f"out{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        run = subprocess.run([sys.executable, "-m", "audit", "compare", str(h1), str(h2),
                              "--out", str(out)], env=env, cwd=ROOT, capture_output=True,
                             text=True, check=False)
        assert run.returncode == 0, run.stderr
        written.append((out / "compare.json").read_bytes())
    assert written[0] == written[1] == written[2]
    pairs = [(e["source"], e["target"]) for e in json.loads(written[0])["edges"]]

    def key(pair: tuple[str | None, str | None]) -> tuple[tuple[int, str], tuple[int, str]]:
        source, target = pair
        return ((0, "") if source is None else (1, source),
                (2, "") if target is None else (1, target))

    assert pairs == sorted(pairs, key=key), pairs
    assert len(pairs) == 18 and pairs[:6] == [(None, a) for a in "ABDFG"] + [(None, "▶ start")]
    assert pairs[-3:] == [("▶ start", a) for a in "ACE"] and ("F", "■ end") in pairs


def test_a_case_s_start_and_end_order_against_labels_and_show_as_such() -> None:
    """START sorts before any label (one of its text too, and ""), END after any; START's
    and END's hash is that of their kind and text; their repr says what they are; a side's
    labels given as numpy strings (which compare with START by their own ==, equal to it)
    are read as plain strings."""
    import numpy as np

    # (a label on the left too: START's and END's reflected comparisons answer)
    assert START < "" and START < "▶ start" and not START > "▶ start"
    assert "▶ start" > START  # noqa: SIM300
    assert END > "■ end" and START < END and START <= START
    assert "\U0010ffff" < END  # noqa: SIM300
    assert sorted([("▶ start", "C"), (START, "B"), ("X", END), ("X", "■ end")]) == [
        (START, "B"), ("X", "■ end"), ("X", END), ("▶ start", "C")]
    assert hash(START) == hash(("case-bound", "▶ start"))
    assert (repr(START), repr(END)) == ("<case start>", "<case end>")
    assert np.str_("▶ start") == START  # (numpy's ==: why sides hold plain strings)
    side = side_from_traces([(np.str_("▶ start"), np.str_("A"))], "as-is", "model")
    assert [type(a) for t in side.traces for a in t] == [str, str]
    assert all(type(a) is str for a in side.labels)
    assert ("▶ start", "A") in side.traces and START not in side.labels


def test_compare_md_lists_at_most_40_edges_a_side_and_says_how_many_more() -> None:
    """An as-is model of 'A' then one of 45 activities: 90 edges only in it (A -> Xk, Xk ->
    end), listed by their ends' text, the first 40 (A -> X00 ... A -> X39), then how many
    more; compare.json lists all. 40 edges on a side are listed whole, with no such line."""
    from conformance.compare import MAX_LISTED_EDGES, comparison_json, comparison_markdown

    assert MAX_LISTED_EDGES == 40
    to_be = side_from_traces([("A",)], "to-be", "m2")
    result = compare(side_from_traces([("A", f"X{k:02d}") for k in range(45)], "as-is", "m1"),
                     to_be)
    lines = comparison_markdown(result).splitlines()
    first = lines.index("Only in the as-is model:") + 2
    assert lines[first:first + 42] == [
        *(f"- from 'A' to 'X{k:02d}'" for k in range(40)),
        "- and 50 more (compare.json lists all)", ""], lines[first:first + 42]
    assert lines[first + 42:first + 45] == ["Only in the to-be model:", "", "- from 'A' to its end"]
    assert sum(e["status"] == "only-as-is" for e in comparison_json(result)["edges"]) == 90
    # 20 activities: 40 edges only in the as-is model, every one listed.
    result = compare(side_from_traces([("A", f"X{k:02d}") for k in range(20)], "as-is", "m1"),
                     to_be)
    text = comparison_markdown(result)
    assert "more (compare.json lists all)" not in text
    assert sum(line.startswith("- from ") for line in text.splitlines()) == 41  # (+ A -> end)


def test_compare_md_lists_a_hostile_label_s_edges_as_written() -> None:
    """An activity label holding Markdown (emphasis, a link, HTML, a table bar, code), a line
    break before '# head' and a right-to-left override is listed in compare.md's edges as
    written: every special character escaped, the line break and the override shown as
    code points, on the edge's one line (no heading '# head', no link, no tag)."""
    from conformance.compare import comparison_markdown

    hostile = "x*y_[z](http://e)\n# head\u202e<b>&amp;|`~"
    as_is = Side("as-is", "log", "log1", {("A", hostile): 3, ("A",): 1}, {},
                 frozenset({"A", hostile}))
    to_be = Side("to-be", "log", "log2", {("A",): 4}, {}, frozenset({"A"}))
    text = comparison_markdown(compare(as_is, to_be))
    shown = r"'x\*y\_\[z\](http://e)\[U+000A\]# head\[U+202E\]\<b\>\&amp;\|\`\~'"
    below = "3 of 4 cases, 75.0%, below the rule a shift is told by"
    assert (f"Only in the as-is log:\n\n- from 'A' to {shown}: {below}\n"
            f"- from {shown} to its end: {below}\n") in text, text
    assert "\n# head" not in text and "\u202e" not in text and "<b>" not in text


def test_activities_spelt_otherwise_only_in_case_are_warned_of(clean_log: Path,
                                                               tmp_path: Path) -> None:
    """An SOP naming the task 'Approve Refund' against a log's 'Approve refund': compare
    reported the task required but missing in 92% of cases and the label not in the model,
    and said nothing more (check warns of the label, naming the task it may mean). Now a
    warning names the two spellings."""
    model = tmp_path / "capital.bpmn"
    model.write_text(ECOMMERCE.read_text(encoding="utf-8").replace(
        'name="Approve refund"', 'name="Approve Refund"'), encoding="utf-8")
    result = compare_files(clean_log, model)
    assert result.warnings == [
        "'Approve refund' (as-is) and 'Approve Refund' (to-be) differ only in case: they are "
        "compared as two activities (with --policy, activities.<label>.sop_task names a log's "
        "label by the model's task)"]
    models = compare_files(model, ECOMMERCE)
    assert models.warnings == [
        "'Approve Refund' (as-is) and 'Approve refund' (to-be) differ only in case: they are "
        "compared as two activities"]
    assert compare_files(clean_log, ECOMMERCE).warnings == []


def test_compare_reads_a_generic_csv_through_a_column_mapping(clean_log: Path,
                                                              tmp_path: Path) -> None:
    """A generic export whose event time the importer cannot tell by name ('Created at'
    beside 'Updated at') needs a mapping file, as its error says; check takes --mapping,
    compare had none (the file had to be imported first). Now compare reads each log side
    with --mapping, and finds what it finds in the canonical log."""
    log = pd.read_csv(clean_log, dtype=str)
    generic = tmp_path / "generic.csv"
    pd.DataFrame({"Ticket": log["case:concept:name"], "Status": log["concept:name"],
                  "Created at": log["time:timestamp"], "Updated at": log["time:timestamp"],
                  "Event": log["event:id"], "Agent role": log["org:role"]}
                 ).to_csv(generic, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  case:concept:name: Ticket\n  concept:name: Status\n"
                       "  time:timestamp: Updated at\n  event:id: Event\n"
                       "  org:role: Agent role\n", encoding="utf-8")
    out = tmp_path / "diff"
    refused = CliRunner().invoke(main, ["compare", str(generic), "ecommerce.bpmn", "--out",
                                        str(out)])
    assert refused.exit_code == 2 and "mapping file" in refused.output, refused.output
    result = CliRunner().invoke(main, ["compare", str(generic), "ecommerce.bpmn", "--mapping",
                                       str(mapping), "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert [d["sentence"] for d in found["differences"]] == [
        d.sentence for d in compare_files(clean_log, ECOMMERCE).differences]
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns:\n  nonsense: Ticket\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["compare", str(generic), "ecommerce.bpmn", "--mapping",
                                    str(broken), "--out", str(tmp_path / "other")])
    assert bad.exit_code == 2 and "nonsense" in bad.output, bad.output
    assert not (tmp_path / "other").exists()


def test_compare_json_names_its_sides_files_policy_mapping_and_the_tool(
        tmp_path: Path) -> None:
    """compare.json said what differs but not between which files (a side's name only,
    no digest), nor with which policy and mapping, nor by which version: a committee could
    not tie the differences to the log and model given. It now holds the tool and version,
    each side's file by name with its sha256 (and a model's process), and the policy and
    mapping files by name and sha256; no folder and no time."""
    import hashlib

    from audit import __version__

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    model, log = _collaboration_and_shop_log(tmp_path)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("assume_tz: UTC\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    assert CliRunner().invoke(main, ["policy", "init", str(policy)]).exit_code == 0
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["compare", str(log), f"{model}#Shop", "--policy",
                                     str(policy), "--mapping", str(mapping), "--out", str(out)])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert (document["tool"], document["version"]) == ("refund-audit", __version__)
    assert (document["as_is"]["file"], document["as_is"]["sha256"]) == ("shop.csv", digest(log))
    assert (document["to_be"]["file"], document["to_be"]["process"],
            document["to_be"]["sha256"]) == ("collab.bpmn", "Shop", digest(model))
    assert document["policy"] == {"file": "policy.yaml", "sha256": digest(policy)}
    assert document["mapping"] == {"file": "map.yaml", "sha256": digest(mapping)}


def test_a_sides_notes_are_told_on_the_console(tmp_path: Path) -> None:
    """A log side with rows quarantined: compare.md's notes said "as-is log: read 3 =
    imported 2 + quarantined 1", the console said nothing of it (discover tells its notes
    as `note:` lines, as the README says every command does)."""
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n"
                   "A,Execute payout,2026-08-02T10:00:00Z\n"
                   "B,Execute payout,not a time\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(log), "ecommerce.bpmn", "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    told = "as-is log: read 3 = imported 2 + quarantined 1"
    assert told in (out / "compare.md").read_text(encoding="utf-8")
    assert any(line.startswith(f"note: {told}") for line in result.output.splitlines()), \
        result.output
    assert not CliRunner().invoke(main, ["compare", str(log), "ecommerce.bpmn", "--out",
                                         str(out), "-q"]).output


def test_a_log_of_several_channels_against_one_model_is_noted(tmp_path: Path) -> None:
    """A log of all three channels compared with the e-commerce SOP counted every case
    against it ('missing in 6 of 300'), with no word that 136 of them are other channels'
    cases, which check aligns with their own SOPs (an acceptance review)."""
    spec = SampleSpec(channel="all", cases=90, seed=3, violation_rate=0.0)
    mixed = write_sample(spec, tmp_path / "mixed")["canonical"]
    frame = pd.read_csv(mixed, dtype=str)
    first = frame.dropna(subset=["refund:channel"]).drop_duplicates("case:concept:name")
    counts = first["refund:channel"].value_counts()
    assert len(counts) == 3
    result = compare_files(mixed, ECOMMERCE)
    parts = [f"{c} {n:,}" for c, n in sorted(counts.items())]
    parts[0] += " cases"
    assert (f"as-is log: its cases state 3 channels ({', '.join(parts)}): all are compared "
            "as one log (check aligns each case with its own channel's SOP): give --channel "
            "ecommerce (the to-be model is the ecommerce SOP) to compare its cases only"
            ) in result.notes
    single = SampleSpec(channel="ecommerce", cases=30, seed=3, violation_rate=0.0)
    one = write_sample(single, tmp_path / "one")["canonical"]
    assert not [n for n in compare_files(one, ECOMMERCE).notes if "channels" in n]


def _drawn_edges(svg: Path) -> dict[str, tuple[str | None, float | None, list[str]]]:
    """Each edge the SVG draws (by its title, 'a0->a1'): its stroke colour and width (None
    where Graphviz's default) and its label's lines."""
    from lxml import etree

    ns = {"s": "http://www.w3.org/2000/svg"}
    drawn = {}
    for group in etree.parse(str(svg)).iterfind(".//s:g[@class='edge']", ns):
        path = group.find("s:path", ns)
        assert path is not None
        width = path.get("stroke-width")
        drawn[str(group.findtext("s:title", namespaces=ns))] = (
            path.get("stroke"), None if width is None else float(width),
            ["".join(t.itertext()) for t in group.iterfind(".//s:text", ns)])
    return drawn


def _legend_text(svg: Path) -> str:
    """The legend's title and its keys' texts (the keys are edges lg<k>a -> lg<k>b)."""
    from lxml import etree

    ns = {"s": "http://www.w3.org/2000/svg"}
    tree = etree.parse(str(svg))
    legend = [g for g in tree.iterfind(".//s:g[@class='cluster']", ns)
              if g.findtext("s:title", namespaces=ns) == "cluster_legend"]
    assert len(legend) == 1
    texts = ["".join(t.itertext()) for t in legend[0].iterfind(".//s:text", ns)]
    texts += [line for title, (_, _, lines) in _drawn_edges(svg).items()
              if title.startswith("lg") for line in lines]
    return " ".join(texts)


def test_edges_only_in_an_as_is_log_are_graded_by_their_share(tmp_path: Path) -> None:
    """An edge only in the as-is log that 1 of 300 cases took was drawn as red and as wide
    as one 100 of 300 took: each is now drawn in the band of its share (the SOP graph's
    scale), says how many cases took it, and a legend states the bands and of how many
    cases."""
    from reports.overlay import BANDS

    traces = {("a", "b", "c"): 200, ("a", "c", "b"): 99, ("b", "a", "c"): 1}
    log = Side("as-is", "log", "log", traces, {}, frozenset("abc"))
    model = side_from_traces([("a", "b", "c")], "to-be", "sop")
    svg = write_comparison(compare(log, model), tmp_path)["diff.svg"]
    edges = _drawn_edges(svg)
    # a, b, c are a0, a1, a2; b -> a only in 1 case, a -> c in 100, both only in the log.
    rare, common = BANDS[0], BANDS[3]  # under 1%; 20% to under 50%
    assert edges["a1->a0"] == (rare.line, rare.width,
                               ["only as-is", "1 of 300 cases, 0.3%"])
    assert edges["start->a1"] == edges["a1->a0"]
    assert edges["a0->a2"] == (common.line, common.width,
                               ["only as-is", "100 of 300 cases, 33.3%"])
    assert edges["a2->a1"] == (common.line, common.width,
                               ["only as-is", "99 of 300 cases, 33.0%"])
    assert rare.line != common.line and rare.width < common.width
    # Edges on both sides keep their grey and "as-is / to-be" counts, drawn as wide as
    # their share's band (200 of 300: 50% or more).
    assert edges["a0->a1"] == ("#7f7f7f", BANDS[4].width, ["200 / allowed"])
    legend = _legend_text(svg)
    assert "grade the share of its 300 cases taking the edge" in legend
    for drawn in BANDS:
        assert drawn.text in legend
        assert edges[f"lg{BANDS.index(drawn)}a->lg{BANDS.index(drawn)}b"][:2] == (
            drawn.line, drawn.width)


def test_edges_only_in_an_as_is_model_keep_their_style(tmp_path: Path) -> None:
    """A model allows an edge and counts no cases: edges only in an as-is model are drawn
    red and bold as before, and the legend says they are not graded."""
    as_is = side_from_traces([("a", "c", "b")], "as-is", "before")
    to_be = side_from_traces([("a", "b", "c")], "to-be", "after")
    svg = write_comparison(compare(as_is, to_be), tmp_path / "models")["diff.svg"]
    edges = _drawn_edges(svg)
    assert edges["a0->a2"] == ("#c0392b", 2.2, ["only as-is", "allowed / -"])
    assert edges["a0->a1"] == ("#2f5597", 2.2, ["only to-be", "- / allowed"])
    assert edges["start->a0"] == ("#7f7f7f", None, ["allowed / allowed"])
    legend = _legend_text(svg)
    assert "Edges only in the as-is model are not graded" in legend
    assert "under 1%" not in legend
    # A model against a log: the as-is model's edges are not graded either.
    log = Side("to-be", "log", "log", {("a", "b", "c"): 3}, {}, frozenset("abc"))
    svg = write_comparison(compare(as_is, log), tmp_path / "log")["diff.svg"]
    assert _drawn_edges(svg)["a0->a2"] == ("#c0392b", 2.2, ["only as-is", "allowed / -"])


def _legend_fills(svg: Path) -> dict[str, str | None]:
    """The legend's node keys (not its edges): text -> the fill of their box."""
    from lxml import etree

    ns = {"s": "http://www.w3.org/2000/svg"}
    keys: dict[str, str | None] = {}
    for group in etree.parse(str(svg)).iterfind(".//s:g[@class='node']", ns):
        if not str(group.findtext("s:title", namespaces=ns)).startswith("lg"):
            continue
        shape = group.find("s:path", ns)
        if shape is None:
            shape = group.find("s:polygon", ns)
        text = " ".join("".join(t.itertext()) for t in group.iterfind(".//s:text", ns))
        if text:
            keys[text] = None if shape is None else shape.get("fill")
    return keys


def test_the_legend_keys_the_activities_only_on_one_side(tmp_path: Path) -> None:
    """An activity only in the as-is side is drawn pink, one only in the to-be side blue,
    but the legend keyed the edges' styles only: nothing said what pink and blue meant.
    Each now has a key in its fill, naming the side and its kind, where such an activity
    is drawn (and none where none is)."""
    pink, blue = "#f8d7d3", "#d6e4f5"  # (the fills the activities are drawn in)
    as_is = side_from_traces([("a", "x", "c")], "as-is", "before")
    to_be = side_from_traces([("a", "y", "c")], "to-be", "after")
    svg = write_comparison(compare(as_is, to_be), tmp_path / "models")["diff.svg"]
    assert _legend_fills(svg) == {"activity only in the as-is model": pink,
                                  "activity only in the to-be model": blue}
    drawn = svg.read_text(encoding="utf-8")  # (the activities are drawn in those fills)
    assert drawn.count(f'fill="{pink}"') == 2
    assert drawn.count(f'fill="{blue}"') == 2
    # (two logs: against a model, a log is drawn with the model's activities only; 'x' in
    # 30 of 30 cases against none of 20 meets the rule a shift is told by: pink)
    log = Side("as-is", "log", "q3", {("a", "x", "c"): 30}, {}, frozenset("axc"))
    earlier = Side("to-be", "log", "q2", {("a", "c"): 20}, {}, frozenset("ac"))
    svg = write_comparison(compare(log, earlier), tmp_path / "logs")["diff.svg"]
    assert _legend_fills(svg) == {"activity only in the as-is log": pink}
    same = side_from_traces([("a", "c")], "to-be", "same")
    svg = write_comparison(compare(side_from_traces([("a", "c")], "as-is", "same"), same),
                           tmp_path / "same")["diff.svg"]
    assert _legend_fills(svg) == {}


def _node_shapes(svg: Path) -> dict[str, tuple[str | None, str | None, str | None]]:
    """The graph's activity nodes (not the legend's): their label's first line -> (fill,
    border colour, dash pattern) of their box, and the label's lines after the first."""
    from lxml import etree

    ns = {"s": "http://www.w3.org/2000/svg"}
    shapes: dict[str, tuple[str | None, str | None, str | None]] = {}
    for group in etree.parse(str(svg)).iterfind(".//s:g[@class='node']", ns):
        if not re.fullmatch(r"a\d+", str(group.findtext("s:title", namespaces=ns))):
            continue
        box = group.find("s:path", ns)
        assert box is not None
        texts = ["".join(t.itertext()) for t in group.iterfind(".//s:text", ns)]
        shapes[texts[0]] = (box.get("fill"), box.get("stroke"), " ".join(texts[1:]) or None)
        if box.get("stroke-dasharray"):
            shapes[texts[0]] = (box.get("fill"), f"{box.get('stroke')} dashed",
                                " ".join(texts[1:]) or None)
    return shapes


def test_an_activity_of_one_log_only_below_the_rule_is_not_drawn_alarming(
        tmp_path: Path) -> None:
    """Two logs: 'Y' in 5,000 of 10,000 as-is cases and 'Z' in 1 of them, neither in the
    to-be log; 'X' in 600 of the to-be's 10,000 cases and 'W' in 1, neither in the as-is
    log. compare.md tells 'Z' and 'W' last, below the rule a shift is told by, but the
    diff graph filled 'Z' as pink as 'Y' and 'W' as blue as 'X': 1 case of 10,000 looked
    as alarming as 5,000. Now the graph draws what the tests say: 'Y' and 'X' filled,
    with their cases; 'Z' and 'W' white with a dashed border in their side's hue, saying
    "below the rule", and the legend keys each style drawn."""
    pink, blue = "#f8d7d3", "#d6e4f5"
    as_is = Side("as-is", "log", "q3", {("A", "Y"): 4999, ("A", "Y", "Z"): 1, ("A",): 5000},
                 {}, frozenset("AYZ"))
    to_be = Side("to-be", "log", "q2", {("A", "X"): 600, ("A", "W"): 1, ("A",): 9399}, {},
                 frozenset("AXW"))
    result = compare(as_is, to_be)
    assert {d.activities[0]: d.meets_rule for d in result.differences} == {
        "Y": True, "X": True, "Z": False, "W": False}
    svg = write_comparison(result, tmp_path / "logs")["diff.svg"]
    nodes = _node_shapes(svg)
    assert nodes["Z"] == ("#ffffff", "#d9827a dashed", "1 of 10,000 cases, below the rule")
    assert nodes["W"] == ("#ffffff", "#7f9fcf dashed", "1 of 10,000 cases, below the rule")
    assert nodes["Y"] == (pink, "black", "5,000 of 10,000 cases, 50.0%")
    assert nodes["X"] == (blue, "black", "600 of 10,000 cases, 6.0%")
    assert nodes["A"] == ("#f2f2f2", "black", None)
    fills = _legend_fills(svg)
    assert fills == {
        "activity only in the as-is log": pink, "activity only in the to-be log": blue,
        "activity only in the as-is log, below the rule a shift is told by (compare.md)":
            "#ffffff",
        "activity only in the to-be log, below the rule a shift is told by (compare.md)":
            "#ffffff"}
    # Only the styles drawn are keyed: 'Z' alone below the rule, and no activity filled.
    alone = Side("to-be", "log", "q2", {("A", "Y"): 5000, ("A",): 5000}, {},
                 frozenset("AY"))
    svg = write_comparison(compare(as_is, alone), tmp_path / "one")["diff.svg"]
    assert _legend_fills(svg) == {
        "activity only in the as-is log, below the rule a shift is told by (compare.md)":
            "#ffffff"}
    assert _node_shapes(svg)["Y"] == ("#f2f2f2", "black", None)
    # Against a model nothing is tested: a model's activity only on its side stays filled.
    # ('Q', in the model only, in none of the log's cases)
    model = Side("as-is", "model", "m", {("A", "Q"): 1}, {}, frozenset("AQ"))
    svg = write_comparison(compare(model, to_be), tmp_path / "model")["diff.svg"]
    assert _node_shapes(svg)["Q"] == (pink, "black", None)


def _title_lines(dot: str) -> list[str]:
    return dot.split('graph [label="', 1)[1].split('", labelloc', 1)[0].split("\\n")


def test_the_diff_graphs_title_lines_are_wrapped_not_cut() -> None:
    """A label line is cut at 60 characters: the key of the styles of an as-is model
    against a to-be log, with an edge of each kind, read "red: only as-is · blue dashed:
    only to-be · grey: both, wid…", and a graph of more than 150 edges "150 of 272 edges
    drawn, those on one side only first (compa…". The graph's own title lines are now
    broken between their words (or styles), each whole."""
    import random

    from reports.graphs import MAX_LABEL

    model = Side("as-is", "model", "sop", {("a", "b", "c"): 1, ("a", "c"): 1}, {},
                 frozenset("abc"))
    log = Side("to-be", "log", "q3", {("a", "b", "c"): 5, ("b", "c"): 3}, {},
               frozenset("abc"))
    result = compare(model, log)
    assert {e.status for e in result.edges} == {"only-as-is", "only-to-be", "both"}
    title = _title_lines(diff_dot(result))
    assert all(len(line) <= MAX_LABEL and not line.endswith("…") for line in title), title
    assert "red: only as-is · blue dashed: only to-be" in title
    assert "grey: both, wider = more cases" in title
    rng = random.Random(1)  # (random orders of 6 of 16 tasks: hundreds of edges)
    tasks = [f"T{k}" for k in range(16)]

    def shuffled(role: Literal["as-is", "to-be"]) -> Side:
        traces: dict[tuple[str, ...], int] = {}
        for _ in range(400):
            trace = tuple(rng.sample(tasks, 6))
            traces[trace] = traces.get(trace, 0) + 1
        return Side(role, "log", role, traces, {}, frozenset(tasks))

    large = compare(shuffled("as-is"), shuffled("to-be"))
    assert len(large.edges) > MAX_DIFF_EDGES
    title = _title_lines(diff_dot(large))
    assert all(len(line) <= MAX_LABEL and not line.endswith("…") for line in title), title
    assert " ".join(title).endswith(
        f"{MAX_DIFF_EDGES} of {len(large.edges)} edges drawn, those on one side only first "
        "(compare.json lists all)")


def _legend_bends(svg: Path) -> dict[str, float]:
    """Each legend arrow (`lg0a->lg0b`, ...): how far its head is drawn beside its tail,
    in points (0 for a straight, vertical arrow under its label)."""
    from lxml import etree

    ns = {"s": "http://www.w3.org/2000/svg"}
    bends: dict[str, float] = {}
    for group in etree.parse(str(svg)).iterfind(".//s:g[@class='edge']", ns):
        title = str(group.findtext("s:title", namespaces=ns))
        path = group.find("s:path", ns)
        if not title.startswith("lg") or path is None:
            continue
        xs = [float(x) for x in re.findall(r"(-?[\d.]+),-?[\d.]+", str(path.get("d")))]
        bends[title.replace("&gt;", ">")] = abs(xs[0] - xs[-1])
    return bends


def test_the_legends_arrows_stay_straight_beside_its_boxes(tmp_path: Path) -> None:
    """The legend's boxes (the keys of an activity's fill, and of a lane difference's
    border) were set in the rank of its arrows' tails, between them: Graphviz bent every
    arrow around them, up to 400 pt sideways, each label beside another key's arrow (the
    bundled sample's e-commerce cases against their SOP: the last arrow bent round the
    lanes' key). The boxes are now a rank below the arrows: every arrow straight."""
    as_is = Side("as-is", "log", "q3", {("A", "Y"): 4999, ("A", "Y", "Z"): 1, ("A",): 5000},
                 {}, frozenset("AYZ"))
    to_be = Side("to-be", "log", "q2", {("A", "X"): 600, ("A", "W"): 1, ("A",): 9399}, {},
                 frozenset("AXW"))
    svg = write_comparison(compare(as_is, to_be), tmp_path / "logs")["diff.svg"]
    assert len(_legend_fills(svg)) == 4  # (four boxes)
    bends = _legend_bends(svg)
    # (9 arrows: the edges of 'Z' and 'W', 1 case each, are keyed dotted below the rule)
    assert len(bends) == 9 and max(bends.values()) < 1, bends
    lanes = compare_files(ROOT / "sample_logs" / "refund-sample" / "canonical.csv",
                          ROOT / "models" / "ecommerce.bpmn", channel="ecommerce")
    svg = write_comparison(lanes, tmp_path / "lanes")["diff.svg"]
    assert "who performs it differs from the lanes (compare.md)" in _legend_fills(svg)
    bends = _legend_bends(svg)
    assert len(bends) > 5 and max(bends.values()) < 1, bends


def test_the_docs_state_the_diff_graphs_scale_as_drawn() -> None:
    """docs/discovery-and-compare.md names each band's colour as the diff graph draws it (the
    SOP graph's scale, one definition), and that a label never reads as another band's
    share (14 of 300 cases, "4.7%", in the band "1% to under 5%"; compare.md's "5%")."""
    from conformance.compare import _graded_style, percent
    from reports.overlay import BANDS

    text = (ROOT / "docs" / "discovery-and-compare.md").read_text(encoding="utf-8")
    paragraph = " ".join(text[text.index("`diff.svg`/`diff.png` draw"):].split("\n\n")[0]
                         .split())
    stated = re.findall(r"`(#[0-9a-f]{6})` ((?:under |\d+% (?:to under|or more))[^,)]*)",
                        paragraph)
    assert [(c, t.strip()) for c, t in stated] == [(b.line, b.text) for b in BANDS]
    assert f"({BANDS[0].width:.1f} to {BANDS[-1].width:.1f} pt)" in paragraph
    assert percent(14, 300) == "5%"
    assert _graded_style(14, 300) == (
        f'color="{BANDS[1].line}", fontcolor="#8c2d04", penwidth={BANDS[1].width:.1f}',
        "14 of 300 cases, 4.7%")
    assert 'labelled "only as-is, 3 of 300 cases, 1.0%"' in paragraph


# --- steps required before a later one, and after an earlier one -------------------------
APPROVE_OR_REJECT = [
    ("s", "R"), ("R", "x"), ("x", "Approve"), ("x", "Reject"), ("Approve", "Pay"),
    ("Pay", "j"), ("Reject", "j"), ("j", "Notify"), ("Notify", "Close"), ("Close", "e")]
"""Receive, then approve and pay or reject, then notify and close (tasks named by id)."""
APPROVE_OR_REJECT_RUNS = [("R", "Approve", "Pay", "Notify", "Close"),
                          ("R", "Reject", "Notify", "Close")]


def _approve_or_reject(path: Path) -> Path:
    tasks = "".join(f'<task id="{t}" name="{t}"/>'
                    for t in ("R", "Approve", "Reject", "Pay", "Notify", "Close"))
    return _model(path, '<startEvent id="s"/><endEvent id="e"/><exclusiveGateway id="x"/>'
                        '<exclusiveGateway id="j"/>' + tasks + _flows(*APPROVE_OR_REJECT))


def _log_side(role: Literal["as-is", "to-be"], variants: dict[tuple[str, ...], list[str]]
              ) -> Side:
    """A log side of the given variants, each with its case ids."""
    return Side(role, "log", f"{role} log", {t: len(ids) for t, ids in variants.items()},
                {t: list(ids) for t, ids in variants.items()},
                frozenset(a for t in variants for a in t))


APPROVED_NOT_PAID = {
    ("R", "Approve", "Pay", "Notify", "Close"): ["ok1", "ok2", "ok3", "ok4", "ok5"],
    ("R", "Reject", "Notify", "Close"): ["rj1", "rj2", "rj3", "rj4"],
    ("R", "Approve"): ["stop1", "stop2"],             # approved, then nothing
    ("R", "Approve", "Notify", "Close"): ["np1", "np2", "np3"],  # approved, never paid
    ("R", "Pay", "Notify", "Close"): ["na1"],          # paid, never approved
    ("R", "Pay", "Approve", "Notify", "Close"): ["late1"],  # paid, then approved
}
"""16 cases against the approve-or-reject model: 5 never paid after approving, 1 paid only
before its approval, 1 paid without an approval."""


def test_a_step_required_after_an_earlier_one_is_told_where_cases_miss_it(
        tmp_path: Path) -> None:
    """Cases that stop after 'Approve refund' (or are closed unpaid) were told only as
    missing the steps every run does ('Close ticket', 'Notify customer'), never as missing
    the payout the SOP requires after an approval. The model's runs that do 'Approve' all do
    'Pay' after it: a case without a 'Pay' after its last 'Approve' misses it. Only the
    nearest such step is told ('Notify' and 'Close' also follow every 'Approve', but follow
    'Pay' too, and every run does them: told as required, where missing)."""
    model = compare_files(_approve_or_reject(tmp_path / "m.bpmn"),
                          _approve_or_reject(tmp_path / "m.bpmn")).to_be
    log = _log_side("as-is", APPROVED_NOT_PAID)
    result = compare(log, model)
    after = [d for d in result.differences if d.kind == "missing-after"]
    assert [(d.activities, d.as_is.as_dict(), d.to_be.as_dict()) for d in after] == [
        (("Approve", "Pay"), {"cases": 6, "of": 16, "share": 0.375}, {"allowed": False})]
    assert after[0].sentence == (
        "'Pay' is required after 'Approve' by the to-be model but missing in 38% of cases "
        "(6 of 16), 5 of which never did 'Pay' and 1 did it only before their last "
        "'Approve'.")
    # The cases that never paid first, then the one paid before its approval.
    assert after[0].examples == ("np1", "np2", "np3", "stop1", "stop2")
    view = after[0].as_dict()
    assert (view["kind"], view["activities"]) == ("missing-after", ["Approve", "Pay"])
    # Required before a later step: the count is of the cases that did it and never the step.
    skipped = {d.activities: d for d in result.differences if d.kind == "skipped"}
    assert skipped[("Approve",)].sentence == (
        "'Approve' is required before 'Pay' by the to-be model but missing in 6% of cases "
        "(1 of 16), which did 'Pay' and never 'Approve'.")
    assert skipped[("Approve",)].as_dict()["required_before"] == ["Pay"]
    assert skipped[("Approve",)].examples == ("na1",)
    # Required in every run: 'Notify' and 'Close' missing in the two cases that stopped.
    for task in ("Notify", "Close"):
        assert skipped[(task,)].sentence == (
            f"'{task}' is required by the to-be model but missing in 13% of cases (2 of 16).")
        assert skipped[(task,)].as_dict()["required_before"] == []
    # The same model given by its runs: the same differences.
    runs = side_from_traces(APPROVE_OR_REJECT_RUNS, "to-be", "runs")
    assert [d.sentence for d in compare(log, runs).differences] == [
        d.sentence for d in result.differences]


def test_a_model_requires_after_each_of_its_loops_rounds(tmp_path: Path) -> None:
    """A loop: 'A' then 'B', and back to 'A' or on to 'C'. Every run does 'B' after each
    'A', so after the last one too: a case 'A, B, A, C' misses it (after its last 'A'). Every
    run does 'B', but the model allows 'B' before 'A' (the loop back): neither "required"
    nor an order sentence tells that case, so 'B' after 'A' is told."""
    tasks = "".join(f'<task id="{t}" name="{t}"/>' for t in "ABC")
    model = _model(tmp_path / "loop.bpmn",
                   '<startEvent id="s"/><exclusiveGateway id="m"/><exclusiveGateway id="x"/>'
                   '<endEvent id="e"/>' + tasks + _flows(
                       ("s", "m"), ("m", "A"), ("A", "B"), ("B", "x"), ("x", "m"),
                       ("x", "C"), ("C", "e")))
    side = compare_files(model, model).to_be
    assert side.behaviour is not None
    assert side.behaviour.required_after == {"A": {"B", "C"}, "B": {"C"}}
    log = _log_side("as-is", {("A", "B", "A", "B", "C"): ["fine"],
                              ("A", "B", "A", "C"): ["cut"]})
    after = [d for d in compare(log, side).differences if d.kind == "missing-after"]
    # 'C' is required in every run and never allowed before 'A' or 'B': not told after
    # them (a case without it is told as missing it, or as doing it too early).
    assert [(d.activities, d.as_is.cases, d.examples) for d in after] == [
        (("A", "B"), 1, ("cut",))]
    assert after[0].sentence.endswith("which did 'B' only before their last 'A'.")


def test_required_after_with_the_log_on_the_to_be_side(tmp_path: Path) -> None:
    """An as-is model against a to-be log: the same counts, told of to-be cases, the
    measures swapped."""
    model = compare_files(_approve_or_reject(tmp_path / "m.bpmn"),
                          _approve_or_reject(tmp_path / "m.bpmn")).as_is
    result = compare(model, _log_side("to-be", APPROVED_NOT_PAID))
    after = [d for d in result.differences if d.kind == "missing-after"]
    assert [(d.activities, d.as_is.as_dict(), d.to_be.as_dict()) for d in after] == [
        (("Approve", "Pay"), {"allowed": False}, {"cases": 6, "of": 16, "share": 0.375})]
    assert after[0].sentence.startswith(
        "'Pay' is required after 'Approve' by the as-is model but missing in 38% of to-be "
        "cases (6 of 16)")


def test_models_are_compared_on_the_steps_they_require_after_another() -> None:
    """The to-be model pays after every approval; the as-is model may close unpaid."""
    to_be = side_from_traces(APPROVE_OR_REJECT_RUNS, "to-be", "to-be")
    as_is = side_from_traces([*APPROVE_OR_REJECT_RUNS, ("R", "Approve", "Notify", "Close")],
                             "as-is", "as-is")
    differences = compare(as_is, to_be).differences
    assert [(d.kind, d.activities, d.sentence, d.as_is.allowed, d.to_be.allowed)
            for d in differences if d.kind == "required-after"] == [
        ("required-after", ("Approve", "Pay"),
         "'Pay' is required after 'Approve' by the to-be model but not by the as-is model.",
         False, True)]
    assert [d.activities for d in compare(to_be, as_is).differences
            if d.kind == "required-after"] == [("Approve", "Pay")]
    assert compare(to_be, to_be).differences == []


def test_no_differences_names_the_relations_compared(tmp_path: Path) -> None:
    """"No differences" listed required activities and lanes also where neither was compared
    (two logs); with a model it now names the steps required before and after another."""
    fine = {t: [f"c{k}"] for k, t in enumerate(APPROVE_OR_REJECT_RUNS)}
    model = side_from_traces(APPROVE_OR_REJECT_RUNS, "to-be", "runs")
    with_model = compare(_log_side("as-is", fine), model)
    text = write_comparison(with_model, tmp_path / "m")["compare.md"].read_text(
        encoding="utf-8")
    assert ("No differences in the compared relations (activities, the order of two "
            "activities, repetition, required activities, activities required before a "
            "later step, steps required after an earlier one).") in text
    two_logs = compare(_log_side("as-is", fine), _log_side("to-be", fine))
    text = write_comparison(two_logs, tmp_path / "l")["compare.md"].read_text(
        encoding="utf-8")
    assert ("No differences in the compared relations (activities, the order of two "
            "activities, repetition).") in text
    data = json.loads((tmp_path / "l" / "compare.json").read_text(encoding="utf-8"))
    assert data["compared_relations"] == ["activities", "the order of two activities",
                                          "repetition"]


def test_required_before_and_after_on_the_sample_recount(violated_log: Path) -> None:
    """The sample's approved-not-paid and paid-not-approved cases, recounted here with
    pandas by the conditions the sentences state."""
    result = compare_files(violated_log, ECOMMERCE)
    log = _ordered(violated_log)
    traces = log.groupby("case:concept:name")["concept:name"].apply(tuple)

    def no_payout_after_approval(trace: tuple[str, ...]) -> bool:
        if "Approve refund" not in trace:
            return False
        last = len(trace) - 1 - trace[::-1].index("Approve refund")
        return "Execute payout" not in trace[last + 1:]

    unpaid = int(traces.map(no_payout_after_approval).sum())
    assert unpaid > 0
    after = {d.activities: d for d in result.differences if d.kind == "missing-after"}
    assert after[("Approve refund", "Execute payout")].as_is.cases == unpaid
    unapproved = int(traces.map(lambda t: "Execute payout" in t
                                and "Approve refund" not in t).sum())
    skipped = next(d for d in result.differences if d.kind == "skipped"
                   and d.activities == ("Approve refund",))
    assert skipped.before == ("Execute payout",)
    assert skipped.as_is.cases == unapproved
    assert (f"'Approve refund' is required before 'Execute payout' by the to-be model but "
            f"missing in {round(100 * unapproved / 300)}% of cases ({unapproved} of 300), "
            "which did 'Execute payout' and never 'Approve refund'.") == skipped.sentence


@pytest.fixture(scope="module")
def demo_log() -> pd.DataFrame:
    """The demo's canonical log: the bundled sample's exports imported as the demo imports
    them."""
    from contextlib import ExitStack
    from importlib.resources import as_file, files

    from audit.demo import SAMPLE
    from audit.sources.pipeline import import_and_correlate

    folder = files("sample_logs").joinpath(SAMPLE, "exports")
    with ExitStack() as stack:
        exports = sorted(
            (Path(stack.enter_context(as_file(item))) for item in folder.iterdir()
             if item.is_file() and not item.name.startswith(".")), key=lambda p: p.name)
        return import_and_correlate([(path, None) for path in exports]).log


def test_the_demos_approved_but_never_paid_cases_are_told(demo_log: pd.DataFrame) -> None:
    """The demo's three cases that end right after 'Approve refund' showed only as missing
    'Close ticket' and 'Notify customer'."""
    from conformance.compare import load_side, side_from_log

    result = compare(side_from_log(demo_log, "as-is", "demo"), load_side(ECOMMERCE, "to-be"))
    after = [d for d in result.differences if d.kind == "missing-after"]
    assert [d.activities for d in after] == [("Approve refund", "Execute payout")]
    assert after[0].examples[:3] == ("40141", "CS0000249", "RFD-66")
    assert "3 of which never did 'Execute payout'" in after[0].sentence
def test_compare_md_shows_its_own_code_as_code_and_lanes_as_named(tmp_path: Path) -> None:
    """compare.md wrote the note on a log's quarantined rows as "(\\`refund-audit
    import\\` writes ...)": its own code span escaped as a label's backticks are, shown with
    backslashes; and compare named lanes and roles by their keys ("lane payments") where
    `model inspect` says "lane Payments"."""
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,org:role\n"
                   "c1,A,2026-01-01T10:00:00Z,Customer Service\n"
                   "c1,`refund-audit import`,not a time,x\n", encoding="utf-8")
    model = _model(tmp_path / "m.bpmn", '<laneSet id="ls"><lane id="l" name="Payments">'
                   '<flowNodeRef>A</flowNodeRef></lane></laneSet><startEvent id="s"/>'
                   '<task id="A" name="A"/><endEvent id="e"/>' + _flows(("s", "A"), ("A", "e")))
    result = compare_files(log, model)
    text = write_comparison(result, tmp_path / "out")["compare.md"].read_text(encoding="utf-8")
    assert "(`refund-audit import` writes the quarantined rows with reasons)" in text, text
    assert "\\`" not in text, text
    lane = [d.sentence for d in result.differences if d.kind == "lane"]
    assert lane == ["In 100% of cases (1 of 1), 'A' is performed by Customer Service, outside "
                    "its lane in the to-be model (Payments)."], lane
    # A label's backticks stay escaped, though it reads as compare's own code.
    as_is = side_from_traces([("`refund-audit import`",)], "as-is", "a")
    text = write_comparison(compare(as_is, side_from_traces([("b",)], "to-be", "b")),
                            tmp_path / "labels")["compare.md"].read_text(encoding="utf-8")
    assert "\\`refund-audit import\\`" in text, text


def test_no_differences_names_lanes_only_where_they_were_compared(tmp_path: Path) -> None:
    """A log against a model without lanes said "No differences in the compared relations
    (..., lanes)": the lanes were not compared."""
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp,org:role\n"
                   "c1,A,2026-01-01T10:00:00Z,payments\n", encoding="utf-8")
    body = '<startEvent id="s"/><task id="A" name="A"/><endEvent id="e"/>' + _flows(
        ("s", "A"), ("A", "e"))
    plain = _model(tmp_path / "plain.bpmn", body)
    laned = _model(tmp_path / "laned.bpmn", '<laneSet id="ls"><lane id="l" name="Payments">'
                   '<flowNodeRef>A</flowNodeRef></lane></laneSet>' + body)
    said = "No differences in the compared relations (activities, the order of two " \
           "activities, repetition, required activities"
    for model in (plain, laned):
        result = compare_files(log, model)
        assert result.differences == []
        assert ("lanes" in result.relations_compared) == (model == laned)
        text = write_comparison(result, tmp_path / model.stem)["compare.md"].read_text(
            encoding="utf-8")
        assert said in text and (", lanes)." in text) == (model == laned), text


def test_the_diff_legend_draws_only_the_styles_the_graph_uses(tmp_path: Path) -> None:
    """A log whose every edge the to-be model has graded no edge, yet the legend drew the
    five bands of the grading scale (and 'only to-be' with no such edge): it draws the styles
    used, and the title does not send to a scale that is not there."""
    from reports.overlay import BANDS

    log = Side("as-is", "log", "log", {("a", "b"): 3}, {}, frozenset("ab"))
    model = side_from_traces([("a", "b"), ("b", "a")], "to-be", "sop")
    svg = write_comparison(compare(log, model), tmp_path / "one")["diff.svg"]
    keys = {title for title in _drawn_edges(svg) if title.startswith("lg")}
    legend = _legend_text(svg)
    assert len(keys) == 2 and "only to-be" in legend and "both sides" in legend, legend
    # (no graded colour; the one grey width of its edges on both sides, 3 of 3 cases)
    assert "both sides, 50% or more" in legend
    assert not any(b.text in legend.replace("both sides, 50% or more", "") for b in BANDS)
    assert "grade the share" not in legend
    assert "No edge is only in the as-is log" in legend
    assert "graded by its share" not in svg.read_text(encoding="utf-8")
    # The same log against itself: every edge on both sides, one key.
    svg = write_comparison(compare(log, Side("to-be", "log", "same", {("a", "b"): 3}, {},
                                             frozenset("ab"))), tmp_path / "two")["diff.svg"]
    assert len([t for t in _drawn_edges(svg) if t.startswith("lg")]) == 1
    assert "only to-be" not in _legend_text(svg)


def test_edges_on_both_sides_are_drawn_the_wider_the_more_cases_take_them(
        tmp_path: Path) -> None:
    """Every edge on both sides was drawn grey at one width: in the bundled sample's
    e-commerce cases against their SOP, 'Receive refund request' -> 'Collect evidence'
    (140 of 141 cases) was as thin as 'Approve refund (second level)' -> 'Payout failed'
    (2), and a log against last quarter's log (every edge on both sides) was a grey tangle
    with no main path. Now an edge on both sides is drawn as wide as the band of the share
    of the log's cases taking it (the as-is log's, else the to-be log's; two models: one
    width), the legend keys the widths drawn, and the title names only the styles drawn
    (it named "red: only as-is" over two models of which neither had an edge the other
    lacked)."""
    from reports.overlay import BANDS

    # 100 cases: a -> b -> c in 60, a -> c in 39 and a -> b -> b -> c in 1.
    traces = {("a", "b", "c"): 60, ("a", "c"): 39, ("a", "b", "b", "c"): 1}
    log = Side("as-is", "log", "log", traces, {}, frozenset("abc"))
    model = side_from_traces([("a", "b", "c"), ("a", "c"), ("a", "b", "b", "c")], "to-be",
                             "sop")
    out = write_comparison(compare(log, model), tmp_path / "log")
    edges = _drawn_edges(out["diff.svg"])
    # a, b, c are a0, a1, a2: a -> b 61 cases, a -> c 39, b -> b 1, start -> a 100.
    assert edges["a0->a1"] == ("#7f7f7f", BANDS[4].width, ["61 / allowed"])
    assert edges["a0->a2"] == ("#7f7f7f", BANDS[3].width, ["39 / allowed"])
    assert edges["a1->a1"][:2] == ("#7f7f7f", BANDS[1].width)  # (1 of 100: 1% to under 5%)
    assert edges["start->a0"][:2] == ("#7f7f7f", BANDS[4].width)
    assert BANDS[1].width < BANDS[3].width < BANDS[4].width
    legend = _legend_text(out["diff.svg"])
    assert "the share of the as-is log's 100 cases taking the edge" in legend, legend
    keys = sorted(v[1] for k, v in edges.items() if k.startswith("lg"))
    assert keys == [BANDS[1].width, BANDS[3].width, BANDS[4].width]  # (the widths drawn)
    assert "both sides, 1% to under 5%" in legend and "under 1%," not in legend
    title = out["diff.svg"].read_text(encoding="utf-8")
    assert "grey: both, wider = more cases" in title
    assert "blue dashed" not in title and "red: only as-is" not in title
    # The model as-is, the log to-be: the to-be log's cases width them.
    swapped = _drawn_edges(write_comparison(
        compare(side_from_traces([("a", "b", "c"), ("a", "c"), ("a", "b", "b", "c")],
                                 "as-is", "sop"),
                Side("to-be", "log", "log", traces, {}, frozenset("abc"))),
        tmp_path / "swapped")["diff.svg"])
    assert swapped["a0->a2"] == ("#7f7f7f", BANDS[3].width, ["allowed / 39"])
    # Two models: one width, and the title names only the styles drawn.
    one = side_from_traces([("a", "b", "c")], "as-is", "one")
    more = side_from_traces([("a", "b", "c"), ("a", "c")], "to-be", "more")
    out = write_comparison(compare(one, more), tmp_path / "models")
    drawn = _drawn_edges(out["diff.svg"])
    assert drawn["a0->a1"] == ("#7f7f7f", None, ["allowed / allowed"])
    text = out["diff.svg"].read_text(encoding="utf-8")
    assert "blue dashed: only to-be · grey: both<" in text
    assert "red: only as-is" not in text


def test_compare_json_gives_the_start_and_end_of_an_edge_as_null_and_a_flag(
        violated_log: Path, tmp_path: Path) -> None:
    """compare.json named a case's start and end by the diff graph's display text ("▶ start",
    "■ end") in its edges: a consumer had to know the glyphs, and could not tell them from an
    activity of that name. Now an edge's end there is null, flagged `from_start`/`to_end`;
    the graph keeps its text. discovery.json gives starts and ends apart, no glyph in it."""
    result = compare_files(violated_log, ECOMMERCE)
    text = write_comparison(result, tmp_path)["compare.json"].read_text(encoding="utf-8")
    assert "▶" not in text and "■" not in text
    edges = json.loads(text)["edges"]
    labels = set(pd.read_csv(violated_log, dtype=str)["concept:name"]) | set(SOP_LABELS)
    starts = [e for e in edges if e["from_start"]]
    ends = [e for e in edges if e["to_end"]]
    assert starts and ends
    assert all(e["source"] is None for e in starts) and all(e["target"] is None for e in ends)
    assert all(e["source"] in labels for e in edges if not e["from_start"])
    assert all(e["target"] in labels for e in edges if not e["to_end"])
    # The same edges as the graph's (which keeps its display text): its START and END where
    # the JSON says null.
    assert [(START if e["from_start"] else e["source"], END if e["to_end"] else e["target"])
            for e in edges] == [(e.source, e.target) for e in result.edges]
    # discovery.json: starts and ends as maps of their own, no display text.
    out = tmp_path / "discovered"
    done = CliRunner().invoke(main, ["discover", str(violated_log), "--miner", "dfg", "--out",
                                     str(out)])
    assert done.exit_code == 0, done.output
    found = (out / "discovery.json").read_text(encoding="utf-8")
    assert "▶" not in found and "■" not in found
    assert json.loads(found)["dfg"]["starts"]


def test_compare_md_keeps_each_text_on_its_line(tmp_path: Path) -> None:
    """A role, a file name or a label holding a line break wrote it into compare.md as it
    was: the text after it began a line of its own, where `# ...` was a heading and `- ...`
    a difference of compare's own to a Markdown viewer (a line feed; a carriage return too,
    which Markdown also reads as a line's end). Each is shown as [U+000A] / [U+000D]."""
    forged = "cs\n# FORGED heading\r- 'Approve refund' forged line"
    log = tmp_path / "a\n# forged file.csv"
    rows = [("c1", "Receive refund request", "2026-09-01T10:00:00Z", forged),
            ("c1", "Collect evidence", "2026-09-01T11:00:00Z", "customer-service"),
            ("c1", "Close ticket", "2026-09-01T12:00:00Z", "customer-service")]
    pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "time:timestamp",
                                "org:role"]).to_csv(log, index=False)
    result = compare_files(log, ECOMMERCE)
    assert any(forged in d.sentence for d in result.differences)  # (the role reached it)
    text = write_comparison(result, tmp_path / "out")["compare.md"].read_bytes().decode()
    lines = text.split("\n")
    assert not [line for line in lines if "forged" in line.lower()
                and line.startswith(("# F", "# f", "- 'Approve refund' forged"))]
    assert "\r" not in text
    assert r"cs\[U+000A\]# FORGED heading\[U+000D\]- 'Approve refund' forged line" in text
    assert r"a\[U+000A\]# forged file.csv" in text
    # A model's label, as the sides hold it (a log's labels are read with white space
    # collapsed, a model's names too: this is what reaches the writer).
    as_is = side_from_traces([("Pay\n# forged label",)], "as-is", "a")
    text = write_comparison(compare(as_is, side_from_traces([("a",)], "to-be", "b")),
                            tmp_path / "label")["compare.md"].read_bytes().decode()
    assert "\n# forged label" not in text and r"Pay\[U+000A\]# forged label" in text


def test_compare_console_keeps_each_difference_on_its_line(tmp_path: Path) -> None:
    """compare's console printed a difference naming a role with a line break as it was:
    the text after the break was a line of its own on the terminal (`# FORGED heading`,
    `- 'Approve refund' forged line`, a difference compare never found). Shown as
    [U+000A] / [U+000D], as compare.md shows it."""
    forged = "cs\n# FORGED heading\r- 'Approve refund' forged line"
    log = tmp_path / "log.csv"
    rows = [("c1", "Receive refund request", "2026-09-01T10:00:00Z", forged),
            ("c1", "Collect evidence", "2026-09-01T11:00:00Z", "customer-service"),
            ("c1", "Close ticket", "2026-09-01T12:00:00Z", "customer-service")]
    pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "time:timestamp",
                                "org:role"]).to_csv(log, index=False)
    run = CliRunner().invoke(main, ["compare", str(log), str(ECOMMERCE), "--out",
                                    str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    forged_starts = ("# FORGED", "- 'Approve refund' forged")
    assert not [line for line in lines if line.startswith(forged_starts)]
    assert any(r"cs[U+000A]# FORGED heading[U+000D]- 'Approve refund' forged line" in line
               for line in lines)


def test_an_edge_of_one_log_only_below_the_rule_is_not_drawn_alarming(
        tmp_path: Path) -> None:
    """Two logs of 10,000 cases each. Only in the to-be log: 'C' -> 'D' in 600 cases and
    'B' -> 'B' in 1; only in the as-is log: 'D' -> 'B' in 4,999 and 'C' -> 'B' in 1. The
    diff graph drew 'B' -> 'B' as bold a blue as 'C' -> 'D' (1 case as loud as 600), as
    the activities of one log only were before 3524cf3. Now each such edge is tested as
    such an activity is (its cases against 0, the rule a shift is told by): one meeting it
    is drawn as before, one below it dotted, thin, in its side's pale hue, saying so; the
    legend keys each style drawn, and compare.json gives each edge's test."""
    from reports.overlay import BANDS

    as_is = Side("as-is", "log", "q3", {("A", "B", "D"): 5000, ("A", "D", "B"): 4999,
                                        ("A", "C", "B", "D"): 1}, {}, frozenset("ABCD"))
    to_be = Side("to-be", "log", "q2", {("A", "D"): 9399, ("A", "C", "D"): 600,
                                        ("A", "B", "B", "D"): 1}, {}, frozenset("ABCD"))
    result = compare(as_is, to_be)
    alone = {(e.source, e.target): (e.status, e.as_is.cases, e.to_be.cases)
             for e in result.edges if e.status != "both"}
    assert alone == {("C", "D"): ("only-to-be", 0, 600), ("B", "B"): ("only-to-be", 0, 1),
                     ("D", "B"): ("only-as-is", 4999, 0), ("C", "B"): ("only-as-is", 1, 0),
                     ("B", END): ("only-as-is", 4999, 0)}
    out = write_comparison(result, tmp_path / "logs")
    edges = _drawn_edges(out["diff.svg"])
    # A, B, C, D are a0 .. a3.
    assert edges["a2->a3"] == ("#2f5597", 2.2, ["only to-be", "- / 600"])
    assert edges["a1->a1"] == ("#7f9fcf", 1.2,
                               ["only to-be", "1 of 10,000 cases, below the rule"])
    assert edges["a3->a1"] == (BANDS[3].line, BANDS[3].width,
                               ["only as-is", "4,999 of 10,000 cases, 49.9%"])
    assert edges["a2->a1"] == ("#d9827a", 1.2,
                               ["only as-is", "1 of 10,000 cases, below the rule"])
    legend = _legend_text(out["diff.svg"])
    assert "edge only in the to-be log, below the rule a shift is told by" in legend
    assert "edge only in the as-is log, below the rule a shift is told by" in legend
    assert "only to-be " in legend and BANDS[3].text in legend
    data = json.loads(out["compare.json"].read_text(encoding="utf-8"))
    told = {(e["source"], e["target"]): e.get("meets_shift_rule") for e in data["edges"]}
    assert told[("C", "D")] is True and told[("B", "B")] is False
    assert told[("D", "B")] is True and told[("C", "B")] is False
    assert told[("A", "D")] is None  # (on both sides: not tested)
    [tested] = [e for e in data["edges"] if (e["source"], e["target"]) == ("B", "B")]
    assert tested["significance"]["points"] == -0.01
    assert data["shift_rule"]["tested_edges_one_side_only"] == 5
    assert ("5 directly-follows edges (with a case's start and end) occur on one side only, "
            "2 of them below the rule a shift is told by (drawn dotted): see the diff graph."
            ) in out["compare.md"].read_text(encoding="utf-8")
    # Only the styles drawn are keyed: every edge of one log only below the rule.
    few = Side("to-be", "log", "q2", {("A", "B", "D"): 5000, ("A", "D", "B"): 4999,
                                      ("A", "C", "D"): 1}, {}, frozenset("ABCD"))
    svg = write_comparison(compare(as_is, few), tmp_path / "few")["diff.svg"]
    legend = _legend_text(svg)
    assert "edge only in the to-be log, below the rule" in legend
    assert "edge only in the as-is log, below the rule" in legend
    # (no graded band keyed: the keys' arrows are the faint ones and the grey widths)
    assert {stroke for title, (stroke, _, _) in _drawn_edges(svg).items()
            if title.startswith("lg")} == {"#d9827a", "#7f9fcf", "#7f7f7f"}
    assert "only to-be " not in legend and "grade the share" not in legend
    text = svg.read_text(encoding="utf-8")
    assert "blue dashed" not in text and "graded by its share" not in text
    assert "dotted: one log only, below the rule" in text


def test_the_graph_says_outside_what_the_sentence_says_with_a_policy(tmp_path: Path) -> None:
    """The bundled sample's e-commerce cases against their SOP with the default policy:
    compare.md tells 'Approve refund' performed by customer-service in 1 of 141 cases
    "outside its lane in the to-be model and the roles the policy allows (Finance,
    Supervisor)" (one lane, Supervisor, and finance, which the policy allows), but the
    diff graph's node said "outside its lanes: 1 of 141 cases" (it counted the policy's
    role as a lane) and its title "performed outside its lanes". The graph now says what
    the sentence says; a task judged by its lane alone keeps "outside its lane"."""
    policy = load_policy(ROOT / "models" / "policy.default.yaml")
    result = compare_files(ROOT / "sample_logs" / "refund-sample" / "canonical.csv",
                           ROOT / "models" / "ecommerce.bpmn", policy, channel="ecommerce")
    lanes = {d.activities[0]: d.sentence for d in result.differences if d.kind == "lane"}
    assert ("'Approve refund' is performed by customer-service, outside its lane in the "
            "to-be model and the roles the policy allows (Finance, Supervisor).") in \
        lanes["Approve refund"]
    assert "outside its lane in the to-be model (Payments)." in lanes["Execute payout"]
    svg = write_comparison(result, tmp_path / "policy")["diff.svg"]
    nodes = _node_shapes(svg)
    purple = "#6a3d9a"
    assert nodes["Approve refund"] == (
        "#f2f2f2", purple, "outside its lane and the roles the policy allows: 1 of 141 cases")
    assert nodes["Execute payout"] == ("#f2f2f2", purple, "outside its lane: 3 of 141 cases")
    text = svg.read_text(encoding="utf-8")
    assert "purple border: performed outside its lanes and the roles the" in text
    assert "policy allows" in text
    assert ("who performs it differs from the lanes and the roles the policy allows "
            "(compare.md)") in _legend_fills(svg)
    # Without the policy the lane alone judges: finance's 18 approvals are outside it.
    alone = compare_files(ROOT / "sample_logs" / "refund-sample" / "canonical.csv",
                          ROOT / "models" / "ecommerce.bpmn", channel="ecommerce")
    svg = write_comparison(alone, tmp_path / "lanes")["diff.svg"]
    [line] = [line for a, (_, _, line) in _node_shapes(svg).items() if a == "Approve refund"]
    assert line is not None and line.startswith("outside its lane: ")
    assert "policy allows" not in svg.read_text(encoding="utf-8")


def test_an_edge_of_an_activity_of_one_log_only_takes_its_verdict(tmp_path: Path) -> None:
    """As-is 300 cases, 7 of them 'A','Z','B',...,'H', the others 'A'..'H'; to-be 300 cases
    'A'..'H'. The edges 'A' -> 'Z' and 'Z' -> 'B' are in the same 7 cases as 'Z' (the same
    Fisher p), but were adjusted in a family of their own: 'Z' was "7 of 300 cases, below
    the rule" (adjusted p 0.558) while both its edges met it (adjusted p 0.015), drawn
    graded orange. With 10 one-case skips added to the to-be log it was the reverse ('Z'
    meets the rule, its edges dotted below it). Now such an edge takes its activity's
    verdict and significance, both ways; an edge of fewer of its cases is tested as
    before, and meets the rule only where its activity does too."""
    chain = tuple("ABCDEFGH")
    with_z = (*chain[:1], "Z", *chain[1:])
    as_is = Side("as-is", "log", "q1", {chain: 293, with_z: 7}, {}, frozenset(with_z))
    skips = [chain[:i] + chain[j:] for i in range(1, 8) for j in range(i + 2, 9)][:10]
    for label, to_be_traces, meets in (
            ("below", {chain: 300}, False),
            ("meets", {chain: 290, **{t: 1 for t in skips}}, True)):
        to_be = Side("to-be", "log", "q2", to_be_traces, {}, frozenset(chain))
        result = compare(as_is, to_be)
        [z] = [d for d in result.differences if d.activities == ("Z",)]
        assert z.meets_rule is meets, label
        assert z.significance is not None
        edges = {(e.source, e.target): e for e in result.edges if "Z" in (e.source, e.target)}
        assert set(edges) == {("A", "Z"), ("Z", "B")}
        for edge in edges.values():
            assert (edge.meets_rule, edge.significance) == (meets, z.significance), label
        out = write_comparison(result, tmp_path / label)
        drawn = _drawn_edges(out["diff.svg"])
        # A is a0, B a1, Z a8: drawn as its node is, faint where it is below the rule.
        for key in ("a0->a8", "a8->a1"):
            assert ("below the rule" in " ".join(drawn[key][2])) is not meets, (label, key)
            assert (drawn[key][0] == "#d9827a") is not meets, (label, key)
        data = json.loads(out["compare.json"].read_text(encoding="utf-8"))
        [node] = [d for d in data["differences"] if d["activities"] == ["Z"]]
        for edge_json in data["edges"]:
            if "Z" in (edge_json["source"], edge_json["target"]):
                assert edge_json["meets_shift_rule"] is meets
                assert edge_json["significance"] == node["significance"]
    # An edge in fewer of the activity's cases keeps its own test (its own share), and
    # meets the rule only where its activity does.
    other = (*chain[:3], "Z", *chain[3:])
    as_is = Side("as-is", "log", "q1", {chain: 270, with_z: 25, other: 5}, {},
                 frozenset(with_z))
    result = compare(as_is, Side("to-be", "log", "q2", {chain: 300}, {}, frozenset(chain)))
    [z] = [d for d in result.differences if d.activities == ("Z",)]
    assert z.meets_rule is True
    edges = {(e.source, e.target): e for e in result.edges if "Z" in (e.source, e.target)}
    assert {pair: (e.as_is.cases, e.meets_rule) for pair, e in edges.items()} == {
        ("A", "Z"): (25, True), ("Z", "B"): (25, True),
        ("C", "Z"): (5, False), ("Z", "D"): (5, False)}
    assert edges[("C", "Z")].significance is not None
    assert round(edges[("C", "Z")].significance.points, 6) == round(500 / 300, 6)
    # 'Z' in 8 cases, below the rule (adjusted p 0.28); 'A' -> 'Z' in 7 of them would meet
    # it among the edges (adjusted p 0.015), but can be no more significant than 'Z'.
    as_is = Side("as-is", "log", "q1", {chain: 292, with_z: 7, other: 1}, {},
                 frozenset(with_z))
    result = compare(as_is, Side("to-be", "log", "q2", {chain: 300}, {}, frozenset(chain)))
    [z] = [d for d in result.differences if d.activities == ("Z",)]
    assert z.meets_rule is False
    [a_z] = [e for e in result.edges if (e.source, e.target) == ("A", "Z")]
    assert a_z.significance is not None and a_z.significance.adjusted_p_value <= 0.05
    assert (a_z.as_is.cases, a_z.meets_rule) == (7, False)
