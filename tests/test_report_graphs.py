"""Graphs: the DFG's numbers, escaping and sanitising, and CJK labels drawn with real glyphs."""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import struct
import subprocess
import sys
import textwrap
import zlib
from collections import Counter, defaultdict
from importlib.resources import as_file, files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from audit import canonical as C
from audit.ingest import import_sources
from reports.graphs import (
    FONTS,
    _seconds_to_next,
    dfg_dot,
    discover_dfg,
    dot_string,
    render_dot,
    renderer,
    sanitise_svg,
)

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def demo_log() -> pd.DataFrame:
    resource = files("sample_logs").joinpath("refund-sample", "canonical.csv")
    with as_file(resource) as path:
        return import_sources([(Path(path), None)]).log


def test_pygraphviz_draws_in_process() -> None:
    # DESIGN.md's claim, checked: the pygraphviz wheel lays out and draws without `dot`.
    assert renderer() == "pygraphviz"
    png = render_dot('digraph { a -> b [label="1"]; }', "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg = render_dot('digraph { a -> b [label="1"]; }', "svg").decode("utf-8")
    assert svg.startswith("<svg") and "</svg>" in svg


def test_dfg_equals_a_direct_count_on_the_demo_log(demo_log: pd.DataFrame) -> None:
    dfg = discover_dfg(demo_log)
    traces: dict[str, list[tuple[pd.Timestamp, int, str]]] = defaultdict(list)
    for position, (case, activity, stamp) in enumerate(zip(
            demo_log[C.CASE], demo_log[C.ACTIVITY], demo_log[C.TIMESTAMP], strict=True)):
        traces[str(case)].append((stamp, position, str(activity)))
    pairs: Counter[tuple[str, str]] = Counter()
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    starts: Counter[str] = Counter()
    ends: Counter[str] = Counter()
    for events in traces.values():
        events.sort()
        starts[events[0][2]] += 1
        ends[events[-1][2]] += 1
        for (t1, _, a), (t2, _, b) in itertools.pairwise(events):
            pairs[(a, b)] += 1
            gaps[(a, b)].append((t2 - t1).total_seconds())
    assert dfg.cases == len(traces) == demo_log[C.CASE].nunique()
    assert dfg.activities == dict(Counter(demo_log[C.ACTIVITY].astype(str)))
    assert dfg.starts == dict(starts) and dfg.ends == dict(ends)
    assert {(e.source, e.target): e.count for e in dfg.edges} == dict(pairs)
    assert sum(e.count for e in dfg.edges) == len(demo_log) - len(traces)
    for edge in dfg.edges:
        assert edge.median_seconds == pytest.approx(
            statistics.median(gaps[(edge.source, edge.target)]))


def test_dfg_of_a_shuffled_log_equals_that_of_the_sorted_one(demo_log: pd.DataFrame) -> None:
    # The imported log is in case and time order (used as it is); shuffled, it is sorted
    # first (by case, time and event id, as check orders them): the same DFG either way.
    assert C.in_order(demo_log, [C.CASE, C.TIMESTAMP])
    shuffled = demo_log.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert not C.in_order(shuffled, [C.CASE, C.TIMESTAMP])
    assert discover_dfg(shuffled) == discover_dfg(shuffled.take(
        C.stable_order(shuffled, [C.CASE, C.TIMESTAMP])).reset_index(drop=True))
    assert discover_dfg(shuffled).edges == discover_dfg(demo_log).edges
    assert discover_dfg(shuffled).starts == discover_dfg(demo_log).starts


HOSTILE = ['"quoted" \\ back\\slash', "a&amp;b & c", "line\nbreak", "<script>alert(1)</script>",
           "x] ; evil [label=y", "}{ digraph", "\\N \\G \\l"]


def test_labels_come_out_literally(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        C.CASE: ["c1"] * len(HOSTILE),
        C.ACTIVITY: HOSTILE,
        C.TIMESTAMP: pd.date_range("2026-01-01", periods=len(HOSTILE), freq="h", tz="UTC"),
    })
    svg = render_dot(dfg_dot(discover_dfg(frame)), "svg")
    root = etree.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in HOSTILE:
        assert " ".join(label.split()) in texts, label
    assert not list(root.iter(f"{SVG}script"))


def test_sanitise_svg_keeps_drawing_and_drops_active_content() -> None:
    hostile = textwrap.dedent("""\
        <?xml version="1.0"?>
        <!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>
        <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
             width="10pt" height="10pt" onload="alert(1)">
          <!-- a comment -->
          <script>alert(2)</script>
          <style>* { background: url(http://x.invalid/) }</style>
          <g class="node" id="n1"><title>t</title>
            <a xlink:href="javascript:alert(3)" href="http://x.invalid/">
              <text x="1" y="2" onclick="alert(4)">&lt;b&gt;label</text>
            </a>
            <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>
            <image href="http://x.invalid/a.png"/>
            <polygon points="0,0 1,1" fill="red" style="fill:url(http://x.invalid/)"/>
          </g>
        </svg>""")
    clean = sanitise_svg(hostile)
    root = etree.fromstring(clean)
    tags = {etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)}
    assert tags == {"svg", "g", "title", "text", "polygon"}
    attributes = {name for e in root.iter() for name in e.attrib}
    assert not [a for a in attributes if a[:2] == "on" or "href" in a or a == "style"]
    assert "<b>label" in "".join(root.itertext())
    for bad in ("alert", "http://x.invalid", "file:", "<!--", "DOCTYPE", "id="):
        assert bad not in clean, bad


# --- CJK -----------------------------------------------------------------------------------
CHINESE_LOG = [("退款申请", "审核通过", "执行退款", "关闭工单"),
               ("退款申请", "拒绝退款", "关闭工单"),
               ("退款申请", "审核通过", "执行退款", "关闭工单")]

# Fontconfig as on this machine, minus every font that covers Chinese, Japanese or Korean:
# where a glyph is missing there, Pango draws a hex box. Same config otherwise, so text whose
# glyphs do not come from a CJK font draws identically in both (checked below).
NO_CJK_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont><rejectfont>
    <pattern><patelt name="lang"><string>zh-cn</string></patelt></pattern>
    <pattern><patelt name="lang"><string>zh-tw</string></patelt></pattern>
    <pattern><patelt name="lang"><string>ja</string></patelt></pattern>
    <pattern><patelt name="lang"><string>ko</string></patelt></pattern>
  </rejectfont></selectfont>
</fontconfig>
"""

RENDER_EACH = """
import sys
from pathlib import Path
from reports.graphs import dot_string, render_dot
out = Path(sys.argv[1])
for index, text in enumerate(sys.argv[2:]):
    dot = ('digraph g { n [shape=box, fontname="DejaVu Sans", label=' + dot_string(text)
           + '] }')
    (out / f"{index}.png").write_bytes(render_dot(dot, "png"))
"""


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and unfiltered scanlines of a non-interlaced 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,), kind = struct.unpack(">I", data[offset:offset + 4]), data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc
                                      else corner)) & 0xFF
        rows.append(line)
        previous = line
    return width, height, b"".join(rows)


def _render_each(texts: list[str], out: Path, env: dict[str, str] | None = None) -> list[bytes]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", RENDER_EACH, str(out), *texts], check=True,
                   env=env, cwd=REPO, timeout=120)
    return [(out / f"{i}.png").read_bytes() for i in range(len(texts))]


def test_a_cjk_font_is_installed() -> None:
    fc_list = shutil.which("fc-list")
    assert fc_list, "fontconfig missing: run `make system-deps`"
    fonts = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True,
                           check=True).stdout
    assert fonts.strip(), "no font covers Chinese: run `make system-deps` (fonts-noto-cjk)"


def test_chinese_labels_render_without_missing_glyphs(tmp_path: Path) -> None:
    rows = [(f"c{i}", activity, pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(hours=j))
            for i, trace in enumerate(CHINESE_LOG) for j, activity in enumerate(trace)]
    log = pd.DataFrame(rows, columns=[C.CASE, C.ACTIVITY, C.TIMESTAMP])
    dot = dfg_dot(discover_dfg(log), title="退款流程 (直接跟随图)")
    assert FONTS.split(",")[0] in dot
    png = render_dot(dot, "png")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dfg-chinese.png").write_bytes(png)
    svg = render_dot(dot, "svg").decode("utf-8")
    assert all(activity in svg for trace in CHINESE_LOG for activity in trace)

    # Each character alone, drawn here and where no CJK font exists (a hex box there).
    characters = sorted({c for trace in CHINESE_LOG for a in trace for c in a} | set("退款流程"))
    controls = ["A", "\u0378", "\uffff"]  # a Latin letter, an unassigned and a non-character
    texts = characters + controls
    env = {k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"}
    here = _render_each(texts, tmp_path / "here", env)
    config = tmp_path / "fonts.conf"
    config.write_text(NO_CJK_FONTS, encoding="utf-8")
    without = _render_each(texts, tmp_path / "without", {**env, "FONTCONFIG_FILE": str(config)})
    pixels_here = [png_pixels(p) for p in here]
    pixels_without = [png_pixels(p) for p in without]
    # The comparison can see a missing glyph: glyphs no CJK font draws are pixel-identical...
    for i, text in enumerate(controls, start=len(characters)):
        assert pixels_here[i] == pixels_without[i], f"control {text!r} differs"
    # ...so a CJK character drawn differently from its hex box was drawn with a real glyph.
    tofu = [c for i, c in enumerate(characters) if pixels_here[i] == pixels_without[i]]
    assert not tofu, f"drawn as missing-glyph boxes: {tofu}"
    # And no two distinct characters share one picture (as boxes of one shape would).
    assert len({pixels_here[i] for i in range(len(characters))}) == len(characters)


def test_dot_string_escapes() -> None:
    assert dot_string('a"b') == '"a\\"b"'
    assert dot_string("a\\nb") == '"a\\\\nb"'
    assert dot_string("x & y") == '"x &amp; y"'
    assert dot_string("two\nlines") == '"two lines"'
    assert dot_string("x" * 100).endswith('…"') and len(dot_string("x" * 100)) == 62
    # Characters XML cannot hold, drawn as U+FFFD (Graphviz copied them into its SVG,
    # which then did not parse; pygraphviz refused a NUL).
    assert dot_string("a\x01b\x00c\ufffe\ud800") == '"a\ufffdb\ufffdc\ufffd\ufffd"'


def test_control_characters_in_labels_are_drawn_replaced(tmp_path: Path) -> None:
    labels = ["Collect\x01evidence", "Pay\x00out", "Approve\x1f\uffff"]
    frame = pd.DataFrame({
        C.CASE: ["c1"] * len(labels), C.ACTIVITY: labels,
        C.TIMESTAMP: pd.date_range("2026-01-01", periods=len(labels), freq="h", tz="UTC"),
    })
    root = etree.fromstring(render_dot(dfg_dot(discover_dfg(frame)), "svg"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in ("Collect\ufffdevidence", "Pay\ufffdout", "Approve\ufffd\ufffd"):
        assert label in texts, texts


def test_dfg_top_keeps_the_most_frequent_activities(demo_log: pd.DataFrame) -> None:
    dfg = discover_dfg(demo_log)
    top = dfg.top(3)
    assert len(top.activities) == 3
    assert min(top.activities.values()) >= sorted(dfg.activities.values())[-3]
    assert all(e.source in top.activities and e.target in top.activities for e in top.edges)
    assert dfg.top(len(dfg.activities)) is dfg


def test_a_dense_dfg_is_drawn_with_its_most_frequent_edges(demo_log: pd.DataFrame) -> None:
    """The 60 most frequent of 300 random labels had 705 edges among them: Graphviz took
    minutes to lay them out, in `check` as in `discover`. At most MAX_EDGES are drawn, the
    most frequent, and the caption says so; the demo log's DFG is drawn whole."""
    from reports.graphs import MAX_EDGES, Dfg, DfgEdge

    names = [f"A{i:02d}" for i in range(40)]
    edges = [DfgEdge(a, b, 1 + (i * 7919) % 97, 60.0)
             for i, (a, b) in enumerate(itertools.product(names, names))]
    dense = Dfg({a: 10 for a in names}, {names[0]: 5}, {names[-1]: 5}, edges, 5)
    shown = dense.drawn()
    assert len(shown.edges) == MAX_EDGES < len(edges)
    assert min(e.count for e in shown.edges) >= max(
        e.count for e in edges if e not in shown.edges)
    assert shown.activities == dense.activities and shown.starts == dense.starts
    assert dense.left_out_of(shown) == [f"the {MAX_EDGES} most frequent of 1,600 edges"]
    fewer = dense.drawn(activities=20, edges=50)
    assert len(fewer.activities) == 20 and len(fewer.edges) == 50
    assert dense.left_out_of(fewer) == ["the 20 most frequent of 40 activities",
                                        "the 50 most frequent of 400 edges among them"]
    assert shown.drawn() is shown and shown.left_out_of(shown) == []
    dfg = discover_dfg(demo_log)
    assert dfg.drawn() is dfg


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", None])
def test_seconds_to_the_next_event_equal_pandas_timedeltas(unit: str, zone: str | None) -> None:
    """From the times' integers, the seconds pandas' timedeltas give: fractions, negative
    steps, a daylight-saving change and missing times (NaN on both sides of one)."""
    times = pd.Series(pd.to_datetime(
        ["2026-01-01T00:00:00.123456789", None, "2026-01-01T00:00:01",
         "2026-01-03T05:00:00", "2025-12-31T00:00:00.5", "2026-03-29T01:30:00",
         "2026-03-29T03:30:00", "2026-03-29T03:30:00"], format="ISO8601"))
    if zone is not None:
        times = times.dt.tz_localize(zone)
    values = times.dt.as_unit(unit).array
    at = np.arange(len(values) - 1)
    expected = (pd.Series(values).shift(-1) - pd.Series(values)).dt.total_seconds()
    got = _seconds_to_next(values, at)
    assert np.array_equal(got, expected.to_numpy()[at], equal_nan=True)
    assert np.isnan(got[:2]).all() and not np.isnan(got[2:]).any()
    # Not a datetime column (as a log may hold before it is normalised): pandas' way.
    deltas = pd.Series(pd.to_timedelta([0, 1.5, 4], unit="s")).array
    assert _seconds_to_next(deltas, np.arange(2)).tolist() == [1.5, 2.5]


@pytest.mark.parametrize("labels", [4, 200])  # pairs in 16 bits; past them, in 32
@pytest.mark.parametrize("coded", [True, False])
def test_dfg_with_missing_times_and_labels_equals_a_direct_count(labels: int,
                                                                 coded: bool) -> None:
    """Random cases with missing times and activities: per pair the count of all its
    steps, and the median of the gaps that are known (NaN where none is), as pandas'
    groupby median gives them; the activity column categorical or text."""
    rng = np.random.default_rng(labels)
    names = [f"A{k:03d}" for k in range(labels)]
    cases, activities, stamps = [], [], []
    for case in range(400):
        for _ in range(int(rng.integers(1, 8))):
            cases.append(f"c{case:03d}")
            activities.append(None if rng.random() < 0.05 else names[int(rng.integers(
                min(labels, 3) if case % 2 else labels))])
            stamps.append(None if rng.random() < 0.1 else pd.Timestamp(
                "2026-01-01", tz="UTC") + pd.Timedelta(seconds=int(rng.integers(0, 10**6))))
    log = pd.DataFrame({C.CASE: pd.Series(cases, dtype="string"),
                        C.ACTIVITY: pd.Series(activities, dtype="string"),
                        C.TIMESTAMP: pd.Series(pd.to_datetime(stamps, utc=True))})
    if coded:
        log[C.ACTIVITY] = log[C.ACTIVITY].astype("category")
    dfg = discover_dfg(log)
    ordered = log.take(C.stable_order(log, [C.CASE, C.TIMESTAMP]))
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _, events in ordered.groupby(C.CASE, sort=False):
        labelled = events[C.ACTIVITY].astype(object).where(
            events[C.ACTIVITY].notna(), "<NA>").tolist()
        times = events[C.TIMESTAMP].tolist()
        for k in range(len(labelled) - 1):
            gap = (times[k + 1] - times[k]).total_seconds() if not (
                pd.isna(times[k]) or pd.isna(times[k + 1])) else float("nan")
            gaps[(labelled[k], labelled[k + 1])].append(gap)
    assert {(e.source, e.target): e.count for e in dfg.edges} == {
        pair: len(found) for pair, found in gaps.items()}
    assert any(np.isnan(found).any() for found in gaps.values())
    for edge in dfg.edges:
        known = [g for g in gaps[(edge.source, edge.target)] if g == g]
        if known:
            assert edge.median_seconds == statistics.median(known)
        else:
            assert np.isnan(edge.median_seconds)


def test_dfg_of_thousands_of_labels_holds_only_the_pairs_that_occur() -> None:
    """Pairs are grouped from the sorted pairs that occur, not counted per possible pair:
    20,000 categories (most unused; 400M possible pairs) and 3,000 labels in text."""
    rng = np.random.default_rng(11)
    used = [f"L{k:05d}" for k in range(3000)]
    cases = [f"c{k // 4:04d}" for k in range(6000)]
    labels = [used[int(k)] for k in rng.integers(0, len(used), 6000)]
    stamps = pd.Series(pd.to_datetime(rng.integers(0, 10**6, 6000), unit="s", utc=True))
    text = pd.DataFrame({C.CASE: pd.Series(cases, dtype="string"),
                         C.ACTIVITY: pd.Series(labels, dtype="string"), C.TIMESTAMP: stamps})
    coded = text.assign(**{C.ACTIVITY: pd.Categorical(
        labels, categories=[f"L{k:05d}" for k in range(20000)])})
    by_text, by_codes = discover_dfg(text), discover_dfg(coded)
    assert by_text == by_codes and by_text.cases == 1500
    ordered = text.take(C.stable_order(text, [C.CASE, C.TIMESTAMP]))
    pairs: Counter[tuple[str, str]] = Counter()
    for _, events in ordered.groupby(C.CASE, sort=False):
        pairs.update(itertools.pairwise(events[C.ACTIVITY].tolist()))
    assert {(e.source, e.target): e.count for e in by_text.edges} == dict(pairs)


def test_the_dfg_counts_completions_only() -> None:
    """`check` judges an activity by its completion; the DFG (check's dfg.svg, discover)
    counted a start and a complete as two events and drew A -> A."""
    frame = pd.DataFrame({
        C.EVENT_ID: ["e1", "e2", "e3", "e4", "e5"],
        C.CASE: ["c1"] * 5,
        C.ACTIVITY: ["A", "A", "B", "B", "C"],
        C.TIMESTAMP: pd.to_datetime(["2026-09-01T10:00Z", "2026-09-01T10:10Z",
                                     "2026-09-01T11:00Z", "2026-09-01T11:10Z",
                                     "2026-09-01T12:00Z"], utc=True),
        C.LIFECYCLE: pd.Categorical(["start", "complete", "start", "complete", None]),
    })
    dfg = discover_dfg(frame)
    assert dfg.activities == {"A": 1, "B": 1, "C": 1}
    assert [(e.source, e.target, e.count) for e in dfg.edges] == [("A", "B", 1),
                                                                  ("B", "C", 1)]
    assert dfg.edges[0].median_seconds == 3600.0


def test_events_at_one_time_follow_each_other_in_event_id_order() -> None:
    """As `check` orders them (case, time, event id; audit.canonical.EVENT_ORDER), not in
    the file's order: B (z1) written before A (a1) at the same time is A -> B."""
    frame = pd.DataFrame({
        C.EVENT_ID: ["z1", "a1", "c1"],
        C.CASE: ["c1"] * 3,
        C.ACTIVITY: ["B", "A", "C"],
        C.TIMESTAMP: pd.to_datetime(["2026-09-01T10:00Z", "2026-09-01T10:00Z",
                                     "2026-09-01T12:00Z"], utc=True),
    })
    dfg = discover_dfg(frame)
    assert [(e.source, e.target) for e in dfg.edges] == [("A", "B"), ("B", "C")]
    assert dfg.starts == {"A": 1} and dfg.ends == {"C": 1}
    # A coded event id column (categories sorted, as the import codes them) orders the same.
    coded = frame.assign(**{C.EVENT_ID: frame[C.EVENT_ID].astype("category")})
    assert discover_dfg(coded) == dfg
