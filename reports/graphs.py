"""Annotated graphs: the discovered DFG of a log, DOT text with escaped labels, SVG and PNG.

Graphs are computed first (`Dfg`: counts and median durations, from the canonical log with
Arrow and numpy), then written as DOT and drawn by Graphviz: in-process through pygraphviz
(its wheels bundle Graphviz), else the `dot` executable. Every label is escaped in DOT, and
the SVG is cut down to an allowlist of drawing elements before it is written or put into a
report, so a hostile activity name comes out as text.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from lxml import etree

from audit import canonical as C
from audit.ingest.sizes import cut
from audit.safety import shown_controls, shown_on_one_line
from audit.words import counted
from audit.xmltext import xml_safe

if TYPE_CHECKING:
    from audit.checkrun import CheckRun

FONTS = "Noto Sans CJK SC,Noto Sans,DejaVu Sans,sans-serif"
"""Font list for labels: a CJK-capable family first, so PNGs of Chinese or Japanese labels
draw real glyphs where the font is installed (SVGs leave the choice to the viewer)."""

MAX_LABEL = 60
"""Characters of a label drawn in a graph; longer labels are cut with an ellipsis."""


MAX_ACTIVITIES = 60
"""Activities drawn in the DFG of a run; a log with more shows its most frequent ones."""

MAX_EDGES = 150
"""Directly-follows edges (between two activities) drawn in a DFG; a log with more shows its
most frequent ones. Graphviz's layout time grows with the crossings of the edges: 60
activities of a log of random labels have 705 edges among them, which took minutes to lay
out (30 activities with 456 edges: 50 s per format), while 150 take seconds. The real logs
at hand have up to 137 (BPI Challenge 2012), so they are drawn whole."""


class GraphvizMissing(RuntimeError):
    """Neither pygraphviz nor a `dot` executable is available to draw graphs."""


# --- the directly-follows graph -----------------------------------------------------------
@dataclass(frozen=True)
class DfgEdge:
    source: str
    target: str
    count: int
    median_seconds: float


@dataclass(frozen=True)
class Dfg:
    """Directly-follows graph: per activity its events, how cases start/end, and each edge."""

    activities: dict[str, int]
    starts: dict[str, int]
    ends: dict[str, int]
    edges: list[DfgEdge]
    cases: int

    def top(self, limit: int) -> Dfg:
        """The DFG restricted to its `limit` most frequent activities (and their edges)."""
        if len(self.activities) <= limit:
            return self
        ranked = sorted(self.activities.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        keep = {a for a, _ in ranked}
        return Dfg(
            activities={a: n for a, n in self.activities.items() if a in keep},
            starts={a: n for a, n in self.starts.items() if a in keep},
            ends={a: n for a, n in self.ends.items() if a in keep},
            edges=[e for e in self.edges if e.source in keep and e.target in keep],
            cases=self.cases)

    def drawn(self, activities: int = MAX_ACTIVITIES, edges: int = MAX_EDGES) -> Dfg:
        """The DFG as drawn: its `activities` most frequent activities (`top`), and of the
        edges among them the `edges` most frequent (ties by source and target), in their
        order here. Itself where nothing is left out."""
        shown = self.top(activities)
        if len(shown.edges) <= edges:
            return shown
        kept = set(map(id, sorted(shown.edges, key=lambda e: (-e.count, e.source,
                                                              e.target))[:edges]))
        return Dfg(shown.activities, shown.starts, shown.ends,
                   [e for e in shown.edges if id(e) in kept], shown.cases)

    def left_out_of(self, shown: Dfg) -> list[str]:
        """What the drawing `shown` (`drawn`) of this DFG holds of it where it leaves
        something out, as lines of a title or parts of a caption (none where it leaves out
        nothing): "the 60 most frequent of 3,000 activities", "the 150 most frequent of 705
        edges among them"."""
        parts: list[str] = []
        among = self.top(len(shown.activities))
        if len(shown.activities) < len(self.activities):
            parts.append(f"the {len(shown.activities)} most frequent of "
                         f"{len(self.activities):,} activities")
        if len(shown.edges) < len(among.edges):
            parts.append(f"the {len(shown.edges)} most frequent of {len(among.edges):,} "
                         "edges" + (" among them" if parts else ""))
        return parts


def _median(seconds: npt.NDArray[np.float64]) -> float:
    """The median of the seconds that are not NaN (NaN where none is), as pandas' groupby
    median gives it: the middle one, or the mean of the two middle ones."""
    known = seconds[~np.isnan(seconds)]
    return float(np.median(known)) if len(known) else float("nan")


def _seconds_to_next(times: Any, at: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """Seconds from the time at each position of `at` to the next one (NaN where either is
    missing): what ``(times.shift(-1) - times).dt.total_seconds()`` gives there, from the
    times' integers for a datetime column (no timedelta column of every event)."""
    if isinstance(times, pd.arrays.DatetimeArray):
        unit = times.unit
        values = times.to_numpy(dtype=f"datetime64[{unit}]")  # UTC, without the zone
        ticks = values.view(np.int64)
        per_second = np.timedelta64(1, "s") // np.timedelta64(1, unit)
        # The differences of all neighbours, then those at `at`: fewer temporaries of the
        # size of `at` than the times at `at` and at `at + 1`.
        steps = np.diff(ticks)[at]
        # A step longer than 292 years (a log holds 1677-09-21 to 2262-04-11) wraps around
        # in int64, changing its sign: such steps are taken in floats instead.
        wrapped = (steps < 0) != (ticks[at + 1] < ticks[at])
        if wrapped.any():
            steps = steps.astype(np.float64)
            steps[wrapped] = (ticks[at + 1][wrapped].astype(np.float64)
                              - ticks[at][wrapped].astype(np.float64))
        seconds: npt.NDArray[np.float64] = steps / per_second
        missing = np.isnat(values)
        if missing.any():
            seconds[(missing[:-1] | missing[1:])[at]] = np.nan
        return seconds
    series = pd.Series(times)
    shown: npt.NDArray[np.float64] = (series.shift(-1) - series).dt.total_seconds().to_numpy()
    return shown[at]


def neighbour_pairs(codes: npt.NDArray[np.integer[Any]], width: int) -> npt.NDArray[Any]:
    """Each row's pair with the next row's, as one code (its code * width + the next one's;
    `codes` non-negative, below `width`), in the smallest integers that hold width * width
    codes: 16 bits for up to 181 labels, where numpy's stable sort is a radix sort."""
    kind = np.dtype(np.int16 if width * width <= np.iinfo(np.int16).max else (
        np.int32 if width * width <= np.iinfo(np.int32).max else np.int64))
    pairs = codes[:-1].astype(kind)
    pairs *= width
    pairs += codes[1:]
    return pairs


def discover_dfg(log: pd.DataFrame) -> Dfg:
    """The DFG of a canonical log's completions (as `check` judges them: events stating
    another lifecycle transition, such as start, are left out; audit.canonical.completions);
    events of a case in time order, as `check` orders them (audit.canonical.EVENT_ORDER:
    events at one time by the ids the log states, else as their source lists them,
    SAME_TIME_ORDER).

    Cases and labels are compared as text (as they are drawn); the events are ordered with
    Arrow's sort and the pairs counted on integer codes, so no per-event Python object is
    made (7M events: about 10 s with a pandas groupby on strings, see docs/performance.md).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if C.not_completions(log):  # (only the columns read here taken, not the whole log)
        log = C.completions(log[[c for c in (C.CASE, C.ACTIVITY, C.TIMESTAMP, C.EVENT_ID,
                                             C.LIFECYCLE, C.SOURCE_FILE, C.SOURCE_ROW)
                                  if c in log.columns]])
    if log.empty:
        return Dfg({}, {}, {}, [], 0)
    keys = pd.DataFrame({C.CASE: C.order_key(log[C.CASE]), C.TIMESTAMP: log[C.TIMESTAMP]},
                        copy=False)
    for name in (C.EVENT_ID, C.SOURCE_FILE, C.SOURCE_ROW):  # (SAME_TIME_ORDER)
        if name in log.columns:
            keys[name] = log[name]
    cases = C.arrow_array(keys[C.CASE])
    # An imported log comes sorted so: its columns are used as they are, neither sorted
    # (checked on neighbours) nor taken.
    sorting = C.event_order(keys)
    in_order = sorting is None
    order = np.arange(0) if sorting is None else sorting
    if not in_order:
        cases = cases.take(pa.array(order))
    del keys
    # Sorted, each case is one run: a case starts where its id differs from the one before
    # (a missing id equals a missing one), compared in Arrow, not hashed per event.
    before, after = cases.slice(0, len(cases) - 1), cases.slice(1)
    differs = pc.or_(pc.fill_null(pc.not_equal(before, after), False),
                     pc.xor(pc.is_null(before), pc.is_null(after)))
    starts = np.r_[True, np.asarray(differs.to_numpy(zero_copy_only=False), dtype=bool)]
    del cases, before, after, differs  # not held beside the pairs
    labels = C.filled_text(log[C.ACTIVITY], "<NA>")
    if not in_order:
        labels = labels.take(order)
    if isinstance(labels.dtype, pd.CategoricalDtype):  # filled: no missing code
        codes: npt.NDArray[np.integer[Any]] = labels.cat.codes.to_numpy()
        names: Any = labels.cat.categories
    else:
        codes, names = pd.factorize(labels)
    width = max(len(names), 1)
    ends = np.r_[starts[1:], True]
    inner = np.flatnonzero(~ends)  # an event followed by another of its case
    times = log[C.TIMESTAMP].array if in_order else log[C.TIMESTAMP].array.take(order)
    # Counted and grouped by a stable sort of the pairs (a radix sort in 16 bits), not
    # hashed: about a third less memory and time than a pandas groupby at 1M cases.
    pair = neighbour_pairs(codes, width)[inner]
    seconds = _seconds_to_next(times, inner)
    del inner
    # The pairs that occur, from the sorted codes (not a count per possible pair: with
    # thousands of activities there are millions of those).
    order = np.argsort(pair, kind="stable")
    ordered, by_pair = pair[order], seconds[order]
    del seconds, pair, order
    bounds = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, len(ordered)] \
        if len(ordered) else np.zeros(1, dtype=np.intp)
    keys = ordered[bounds[:-1]].tolist()
    del ordered
    label = [str(n) for n in names]
    edges = sorted((DfgEdge(label[k // width], label[k % width], int(end - start),
                            _median(by_pair[start:end]))
                    for k, start, end in zip(keys, bounds[:-1].tolist(), bounds[1:].tolist(),
                                             strict=True)),
                   key=lambda e: (e.source, e.target))
    del by_pair

    def counted(at: Any) -> dict[str, int]:
        numbers = np.bincount(codes[at], minlength=len(names))
        return {k: int(numbers[c]) for k, c in sorted((label[c], c) for c in range(len(names)))
                if numbers[c]}

    return Dfg(activities=counted(slice(None)), starts=counted(starts), ends=counted(ends),
               edges=edges, cases=int(starts.sum()))


def format_duration(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h 20m, 2d 4h."""
    if seconds != seconds:  # NaN
        return "n/a"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


# --- DOT ----------------------------------------------------------------------------------
def dot_string(text: str) -> str:
    """`text` as a quoted DOT string that Graphviz draws literally.

    Backslashes and quotes are escaped; `&` is written as an entity because Graphviz expands
    entities in labels; line breaks become spaces; characters XML cannot hold (a control
    character in an activity, a person or an evidence value) are drawn as U+FFFD, and
    invisible direction controls as `[U+202E]` (`shown_controls`); overlong labels are cut.
    """
    text = " ".join(text.split()) if any(c in text for c in "\r\n\t\f\v") else text
    text = shown_controls(xml_safe(text))
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1] + "…"
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")
    return f'"{text}"'


def _label(*lines: str) -> str:
    """A multi-line label: each line escaped, joined with DOT's centred line break."""
    return '"' + "\\n".join(dot_string(line)[1:-1] for line in lines) + '"'


def _shade(share: float) -> str:
    """Fill colour from light to dark blue by the share of the busiest activity."""
    light, dark = (0xE8, 0xF0, 0xFB), (0x6A, 0x9B, 0xD8)
    rgb = [round(a + (b - a) * share) for a, b in zip(light, dark, strict=True)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def dfg_dot(dfg: Dfg, *, title: str = "Directly-follows graph",
            dotted: frozenset[tuple[str, str]] = frozenset()) -> str:
    """DOT text of a DFG: nodes with event counts, edges with frequency and median duration;
    the title's lines (split at line breaks) drawn one under the other. The edges whose
    (source, target) is in `dotted` are drawn dotted (discover's noise filter: kept below
    the threshold to connect an activity)."""
    ids = {activity: f"a{i}" for i, activity in enumerate(dfg.activities)}
    busiest = max(dfg.activities.values(), default=1)
    heaviest = max((e.count for e in dfg.edges), default=1)
    lines = [
        "digraph dfg {",
        f"  graph [label={_label(*title.split(chr(10)))}, labelloc=t, fontsize=16, "
        f'rankdir=TB, fontname="{FONTS}", bgcolor="white", nodesep=0.35, ranksep=0.45];',
        f'  node [shape=box, style="rounded,filled", fontname="{FONTS}", fontsize=12, '
        'color="#2f5597", penwidth=1.2];',
        f'  edge [fontname="{FONTS}", fontsize=10, color="#4d4d4d", arrowsize=0.7];',
        '  start [label="start", shape=circle, width=0.35, fixedsize=true, fontsize=8, '
        'style=filled, fillcolor="#c6efce", color="#2e7d32"];',
        '  end [label="end", shape=doublecircle, width=0.3, fixedsize=true, fontsize=8, '
        'style=filled, fillcolor="#f4cccc", color="#b71c1c"];',
    ]
    for activity, count in dfg.activities.items():
        events = f"{count:,} event" + ("" if count == 1 else "s")
        lines.append(f"  {ids[activity]} [label={_label(activity, events)}, "
                     f'fillcolor="{_shade(count / busiest)}"];')
    for activity, count in dfg.starts.items():
        lines.append(f'  start -> {ids[activity]} [label="{count:,}", style=dashed, '
                     'color="#2e7d32"];')
    for edge in dfg.edges:
        width = 0.8 + 3.2 * edge.count / heaviest
        label = f"{edge.count:,} · {format_duration(edge.median_seconds)}"
        style = (', style=dotted, color="#8c8c8c"'
                 if (edge.source, edge.target) in dotted else "")
        lines.append(f"  {ids[edge.source]} -> {ids[edge.target]} [label={_label(label)}, "
                     f"penwidth={width:.2f}{style}];")
    for activity, count in dfg.ends.items():
        lines.append(f'  {ids[activity]} -> end [label="{count:,}", style=dashed, '
                     'color="#b71c1c"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- drawing ------------------------------------------------------------------------------
@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """Hide Fontconfig's warnings about newer config files (the bundled library is older
    than the system's fonts.conf); anything else written to fd 2 meanwhile is passed on."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (e.g. embedded): draw without filtering
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").split("\n")
                    if line.strip() and not line.startswith("Fontconfig warning")]
            if kept:
                sys.stderr.write(graphviz_said(kept))


GRAPHVIZ_LINES = 5
"""Lines of Graphviz's own messages passed on while drawing one graph (`graphviz_said`)."""


def graphviz_said(lines: list[str]) -> str:
    """What Graphviz wrote to stderr while drawing, as console lines of ours: each prefixed
    `warning: graphviz: `, its control characters and line breaks shown (`shown_on_one_line`:
    a message quoting a node's label, the input's text, could begin a line of its own), cut
    at 300 characters, the same line once, at most `GRAPHVIZ_LINES` of them and how many
    more. Before, its lines went to the console as written (`(null): graph is too large for
    cairo-renderer bitmaps. Scaling by 0.84 to fit` on a compare of 300 activities)."""
    unique = list(dict.fromkeys(line.strip() for line in lines))
    shown = [f"warning: graphviz: {shown_on_one_line(cut(line, 300))}"
             for line in unique[:GRAPHVIZ_LINES]]
    if len(unique) > GRAPHVIZ_LINES:
        shown.append(f"warning: graphviz: {len(unique) - GRAPHVIZ_LINES:,} more message(s) "
                     "not shown")
    return "".join(line + "\n" for line in shown)


def renderer() -> str:
    """Which Graphviz draws here: 'pygraphviz', 'dot' or 'none'."""
    try:
        import pygraphviz  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "dot" if shutil.which("dot") else "none"
    return "pygraphviz"


def render_dot(dot: str, fmt: str) -> bytes:
    """Lay out and draw DOT text as `fmt` ('svg' or 'png'); raise GraphvizMissing if nothing
    can draw. SVG output is sanitised (see `sanitise_svg`)."""
    return render_dots(dot, (fmt,))[fmt]


def render_dots(dot: str, formats: Sequence[str]) -> dict[str, bytes]:
    """DOT text laid out once and drawn in each of `formats` ('svg', 'png') from that one
    layout, the bytes `render_dot` draws of each. Before, each format was laid out anew, and
    the layout is much of a dense graph's time: of the densest SOP overlay drawn of pm4py's
    receipt.bpmn (150 arrows), 0.36 s of CPU the layout, 0.52 s the PNG, 0.01 s the SVG."""
    wanted = tuple(dict.fromkeys(formats))
    for fmt in wanted:
        if fmt not in ("svg", "png"):
            raise ValueError(f"unsupported graph format {fmt!r}")
    return dict(zip(wanted, _render(renderer(), dot, wanted), strict=True))


@functools.lru_cache(maxsize=16)
def _render(how: str, dot: str, formats: tuple[str, ...]) -> tuple[bytes, ...]:
    """Drawn by `how` in each of `formats`, from one layout; the same DOT text is drawn once
    in the same formats (graphs writer and HTML report: see `run_drawings`)."""
    if how == "pygraphviz":
        import pygraphviz
        from pygraphviz import graphviz as gv

        graph = pygraphviz.AGraph(string=dot)
        drawn: list[bytes] = []
        with _native_stderr_filtered():
            # As AGraph.draw(format=fmt, prog="dot") does, with the one layout kept for
            # every format: a Graphviz context, the layout, a rendering per format.
            context = gv.gvContextWithBuiltins()
            try:
                if gv.gvLayout(context, graph.handle, b"dot") != 0:
                    raise RuntimeError("Graphviz could not lay out the graph")
                try:
                    for fmt in formats:
                        # (error, data), or a bare -1 where Graphviz has no renderer
                        # of the format (its C API's error code, not a pair)
                        out = gv.gvRenderData(context, graph.handle, fmt.encode())
                        if isinstance(out, int) or out[0]:
                            raise RuntimeError(f"Graphviz could not draw the graph as {fmt}")
                        drawn.append(bytes(out[1]))
                finally:
                    gv.gvFreeLayout(context, graph.handle)
            finally:
                gv.gvFreeContext(context)
    elif how == "dot":
        # One `dot` run, one layout: `-Tfmt -o file` for each format, into a folder of ours
        # (the files' names are ours, never the input's; no shell).
        with tempfile.TemporaryDirectory(prefix="refund-audit-dot-") as folder:
            files = [Path(folder) / f"graph.{fmt}" for fmt in formats]
            command = [shutil.which("dot") or "dot"]
            for fmt, file in zip(formats, files, strict=True):
                command += [f"-T{fmt}", "-o", str(file)]
            done = subprocess.run(command, input=dot.encode("utf-8"),  # noqa: S603
                                  capture_output=True, check=False, timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"dot failed: {done.stderr.decode('utf-8', 'replace')[:500]}")
            drawn = [file.read_bytes() for file in files]
    else:
        raise GraphvizMissing("cannot draw graphs: install pygraphviz (pip) or Graphviz (dot)")
    return tuple(sanitise_svg(data).encode("utf-8") if fmt == "svg" else data
                 for fmt, data in zip(formats, drawn, strict=True))


def run_drawings(run: CheckRun, graph: DrawnGraph, formats: Sequence[str]) -> dict[str, bytes]:
    """One of the run's graphs drawn in `formats`, kept in the run's memo. Where the run
    writes the graphs report (`run.memo["formats"]`), the first to draw a graph (the HTML
    report or the graphs writer) draws its SVG and PNG too, from one layout, and the other
    takes them from the memo: before, the HTML's SVG and the writer's PNG were two layouts
    (and the SVG a third where the drawing cache had let it go)."""
    kept: dict[tuple[str, str, str], bytes] = run.memo.setdefault("drawings", {})
    how = renderer()  # in the key: a drawing by one renderer is not another's
    wanted = [*formats, *(("svg", "png") if "graphs" in run.memo.get("formats", ()) else ())]
    missing = [fmt for fmt in dict.fromkeys(wanted) if (how, graph.dot, fmt) not in kept]
    if any(fmt in missing for fmt in formats):
        kept.update(((how, graph.dot, fmt), data)
                    for fmt, data in render_dots(graph.dot, missing).items())
    return {fmt: kept[(how, graph.dot, fmt)] for fmt in formats}


# --- SVG sanitising -----------------------------------------------------------------------
_SVG = "http://www.w3.org/2000/svg"
_ALLOWED_ELEMENTS = frozenset({"svg", "g", "title", "desc", "text", "tspan", "path", "polygon",
                               "polyline", "ellipse", "circle", "rect", "line"})
_ALLOWED_ATTRIBUTES = frozenset({
    "width", "height", "viewBox", "class", "transform", "fill", "stroke",
    "stroke-width", "stroke-dasharray", "stroke-opacity", "fill-opacity", "points", "d", "cx",
    "cy", "rx", "ry", "r", "x", "y", "x1", "y1", "x2", "y2", "text-anchor", "font-family",
    "font-size", "font-weight", "font-style", "text-decoration", "opacity",
    "preserveAspectRatio", "baseline-shift",
    "{http://www.w3.org/XML/1998/namespace}space",
})


def sanitise_svg(data: bytes | str) -> str:
    """The `<svg>` element of Graphviz output, reduced to drawing elements and attributes.

    Comments, processing instructions, links, scripts, styles, event handlers and anything
    not on the allowlist are dropped, so the markup can be put inline into an HTML page.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True,
                             remove_pis=True, load_dtd=False, huge_tree=True)
    root = etree.fromstring(raw, parser)
    if etree.QName(root).localname != "svg":
        raise ValueError("not an SVG document")
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            element.getparent().remove(element)
            continue
        qname = etree.QName(element)
        if element is not root and (qname.namespace != _SVG
                                    or qname.localname not in _ALLOWED_ELEMENTS):
            parent = element.getparent()
            if parent is None:
                continue
            if qname.localname == "a" and qname.namespace == _SVG:
                # Graphviz wraps linked nodes in <a>: keep the drawing, drop the link.
                index = parent.index(element)
                for offset, child in enumerate(list(element)):
                    parent.insert(index + offset, child)
            parent.remove(element)
            continue
        for name in list(element.attrib):
            if name not in _ALLOWED_ATTRIBUTES:
                del element.attrib[name]
    etree.cleanup_namespaces(root)
    return etree.tostring(root, encoding="unicode")


# --- the run's graphs ---------------------------------------------------------------------
@dataclass(frozen=True)
class LegendKey:
    """One key of a graph's legend as the report shows it beside the graph: a swatch of
    the fill, with a border of the line's colour and width (points), and its text."""

    text: str
    fill: str
    line: str
    width: float


@dataclass(frozen=True)
class DrawnGraph:
    name: str
    """File stem, e.g. 'dfg'."""
    title: str
    caption: str
    dot: str
    legend_title: str = ""
    """What the legend's keys grade (the graph draws the same legend)."""
    legend: tuple[LegendKey, ...] = ()


def run_graphs(run: CheckRun) -> list[DrawnGraph]:
    """The graphs of a run, as DOT: the discovered DFG, then the SOP overlay per channel.
    Computed once per run (the graphs writer and the HTML report both draw them)."""
    cached: list[DrawnGraph] | None = run.memo.get("graphs")
    if cached is None:
        cached = run.memo["graphs"] = _run_graphs(run)
    return list(cached)


def _run_graphs(run: CheckRun) -> list[DrawnGraph]:
    # The log as the rules judged it, at the audit's clock (not the events after it).
    dfg = discover_dfg(run.log_at_clock())
    shown = dfg.drawn()
    caption = (f"Discovered from {counted(dfg.cases, 'case', spec=',')}: boxes are activities "
               "with their event "
               "counts; arrows are direct successions with their frequency and median time "
               "between the two events.")
    if shown is not dfg:
        caption += f" Only {', '.join(dfg.left_out_of(shown))} are drawn."
    from reports.overlay import overlay_graphs

    return [DrawnGraph("dfg", "Directly-follows graph (as-is)", caption,
                       dfg_dot(shown, title="Directly-follows graph (as-is)")),
            *overlay_graphs(run)]


def write_graph(graph: DrawnGraph, out: Path,
                formats: Sequence[str] = ("svg", "png")) -> list[Path]:
    """Draw one graph into `out` as <name>.svg and <name>.png."""
    written = []
    for fmt, data in render_dots(graph.dot, formats).items():
        path = out / f"{graph.name}.{fmt}"
        path.write_bytes(data)
        written.append(path)
    return written


def write_graphs(run: CheckRun, out: Path) -> Path:
    """Writer: dfg.svg/.png and sop-<channel>.svg/.png; returns the first SVG. The names
    of every file written are kept in the run's memo (`graph_files`), for the console to
    list them all."""
    written: list[Path] = []
    for graph in run_graphs(run):
        for fmt, data in run_drawings(run, graph, ("svg", "png")).items():
            path = out / f"{graph.name}.{fmt}"
            path.write_bytes(data)
            written.append(path)
    run.memo["graph_files"] = [path.name for path in written]
    return written[0]


def graph_files(run: CheckRun) -> list[str]:
    """The names of the graph files `write_graphs` wrote for `run` (none where it did not
    run), in the order written: dfg.svg, dfg.png, sop-<channel>.svg, .png, ..."""
    return list(run.memo.get("graph_files", []))


def written_lines(paths: list[Path], graphs: list[str], folder: Path | None) -> list[str]:
    """The console's list of the files written: one line per report, and the graphs
    (`graphs`, names of files in `folder`, or in the folder the lines are listed under
    where None) on one line."""
    from audit.digest import CHECKSUMS_FILE

    drawn = set(graphs)
    lines = [str(path) + (f" (the sha256 of each file written: `sha256sum -c {CHECKSUMS_FILE}`"
                          " in the folder checks them)" if path.name == CHECKSUMS_FILE else "")
             for path in paths if path.name not in drawn]
    if graphs:
        lines.append(f"graphs{'' if folder is None else f' in {folder}'}: "
                     + ", ".join(graphs))
    return lines
