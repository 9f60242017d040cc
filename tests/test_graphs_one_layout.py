"""Each graph is laid out by Graphviz once and drawn as SVG and PNG from that one layout:
before, `reports.graphs._render` cached by (DOT, format), so every graph written as
<name>.svg and <name>.png (the DFG, each channel's SOP overlay, compare's diff graph,
discover's model) was laid out twice, and a run writing the HTML report and the graphs laid
out each of its graphs twice (the HTML's SVG, the writer's PNG). The files are the bytes
Graphviz draws of each format alone."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest

from audit.checkrun import CheckRun, run_check_log
from audit.policy import default_policy_path
from audit.sources.pipeline import import_and_correlate
from reports import graphs
from reports.graphs import DrawnGraph, _render, render_dot, render_dots, sanitise_svg

pygraphviz = pytest.importorskip("pygraphviz")

DOT = """digraph {
  a [label="Request refund"]; b [label="Approve"]; c [label="Pay"];
  a -> b [label="12"]; b -> c [label="11"]; a -> c [label="1", style=dotted];
}
"""


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Graphviz's layouts (gvLayout calls, in process) while the test runs; no drawing
    kept from before it."""
    from pygraphviz import graphviz as gv

    counted: list[Any] = []
    real = gv.gvLayout

    def counting(context: Any, graph: Any, prog: Any) -> Any:
        counted.append(prog)
        return real(context, graph, prog)

    monkeypatch.setattr(gv, "gvLayout", counting)
    _render.cache_clear()
    yield counted
    _render.cache_clear()


@pytest.fixture(scope="module")
def run() -> CheckRun:
    folder = files("sample_logs").joinpath("refund-sample", "exports")
    with ExitStack() as stack:
        exports = sorted((Path(stack.enter_context(as_file(item))) for item in folder.iterdir()
                          if item.is_file() and not item.name.startswith(".")),
                         key=lambda p: p.name)
        return run_check_log(import_and_correlate([(p, None) for p in exports]), exports,
                             default_policy_path())


def test_a_graph_written_as_svg_and_png_is_laid_out_once(layouts: list[Any],
                                                         tmp_path: Path) -> None:
    written = graphs.write_graph(DrawnGraph("diff", "t", "", DOT), tmp_path)
    assert [p.name for p in written] == ["diff.svg", "diff.png"]
    assert layouts == [b"dot"]  # (before: two, one per format)
    # The bytes pygraphviz draws of each format alone, the SVG sanitised as ever.
    alone = {fmt: bytes(pygraphviz.AGraph(string=DOT).draw(format=fmt, prog="dot"))
             for fmt in ("svg", "png")}
    assert (tmp_path / "diff.png").read_bytes() == alone["png"]
    assert alone["png"].startswith(b"\x89PNG")
    assert (tmp_path / "diff.svg").read_bytes() == sanitise_svg(alone["svg"]).encode()
    # One format alone is one layout and the same bytes.
    _render.cache_clear()
    layouts.clear()
    assert render_dot(DOT, "png") == alone["png"] and layouts == [b"dot"]
    with pytest.raises(ValueError, match="unsupported graph format 'pdf'"):
        render_dots(DOT, ("svg", "pdf"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="no Graphviz `dot` executable")
def test_the_dot_executable_draws_both_formats_in_one_run(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """Without pygraphviz: one `dot` process (`-Tsvg -o F -Tpng -o G`, files of ours), its
    output the bytes of `dot -Tsvg` and `dot -Tpng` run apart; a failing `dot` is told."""
    alone = {fmt: subprocess.run(["dot", f"-T{fmt}"], input=DOT.encode(),
                                 capture_output=True, check=True).stdout
             for fmt in ("svg", "png")}
    runs: list[list[str]] = []
    real = subprocess.run

    def spying(command: list[str], **kwargs: Any) -> Any:
        runs.append(command)
        assert "shell" not in kwargs and kwargs["timeout"] == 120
        return real(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", spying)
    monkeypatch.setattr(graphs, "renderer", lambda: "dot")
    _render.cache_clear()
    try:
        drawn = render_dots(DOT, ("svg", "png"))
        assert len(runs) == 1 and runs[0][1::3] == ["-Tsvg", "-Tpng"]
        assert drawn["png"] == alone["png"]
        assert drawn["svg"] == sanitise_svg(alone["svg"]).encode()
        with pytest.raises(RuntimeError, match=r"dot failed: .*syntax error"):
            render_dots("digraph { a -> ; }", ("svg", "png"))
    finally:
        _render.cache_clear()


@pytest.mark.parametrize("order", [["html", "graphs"], ["graphs", "html"]])
def test_a_run_writing_the_report_and_the_graphs_lays_each_graph_out_once(
        run: CheckRun, layouts: list[Any], tmp_path: Path, order: list[str]) -> None:
    """The HTML report's SVG and the graphs writer's SVG and PNG of each of the run's graphs
    (the DFG, an SOP overlay per channel) come from one layout, whichever writes first."""
    from reports.html import report_graphs

    drawn = graphs.run_graphs(run)
    assert len(drawn) >= 4  # the DFG and three channels' SOPs
    memo = dict(run.memo)
    run.memo.pop("drawings", None)
    run.memo["formats"] = ["json", *order]
    try:
        for name in order:
            if name == "html":
                views = report_graphs(run)
            else:
                graphs.write_graphs(run, tmp_path)
        assert len(layouts) == len(drawn)  # (before: twice as many)
        for graph, view in zip(drawn, views, strict=True):
            svg = (tmp_path / f"{graph.name}.svg").read_text("utf-8")
            assert view.svg == svg and svg.startswith("<svg")
            assert (tmp_path / f"{graph.name}.png").read_bytes().startswith(b"\x89PNG")
        # Where the graphs report is not written, the HTML draws the SVG alone.
        run.memo.pop("drawings")
        run.memo["formats"] = ["html"]
        _render.cache_clear()
        layouts.clear()
        report_graphs(run)
        assert len(layouts) == len(drawn)
        assert {fmt for *_, fmt in run.memo["drawings"]} == {"svg"}
    finally:
        run.memo.clear()
        run.memo.update(memo)


def test_a_format_graphviz_cannot_draw_is_told_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphviz's gvRenderData gives a bare -1 (not an (error, data) pair) where it has no
    renderer of a format: told as the format it could not draw, not as an unpacking error."""
    from pygraphviz import graphviz as gv

    real = gv.gvRenderData

    def no_png(context: Any, handle: Any, fmt: bytes) -> Any:
        return -1 if fmt == b"png" else real(context, handle, fmt)

    monkeypatch.setattr(gv, "gvRenderData", no_png)
    _render.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="could not draw the graph as png"):
            _render("pygraphviz", DOT + "\n// no png\n", ("svg", "png"))
        assert _render("pygraphviz", DOT + "\n// svg only\n", ("svg",))[0].startswith(b"<")
    finally:
        _render.cache_clear()
