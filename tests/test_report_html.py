"""report.html in a real browser: Debian's headless Chromium, driven over the DevTools protocol.

The browser is spoken to through `--remote-debugging-pipe` (JSON messages on fds 3 and 4), so
the test needs no driver package and opens no port. Chromium is installed by `make
system-deps`; without it these tests fail, never skip. Screenshots and a PDF print go to
test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from audit.cli import main
from tests.sample_exports import write_sale

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--mute-audio", "--remote-debugging-pipe")
TIMEOUT = 60.0


class Browser:
    """A headless Chromium and one page, over the DevTools protocol on a pipe."""

    def __init__(self) -> None:
        exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
        if not exe:
            pytest.fail(f"Chromium not found at {CHROMIUM}: run `make system-deps` "
                        "(installs Debian's chromium)")
        self.profile = tempfile.mkdtemp(prefix="refund-audit-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # in the child: fd 3 is what it reads, fd 4 what it writes
            read_fd, write_fd = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_fd, 3)
            os.dup2(write_fd, 4)

        self.process = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire_fds, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._reply_ready = threading.Condition()
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.log: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._stderr: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.decode("utf-8", "replace"))

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._reply_ready:
                        self._replies[message["id"]] = message
                        self._reply_ready.notify_all()
                else:
                    self.log.append(message)
                    self.events.put(message)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + TIMEOUT
        with self._reply_ready:
            while ident not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no answer to {method}; browser stderr: "
                                         + "".join(self._stderr[-20:]))
                self._reply_ready.wait(min(left, 0.5))
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise AssertionError(f"{method} failed: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.call(method, session=True, **params)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if event.get("method") == method:
                return event
        raise AssertionError(f"timed out waiting for {method}")

    def evaluate(self, expression: str) -> Any:
        reply = self.page("Runtime.evaluate", expression=expression, returnByValue=True,
                          awaitPromise=True)
        if "exceptionDetails" in reply:
            raise AssertionError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def open(self, url: str, width: int = 1280, height: int = 900) -> None:
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.page(f"{domain}.enable")
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.page("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = int(self.evaluate("document.documentElement.scrollHeight"))
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": 1280, "height": min(height, 16000),
                                "scale": 1})
        data = self.page("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def print_pdf(self, path: Path) -> Path:
        data = self.page("Page.printToPDF", printBackground=True, preferCSSPageSize=True)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    # What the page did, from the events seen so far.
    def console_problems(self) -> list[str]:
        problems = []
        for event in self.log:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                problems.append(f"exception: {params['exceptionDetails']}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                    "error", "warning", "assert"):
                problems.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error",
                                                                             "warning"):
                problems.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return problems

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.log
                if e.get("method") == "Network.requestWillBeSent"]

    def dialogs(self) -> list[str]:
        return [e["params"].get("message", "") for e in self.log
                if e.get("method") == "Page.javascriptDialogOpening"]

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    instance = Browser()
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def test_demo_report_loads_offline_and_matches_findings_json(browser: Browser,
                                                             demo: Path) -> None:
    report = demo / "report.html"
    url = report.as_uri()
    browser.open(url)
    assert browser.console_problems() == []
    assert [u for u in browser.requests() if u != url] == [], "the report fetched something"
    assert browser.dialogs() == []

    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    summary = document["summary"]
    metrics = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-metric][data-value]')]"
        ".map(e => [e.dataset.metric, e.dataset.value]))")
    assert int(metrics["findings"]) == summary["findings"] == len(
        [f for f in document["findings"] if not f["waived"]])
    assert int(metrics["cases"]) == summary["cases"]
    assert int(metrics["events"]) == summary["events"]
    assert int(metrics["cases_with_findings"]) == summary["cases_with_findings"]
    assert int(metrics["waived"]) == summary["waived"]
    assert int(metrics["quarantined"]) == summary["quarantined"]
    # Rows: read = imported + quarantined, with the import's count (not the events after
    # correlation, which copies a charge into each case it belongs to).
    assert int(metrics["imported"]) == summary["imported"] != summary["events"]
    rows_text = browser.evaluate(
        "[...document.querySelectorAll('dt')].find(d => d.textContent === 'Rows')"
        ".nextElementSibling.textContent")
    assert " ".join(rows_text.split()) == (
        f"read {summary['read']:,} = imported {summary['imported']:,} + quarantined "
        f"{summary['quarantined']:,}")
    assert summary["read"] == summary["imported"] + summary["quarantined"]
    expected_rate = (summary["cases"] - summary["cases_with_findings"]) / summary["cases"]
    assert float(metrics["conformance_rate"]) == pytest.approx(expected_rate, abs=1e-4)
    for severity, count in summary["by_severity"].items():
        assert int(metrics[f"severity-{severity}"]) == count, severity
    for code, row in summary["by_rule"].items():
        assert int(metrics[f"rule-{code}"]) == row["findings"], code
    money = {k[len("money-"):]: float(v) for k, v in metrics.items() if k.startswith("money-")}
    assert money == pytest.approx(summary["money_at_risk"])
    # What a reader sees, not only the data attributes.
    shown = browser.evaluate("document.querySelector('[data-metric=findings]').textContent")
    assert shown.strip() == f"{summary['findings']:,}"
    # Every finding of findings.json is listed in its rule's section (the demo is under the cap).
    rows = browser.evaluate(
        "[...document.querySelectorAll('table.findings tbody tr')].map(r => r.dataset.rule)")
    assert sorted(rows) == sorted(f["rule"] for f in document["findings"])
    browser.screenshot(ARTIFACTS / "report-overview.png")
    browser.screenshot(ARTIFACTS / "report-full.png", full_page=True)


def test_filtering_a_rule_shows_only_its_findings(browser: Browser, demo: Path) -> None:
    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    browser.open((demo / "report.html").as_uri())
    codes = sorted({f["rule"] for f in document["findings"]})
    assert len(codes) > 1
    for code in [*codes[:4], "SD001"]:
        visible = browser.evaluate(f"""(() => {{
            const select = document.getElementById('filter-rule');
            select.value = {json.dumps(code)};
            select.dispatchEvent(new Event('change', {{bubbles: true}}));
            const seen = el => el.getClientRects().length > 0;
            return {{
              rows: [...document.querySelectorAll('table.findings tbody tr')]
                      .filter(seen).map(r => r.dataset.rule),
              sections: [...document.querySelectorAll('section.rule')]
                      .filter(seen).map(s => s.dataset.rule),
              cases: [...document.querySelectorAll('details.case')]
                      .filter(seen).map(c => c.dataset.rules.split(' ')),
              status: document.getElementById('filter-status').dataset.shown,
            }};
        }})()""")
        expected = [f for f in document["findings"] if f["rule"] == code]
        assert visible["rows"] == [code] * len(expected), code
        assert visible["sections"] == [code]
        assert visible["cases"] and all(code in rules for rules in visible["cases"])
        assert len(visible["cases"]) == len({f["case_id"] for f in expected})
        assert int(visible["status"]) == len([f for f in expected if not f["waived"]])
    browser.evaluate("window.scrollTo(0, document.getElementById('rules').offsetTop)")
    browser.screenshot(ARTIFACTS / "report-filter-SD001.png")

    # A finding's case link opens that case's details: its events in order, source rows.
    case = browser.evaluate("""(async () => {
        const link = document.querySelector('section.rule[data-rule="SD001"] tbody tr a');
        link.click();
        await new Promise(r => setTimeout(r, 100));
        const details = document.getElementById(link.hash.slice(1));
        details.scrollIntoView();
        return {open: details.open, id: details.querySelector('.case-id').textContent,
                link: link.textContent,
                rows: [...details.querySelectorAll('table.events tbody tr')].map(r =>
                    [...r.cells].map(c => c.textContent.trim())),
                flagged: details.querySelectorAll('tr.flagged').length};
    })()""")
    assert case["open"] and case["id"] == case["link"]
    sd001 = next(f for f in document["findings"]
                 if f["rule"] == "SD001" and f["case_id"] == case["id"])
    assert case["flagged"] == len(sd001["event_ids"])
    assert {row[-1] for row in case["rows"]} >= set(sd001["event_ids"])
    assert all(row[7] and row[8].isdigit() for row in case["rows"]), "file and row"
    browser.screenshot(ARTIFACTS / "report-case.png")

    # Sorting a column by clicking its header reorders the rows.
    order = browser.evaluate("""(() => {
        document.getElementById('filter-reset').click();
        const table = document.getElementById('rule-table');
        table.tHead.rows[0].cells[4].querySelector('button').click();
        table.tHead.rows[0].cells[4].querySelector('button').click();
        return [...table.tBodies[0].rows].map(r => Number(r.cells[4].dataset.value));
    })()""")
    assert order == sorted(order, reverse=True)
    assert browser.console_problems() == []


def test_filter_counts_are_of_open_findings_and_every_filter_applies_to_the_cases(
        browser: Browser, tmp_path: Path) -> None:
    """The status and the rule dropdown count open findings (the headline's figure), the
    waived ones told apart; the severity and waived filters narrow the case list too."""
    from tests.test_report_totals import case_rows, write_log, write_policy

    log = write_log(tmp_path / "log.csv", case_rows("C1", "EUR", 100),
                    case_rows("C2", "EUR", 200, day=2, requester=("Bob", "supervisor"),
                              payer=("Bob", "supervisor")),
                    case_rows("C3", "USD", 300, day=3, skip=("Approve refund",)),
                    case_rows("C5", "EUR", 80, day=5, requester=("Carl", "supervisor"),
                              approver=("Carl", "supervisor")),
                    case_rows("C6", "EUR", 70, day=6, approver=("Dora", "customer-service")))
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--policy",
                                     str(write_policy(tmp_path / "policy.yaml", ("C5",))),
                                     "--out", str(out), "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    summary, findings = document["summary"], document["findings"]
    # (C5's self-approval waived, and its supervisor receiving the request with it)
    assert summary["waived"] == 2 and summary["findings"] > 1
    browser.open((out / "report.html").as_uri())
    assert browser.console_problems() == []
    status = browser.evaluate("(() => { const s = document.getElementById('filter-status');"
                              " return [s.dataset.shown, s.dataset.waived, s.textContent]; })()")
    assert int(status[0]) == summary["findings"]  # the headline's count: open findings
    assert int(status[1]) == summary["waived"]
    n = summary["findings"]
    rules = len({f["rule"] for f in findings})
    # (every finding listed: the count once, not "8 of 8")
    assert status[2] == f"{n} open findings and 2 waived listed in {rules} rules"
    option = browser.evaluate("document.querySelector('#filter-rule option[value=SD001]')"
                              ".textContent")
    open_sd001 = summary["by_rule"]["SD001"]["findings"]
    assert option == f"SD001 self-approval ({open_sd001} + 1 waived)"
    seen = browser.evaluate("""(() => {
        const severity = document.getElementById('filter-severity');
        const waived = document.getElementById('filter-waived');
        severity.value = '4';
        severity.dispatchEvent(new Event('change'));
        waived.checked = false;
        waived.dispatchEvent(new Event('change'));
        return [...document.querySelectorAll('details.case')]
          .filter(c => c.getClientRects().length > 0)
          .map(c => c.querySelector('.case-id').textContent);
    })()""")
    critical = {f["case_id"] for f in findings if f["severity"] == "critical" and not f["waived"]}
    assert critical and sorted(seen) == sorted(critical)
    assert "C5" not in seen  # its critical finding is waived
    assert browser.console_problems() == []


def test_report_counts_the_charges_left_out_as_sales(browser: Browser,
                                                     tmp_path: Path) -> None:
    """A charges export holds sales as well as refunded charges: a sale is imported, but
    correlation leaves it out of the refund cases. The report says how many, in the rows'
    line and per input, as findings.json does."""
    exports = REPO / "sample_logs" / "refund-sample" / "exports"
    sale = write_sale(tmp_path / "sales" / "stripe_charges.csv", "ch_sale_1", "EC-S1",
                      "2026-06-01 10:00:00")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", *sorted(map(str, exports.iterdir())), str(sale),
                                     "--out", str(out), "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["left_out"] == 1
    url = (out / "report.html").as_uri()
    browser.open(url)
    assert browser.console_problems() == []
    metrics = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-metric][data-value]')]"
        ".map(e => [e.dataset.metric, e.dataset.value]))")
    assert int(metrics["left_out"]) == 1
    assert int(metrics["imported"]) == document["summary"]["imported"]
    rows_text = browser.evaluate(
        "[...document.querySelectorAll('dt')].find(d => d.textContent === 'Rows')"
        ".nextElementSibling.textContent")
    assert " ".join(rows_text.split()).endswith(
        "; of the imported, 1 charge left out as sales (no ticket or refund refers to them)")
    table = browser.evaluate(
        "[...document.querySelectorAll('table.data.compact')].find(t => t.tHead && "
        "t.tHead.textContent.includes('Sales left out')).outerHTML")
    heads = [h.strip() for h in etree.fromstring(table).xpath("//th/text()")]
    left = [(r.xpath("string(td[1])"), r.xpath("string(td[last()])"))
            for r in etree.fromstring(table).xpath("//tbody/tr")]
    assert heads[-1] == "Sales left out"
    # Per input in the order given, named as the log names it (two charges exports: by the
    # end of their paths that tells them apart): the sales export (last) left one out; the
    # role history has no rows of events (empty); every other export none.
    assert left[-1] == ("sales/stripe_charges.csv", "1")
    assert ("exports/stripe_charges.csv", "0") in left
    assert sorted({v for _, v in left[:-1]}) == ["", "0"]
    assert [f for f, v in left if v == ""] == ["role_history.csv"]


def test_report_prints(browser: Browser, demo: Path) -> None:
    browser.open((demo / "report.html").as_uri())
    pdf = browser.print_pdf(ARTIFACTS / "report-print.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") > 3
    assert browser.console_problems() == []


HOSTILE_ACTIVITY = "<script>alert(1)</script>"
HOSTILE_RESOURCE = '=HYPERLINK("http://attacker.invalid/x","click")'


BIDI_ACTIVITY = "Check \u202egnp.tpiecer"
"""An activity with a right-to-left override: drawn as "Check receipt.png" it would hide
what the input holds."""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    log = folder / "hostile.csv"
    with log.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "activity", "timestamp", "resource", "role", "amount",
                         "currency", "channel"])
        writer.writerow(["C1", "Receive refund request", "2026-07-01T09:00:00Z",
                         HOSTILE_RESOURCE, "customer-service", "10", "EUR", "ecommerce"])
        writer.writerow(["C1", HOSTILE_ACTIVITY, "2026-07-01T10:00:00Z", HOSTILE_RESOURCE,
                         "customer-service", "", "", "ecommerce"])
        writer.writerow(["C1", BIDI_ACTIVITY, "2026-07-01T11:00:00Z", "Ben Carter",
                         "customer-service", "", "", "ecommerce"])
        writer.writerow(["C1", "Execute payout", "2026-07-02T10:00:00Z", "<img src=x "
                         "onerror=alert(2)>", "finance", "10", "EUR", "ecommerce"])
    out = folder / "out"
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(out),
                                       "--fail-on", "never"])
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def test_hostile_labels_are_inert_in_html(browser: Browser, hostile: Path) -> None:
    html = (hostile / "report.html").read_text(encoding="utf-8")
    assert HOSTILE_ACTIVITY not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    browser.open((hostile / "report.html").as_uri())
    assert browser.dialogs() == []
    assert browser.console_problems() == []
    state = browser.evaluate("""({
        scripts: document.scripts.length,
        images: document.images.length,
        text: document.body.textContent,
        svgText: [...document.querySelectorAll('svg text')].map(t => t.textContent),
    })""")
    assert state["scripts"] == 1 and state["images"] == 0
    assert HOSTILE_ACTIVITY in state["text"] and HOSTILE_RESOURCE in state["text"]
    assert HOSTILE_ACTIVITY in state["svgText"], "the DFG draws the label as text"
    browser.screenshot(ARTIFACTS / "report-hostile.png", full_page=True)
    # The graph file is inert too: the label is text, with no script, handler or link.
    svg = etree.fromstring((hostile / "dfg.svg").read_bytes())
    assert HOSTILE_ACTIVITY in [t.text for t in svg.iter("{*}text")]
    assert not [e for e in svg.iter() if etree.QName(e).localname in ("script", "a", "style")]
    names = {name for e in svg.iter() for name in e.attrib}
    assert not [n for n in names if n.startswith("on") or "href" in n or n == "style"]


def test_direction_controls_are_shown_in_the_report_and_kept_in_the_findings(
        browser: Browser, hostile: Path) -> None:
    """An invisible right-to-left override in an input text is shown as [U+202E] in the
    HTML and the graphs, so that the report shows what the input holds; findings.json and
    findings.csv keep the text as it is (before: the override reached the page, which drew
    "Check receipt.png")."""
    shown = "Check [U+202E]gnp.tpiecer"
    html = (hostile / "report.html").read_text(encoding="utf-8")
    assert "\u202e" not in html and shown in html
    browser.open((hostile / "report.html").as_uri())
    state = browser.evaluate("""({
        text: document.body.textContent,
        svgText: [...document.querySelectorAll('svg text')].map(t => t.textContent),
    })""")
    assert shown in state["text"] and "\u202e" not in state["text"]
    assert shown in state["svgText"]
    svg = etree.fromstring((hostile / "dfg.svg").read_bytes())
    assert shown in [t.text for t in svg.iter("{*}text")]
    document = json.loads((hostile / "findings.json").read_text(encoding="utf-8"))
    assert BIDI_ACTIVITY in [a for f in document["findings"] for a in f["activities"]]
    with (hostile / "findings.csv").open(encoding="utf-8", newline="") as handle:
        assert any(BIDI_ACTIVITY in cell for row in csv.reader(handle) for cell in row)


def test_hostile_labels_are_inert_in_csv_and_xlsx(hostile: Path) -> None:
    import openpyxl

    with (hostile / "findings.csv").open(encoding="utf-8", newline="") as handle:
        cells = [v for row in csv.reader(handle) for v in row]
    assert not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any(v.startswith("'=HYPERLINK") or "'=HYPERLINK" in v for v in cells)

    book = openpyxl.load_workbook(hostile / "findings.xlsx")
    values = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in values if c.data_type == "f"], "a cell is a formula"
    texts = [c for c in values if isinstance(c.value, str)]
    # A formula-like text is stored as it is, with Excel's quote prefix, not an apostrophe.
    assert not [c.coordinate for c in texts
                if c.value.lstrip()[:1] in ("=", "+", "-", "@", "\t", "\r") and not c.quotePrefix]
    assert any(c.value.startswith("=HYPERLINK") and c.quotePrefix for c in texts)
    assert any(HOSTILE_ACTIVITY in c.value for c in texts)


def test_view_is_json_and_caps_evidence_per_rule() -> None:
    from importlib.resources import as_file, files

    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from reports.html import render_report
    from reports.view import build_view

    with as_file(files("sample_logs").joinpath("refund-sample", "canonical.csv")) as path:
        run = run_check([Path(path)], default_policy_path())
    full = build_view(run)
    data = json.loads(json.dumps(full.as_dict()))  # JSON-able, as it says
    assert {m["key"]: m["value"] for m in data["metrics"]}["findings"] == run.summary()[
        "findings"]
    assert sum(len(r.findings) for r in full.rules) == len(run.result.findings)
    capped = build_view(run, max_findings_per_rule=1, max_cases=5)
    assert all(len(r.findings) <= 1 for r in capped.rules)
    assert sum(r.truncated for r in capped.rules) == len(run.result.findings) - sum(
        1 for r in capped.rules if r.findings_total)
    assert len(capped.cases) == 5 and capped.cases_total == full.cases_total
    # Case details: the case's events in time order, each with its source file and row.
    case = full.cases[0]
    stamps = [e.timestamp for e in case.events]
    assert stamps == sorted(stamps) and all(e.source_file and e.source_row for e in case.events)
    assert any(e.flagged_by for e in case.events)
    html = render_report(capped)
    assert "more finding" in html and "list all" in html
    assert "most severe of" in html
    # The share of cases without findings is labelled a share (findings.xlsx's "Cases
    # without findings" is a count; before, this card had that label on 75.0%).
    card = etree.HTML(html).xpath('//*[@data-metric="conformance_rate"]')[0]
    assert card.getnext().text == "Share of cases without findings"
    assert card.text.endswith("%")
    assert "Cases without findings" not in html


def test_the_most_severe_cases_are_those_of_a_full_sort() -> None:
    """`_most_severe_cases` against a full sort of every case by (a finding not waived
    first, highest severity, currency group, largest amount in that currency, case id),
    over a case's open findings, or all where each one is waived; a case's currency group
    is the first of its currencies in the order of the open findings at risk per currency
    (most first); on random findings with ties, waived findings, missing and NaN amounts,
    and several currencies (missing or empty too)."""
    import math
    import random

    from audit.currency import NO_CURRENCY
    from audit.findings import SEVERITIES, Finding, finding_columns, severity_rank
    from reports.view import _most_severe_cases

    def most_severe(findings: list[Finding], count: int) -> list[str]:
        return _most_severe_cases(finding_columns(findings), count)

    def reference(findings: list[Finding], count: int) -> list[str]:
        by_case: dict[str, list[Finding]] = {}
        for f in findings:
            by_case.setdefault(f.case_id, []).append(f)
        counted = {f.currency or NO_CURRENCY: 0 for f in findings} | {NO_CURRENCY: 0}
        for f in findings:
            if not f.waived and f.amount_at_risk is not None:
                counted[f.currency or NO_CURRENCY] += 1
        ranked = sorted(counted, key=lambda c: (-counted[c], c == NO_CURRENCY, c))

        def order(case_id: str) -> tuple[bool, int, int, float, str]:
            mine = by_case[case_id]
            active = [f for f in mine if not f.waived] or mine
            stated = [f for f in active if f.amount_at_risk is not None]
            group = min((ranked.index(f.currency or NO_CURRENCY) for f in stated),
                        default=len(ranked))
            amounts = [0.0 if math.isnan(a) else a for f in active
                       for a in [f.amount_at_risk or 0.0]
                       if (group == len(ranked) and f.amount_at_risk is None) or (
                           f.amount_at_risk is not None
                           and ranked.index(f.currency or NO_CURRENCY) == group)]
            return (all(f.waived for f in mine),
                    -max(severity_rank(f.severity) for f in active), group, -max(amounts),
                    case_id)

        return sorted(by_case, key=order)[:count]

    rng = random.Random(7)
    for trial in range(60):
        spread = rng.choice([40, 400])  # few cases, or many with ties at the cut
        findings = [Finding(
            rule="AP001", name="missing-approval", severity=rng.choice(SEVERITIES),
            case_id=f"C{rng.randrange(spread):03d}", event_ids=[f"e{k}"], activities=[],
            resources=[], timestamp=None, message="",
            amount_at_risk=rng.choice([None, 0.0, 5.0, 12.5, 12.5, 99.0, -3.0,
                                       float("nan")]),
            currency=rng.choice(["EUR", "EUR", "JPY", "USD", None, ""]),
            waived=rng.random() < 0.3) for k in range(rng.randrange(1, 1200))]
        for count in (1, 5, 37, 1000):
            assert most_severe(findings, count) == reference(findings, count), trial
    assert most_severe([], 5) == []
    # A case whose findings are all waived ranks after every open one (B, waived high,
    # after A's open low finding; A's waived critical finding does not count).
    mixed = [Finding("AP001", "x", "critical", "A", ["a1"], [], [], None, "", waived=True),
             Finding("AP001", "x", "low", "A", ["a2"], [], [], None, "", amount_at_risk=1.0),
             Finding("AP001", "x", "high", "B", ["b1"], [], [], None, "", waived=True)]
    assert most_severe(mixed, 5) == ["A", "B"]
    assert most_severe(mixed, 1) == ["A"]
    # 15,000 JPY is not more than 400.00 EUR: EUR, with more findings at risk, first.
    currencies = [
        Finding("SD001", "x", "critical", "J", ["j"], [], [], None, "", amount_at_risk=15000.0,
                currency="JPY"),
        Finding("SD001", "x", "critical", "E", ["e"], [], [], None, "", amount_at_risk=400.0,
                currency="EUR"),
        Finding("SD001", "x", "low", "F", ["f"], [], [], None, "", amount_at_risk=5.0,
                currency="EUR")]
    assert most_severe(currencies, 5) == ["E", "J", "F"]


def test_cases_by_channel_counts_each_cases_channel_as_the_rules_judged_it(
        tmp_path: Path) -> None:
    """`cases_by_channel` counts each case once by the channel the rules judged it by (its
    ticket's, else the first its events state by time), "(no channel)" where none of its
    events states one, as every other output names it, and "(not judged)", an item of its
    own, where the rules judged none of its events (only a started activity): not the first
    channel in the log's order, which for c1 is the subscription of its purchase."""
    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from reports.view import cases_by_channel

    log = tmp_path / "log.csv"
    log.write_text(
        "event:id,case:concept:name,concept:name,time:timestamp,org:resource,"
        "lifecycle:transition,refund:channel\n"
        "e1,c1,Capture payment,2026-07-01T09:00:00+00:00,stripe-api,complete,subscription\n"
        "e2,c1,Receive refund request,2026-07-02T09:00:00+00:00,Ann,complete,offline\n"
        "e3,c2,Receive refund request,2026-07-02T09:00:00+00:00,Ann,complete,\n"
        "e4,c3,Receive refund request,2026-07-02T09:00:00+00:00,Ann,start,ecommerce\n"
        "e5,c4,Receive refund request,2026-07-02T09:00:00+00:00,Ann,complete,ecommerce\n"
        "e6,c4,Approve refund,2026-07-02T10:00:00+00:00,Bob,complete,offline\n",
        encoding="utf-8")
    run = run_check([log], default_policy_path())
    assert len(run.imported.log) == 6
    assert cases_by_channel(run) == {"offline": 1, "ecommerce": 1, "(no channel)": 1,
                                     "(not judged)": 1}


def test_report_html_is_the_rendered_text_written_in_blocks(tmp_path: Path) -> None:
    """report.html is written as the template yields it, in blocks: the same bytes as the
    whole rendered text in UTF-8, with non-ASCII text and no newline translation."""
    import dataclasses
    from importlib.resources import as_file, files

    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from reports.html import _write_report, render_report
    from reports.view import build_view

    with as_file(files("sample_logs").joinpath("refund-sample", "canonical.csv")) as path:
        run = run_check([Path(path)], default_policy_path())
    view = build_view(run)
    view.notes.append("Zürich — 東京 \u2028 ✓\r\n" * 5000)  # over several blocks
    _write_report(view, tmp_path / "report.html")
    expected = render_report(view).encode("utf-8")
    assert len(expected) > 3 << 16
    assert (tmp_path / "report.html").read_bytes() == expected
    # A template that fails halfway (a value that cannot be shown, in the last case, after
    # several blocks are written) leaves the report as it was, and no partial file.
    class Unshowable:
        def __str__(self) -> str:
            raise RuntimeError("cannot be shown")

    shown = view.cases[-1].findings
    shown[0] = dataclasses.replace(shown[0], message=Unshowable())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="cannot be shown"):
        _write_report(view, tmp_path / "report.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert (tmp_path / "report.html").read_bytes() == expected


def test_a_case_timeline_shows_events_at_one_time_in_event_id_order() -> None:
    """Two events of a case at one time are judged in event-id order (canonical.EVENT_ORDER);
    the report's timeline showed them in file order, so a case whose events `z1` (B) and
    `a1` (A) share a time read B before A beside a check that took A first."""
    import pandas as pd

    from audit import canonical as C
    from reports.view import _events_by_case

    log = pd.DataFrame({
        C.EVENT_ID: ["z1", "a1", "c1", "x9"], C.CASE: ["K", "K", "K", "L"],
        C.ACTIVITY: ["B", "A", "C", "D"],
        C.TIMESTAMP: pd.to_datetime(["2026-09-01T10:00Z", "2026-09-01T10:00Z",
                                     "2026-09-01T12:00Z", "2026-09-01T09:00Z"])})
    events = _events_by_case(log, ["K"])
    assert list(events) == ["K"]
    assert [e[C.EVENT_ID] for e in events["K"]] == ["a1", "z1", "c1"]


CURRENCY_CASES = (("J1", "JPY", 15000), ("J2", "JPY", 20000), ("J3", "JPY", 9000),
                  ("E1", "EUR", 400), ("E2", "EUR", 300), ("E3", "EUR", 50),
                  ("E4", "EUR", 20), ("N1", "", 1859.93))
"""Payouts without an approval (AP001, critical, the payout at risk) in EUR (4 findings at
risk: first), JPY (3) and no currency (1)."""


@pytest.fixture(scope="module")
def currencies_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from audit.checkrun import run_check
    from tests.test_report_totals import case_rows, write_log, write_policy

    folder = tmp_path_factory.mktemp("currencies")
    log = write_log(folder / "log.csv", *(
        case_rows(cid, currency, amount, day=day, skip=("Approve refund",))
        for day, (cid, currency, amount) in enumerate(CURRENCY_CASES, start=1)))
    return run_check([log], write_policy(folder / "policy.yaml"))


def test_findings_are_listed_and_chosen_by_currency_never_by_raw_amounts_across_them(
        currencies_run: Any) -> None:
    """A rule's findings are listed, and the listed ones chosen, by currency group (the
    case list's order) and then amount in it: 20,000 JPY is not more than 400.00 EUR
    (before: the three JPY findings were the three listed, by their raw amounts)."""
    from reports.view import build_view

    ap001 = next(r for r in build_view(currencies_run).rules if r.code == "AP001")
    assert [f.case_id for f in ap001.findings] == [
        "E1", "E2", "E3", "E4", "J2", "J1", "J3", "N1"]
    assert [f.currency_rank for f in ap001.findings] == [0] * 4 + [1] * 3 + [2]
    capped = next(r for r in build_view(currencies_run, max_findings_per_rule=3).rules
                  if r.code == "AP001")
    assert [f.case_id for f in capped.findings] == ["E1", "E2", "E3"]
    # Findings without an amount at risk (CF001) after every currency, by case.
    cf001 = next(r for r in build_view(currencies_run).rules if r.code == "CF001")
    assert [f.case_id for f in cf001.findings] == sorted(c for c, _, _ in CURRENCY_CASES)


def test_sorting_findings_by_amount_at_risk_never_mixes_currencies(
        browser: Browser, currencies_run: Any, tmp_path: Path) -> None:
    """Clicking "At risk" sorts by currency (the case list's order), then by amount, in
    either direction (before: by raw amounts, JPY among EUR)."""
    from reports.html import render_report
    from reports.view import build_view

    page = tmp_path / "report.html"
    page.write_text(render_report(build_view(currencies_run)), encoding="utf-8")
    browser.open(page.as_uri())
    assert browser.console_problems() == []
    orders = browser.evaluate("""(() => {
        const table = document.querySelector('table.findings[data-rule=AP001]');
        const button = [...table.tHead.rows[0].cells].find(
            th => th.textContent.trim() === 'At risk').querySelector('button');
        const read = () => [...table.tBodies[0].rows].map(r => r.cells[4].textContent.trim());
        button.click();
        const up = read();
        button.click();
        return [up, read()];
    })()""")
    up, down = orders
    assert up[:7] == ["20.00 EUR", "50.00 EUR", "300.00 EUR", "400.00 EUR", "9,000 JPY",
                      "15,000 JPY", "20,000 JPY"]
    assert down[:7] == ["400.00 EUR", "300.00 EUR", "50.00 EUR", "20.00 EUR", "20,000 JPY",
                        "15,000 JPY", "9,000 JPY"]
    assert up[7].startswith("1,859.93") and down[7] == up[7]  # no currency: its own, last


def test_a_finding_without_a_currency_says_so_in_the_findings_table(
        browser: Browser, currencies_run: Any, tmp_path: Path) -> None:
    """A finding with no currency shows "(no currency)" beside its amount, as the money
    cards and the case list do (before: a bare 1,859.93); with no filter, the status
    counts the rules whose findings it shows, not a section with none."""
    from reports.html import render_report
    from reports.view import build_view

    view = build_view(currencies_run)
    page = tmp_path / "report.html"
    page.write_text(render_report(view), encoding="utf-8")
    browser.open(page.as_uri())
    state = browser.evaluate("""(() => {
        const row = [...document.querySelectorAll('table.findings[data-rule=AP001] tbody tr')]
            .find(r => r.cells[1].textContent.trim() === 'N1');
        return {amount: row.cells[4].textContent.trim(),
                status: document.getElementById('filter-status').textContent};
    })()""")
    assert state["amount"] == "1,859.93 (no currency)"
    with_findings = [r.code for r in view.rules if r.findings]
    assert len(with_findings) == 2 < len(view.rules)
    assert "in 2 rules" in state["status"]


def test_the_status_counts_the_findings_and_cases_the_report_does_not_list(
        browser: Browser, currencies_run: Any, tmp_path: Path) -> None:
    """With 3 findings listed per rule and 2 cases detailed (of 16 findings in 8 cases),
    the status says how many of the rule's findings are listed and how many are only in
    findings.csv; a search for a case neither listed nor detailed says the search covers
    only what is listed (before: "0 open findings shown in 0 rules", as if it had none);
    the case list says how many detailed cases match, and how many are not detailed."""
    from reports.html import render_report
    from reports.view import build_view

    page = tmp_path / "report.html"
    page.write_text(render_report(build_view(currencies_run, max_findings_per_rule=3,
                                             max_cases=2)), encoding="utf-8")
    browser.open(page.as_uri())
    assert browser.console_problems() == []
    read = """(() => {
        const s = document.getElementById('filter-status');
        const c = document.getElementById('case-filter-status');
        return {status: s.textContent, open: s.dataset.openTotal, unlisted: s.dataset.unlisted,
                cases: c.textContent, shown: c.dataset.shown, missing: c.dataset.missing,
                visible: [...document.querySelectorAll('details.case')]
                    .filter(d => d.getClientRects().length > 0).length};
    })()"""

    def set_filter(element: str, value: str, event: str) -> dict[str, Any]:
        browser.evaluate(f"""(() => {{
            const e = document.getElementById({json.dumps(element)});
            e.value = {json.dumps(value)};
            e.dispatchEvent(new Event({json.dumps(event)}));
        }})()""")
        state: dict[str, Any] = browser.evaluate(read)
        return state

    state = browser.evaluate(read)
    assert state["status"] == ("6 of 16 open findings listed in 2 rules (10 not in this "
                               "report: see findings.csv)")
    assert (state["open"], state["unlisted"]) == ("16", "10")
    assert state["cases"] == ("All 2 detailed cases shown. Of the 8 cases with findings, 6 "
                              "are not detailed in this report: see findings.csv.")
    # J3's findings are neither listed (AP001 lists E1-E3; CF001 E1-E3) nor detailed.
    state = set_filter("filter-text", "J3", "input")
    assert state["status"] == (
        "No finding listed here matches the search. The search covers only the findings "
        "and cases listed in this report; 10 findings of these rules are not listed: "
        "search findings.csv for them")
    assert state["cases"] == (
        "0 of the 2 detailed cases match the filters. Of the 8 cases with findings, 6 are "
        "not detailed in this report (nor searched): see findings.csv.")
    assert state["visible"] == 0
    set_filter("filter-text", "", "input")
    state = set_filter("filter-rule", "AP001", "change")
    assert state["status"] == ("3 of 8 open findings listed in 1 rule (5 not in this "
                               "report: see findings.csv)")
    assert state["cases"] == (
        "2 of the 2 detailed cases match the filters. Of the 8 cases with a finding of "
        "AP001, 6 are not detailed in this report: see findings.csv.")
    assert (state["shown"], state["missing"], state["visible"]) == ("2", "6", 2)
    # A severity no finding has: nothing listed, nothing missing.
    state = set_filter("filter-severity", "0", "change")
    assert state["status"].startswith("3 of 8 open findings")  # info or worse: all
    state = set_filter("filter-rule", "", "change")
    state = set_filter("filter-severity", "4", "change")
    assert state["status"] == ("3 of 8 open findings listed in 1 rule (5 not in this "
                               "report: see findings.csv)")  # critical: AP001's


def test_a_filtered_view_prints_a_banner_naming_its_filters(
        browser: Browser, currencies_run: Any, tmp_path: Path) -> None:
    """The print hides the controls and the status: a filtered view printed with no sign
    it was filtered. A banner, shown in print only, names the filters and what they show;
    none without a filter."""
    from reports.html import render_report
    from reports.view import build_view

    page = tmp_path / "report.html"
    page.write_text(render_report(build_view(currencies_run, max_findings_per_rule=3,
                                             max_cases=2)), encoding="utf-8")
    browser.open(page.as_uri())
    banners = """[...document.querySelectorAll('.print-filters')]
        .filter(b => b.getClientRects().length > 0).map(b => b.textContent)"""
    try:
        browser.page("Emulation.setEmulatedMedia", media="print")
        assert browser.evaluate(banners) == []
        shown = browser.evaluate(f"""(() => {{
            const rule = document.getElementById('filter-rule');
            rule.value = 'AP001';
            rule.dispatchEvent(new Event('change'));
            const waived = document.getElementById('filter-waived');
            waived.checked = false;
            waived.dispatchEvent(new Event('change'));
            return {banners};
        }})()""")
    finally:
        browser.page("Emulation.setEmulatedMedia", media="")
    assert len(shown) == 2 and shown[0] == shown[1]
    assert shown[0] == (
        "Filtered view: rule AP001 missing-approval (8); waived findings hidden. Findings: "
        "3 of 8 open findings listed in 1 rule (5 not in this report: see findings.csv). "
        "Cases: 2 of the 2 detailed cases match the filters. Of the 8 cases with an open "
        "finding of AP001, 6 are not detailed in this report: see findings.csv.")
    assert browser.evaluate(banners) == []  # on screen: the controls say it
    assert browser.console_problems() == []


LONG_NAME = "svc-" + "refund-batch-processor-eu-west-1-" * 4 + "x" * 26
"""A resource name of 162 characters without a space (a service account's)."""


def test_long_amounts_and_names_stay_in_their_boxes_and_jumps_clear_the_controls(
        browser: Browser, tmp_path: Path) -> None:
    """At 1280 px: money cards of 16,450,663 CLP and 10,533.576 KWD stay in their boxes and
    the page does not scroll sideways; a 162-character resource name wraps in the findings
    table (it made tables 2,200-3,400 px wide) while times and amounts stay on one line;
    a rule section jumped to shows its heading below the sticky filter controls."""
    from tests.test_report_totals import case_rows, write_log, write_policy

    cases = [case_rows("K1", "CLP", 16450663, payer=(LONG_NAME, "payments"),
                       skip=("Approve refund",)),
             case_rows("K2", "KWD", 10533.576, day=2, payer=(LONG_NAME, "payments"),
                       skip=("Approve refund",))]
    log = write_log(tmp_path / "log.csv", *cases)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--policy",
                                     str(write_policy(tmp_path / "policy.yaml")),
                                     "--out", str(out), "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    browser.open((out / "report.html").as_uri())
    assert LONG_NAME in browser.evaluate("document.body.textContent")
    state = browser.evaluate("""(() => {
        const main = document.querySelector('main').getBoundingClientRect();
        const rows = [...document.querySelectorAll('table.findings tbody tr')];
        return {
          page: document.documentElement.scrollWidth,
          spilling: [...document.querySelectorAll('.card')]
            .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent.trim()),
          wide: [...document.querySelectorAll('table.data')]
            .map(t => t.getBoundingClientRect().right).filter(r => r > main.right + 1),
          long: rows.filter(r => r.textContent.includes('svc-refund')).length,
          wrapped: rows.filter(r => [r.cells[2], r.cells[4]].some(cell => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            return range.getClientRects().length > 1;  // a line box per line
          })).length,
        };
    })()""")
    assert state["page"] <= 1280
    assert state["spilling"] == []
    assert state["wide"] == []
    assert state["long"] >= 2 and state["wrapped"] == 0  # times on one line
    for code in ("AP001", "SL002"):
        top = browser.evaluate(f"""(async () => {{
            document.getElementById('rule-{code}').scrollIntoView();
            await new Promise(r => setTimeout(r, 200));
            return [document.getElementById('rule-{code}-title').getBoundingClientRect().top,
                    document.getElementById('filters').getBoundingClientRect().bottom];
        }})()""")
        assert top[0] >= top[1], code
    assert browser.console_problems() == []


def test_a_print_holds_the_event_tables_of_the_first_cases_only_and_says_so(
        browser: Browser, currencies_run: Any, tmp_path: Path) -> None:
    """Printing opened every case with its full event table (1,000 cases: 1,269 pages).
    A print shows every case's summary and findings, the event tables of the first
    `print_event_cases` cases (and of any the reader opened) only, and says so; after the
    print the page is as it was."""
    from reports.html import render_report
    from reports.view import build_view

    view = build_view(currencies_run)
    view.print_event_cases = 3
    page = tmp_path / "report.html"
    page.write_text(render_report(view), encoding="utf-8")
    browser.open(page.as_uri())
    browser.evaluate("document.querySelectorAll('details.case')[5].open = true")
    seen = """(() => [...document.querySelectorAll('details.case')].map(d => [
        d.open, d.querySelector('ul.case-findings').getClientRects().length > 0,
        d.querySelector('table.events').getClientRects().length > 0]))()"""
    note = "document.getElementById('print-cases-note')"
    try:
        browser.page("Emulation.setEmulatedMedia", media="print")
        browser.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        printed = browser.evaluate(seen)
        text = browser.evaluate(f"{note}.getClientRects().length ? {note}.textContent : ''")
        browser.evaluate("window.dispatchEvent(new Event('afterprint'))")
    finally:
        browser.page("Emulation.setEmulatedMedia", media="")
    assert len(printed) == 8
    assert all(is_open and findings for is_open, findings, _ in printed)
    assert [events for *_, events in printed] == [True, True, True, False, False, True,
                                                  False, False]
    assert text == ("Printed: the events of the first 3 cases shown (and of any opened); "
                    "the other 4 cases are printed with their findings only: report.html "
                    "shows their events.")
    after = browser.evaluate(seen)
    assert [is_open for is_open, *_ in after] == [False] * 5 + [True] + [False] * 2
    assert browser.evaluate(f"{note}.hidden")
    assert browser.console_problems() == []


def test_rule_totals_count_each_rules_findings_by_severity_and_its_cases() -> None:
    """`_rule_totals` (the page's per-rule totals, in numpy) against counts in Python, on
    random findings with waived ones and cases with several findings of a rule."""
    import random

    from audit.findings import SEVERITIES, Finding, finding_columns
    from reports.view import _rule_totals

    rng = random.Random(3)
    findings = [Finding(rule=rng.choice(["AP001", "SD001", "CF003"]), name="x",
                        severity=rng.choice(SEVERITIES), case_id=f"C{rng.randrange(60)}",
                        event_ids=[], activities=[], resources=[], timestamp=None,
                        message="", waived=rng.random() < 0.3) for _ in range(500)]
    totals = _rule_totals(finding_columns(findings))
    for code in ("AP001", "SD001", "CF003"):
        mine = [f for f in findings if f.rule == code]
        opened, waived, cases_all, cases_open = totals[code]
        assert opened.tolist() == [sum(1 for f in mine if not f.waived and f.severity == s)
                                   for s in SEVERITIES]
        assert waived.tolist() == [sum(1 for f in mine if f.waived and f.severity == s)
                                   for s in SEVERITIES]
        assert cases_all == len({f.case_id for f in mine})
        assert cases_open == len({f.case_id for f in mine if not f.waived})
    assert _rule_totals(finding_columns([])) == {}


A4_WIDTH = round((210 - 2 * 12) / 25.4 * 96)
"""The width in CSS px of an A4 page inside the print stylesheet's margins (703)."""
A4_HEIGHT = int((297 - 2 * 14) / 25.4 * 96)
"""Its height (1016)."""


def print_layout(browser: Browser, page: Path, script: str) -> Any:
    """`script` evaluated in `page` laid out as Chromium prints it on A4: the print media,
    the page's width, after the page's own beforeprint (which opens the details)."""
    browser.open(page.as_uri(), width=A4_WIDTH, height=A4_HEIGHT)
    try:
        browser.page("Emulation.setEmulatedMedia", media="print")
        browser.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        return browser.evaluate(script)
    finally:
        browser.evaluate("window.dispatchEvent(new Event('afterprint'))")
        browser.page("Emulation.setEmulatedMedia", media="")


def test_a_print_fits_the_width_of_an_a4_page(browser: Browser, demo: Path) -> None:
    """The findings tables were 846 px wide on a 703 px A4 page (times, amounts and the
    header cells on one line, the evidence at least 180 px): Chromium then shrinks every
    page of the print to 83% to fit them, and cuts what is wider than 1.5 pages. On paper
    nothing is wider than the page."""
    wide = print_layout(browser, demo / "report.html", """(() => {
        const right = document.querySelector('main').getBoundingClientRect().right;
        return [...document.querySelectorAll('main table, main figure, main dl, main p')]
          .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > right + 1)
          .map(e => e.tagName + '.' + e.className + ' '
                    + Math.round(e.getBoundingClientRect().width));
    })()""")
    assert wide == []
    assert browser.console_problems() == []


def test_a_printed_graph_fits_on_one_page(browser: Browser, demo: Path) -> None:
    """A tall SOP graph (the demo's offline SOP: 1,221 px on a page of 1,016) was cut in
    two by the page break, after a page left blank (a figure is not split where it can be
    kept whole). Printed, every graph with its caption fits on one page, drawn whole."""
    figures = print_layout(browser, demo / "report.html", """(() => {
        const right = document.querySelector('main').getBoundingClientRect().right;
        return [...document.querySelectorAll('figure.graph')]
          .filter(f => f.getClientRects().length).map(f => {
            const svg = f.querySelector('svg').getBoundingClientRect();
            return [f.id || f.closest('details').id,
                    Math.round(f.getBoundingClientRect().height), Math.round(svg.height),
                    svg.right <= right + 1, svg.width > 100];
          });
    })()""")
    assert {f[0] for f in figures} >= {"graph-dfg", "graph-sop-offline"}
    assert [f for f in figures if f[1] > A4_HEIGHT] == []
    assert all(inside and drawn for *_, inside, drawn in figures)
    assert browser.console_problems() == []


LOW_CONTRAST = """(() => {
  // Each text of the page whose colour against its background (after any opacity on the
  // way) is under WCAG's AA minimum: 4.5:1, or 3:1 for large text.
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const blend = (a, b, t) => [0, 1, 2].map(i => a[i] * t + b[i] * (1 - t)).concat([1]);
  const lum = c => { const f = v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const bgOf = e => { for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor); if (c[3] > 0) return [n, c]; }
    return [null, [255, 255, 255, 1]]; };
  const low = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('svg') || !e.getClientRects().length) continue;
    if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const s = getComputedStyle(e);
    let fg = parse(s.color), opacity = 1, group = null;
    for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
      const o = parseFloat(getComputedStyle(n).opacity); if (o < 1) { opacity *= o; group = n; } }
    let [bgElement, bg] = bgOf(e);
    fg = blend(fg, bg, fg[3]);
    if (opacity < 1) {
      const inside = bgElement && group.contains(bgElement);
      const backdrop = inside ? bgOf(group.parentElement)[1] : bg;
      fg = blend(fg, backdrop, opacity);
      if (inside) bg = blend(bg, backdrop, opacity);
    }
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    if (ratio(fg, bg) < need) low.push(e.className + ' ' + e.textContent.trim().slice(0, 40)
                                        + ' ' + ratio(fg, bg).toFixed(2));
  }
  return low;
})()"""


def test_severity_badges_and_waived_findings_are_legible(browser: Browser, demo: Path,
                                                         tmp_path: Path) -> None:
    """The medium badge was white on #d97706 (3.2:1) and a waived finding's row was drawn
    at 65% opacity (its evidence, events and waiver reason 2.9:1, its badge 3.1:1): under
    WCAG's 4.5:1 for text this size. Every text of the report meets it."""
    from tests.test_report_totals import case_rows, write_log, write_policy

    log = write_log(tmp_path / "log.csv", case_rows("C1", "EUR", 100),
                    case_rows("C5", "EUR", 80, day=5, requester=("Carl", "supervisor"),
                              approver=("Carl", "supervisor")))
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--policy",
                                     str(write_policy(tmp_path / "policy.yaml", ("C5",))),
                                     "--out", str(out), "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    seen: set[str] = set()
    for page in (demo / "report.html", out / "report.html"):
        browser.open(page.as_uri())
        browser.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        seen.update(browser.evaluate("""[...document.querySelectorAll('.sev, tr.waived')]
            .filter(e => e.getClientRects().length).map(e => e.className)"""))
        assert browser.evaluate(LOW_CONTRAST) == [], page
    assert {"sev sev-medium", "waived"} <= seen


def test_a_finding_an_expired_waiver_no_longer_waives_shows_it_under_its_message(
        browser: Browser, tmp_path: Path) -> None:
    """A finding whose waiver expired before the clock is open; before, its row in the
    findings table said nothing of that waiver (only the waiver table and a warning did).
    Its message now has the waiver's reason, who approved it and when it expired under
    it, shown in the open row (not greyed as a waived one), legible, the row's filters
    unchanged."""
    from tests.test_expired_waivers import EXPIRED_REASON, check, expired_waiver_run

    plain = check(tmp_path / "plain")[1]
    out, lapsed, _, _ = expired_waiver_run(plain, tmp_path)
    browser.open((out / "report.html").as_uri())
    browser.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    shown = browser.evaluate("""[...document.querySelectorAll('tr .waiver-expired')]
        .filter(e => e.getClientRects().length).map(e => {
          const row = e.closest('tr');
          return [row.querySelector('.case-ref').textContent, row.getAttribute('data-rule'),
                  row.getAttribute('data-waived'), row.className, e.textContent]; })""")
    trace = f"{EXPIRED_REASON} (approved by Head of Internal Audit, expired 2026-09-30)"
    assert shown == [[f["case_id"], f["rule"], "false", "", f"Waiver expired: {trace}"]
                     for f in lapsed]
    # (the Waivers table's row of the expired waiver, class waiver-expired too, keeps its
    # table's type and colour: the finding's line was styled by an unscoped rule that
    # greyed those rows, the ones most needing attention)
    rows = browser.evaluate("""[...document.querySelectorAll('tr.waiver-expired')].map(r =>
        [getComputedStyle(r).fontSize, getComputedStyle(r.parentElement).fontSize,
         getComputedStyle(r).color, getComputedStyle(r.parentElement).color])""")
    assert rows and all(a == b and c == d for a, b, c, d in rows), rows
    assert browser.evaluate(LOW_CONTRAST) == []
    assert browser.console_problems() == []


def test_a_screen_reader_is_given_every_heading_and_case_of_the_report(
        browser: Browser, demo: Path) -> None:
    """Each rule's section and each case were drawn only near the screen (CSS
    content-visibility: auto, for speed); Chromium leaves what is not drawn out of the
    accessibility tree, so a screen reader listed 14 of the demo's headings (no rule's,
    none below the first screen) and no case past it. The bulky parts (findings and
    event tables) are still drawn on demand; every heading and case summary is there."""
    browser.open((demo / "report.html").as_uri())
    browser.page("Accessibility.enable")
    try:
        root = browser.page("DOM.getDocument", depth=0)["root"]["nodeId"]
        headings = browser.page("Accessibility.queryAXTree", nodeId=root,
                                role="heading")["nodes"]
        summaries = browser.page("DOM.querySelectorAll", nodeId=root,
                                 selector="details.case > summary")["nodeIds"]
        exposed = [not browser.page("Accessibility.getPartialAXTree", nodeId=node,
                                    fetchRelatives=False)["nodes"][0].get("ignored")
                   for node in summaries]
    finally:
        browser.page("Accessibility.disable")
    shown = browser.evaluate("""[...document.querySelectorAll('h1, h2, h3, h4')]
        .filter(h => !h.closest('details:not([open])')).map(h => h.textContent)""")
    named = [" ".join(h.get("name", {}).get("value", "").split()) for h in headings]
    assert len(named) == len(shown) > 30
    assert "AP001 missing-approval CRITICAL 3 findings" in named
    assert len(exposed) == 75 and all(exposed)


def test_a_graph_is_an_image_named_by_its_caption(browser: Browser, demo: Path) -> None:
    """A screen reader was given each graph as an unnamed SVG holding groups named by
    Graphviz's node ids ("a3", "start->a3", "cluster_lane0"). Each graph is now an image
    named by its figure's caption (the title, what it shows; the case's events are its
    table)."""
    browser.open((demo / "report.html").as_uri())
    browser.evaluate("document.querySelector('details.case').open = true")
    browser.page("Accessibility.enable")
    try:
        nodes = browser.page("Accessibility.getFullAXTree")["nodes"]
    finally:
        browser.page("Accessibility.disable")
    named = [(n.get("role", {}).get("value"), " ".join(n.get("name", {}).get(
        "value", "").split())) for n in nodes if not n.get("ignored")]
    captions = browser.evaluate("""[...document.querySelectorAll('figure.graph')]
        .filter(f => !f.closest('details:not([open])'))
        .map(f => f.querySelector('figcaption').textContent.split(/\\s+/).join(' ').trim())""")
    assert len(captions) == 5 and captions[-1].startswith("Evidence graph of ")
    images = [name for role, name in named if role == "image"]
    assert images == captions
    assert [x for x in named if x[1] in ("a3", "start->a3", "dfg", "sop")] == []


def test_every_table_has_a_name_for_a_screen_reader(browser: Browser, demo: Path) -> None:
    """A screen reader's list of tables read 'table' 30 times over (the overview's tables,
    each rule's findings, each case's events): none but the money lists had a name. Each is
    named by its heading, a rule's findings table by the rule."""
    browser.open((demo / "report.html").as_uri())
    browser.evaluate("document.querySelector('details.case').open = true")
    names = []
    browser.page("Accessibility.enable")
    try:
        # (a table is drawn, and given to a screen reader, near the screen)
        for place in ("#overview", "#rule-AP001", "details.case"):
            browser.evaluate(f"""new Promise(r => {{
                document.querySelector({place!r}).scrollIntoView();
                requestAnimationFrame(() => setTimeout(r, 100)); }})""")
            names += [" ".join(n.get("name", {}).get("value", "").split())
                      for n in browser.page("Accessibility.getFullAXTree")["nodes"]
                      if not n.get("ignored") and n.get("role", {}).get("value") == "table"]
    finally:
        browser.page("Accessibility.disable")
    assert len(set(names)) >= 10 and "" not in names, names
    for expected in ("Findings by severity", "Findings counted by rule", "Conformance to the SOP",
                     "Top deviations from the SOP", "Inputs",
                     "AP001 missing-approval CRITICAL 3 findings"):
        assert expected in names
    case = browser.evaluate("document.querySelector('details.case .case-id').textContent")
    assert f"Events of case {case}" in names
    # A screen reader's list of headings down to the rules' and sections': each once (the
    # overview's table of counts and the section of findings were both "Findings by rule").
    headings = browser.evaluate("""[...document.querySelectorAll('h1, h2, h3')]
        .map(h => h.textContent.replace(/\\s+/g, ' ').trim())""")
    assert len(headings) > 20 and len(set(headings)) == len(headings), headings


def test_a_print_without_the_script_holds_every_rule_text_and_case_finding(
        browser: Browser, demo: Path, tmp_path: Path) -> None:
    """Collapsed parts were printed only because the page's script opens them before a
    print: where scripts are blocked (a locked-down browser, a viewer), the demo printed
    48 pages instead of 100, without each rule's example, options and references or any
    case's findings, and said nothing. Without the script a print holds them, each case's
    events are left out and a note says so; with it, the note is not shown."""
    text = (demo / "report.html").read_text(encoding="utf-8")
    start = text.rindex("<script>")
    blocked = tmp_path / "report.html"
    blocked.write_text(text[:start] + text[text.index("</script>", start) + 9:],
                       encoding="utf-8")
    seen = """(() => {
        const shown = q => [...document.querySelectorAll(q)].filter(e => e.checkVisibility());
        const note = shown('#print-script-note');
        return [shown('details.more-docs .doc').length, shown('ul.case-findings').length,
                shown('table.events').length, note.length ? note[0].textContent : null,
                document.querySelectorAll('details.more-docs .doc').length,
                document.querySelectorAll('ul.case-findings').length];
    })()"""
    *printed, docs, cases = print_layout(browser, blocked, seen)
    assert docs > 40 and cases == 75
    assert printed == [docs, cases, 0, (
        "Printed without the report's script (blocked here): each case with its findings; "
        "report.html shows a case's events when it is opened.")]
    assert print_layout(browser, demo / "report.html", seen)[:4] == [docs, cases, 50, None]


def test_a_long_case_id_wraps_on_screen_and_on_paper(browser: Browser, tmp_path: Path) -> None:
    """A case id of 162 characters without a space or hyphen (a generic CSV's key) was
    kept on one line in its case's summary, past the edge of a 1,280 px screen and of the
    A4 page (where Chromium prints every page smaller and still cuts it)."""
    from tests.test_report_totals import case_rows, write_log, write_policy

    case_id = "K" + "0123456789abcdef" * 10 + "z"
    log = write_log(tmp_path / "log.csv", case_rows(case_id, "EUR", 120,
                                                    skip=("Approve refund",)))
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--policy",
                                     str(write_policy(tmp_path / "policy.yaml")),
                                     "--out", str(out), "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    wide = """(() => {
        const right = document.querySelector('main').getBoundingClientRect().right;
        return [...document.querySelectorAll('main *')]
          .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > right + 1)
          .map(e => e.tagName + '.' + e.className);
    })()"""
    browser.open((out / "report.html").as_uri())
    assert browser.evaluate("document.querySelector('.case-id').textContent") == case_id
    assert browser.evaluate(wide) == []
    assert print_layout(browser, out / "report.html", wide) == []


def test_a_printed_findings_table_keeps_each_case_id_on_one_line(browser: Browser,
                                                                 demo: Path) -> None:
    """A findings table squeezed onto an A4 page gave its Case column 60 px and broke the
    ids in it anywhere ("CS00/0008/5", "CS00/00235"): the ids of 73 of the demo's 93
    findings, ids a committee cites. Printed, each case id of a findings table is on one
    line (an id longer than 9em still wraps: the test above)."""
    broken = print_layout(browser, demo / "report.html", """(() => {
        const cells = [...document.querySelectorAll('table.findings tbody td:nth-child(2)')];
        const lines = cell => {  // the tops of the lines its text is drawn on
          const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT), tops = new Set();
          for (let text = walk.nextNode(); text; text = walk.nextNode()) {
            const range = document.createRange();
            range.selectNodeContents(text);
            for (const r of range.getClientRects()) tops.add(Math.round(r.top));
          }
          return tops.size;
        };
        return [cells.length, cells.filter(cell => lines(cell) > 1)
                                   .map(cell => cell.textContent.trim())];
    })()""")
    assert broken == [93, []]
    assert browser.console_problems() == []


def test_printed_names_break_between_their_words(browser: Browser, demo: Path) -> None:
    """Squeezed onto an A4 page, a table's cells broke their words anywhere: the channel
    table's "subscriptio/n", a case's events' "zen/des/k", "custom/er-/service",
    "supervi/sor". Printed, a channel, person, role or source system breaks between its
    words (or at a hyphen); a word longer than 9em still breaks, so that no table is wider
    than the page (test_a_print_fits_the_width_of_an_a4_page)."""
    cells, split = print_layout(browser, demo / "report.html", """(() => {
  // the words of the channel table's channels and of the events tables' Resource, Role and
  // Source cells that are drawn on more than one line
  const cells = [...document.querySelectorAll('#channel-table tbody td:nth-child(1)')];
  for (const t of document.querySelectorAll('table.events')) {
    if (!t.getClientRects().length) continue;
    for (const row of t.tBodies[0].rows) cells.push(row.cells[3], row.cells[4], row.cells[6]);
  }
  const split = new Set();
  for (const cell of cells) {
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let text = walk.nextNode(); text; text = walk.nextNode()) {
      for (const m of text.textContent.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) split.add(m[0]);
      }
    }
  }
  return [cells.length, [...split].sort()];
})()""")
    assert cells > 300
    assert split == []
    assert browser.console_problems() == []


def _page_footers(pdf: bytes) -> list[bytes]:
    """Per page of a PDF that Chromium printed on A4, the glyphs of the texts it draws in
    the page's bottom margin. Chromium draws the margin boxes in the page's own coordinates
    (a `cm` with no translation, CSS px from the top: `1 0 0 -1 x y Tm`), the page's
    content in coordinates moved by the margins and the content printed before."""
    import re
    import zlib

    margin_top = (297 - 14) / 25.4 * 96  # px from the top: 1,069.6
    objects = {int(m.group(1)): m.end() for m in re.finditer(rb"(\d+) 0 obj\b", pdf)}
    footers = []
    for page in re.finditer(rb"/Type /Page\b(?!s).*?/Contents (\d+) 0 R", pdf, re.S):
        start = pdf.index(b"stream", objects[int(page.group(1))]) + len(b"stream")
        start += 2 if pdf[start:start + 2] == b"\r\n" else 1
        content = zlib.decompress(pdf[start:pdf.index(b"endstream", start)])
        parts = re.split(rb"([-\d.]+ 0 0 [-\d.]+ ([-\d.]+) ([-\d.]+) cm)", content)
        glyphs = b""
        for k in range(1, len(parts) - 3, 4):  # (cm, x, y, what follows it)
            in_page = float(parts[k + 1]) == 0 and float(parts[k + 2]) == 0
            if in_page and any(float(y) > margin_top for y in re.findall(
                    rb"1 0 0 -1 [-\d.]+ ([-\d.]+) Tm", parts[k + 3])):
                glyphs += b"".join(re.findall(rb"<[0-9A-F]*> Tj", parts[k + 3]))
        footers.append(glyphs)
    return footers


def test_printed_pages_are_numbered(browser: Browser, demo: Path) -> None:
    """A committee reads a print by page ("see page 12"): the pages had no numbers (a PDF
    saved with the browser's headers and footers off, or printed by a script, had none;
    with them on, the report's local file path on every page). Each page says its number
    and the count of pages in its bottom margin."""
    browser.open((demo / "report.html").as_uri())
    pdf = browser.print_pdf(ARTIFACTS / "report-print-numbered.pdf").read_bytes()
    footers = _page_footers(pdf)
    assert len(footers) > 50
    assert [i for i, footer in enumerate(footers, start=1) if not footer] == []
    assert len(set(footers)) == len(footers)  # each page its own number


def _pdf_reader(pdf: bytes) -> tuple[Callable[[int], bytes], Callable[[int], dict[int, str]]]:
    """Of a PDF that Chromium printed: a function giving an object's stream, inflated, by
    its number, and one giving a font's ToUnicode map (glyph -> text) by its object's
    number, read once per font."""
    import re
    import zlib

    objects = {int(m.group(1)): m.end() for m in re.finditer(rb"(\d+) 0 obj\b", pdf)}

    def stream(number: int) -> bytes:
        start = pdf.index(b"stream", objects[number]) + len(b"stream")
        start += 2 if pdf[start:start + 2] == b"\r\n" else 1
        return zlib.decompress(pdf[start:pdf.index(b"endstream", start)])

    maps: dict[int, dict[int, str]] = {}

    def unicode_of(font: int) -> dict[int, str]:
        if font not in maps:
            head = pdf[objects[font]:pdf.index(b"endobj", objects[font])]
            ref = re.search(rb"/ToUnicode (\d+) 0 R", head)
            table: dict[int, str] = {}
            text = stream(int(ref.group(1))) if ref else b""
            for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
                for glyph, code in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                    table[int(glyph, 16)] = bytes.fromhex(code.decode()).decode("utf-16-be")
            for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
                for first, last, code in re.findall(
                        rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                    for k, glyph in enumerate(range(int(first, 16), int(last, 16) + 1)):
                        table[glyph] = chr(int(code, 16) + k)
            maps[font] = table
        return maps[font]

    return stream, unicode_of


def _page_texts(pdf: bytes) -> list[str]:
    """Per page of a PDF that Chromium printed, the text it draws, in drawing order and
    without white space (Chromium cuts a text into runs at each kerned pair and places the
    words of a line apart, so spaces are not drawn): each run's glyphs read through its
    font's ToUnicode map."""
    import re

    stream, unicode_of = _pdf_reader(pdf)

    pages = []
    for page in re.finditer(rb"/Type /Page\b(?!s)(.*?)endobj", pdf, re.S):
        fonts = {name: int(ref)
                 for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", page.group(1))}
        contents = re.search(rb"/Contents (\d+) 0 R", page.group(1))
        assert contents, "a page without its contents"
        text: list[str] = []
        table: dict[int, str] = {}
        drawn = stream(int(contents.group(1)))
        for m in re.finditer(rb"/(F\d+) [-\d.]+ Tf|<([0-9A-Fa-f]*)> Tj", drawn):
            if m.group(1):
                table = unicode_of(fonts[m.group(1)])
            else:
                run = m.group(2)
                text += [table.get(int(run[i:i + 4], 16), "\ufffd") for i in range(0, len(run), 4)]
        pages.append("".join(c for c in text if not c.isspace()))
    return pages


def test_a_findings_table_continued_on_a_page_names_every_column(browser: Browser,
                                                                 demo: Path) -> None:
    """Chromium repeats a table's header on each page the table spans, but draws no
    button there: a findings table continued on the next page was headed "What was found"
    and "Evidence" only (the sortable columns' names, buttons, were left out), on 17 pages
    of the demo's print. Each findings table's header names its seven columns on every page."""
    import re

    browser.open((demo / "report.html").as_uri())
    pages = _page_texts(browser.print_pdf(ARTIFACTS / "report-print-headers.pdf").read_bytes())
    headers = [(number, text[max(0, m.start() - 16):m.end() + 17])
               for number, text in enumerate(pages, start=1)
               for m in re.finditer("Whatwasfound", text)]
    rules = browser.evaluate("document.querySelectorAll('table.findings').length")
    assert len(headers) > rules  # tables continued on a next page, their header repeated
    assert [h for h in headers if h[1] != "SeverityCaseTimeWhatwasfoundAtriskWhoEvidence"] == []


def _page_lines(pdf: bytes) -> list[list[tuple[float, str]]]:
    """Per page of a PDF that Chromium printed on A4, its texts inside the page's margins,
    top first: each run's top in CSS px from the top of the page's content box, and its
    glyphs read through its font's ToUnicode map (as `_page_texts`, but placed: Chromium
    paints a table of `content-visibility` after the headings after it, so the drawing
    order is not the reading order). Positions follow the `q`/`Q`/`cm` graphics state."""
    import re

    stream, unicode_of = _pdf_reader(pdf)

    Matrix = tuple[float, float, float, float, float, float]

    def times(m: Matrix, n: Matrix) -> Matrix:
        return (m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3],
                m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3],
                m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5])

    token = re.compile(rb"<<.*?>>|<([0-9A-Fa-f]*)>|/([^\s/<>\[\]()]+)|([-+]?\d*\.?\d+)|"
                       rb"([A-Za-z'\"*]+)", re.S)
    page_top = 841.92 - 14 / 25.4 * 72  # the content box's top, in points from the bottom
    pages = []
    for page in re.finditer(rb"/Type /Page\b(?!s)(.*?)endobj", pdf, re.S):
        fonts = {name: int(ref)
                 for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", page.group(1))}
        contents = re.search(rb"/Contents (\d+) 0 R", page.group(1))
        assert contents, "a page without its contents"
        ctm: Matrix = (1, 0, 0, 1, 0, 0)
        saved: list[Matrix] = []
        numbers: list[float] = []
        name = b""
        table: dict[int, str] = {}
        top = 0.0
        runs: list[tuple[float, str]] = []
        for glyphs, word, number, operator in token.findall(stream(int(contents.group(1)))):
            if number:
                numbers.append(float(number))
                continue
            if word:
                name = word
            elif glyphs or not operator:
                pass
            elif operator == b"q":
                saved.append(ctm)
            elif operator == b"Q":
                ctm = saved.pop()
            elif operator == b"cm":
                ctm = times(tuple(numbers[-6:]), ctm)  # type: ignore[arg-type]
            elif operator == b"Tf":
                table = unicode_of(fonts[name])
            elif operator == b"Tm":
                top = (page_top - times(tuple(numbers[-6:]), ctm)[5]) / 0.75  # type: ignore[arg-type]
            if glyphs and 0 <= top <= A4_HEIGHT:
                runs.append((top, "".join(table.get(int(glyphs[i:i + 4], 16), "\ufffd")
                                          for i in range(0, len(glyphs), 4))))
            numbers = []
        pages.append(sorted(runs, key=lambda run: run[0]))
    return pages


@pytest.fixture(scope="module")
def demo_print(browser: Browser, demo: Path) -> list[list[tuple[float, str]]]:
    """The demo's report printed once on A4, its texts per page, placed."""
    browser.open((demo / "report.html").as_uri())
    return _page_lines(browser.print_pdf(ARTIFACTS / "report-print-placed.pdf").read_bytes())


def test_no_page_is_left_half_empty_before_a_findings_table(
        demo_print: list[list[tuple[float, str]]]) -> None:
    """A finding's row is often a third of a page high, and a row was printed whole: the
    page before a tall row was left empty below the previous one (AP001's docs alone on
    page 10 of 109, 354 px empty, its table on page 11; 196, 206 and 217 px before rows of
    CF001, SL002 and SD004). Rows break under their table's repeated header now: a page
    followed by one that starts with a findings table's header is filled to its last
    150 px (the rest of a row goes on the next page), but for a row Chromium does not split:
    SL002's first row (254 px under a header of 68, 2026-12-07, the demo of 97 pages) went
    whole to the next page with 205 px left, whatever the cells' orphans, widows and
    breaks (not explained; 210 px allowed). The demo printed on 109 pages, on 97 after
    the fix; 101 since receipt-reused's page of the rule catalogue (its documentation,
    2026-12-07): fewer than 105."""
    pages = demo_print
    assert len(pages) < 105
    ends = [max((top for top, _ in runs), default=0.0) for runs in pages]
    # (each page that starts with a findings table's header: the page before it, number
    # - 1, and what that page left empty at its foot)
    before_table = [(number - 1, round(A4_HEIGHT - ends[number - 2]))
                    for number, runs in enumerate(pages[1:], start=2)
                    if runs and runs[0][1].strip().startswith("Severity")]
    assert len(before_table) > 5
    assert [(number, empty) for number, empty in before_table if empty > 210] == []


def test_the_scope_is_printed_on_one_page(demo_print: list[list[tuple[float, str]]]) -> None:
    """The overview's Scope (the population, rows, inputs, policy, SOPs, clock: what the
    audit covered) was split between pages 1 and 2, inside its Population's sentence. Its
    facts are printed together, on one page."""
    labels = ("Scope", "Events dated", "Population", "Rows", "Inputs", "Policy", "SOP",
              "Rules run", "Audit clock")
    scope = [number for number, runs in enumerate(demo_print, start=1)
             if "".join(text for _, text in runs).replace(" ", "").find("ScopeEventsdated") >= 0
             or any(text.strip() == "Scope" for _, text in runs)]
    assert len(scope) == 1
    page = "".join(text for _, text in demo_print[scope[0] - 1]).replace(" ", "")
    assert [label for label in labels if label.replace(" ", "") not in page] == []


def test_printed_evidence_puts_each_value_on_its_keys_line(browser: Browser,
                                                           demo: Path) -> None:
    """Printed, a finding's evidence put each value under its key, on lines of their own
    ("currency" / "EUR"): two lines for each fact in a column 160 px wide, the findings'
    rows the taller. A value follows its key on the key's line now (and wraps under it
    where long)."""
    pairs = print_layout(browser, demo / "report.html", """(() =>
        [...document.querySelectorAll('td.evidence dt')].map(dt => Math.abs(
          dt.getClientRects()[0].top - dt.nextElementSibling.getClientRects()[0].top) < 2)
    )()""")
    assert len(pairs) > 250
    # (a key filling its line, "approvals_min_amount", has its value on the next)
    assert pairs.count(True) > 0.95 * len(pairs)  # none before
    assert browser.console_problems() == []


def test_every_table_is_laid_out_for_print_as_it_is_printed(browser: Browser,
                                                            demo: Path) -> None:
    """The print stylesheet's `.table-wrap { content-visibility: visible }` lost to the
    screen's `section.rule > .table-wrap` and `details.case > .table-wrap` (auto, more
    specific): in print a rule's and a case's table away from the screen were left to a
    placeholder's height (900 and 300 px) until measured, and the print tests measured
    only the tables Chromium had drawn. In print every table is laid out."""
    shown = print_layout(browser, demo / "report.html", """(() =>
        [...new Set([...document.querySelectorAll('.table-wrap')]
          .map(e => getComputedStyle(e).contentVisibility))])()""")
    assert shown == ["visible"]


def test_a_cases_events_take_less_paper(browser: Browser, demo: Path) -> None:
    """A case's events were printed in 10 columns at the screen's padding and type: an
    event id, a file name, a time wrapped on 3 to 5 lines, a row 77 px high on average
    (340 rows of the demo's 50 cases printed with their events). With less padding and a
    smaller type, still every column, a row is 54 px high."""
    shown, average = print_layout(browser, demo / "report.html", """(() => {
        const rows = [...document.querySelectorAll('table.events tbody tr')]
          .filter(r => r.getClientRects().length);
        const high = rows.reduce((sum, r) => sum + r.getBoundingClientRect().height, 0);
        return [rows.length, high / rows.length];
    })()""")
    assert shown > 300
    assert average < 65


def test_a_cases_events_are_printed_in_ink_and_their_column_names_whole(
        browser: Browser, demo: Path) -> None:
    """A case's table of events has the class `events`, as has a finding's list of its
    event ids, whose style (grey, words broken anywhere) it took: its every text was grey
    and, printed on A4, its column names broken inside a word ("Resou/rce", "Amou/nt",
    "Ro/w"), its source systems too ("zen/des/k"). Printed, no table's column name is
    broken inside a word, and a case's events are in the ink of the findings tables."""
    split = print_layout(browser, demo / "report.html", """(() => {
        const split = [];
        for (const th of document.querySelectorAll('main table thead th')) {
          if (!th.getClientRects().length) continue;
          const text = th.textContent, range = document.createRange();
          for (const m of text.matchAll(/\\S+/g)) {
            const node = [...th.querySelectorAll('*'), th].flatMap(e => [...e.childNodes])
              .find(n => n.nodeType === 3 && n.textContent.includes(m[0]));
            const at = node.textContent.indexOf(m[0]);
            range.setStart(node, at); range.setEnd(node, at + m[0].length);
            const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (lines.size > 1) split.push(m[0]);
          }
        }
        const ink = q => getComputedStyle(document.querySelector(q)).color;
        return [[...new Set(split)].sort(), ink('table.events tbody td'),
                ink('table.findings tbody td'),
                document.querySelectorAll('table.events').length];
    })()""")
    words, events_ink, findings_ink, tables = split
    assert tables == 75
    assert words == []
    assert events_ink == findings_ink == "rgb(31, 35, 40)"
    assert browser.console_problems() == []


def test_a_cases_channel_in_the_report_is_the_one_the_rules_judged_it_by(
        browser: Browser, tmp_path: Path) -> None:
    """report.html shows each case with the channel the rules judged it by (its ticket's,
    else the first its events state): on its case page, in the population's counts per
    channel, and on the SOP overlay, which draws each case on the SOP it was aligned on.
    Before, each of them read the events' own channels: A1 and A2 (a subscription purchase,
    an offline ticket, an ecommerce approval and payout) were shown as subscription cases
    and drawn on the ecommerce SOP too, and B (ecommerce stated on its purchase only) on
    none."""
    from tests.test_case_channel_everywhere import mixed_channels_log
    from tests.test_report_totals import write_policy

    log = mixed_channels_log(tmp_path / "log.csv")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--policy",
                                     str(write_policy(tmp_path / "policy.yaml")),
                                     "--out", str(out), "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    browser.open((out / "report.html").as_uri())
    shown = browser.evaluate("""Object.fromEntries([...document.querySelectorAll('details.case')]
        .map(c => [c.querySelector('.case-id').textContent,
                   (c.querySelector('summary .channel') || {}).textContent || '']))""")
    assert shown["A1"] == shown["A2"] == "offline", shown
    assert all(channel == ("offline" if case.startswith("A") else "ecommerce")
               for case, channel in shown.items()), shown
    population = browser.evaluate(
        "[...document.querySelectorAll('dt')].find(d => d.textContent === 'Population')"
        ".nextElementSibling.textContent.replace(/\\s+/g, ' ')")
    assert "(ecommerce 3, offline 2)" in population, population
    captions = browser.evaluate("""Object.fromEntries(['ecommerce', 'offline', 'subscription']
        .map(c => [c, (document.getElementById('graph-sop-' + c + '-caption') || {})
                       .textContent || '']))""")
    assert "The SOP of channel ecommerce (ecommerce.bpmn) with the 3 judged cases on it" \
        in captions["ecommerce"], captions
    assert "The SOP of channel offline (offline.bpmn) with the 2 judged cases on it" \
        in captions["offline"], captions
    assert captions["subscription"] == ""
    assert browser.console_problems() == []


def test_the_sop_graphs_legend_shows_the_scale_of_deviation(browser: Browser,
                                                            demo: Path) -> None:
    """An auditor's review: the SOP graph drew a task deviating in 1 of 141 cases in the
    same red as one deviating in most. The graph grades the share now, and its legend, on
    the graph and under it, shows the bands: each visible, its swatch in its band's fill."""
    from reports.overlay import BANDS, NO_DEVIATION

    browser.open((demo / "report.html").as_uri())
    shown = browser.evaluate("""(() => {
        const figure = document.getElementById('graph-sop-ecommerce');
        const legend = figure.querySelector('.graph-legend');
        const seen = e => { const r = e.getBoundingClientRect();
                            return r.width > 0 && r.height > 0; };
        return {
          title: legend.querySelector('p').textContent, visible: seen(legend),
          keys: [...legend.querySelectorAll('li')].map(li => [li.textContent.trim(),
                 getComputedStyle(li.querySelector('.swatch')).backgroundColor,
                 seen(li) && seen(li.querySelector('.swatch'))]),
          drawn: [...figure.querySelectorAll('svg text')].filter(seen)
                 .map(t => t.textContent),
        };
    })()""")
    assert shown["visible"] and "Share of the channel's 141 judged cases" in shown["title"]

    def rgb(colour: str) -> str:
        return "rgb({}, {}, {})".format(*(int(colour[k:k + 2], 16) for k in (1, 3, 5)))

    assert shown["keys"] == [[b.text, rgb(b.fill), True] for b in (NO_DEVIATION, *BANDS)]
    assert {"no deviation", *(b.text for b in BANDS),
            "Share of the channel's 141 judged cases"} <= set(shown["drawn"])
    assert any(text.startswith("deviates in 1 of 141 cases") for text in shown["drawn"])
    assert browser.console_problems() == []


def test_a_cases_quarantined_rows_are_named_in_its_details_and_its_findings(
        browser: Browser, tmp_path: Path) -> None:
    """A case with rows not imported: its details name them (file, row and what was wrong,
    the first five and how many more; a row quarantined for two fields once, with both),
    and each of its findings in the rules' tables counts them; a case without any shows
    neither. The file's name (markup-like here) is shown as text. Before, only the run's
    total was told."""
    from tests.test_case_quarantine import write_quarantined_log

    log = write_quarantined_log(tmp_path / "q<b>&amp;x<b>.csv")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["check", str(log), "--out", str(out),
                                     "--as-of", "2026-10-15T00:00:00Z", "--fail-on", "never"])
    assert done.exit_code == 0, done.output
    browser.open((out / "report.html").as_uri())
    assert browser.console_problems() == []
    cases = browser.evaluate("""Object.fromEntries([...document.querySelectorAll('details.case')]
        .map(c => { const q = c.querySelector('.case-quarantine');
                    return [c.querySelector('.case-id').textContent, q === null ? null : {
                      count: q.dataset.quarantined,
                      head: q.querySelector('p').textContent.replace(/\\s+/g, ' '),
                      rows: [...q.querySelectorAll('li')].map(
                          li => li.textContent.replace(/\\s+/g, ' ').trim()),
                      markup: q.querySelectorAll('b').length}]; }))""")
    assert cases["C2"] is None
    mine = cases["C1"]
    name = "q<b>&amp;x<b>.csv"
    number = ("not a plain decimal number (write 1234.56; set 'decimal'/'thousands' in a "
              "mapping file for other notations)")
    assert mine == {
        "count": "7",
        "head": "7 input rows of this case were quarantined, not imported: its findings may "
                "rest on incomplete records.",
        "rows": [f"{name} row 4: timestamp: not a timestamp in ISO 8601",
                 f"{name} row 5: amount: {number}",
                 f"{name} row 6: timestamp: not a timestamp in ISO 8601; amount: {number}",
                 f"{name} row 7: timestamp: not a timestamp in ISO 8601",
                 f"{name} row 8: timestamp: not a timestamp in ISO 8601",
                 "and 2 more (the quarantine's file lists every row)"],
        "markup": 0}
    told = browser.evaluate("""[...document.querySelectorAll('table.findings tbody tr')].map(
        r => [r.querySelector('td:nth-child(2)').textContent.trim(),
              (r.querySelector('td.evidence .quarantined') || {}).textContent || ''])""")
    assert {case for case, _ in told} == {"C1", "C2"}
    assert all(text == ("7 rows of the case quarantined, not imported (named in the case)"
                        if case == "C1" else "") for case, text in told), told


def test_the_channel_filter_shows_a_channels_findings_and_counts_those_not_listed(
        browser: Browser, tmp_path: Path) -> None:
    """The sample's report with 3 findings listed per rule and 5 cases detailed: choosing
    a channel shows only its findings and cases, and the status counts the channel's open
    findings (listed or not) and its cases with findings, as the canonical log's channel
    of each finding's case gives them; with a rule chosen too, those of the rule in the
    channel. The print banner names the channel; Reset clears it."""
    import pandas as pd

    from audit.checkrun import run_check
    from audit.policy import default_policy_path
    from reports.html import render_report
    from reports.view import build_view

    sample = REPO / "sample_logs" / "refund-sample"
    log = pd.read_csv(sample / "canonical.csv", dtype=str, keep_default_na=False)
    channel_of = log.groupby("case:concept:name")["refund:channel"].first().to_dict()
    run = run_check(sorted((sample / "exports").iterdir()), default_policy_path())
    findings = [(f.rule, f.case_id, channel_of[f.case_id]) for f in run.result.findings
                if not f.waived]
    page = tmp_path / "report.html"
    page.write_text(render_report(build_view(run, max_findings_per_rule=3, max_cases=5)),
                    encoding="utf-8")
    browser.open(page.as_uri())
    assert browser.console_problems() == []
    options = browser.evaluate("[...document.querySelectorAll('#filter-channel option')]"
                               ".map(o => [o.value, o.textContent])")
    assert options[0] == ["", "all channels"]
    assert sorted(v for v, _ in options[1:]) == ["=ecommerce", "=offline", "=subscription"]
    read = """(() => {
        const s = document.getElementById('filter-status');
        const c = document.getElementById('case-filter-status');
        const seen = el => el.getClientRects().length > 0;
        return {open: Number(s.dataset.openTotal), shown: Number(s.dataset.shown),
                status: s.textContent, cases: c.textContent,
                rows: [...document.querySelectorAll('table.findings tbody tr')].filter(seen)
                    .map(r => r.dataset.channel),
                details: [...document.querySelectorAll('details.case')].filter(seen)
                    .map(d => [...d.querySelectorAll('li')].map(li => li.dataset.channel)),
                banner: document.querySelector('.print-filters').textContent};
    })()"""

    def choose(element: str, value: str) -> dict[str, Any]:
        browser.evaluate(f"""(() => {{
            const e = document.getElementById({json.dumps(element)});
            e.value = {json.dumps(value)};
            e.dispatchEvent(new Event('change'));
        }})()""")
        state: dict[str, Any] = browser.evaluate(read)
        return state

    for channel in ("ecommerce", "subscription", "offline"):
        mine = [f for f in findings if f[2] == channel]
        cases = len({case for _rule, case, _channel in mine})
        state = choose("filter-channel", "=" + channel)
        assert state["open"] == len(mine) > state["shown"] > 0, channel
        assert state["rows"] and set(state["rows"]) == {channel}
        assert state["shown"] == len(state["rows"])
        assert all(set(lis) == {channel} for lis in state["details"])
        assert f"Of the {cases} cases with findings in channel {channel}, " \
            f"{cases - len(state['details'])} are not detailed" in state["cases"]
        assert f"channel {channel} (" in state["banner"]
        # The rule with the most findings in the channel, chosen too.
        rule = max(sorted({f[0] for f in mine}), key=lambda r: sum(f[0] == r for f in mine))
        state = choose("filter-rule", rule)
        assert state["open"] == sum(f[0] == rule for f in mine), (channel, rule)
        assert set(state["rows"]) <= {channel}  # (the rule's 3 listed may be of others)
        in_rule = len({case for r, case, _channel in mine if r == rule})
        assert f"Of the {in_rule} case{'s' if in_rule != 1 else ''} with a finding of " \
            f"{rule} in channel {channel}" in state["cases"]
        choose("filter-rule", "")
    browser.evaluate("document.getElementById('filter-reset').click()")
    state = browser.evaluate(read)
    assert state["open"] == len(findings)
    assert browser.evaluate("document.getElementById('filter-channel').value") == ""
    assert len(set(state["rows"])) == 3
    assert browser.console_problems() == []


def _words_of(iso: str) -> str:
    """An ISO 8601 duration as messages tell it ("P63DT16H11M" -> "63d 16h 11m"), read by
    pandas (independent of audit.words)."""
    import pandas as pd

    parts = pd.Timedelta(iso).components
    told = [f"{n}{unit}" for n, unit in ((parts.days, "d"), (parts.hours, "h"),
                                         (parts.minutes, "m"), (parts.seconds, "s")) if n]
    return " ".join(told) or "0s"


def test_the_evidence_durations_are_shown_in_words_with_their_iso_text_as_title(
        demo: Path) -> None:
    """The evidence's durations (approved-not-paid's waiting, sla-breach's took, open_for
    and sla, stage-overdue's stages' took and limit) read "P63DT16H11M" on the page after
    findings.json took ISO 8601 (before that, pandas' "63 days 16:11:00"): a committee
    reader wants words. They are shown in words as the messages tell them ("63d 16h 11m"),
    the ISO text in the element's title; findings.json keeps the ISO text."""
    document = json.loads((demo / "findings.json").read_text(encoding="utf-8"))
    page = etree.HTML((demo / "report.html").read_text(encoding="utf-8"))
    keys = {"EV003": ("waiting",), "SL001": ("took", "open_for", "sla")}
    expected: dict[str, set[str]] = {}
    stage_durations: set[str] = set()
    for finding in document["findings"]:
        for key in keys.get(finding["rule"], ()):
            if key in finding["evidence"]:
                expected.setdefault(key, set()).add(finding["evidence"][key])
        if finding["rule"] == "SL002":
            stage_durations |= {stage[k] for stage in finding["evidence"]["stages"]
                                for k in ("took", "limit")}
    assert set(expected) >= {"waiting", "took", "sla"} and stage_durations
    shown = 0
    for dl in page.xpath('//td[@class="evidence"]/dl'):
        for dt in dl.findall("dt"):
            dd = dt.getnext()
            if dt.text in expected:
                (span,) = dd.findall("span")
                iso = span.get("title")
                assert iso in expected[dt.text] and iso.startswith("P"), (dt.text, iso)
                assert span.get("class") == "duration"
                assert span.text == dd.xpath("string()") == _words_of(iso)
                shown += 1
            elif dt.text == "stages":
                spans = dd.findall("span")
                assert spans and {s.get("title") for s in spans} <= stage_durations
                assert all(s.text == _words_of(s.get("title")) for s in spans)
                # (the stages' JSON, its durations in words: still JSON)
                stages = json.loads(dd.xpath("string()"))
                assert {stage["took"] for stage in stages} <= {s.text for s in spans}
                shown += 1
    assert shown >= sum(len(v) for v in expected.values())
    # No evidence value on the page is a raw ISO duration any more.
    assert not [dd for dd in page.xpath('//td[@class="evidence"]/dl/dd')
                if re.fullmatch(r"P[\dDTHMS.]+", dd.xpath("string()"))]


def test_finalize_gives_printable_ascii_as_the_full_path_does() -> None:
    """The report's finalizer gives a short text of printable ASCII back as it is, as
    `shown_all_controls(cut(...))` does; every other text (controls, tab and line breaks,
    DEL, direction controls, non-ASCII, longer than REPORT_VALUE) goes the full way, and
    our own markup is left alone."""
    import random

    from markupsafe import Markup

    from audit.ingest.sizes import REPORT_VALUE, cut
    from audit.safety import shown_all_controls
    from reports.html import _finalize

    rng = random.Random(13)
    alphabet = ["a", "Z", " ", "~", "<", "&", '"', "\t", "\n", "\r", "\x00", "\x01", "\x0b",
                "\x1b", "\x7f", "é", "\u202e", "\u200f", "\u2028", "😀"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 8)))
        assert _finalize(text) == shown_all_controls(cut(text, REPORT_VALUE))
    for text in ("x" * REPORT_VALUE, "x" * (REPORT_VALUE + 1), "é" * (REPORT_VALUE + 1)):
        assert _finalize(text) == shown_all_controls(cut(text, REPORT_VALUE))
    assert _finalize("x" * (REPORT_VALUE + 1)) != "x" * (REPORT_VALUE + 1)
    assert _finalize("a\x1bb") == "a[U+001B]b"
    markup = Markup("<b>\x1b</b>")
    assert _finalize(markup) is markup
    assert _finalize(7) == 7


def test_short_time_of_a_whole_utc_second_is_what_moment_tells() -> None:
    """The report's times cut from a whole second's ISO text in UTC read as `moment` tells
    them; other texts (a fraction, another zone, no zone, a date that is none, a year
    outside pandas') go through `moment` itself, as before."""
    import random

    import pytest

    from audit.words import moment
    from reports.view import short_time

    rng = random.Random(17)
    for _ in range(2000):
        text = (f"{rng.randrange(1678, 2262):04d}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
                f"{rng.randrange(60):02d}+00:00")
        assert short_time(text) == moment(text)
    for text in ("2026-08-19T12:23:16.250000+00:00", "2026-08-19T12:23:16+02:00",
                 "2026-08-19T12:23:16", "2026-08-19T12:23:16Z", "2024-02-29T00:00:00+00:00"):
        assert short_time(text) == moment(text)
    assert short_time(None) == short_time("") == ""
    assert short_time("1500-01-01T00:00:00+00:00") == moment("1500-01-01T00:00:00+00:00")
    with pytest.raises(ValueError):
        moment("2026-02-30T00:00:00+00:00")
    with pytest.raises(ValueError):
        short_time("2026-02-30T00:00:00+00:00")
