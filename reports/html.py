"""report.html: the view model through an autoescaped Jinja2 template into one self-contained file.

CSS, JavaScript and graphs are inline; a Content-Security-Policy allows only the report's own
script (by hash) and no network at all, so the page works offline and injected markup stays
inert even if escaping were ever missed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from audit.findings import SEVERITIES
from audit.ingest.sizes import REPORT_VALUE, cut
from audit.safety import shown_all_controls
from reports.evidence import attach_case_graphs
from reports.graphs import GraphvizMissing, run_drawings, run_graphs
from reports.view import GraphView, ReportView, build_view

if TYPE_CHECKING:
    from audit.checkrun import CheckRun

TEMPLATE = "report.html.j2"


def _asset(name: str) -> str:
    return files("reports").joinpath("templates", name).read_text(encoding="utf-8")


def _finalize(value: object) -> object:
    """Every value the template writes: a text from the input with its invisible direction
    controls and its control characters shown (`shown_all_controls`: a NUL or U+0001 is no
    character of an HTML document), cut where longer than `REPORT_VALUE`; our own markup
    (CSS, JS, sanitised SVG, JSON) as it is. A short text of printable ASCII alone (no
    control, no direction control: most of the report's 390k values at 100k cases) is
    what those give back, and is given back without their calls and searches."""
    if type(value) is str:
        if value.isascii() and value.isprintable() and len(value) <= REPORT_VALUE:
            return value
        return shown_all_controls(cut(value, REPORT_VALUE))
    return value


LONG_WORD = re.compile(r"\S{25,}")
"""A word of free text too long for a narrow column (a ticket's URL, an e-mail address)."""

WORD_BREAK = re.compile(r"(?<=[/.\-?_@&=])(?=.)")
"""Where such a word may break: after a /, ., -, ?, _, @, & or =, not at its end."""


def breakable(value: object) -> Markup:
    """`value` as the template writes it (`_finalize`: its controls shown, cut), escaped,
    with a <wbr> after each /, ., -, ?, _, @, & and = of its words longer than 24
    characters: a URL in a waiver's reason breaks at its parts, where the column needs,
    and sets no wider column than its longest part, while an ordinary word ("acknowledgement")
    is never broken (`overflow-wrap: break-word`; `anywhere` let the column shrink so far
    that every longer word broke)."""
    text, out, at = str(_finalize(value)), [], 0
    for word in LONG_WORD.finditer(text):
        out.append(str(escape(text[at:word.start()])))
        out.append("<wbr>".join(str(escape(part))
                                for part in WORD_BREAK.split(word.group())))
        at = word.end()
    out.append(str(escape(text[at:])))
    return Markup("".join(out))  # noqa: S704 (each part escaped; only <wbr> added)


def environment() -> Environment:
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, finalize=_finalize)
    env.filters["breakable"] = breakable
    return env


def script_hash(script: str) -> str:
    """CSP source for an inline script: 'sha256-<base64 digest>' of its exact text."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _template_context(view: ReportView) -> dict[str, object]:
    """The template's variables for `view`."""
    script = _asset("report.js")
    if "</script" in script.lower():
        raise ValueError("report.js must not contain a closing script tag")
    # The only markup not escaped: our own CSS and JS, and SVG already cut down to an
    # allowlist by reports.graphs.sanitise_svg (the template marks those `|safe`).
    return {"view": view, "css": Markup(_asset("report.css")),  # noqa: S704
            "script": Markup(script), "script_hash": script_hash(script),  # noqa: S704
            "severities": list(SEVERITIES)}


def render_report(view: ReportView) -> str:
    """The HTML text of the report for `view`."""
    return environment().get_template(TEMPLATE).render(_template_context(view))


def _write_report(view: ReportView, path: Path) -> None:
    """`render_report`'s text written to `path` in UTF-8 as the template yields it, in
    blocks of about 64 KiB: the whole text (14M characters at 1M cases, and as much again
    encoded) is not held at once, at the end of the HTML writer, where the forked XLSX
    writer holds the most. Written to a file beside `path` and moved over it when complete:
    a template that fails halfway leaves no partial report (and an earlier one as it was).
    Lines end in LF on every platform."""
    stream = environment().get_template(TEMPLATE).stream(_template_context(view))
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            block: list[str] = []
            size = 0
            for part in stream:
                block.append(part)
                size += len(part)
                if size >= 1 << 16:
                    out.write("".join(block))
                    block, size = [], 0
            out.write("".join(block))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def report_graphs(run: CheckRun) -> list[GraphView]:
    """The run's graphs drawn as inline SVG; a graph that cannot be drawn says why."""
    views = []
    for graph in run_graphs(run):
        try:
            svg: str | None = run_drawings(run, graph, ("svg",))["svg"].decode("utf-8")
            problem = ""
        except GraphvizMissing as exc:
            svg, problem = None, str(exc)
        views.append(GraphView(graph.name, graph.title, graph.caption, svg, problem,
                               graph.legend_title, list(graph.legend)))
    return views


def write_html(run: CheckRun, out: Path) -> Path:
    """Writer: report.html."""
    path = out / "report.html"
    view = build_view(run, graphs=report_graphs(run))
    note = attach_case_graphs(view.cases, run)
    if note:
        view.notes.append(note)
    _write_report(view, path)
    return path
