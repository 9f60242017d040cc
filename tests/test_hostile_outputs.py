"""Every file check, discover and compare write is safe with hostile values in it.

One hostile input set: the bundled sample's first cases with their case ids, ticket and
order ids, event ids, resources, roles, evidence and some activity labels replaced by
formula starts (also after a tab, a NUL or a control character), markup (`<script>`, `"><img
onerror=...>`, `</svg>`), Graphviz syntax (quotes, backslashes, `{|}`, `<<b>x</b>>`, `\\N`),
line breaks, bidi and zero-width characters (also before a formula start) and a very long
text; a policy whose waiver reason and approver, SOP file (process, lane and task names) and
a mapped label are hostile too; a log whose file name is. Each output is then read as its
reader would: no CSV cell or XLSX text a spreadsheet would run as a formula, every JSON
strict, no element or event handler in an SVG or report.html but the report's own script, no
line of compare.md that a value began, and findings.csv read back (apostrophes taken off)
the same as findings.json.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from lxml import etree
from lxml import html as lhtml

from audit.cli import main
from audit.safety import restored_cell
from tests.test_formula_starts import unseen

REPO = Path(__file__).resolve().parents[1]
HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+2", "-2+3", "@SUM(A1)", "\t=cmd|' /C calc'!A0",
           "\x00=cmd", "\x01@x", "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>',
           "</svg><script>alert(3)</script>", 'q"b\\s{c}<l>|p', "{<p>x|<q>y}", "<<b>x</b>>",
           "a\n# forged\r- forged", "RFD\u202e99-1", "RFD\u200b-1", "%{x}\\N\\G\\L",
           "'=x", "&amp;&lt;", "L" * 3000, "\ufeff=HYPERLINK(\"http://evil\",\"y\")",
           "\u202e@SUM(A1)", "\x85=1", "\xad=cmd", "\u3164+1", "\U000e0041@x"]
MAPPED = '=Approve "refund" <b>|{x}'
"""A hostile label the policy maps to approve (and the SOP names a task)."""
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
FORMULA = re.compile("\x00|[\\s" + "".join(re.escape(c) for c in unseen()) + "]*[=+\\-@\t\r]")
"""A text a spreadsheet may run (judged here, not by the code under test): one starting with
= + - @ tab or carriage return (OWASP) or a NUL (ASVS 5.0 1.2.10), or with one of them after
white space or characters no reader sees (Unicode's Cc, Cf, Zs, Zl, Zp and default-ignorable
code points, listed code point by code point in tests/test_formula_starts.py, not copied
from audit.safety's list: before, this copied that list, so it could not find what the list
missed)."""


def is_formula(text: str) -> bool:
    return FORMULA.match(text) is not None


def _hostile_log(path: Path, cases: int = 24) -> None:
    log = pd.read_csv(REPO / "sample_logs" / "refund-sample" / "canonical.csv", dtype=str,
                      keep_default_na=False)
    ids = list(dict.fromkeys(log["case:concept:name"]))[:cases]
    log = log[log["case:concept:name"].isin(ids)].copy()
    case = {c: f"{HOSTILE[i % len(HOSTILE)]}#{i}" for i, c in enumerate(ids)}
    people = [p for p in dict.fromkeys(log["org:resource"]) if p]
    person = {p: f"{HOSTILE[(i + 3) % len(HOSTILE)]}r{i}" for i, p in enumerate(people)}
    log["case:concept:name"] = log["case:concept:name"].map(case)
    log["org:resource"] = log["org:resource"].map(lambda p: person.get(p, p))
    log["ticket:id"] = [f"{HOSTILE[i % 5]}T{i}" for i in range(len(log))]
    log["event:id"] = [f"{HOSTILE[i % len(HOSTILE)]}e{i}" for i in range(len(log))]
    log.loc[log["org:role"] == "customer-service", "org:role"] = "cs\n# FORGED role\r- x"
    log.loc[log["evidence:order"] != "", "evidence:order"] = "=ev<img src=x onerror=1>"
    log.loc[log["concept:name"] == "Approve refund", "concept:name"] = MAPPED
    extra = []
    for i, c in enumerate(list(case.values())[:len(HOSTILE)]):
        row = log[log["case:concept:name"] == c].iloc[1].copy()
        # (labels without control characters: a BPMN model cannot hold those, and
        # discover's inductive miner refuses them with a clear error)
        row["concept:name"] = HOSTILE[i].replace("\x00", "").replace("\x01", "") + " act"
        row["event:id"] = f"x{i}"
        extra.append(row)
    log = pd.concat([log, pd.DataFrame(extra)], ignore_index=True)
    log.to_csv(path, index=False, quoting=csv.QUOTE_ALL)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    inputs = root / "in"
    inputs.mkdir()
    log = inputs / '=x<img src=x onerror=alert(9)>"{|}\\N\u202e\nname.csv'
    _hostile_log(log)
    sop = (REPO / "models" / "ecommerce.bpmn").read_text(encoding="utf-8")
    for old, new in (("Collect evidence", '=Collect <b>evidence</b> "x" {a|b} \\l </svg>'),
                     ("Approve refund", MAPPED),
                     ("Customer service", "=Lane<script>alert(5)</script>\n# lane"),
                     ("Refund handling (e-commerce)", '+SOP "n" <img src=x onerror=alert(6)>')):
        sop = sop.replace(f'name="{old}"', f'name="{_attr(new)}"')
    (inputs / "sop.bpmn").write_text(sop, encoding="utf-8")
    policy = (REPO / "models" / "policy.default.yaml").read_text(encoding="utf-8")
    replaced = (
        ("  ecommerce: ecommerce.bpmn", "  ecommerce: sop.bpmn"),
        ("  Approve refund: {control: approve}", f"  '{MAPPED}': {{control: approve}}"),
        ("  Collect evidence: {control: evidence}", "  Collect evidence: {control: evidence, "
         "sop_task: '=Collect <b>evidence</b> \"x\" {a|b} \\l </svg>'}"),
        ("waivers: []", "waivers:\n  - rule: '*'\n    case: '+1+2#1'\n"
         "    reason: \"\\t=HYPERLINK(\\\"http://evil\\\") <script>alert(7)</script>\"\n"
         "    approved_by: '@boss <img src=x onerror=alert(8)>'\n    expires: 2099-01-01"),
    )
    for old, new in replaced:
        assert old in policy, old
        policy = policy.replace(old, new)
    (inputs / "policy.yaml").write_text(policy, encoding="utf-8")
    runner = CliRunner()
    out = root / "out"
    for args, codes in (
            (["check", str(log), "--policy", str(inputs / "policy.yaml"),
              "--out", str(out / "check")], (1,)),
            (["discover", str(log), "--out", str(out / "discover")], (0,)),
            (["compare", str(log), str(inputs / "sop.bpmn"), "--policy",
              str(inputs / "policy.yaml"), "--out", str(out / "compare")], (0,)),
            (["compare", str(out / "discover" / "model.bpmn"), str(inputs / "sop.bpmn"),
              "--out", str(out / "compare-models")], (0,)),
            (["import", str(log), "--out", str(out / "import" / "log.parquet")], (0,))):
        result = runner.invoke(main, args)
        assert result.exit_code in codes, (args[0], result.output, result.exception)
    return out


def _files(out: Path, suffix: str) -> list[Path]:
    found = sorted(p for p in out.rglob(f"*{suffix}") if p.is_file())
    assert found, suffix
    return found


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_no_csv_cell_is_a_formula(outputs: Path) -> None:
    names = {p.name for p in _files(outputs, ".csv")}
    assert {"findings.csv", "quarantine.csv", "variants.csv"} <= names, names
    for path in _files(outputs, ".csv"):
        text = path.read_bytes().decode("utf-8")
        for row in csv.reader(io.StringIO(text, newline="")):
            formulas = [c for c in row if is_formula(c) and not NUMBER.fullmatch(c)]
            assert not formulas, (path.name, formulas)


def test_findings_csv_reads_back_as_findings_json(outputs: Path) -> None:
    """Nothing changed beyond the apostrophe added (which `restored_cell` takes off)."""
    findings = _strict_json((outputs / "check" / "findings.json").read_text("utf-8"))
    rows = list(csv.DictReader(io.StringIO(
        (outputs / "check" / "findings.csv").read_bytes().decode("utf-8"), newline="")))
    assert len(rows) == len(findings["findings"]) > 20
    for finding, row in zip(findings["findings"], rows, strict=True):
        for key in ("case_id", "message", "resources", "activities", "event_ids",
                    "waiver_reason"):
            value = finding[key]
            value = "; ".join(value) if isinstance(value, list) else value or ""
            assert restored_cell(row[key]) == value, key
        assert json.loads(restored_cell(row["evidence"])) == finding["evidence"]
    waived = [f for f in findings["findings"] if f["waived"]]
    assert waived and waived[0]["waiver_reason"].startswith("\t=HYPERLINK(")


def test_no_xlsx_text_is_a_formula(outputs: Path) -> None:
    book = openpyxl.load_workbook(outputs / "check" / "findings.xlsx")
    assert {"Summary", "Findings", "Columns"} <= set(book.sheetnames)
    texts = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    text = re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)),
                                  cell.value)  # (as Excel reads the escapes)
                    if is_formula(text.lstrip("'")):
                        texts += 1
                        assert cell.quotePrefix, (sheet.title, cell.coordinate, text)
    assert texts > 20


def test_every_json_is_strict(outputs: Path) -> None:
    for path in _files(outputs, ".json"):
        _strict_json(path.read_text(encoding="utf-8"))


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _markup_problems(root: Any, name: str) -> list[str]:
    problems = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = _local(element.tag)
        if tag in ("img", "iframe", "object", "embed", "foreignobject", "b", "x"):
            problems.append(f"{name}: <{tag}>")
        problems += [f"{name}: {key} on <{tag}>" for key in element.attrib
                     if _local(key).startswith("on")]
    return problems


def test_no_markup_of_a_value_in_an_svg_or_the_report(outputs: Path) -> None:
    svgs = _files(outputs, ".svg")
    assert {"dfg.svg", "sop-ecommerce.svg", "discovery-dfg.svg", "model.svg", "diff.svg"} <= {
        p.name for p in svgs}
    problems = []
    for path in svgs:
        root = etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False))
        problems += _markup_problems(root, path.name)
        problems += [f"{path.name}: <script>" for e in root.iter("{*}script")]
        # Graphviz drew the labels as written (quotes, backslashes, braces, \N literal)
        if path.name in ("dfg.svg", "discovery-dfg.svg"):
            texts = set(root.itertext())
            for label in ('q"b\\s{c}<l>|p act', "{<p>x|<q>y} act", "<<b>x</b>> act",
                          "%{x}\\N\\G\\L act", MAPPED):
                assert label in texts, (path.name, label)
    page = lhtml.fromstring((outputs / "check" / "report.html").read_bytes())
    problems += _markup_problems(page, "report.html")
    scripts = page.xpath("//script")
    assert len(scripts) == 1 and "alert(" not in (scripts[0].text or "")
    assert not problems, problems


def test_no_line_of_compare_md_is_begun_by_a_value(outputs: Path) -> None:
    for name in ("compare", "compare-models"):
        text = (outputs / name / "compare.md").read_bytes().decode("utf-8")
        assert "\r" not in text
        lines = text.split("\n")
        assert not [line for line in lines if line.startswith(("# FORGED", "# lane", "name.csv",
                                                                "- x", "- forged"))]
        assert not re.search(r"(?<!\\)<(script|img|b|/svg)", text)
