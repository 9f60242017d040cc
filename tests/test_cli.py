"""The command line: exit codes, one-line errors, help with examples, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit import canonical as C
from audit.cli import main
from audit.errors import ExitCode

COMMANDS = sorted(main.commands)


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), "a traceback escaped"
    return result


def test_exit_codes_are_defined_once() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 130, 141, 143]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert "Example" in result.output
    assert "refund-audit" in result.output


@pytest.mark.parametrize("args", [["discover", "missing.csv"],
                                  ["compare", "missing.csv", "missing.bpmn"]])
def test_discover_and_compare_refuse_missing_input_with_exit_2(args: list[str],
                                                              tmp_path: Path) -> None:
    result = run(*args, "--out", str(tmp_path / "out"), code=2)
    assert "error: missing.csv: no such file" in result.output


def test_help_does_not_import_heavy_packages() -> None:
    code = ("import sys; from audit.cli import main\n"
            "heavy = [m for m in ('pm4py', 'dask', 'pandas') if m in sys.modules]\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("args", [["--help"], ["rules"], ["rules", "--format", "json"],
                                  ["explain", "self-approval"], ["discover", "--help"],
                                  ["check", "--help"], ["compare", "--help"]])
def test_rules_and_help_do_not_import_the_miners_nor_the_engines(args: list[str]) -> None:
    """DESIGN: `--help` and `rules` answer in well under a second, so pm4py (about 2 s to
    import), dask, and what only some rules run with (networkx: 0.14 s, imported by EV002
    and EV007 for their type hints alone, so by `rules` and `explain`) or only some
    reports (openpyxl, jinja2) are imported by the commands that use them. Checked in the
    modules a fresh interpreter holds after running the command, not by a timing."""
    code = ("import sys\nfrom audit.cli import main\n"
            f"try:\n    main({args!r}, standalone_mode=False)\n"
            "except SystemExit:\n    pass\n"
            "heavy = ('pm4py', 'dask', 'distributed', 'networkx', 'scipy', 'openpyxl', "
            "'jinja2')\n"
            "print('loaded:', ','.join(m for m in heavy if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stderr.splitlines()[-1].strip() == "loaded:", out.stderr
    assert out.stdout.strip()  # (the command ran: help or the catalogue printed)


def test_sample_then_import_round_trip(tmp_path: Path) -> None:
    run("sample", "--channel", "offline", "--cases", "40", "--seed", "3", "--out",
        str(tmp_path / "s"))
    assert (tmp_path / "s" / "canonical.csv").exists()
    assert (tmp_path / "s" / "ground_truth.csv").exists()
    result = run("import", str(tmp_path / "s" / "canonical.csv"), "--out",
                 str(tmp_path / "log.parquet"))
    assert "quarantined 0" in result.output
    log = pd.read_parquet(tmp_path / "log.parquet")
    assert log[C.CASE].nunique() == 40
    assert (tmp_path / "log.quarantine.csv").read_text().startswith(
        "file,row,field,value,reason")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "naive.csv"
    bad.write_text("case,activity,timestamp\n1,a,2024-01-01 10:00:00\n", encoding="utf-8")
    result = run("import", str(bad), "--out", str(tmp_path / "log.parquet"), code=2)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and "naive.csv" in lines[0]
    assert "row 2" in lines[0] and "'timestamp'" in lines[0] and "--assume-tz" in lines[0]
    ok = run("import", str(bad), "--assume-tz", "Europe/Berlin", "--out",
             str(tmp_path / "log.parquet"))
    assert "imported 1" in ok.output
    log = pd.read_parquet(tmp_path / "log.parquet")
    assert log[C.TIMESTAMP].iloc[0] == pd.Timestamp("2024-01-01 09:00:00", tz="UTC")


@pytest.mark.parametrize("command", ["sample", "demo", "policy init"])
def test_unwritable_output_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    """An output path that cannot be written (under a file; /proc/x) was a traceback
    ("internal error") in sample, demo and policy init: one line naming it, exit 2."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = blocker / "x"
    args = {"sample": ["sample", "--cases", "5", "--out", str(target)],
            "demo": ["demo", "--out", str(target)],
            "policy init": ["policy", "init", str(target / "policy.yaml")]}[command]
    result = run(*args, code=2)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    if command == "policy init":
        assert lines[0] == f"error: {target / 'policy.yaml'}: cannot write: Not a directory"
    else:
        assert lines[0] == (f"error: field '--out': cannot write into {target}: "
                            f"{blocker} is a file, not a folder")


@pytest.mark.parametrize("out", ["log.csv", "a-file/log.parquet", "a-file/sub/log.parquet"])
def test_an_import_out_that_cannot_be_the_log_is_refused_before_any_input_is_read(
        tmp_path: Path, out: str) -> None:
    """`import --out log.csv`, or a log in a folder that is a file, was refused only once
    every input was read and correlated (minutes, at a million cases), and the folder as
    "cannot write: File exists": refused first now, naming --out (the input here, an empty
    file, is an error of its own once read: it is never reached)."""
    (tmp_path / "a-file").write_text("")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = run("import", str(empty), "--out", str(tmp_path / out), code=2)
    if out == "log.csv":
        assert result.output == (f"error: {tmp_path / out}: field '--out': the canonical log "
                                 "is written as Parquet: name it *.parquet\n")
    else:
        assert result.output == (f"error: field '--out': cannot write into "
                                 f"{(tmp_path / out).parent}: {tmp_path / 'a-file'} is a "
                                 "file, not a folder\n")


@pytest.mark.parametrize(("args", "option"), [
    (["sample", "--violation-rate", "nan"], "--violation-rate"),
    (["sample", "--violation-rate", "-NaN"], "--violation-rate"),
    (["discover", "log.csv", "--noise", "nan"], "--noise"),
])
def test_nan_is_refused_for_every_float_option(tmp_path: Path, args: list[str],
                                               option: str) -> None:
    """NaN passed click's FloatRange (every comparison with it is false): `sample
    --violation-rate nan` crashed with a traceback. A usage error naming the option now."""
    result = run(*args, "--out", str(tmp_path / "out"), code=2)
    assert f"Invalid value for '{option}'" in result.output
    assert "is not a number" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["import", "check", "discover", "compare"])
def test_unknown_file_type_says_how_to_name_the_format_there(tmp_path: Path,
                                                             command: str) -> None:
    """"unknown file type '.dat'; pass --format (csv | ...)" was said by every command, but
    check's --format names report formats and discover and compare have none: following
    the hint failed. import names its own options; the others say to import it first."""
    data = tmp_path / "events.dat"
    data.write_text("case,activity,timestamp\n1,a,2024-01-01T00:00:00Z\n")
    out = str(tmp_path / "out")
    args = {"import": ["import", str(data), "--out", str(tmp_path / "log.parquet")],
            "check": ["check", str(data), "--out", out],
            "discover": ["discover", str(data), "--out", out],
            "compare": ["compare", str(data), str(data), "--out", out]}[command]
    result = run(*args, code=2)
    line = result.output.strip()
    assert line.startswith(f"error: {data}: unknown file type '.dat'; ")
    if command == "import":
        assert "name its format: --format F or --source F:FILE (F: csv | xes" in line
        for hint in (["--format", "csv"], ["--source", f"csv:{data}"]):  # (and they work)
            named = [*hint] if hint[0] == "--source" else [str(data), *hint]
            run("import", *named, "--out", str(tmp_path / "log.parquet"))
    else:
        assert "pass --format" not in line
        assert ("import it first, naming its format (refund-audit import FILE --format F "
                "--out LOG.parquet; F: csv | xes") in line
        run("import", str(data), "--format", "csv", "--out", str(tmp_path / "log.parquet"))
        run(*[str(tmp_path / "log.parquet") if a == str(data) else a for a in args])


@pytest.mark.parametrize("command", ["import", "check", "discover", "compare"])
@pytest.mark.parametrize("name", ["audits.json", "events.dat"])
def test_a_missing_input_is_no_such_file_whatever_its_suffix(tmp_path: Path, command: str,
                                                              name: str) -> None:
    """A mistyped path to a JSON export (whose format is read from its layout) was told as
    "unknown file type '.json'; name its format ...", sending the user to --format; a
    missing file is said to be missing, whatever its suffix."""
    missing = tmp_path / name
    out = str(tmp_path / "out")
    args = {"import": ["import", str(missing), "--out", str(tmp_path / "log.parquet")],
            "check": ["check", str(missing), "--out", out],
            "discover": ["discover", str(missing), "--out", out],
            "compare": ["compare", str(missing), "ecommerce.bpmn", "--out", out]}[command]
    assert run(*args, code=2).output.strip() == f"error: {missing}: no such file"


def test_an_import_option_the_error_names_is_the_commands_own(tmp_path: Path) -> None:
    """Reading errors name import's options: `discover` and `compare` of an OCEL file said
    "choose --object-type", of naive times "say which zone ... with --assume-tz", and
    `check` of exports mapping no update "check the field ids there (--sources-config)";
    none of these commands had that option ("No such option"). The error then said to
    import the file with it first; each command now has every such option (discover and
    compare --assume-tz and --object-type, then check --sources-config, then discover and
    compare --sources-config, --encoding and --mapping): the error is import's, and the
    option reads."""
    naive = tmp_path / "naive.csv"
    naive.write_text("case,activity,time\nc1,Receive refund request,2026-07-01 08:00\n"
                     "c1,Close ticket,2026-07-01 09:00\n", encoding="utf-8")
    out = str(tmp_path / "out")
    # discover and compare have --assume-tz now (as check has): their error is check's,
    # and the option reads the log.
    for args in (("discover", str(naive)), ("compare", str(naive), "ecommerce.bpmn"),
                 ("check", str(naive))):
        shown = run(*args, "--out", out, code=2).output
        assert "with --assume-tz" in shown and "has no" not in shown, shown
    run("discover", str(naive), "--assume-tz", "UTC", "--miner", "dfg", "--out", out)
    run("compare", str(naive), "ecommerce.bpmn", "--assume-tz", "UTC", "--out", out)
    audits = tmp_path / "audits.json"
    audits.write_text(json.dumps({"audits": [
        {"id": 1, "ticket_id": 100, "created_at": "2026-07-01T10:00:00Z", "author_id": 5,
         "events": [{"type": "Change", "field_name": "999", "value": "v"}]}], "users": []}),
        encoding="utf-8")
    # check, discover and compare have --sources-config now (tests/
    # test_check_sources_config.py, test_discover_compare_reading.py): the error names the
    # option each has.
    for args in (("check", str(audits)), ("discover", str(audits)),
                 ("compare", str(audits), "ecommerce.bpmn")):
        shown = run(*args, "--out", out, code=2).output
        assert "--sources-config" in shown and "has no" not in shown, shown
    log = str(tmp_path / "log.parquet")
    run("import", str(naive), "--assume-tz", "UTC", "--out", log)
    run("discover", log, "--miner", "dfg", "--out", out)


def test_unknown_time_zone_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("case,activity,timestamp\n1,a,2024-01-01T10:00:00Z\n", encoding="utf-8")
    result = run("import", str(f), "--assume-tz", "Mars/Olympus", "--out",
                 str(tmp_path / "o.parquet"), code=2)
    assert "unknown time zone 'Mars/Olympus'" in result.output
    result = run("import", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.parquet"),
                 code=2)
    assert "nope.csv: no such file" in result.output


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "right/UTC",
                                  "posix/Europe/Berlin", "LocalTime"])
def test_host_dependent_time_zones_are_refused(tmp_path: Path, zone: str) -> None:
    """--assume-tz localtime (the host's /etc/localtime), posixrules, Factory, right/...
    (leap seconds) and posix/... were taken: the same run read other times on another
    machine. Refused naming the option, or assume_tz and its line in a mapping."""
    csv = tmp_path / "log.csv"
    csv.write_text("case,activity,timestamp\n1,a,2024-01-01 10:00:00\n")
    said = f"time zone '{zone}' depends on the machine's zoneinfo files"
    for command in (["import", str(csv), "--out", str(tmp_path / "log.parquet")],
                    ["check", str(csv), "--out", str(tmp_path / "audit")]):
        result = run(*command, "--assume-tz", zone, code=2)
        assert result.output.startswith(f"error: field '--assume-tz': {said}"), result.output
    mapping = tmp_path / "map.yaml"
    mapping.write_text(f"assume_tz: {zone}\n")
    result = run("import", str(csv), "--mapping", str(mapping), "--out",
                 str(tmp_path / "log.parquet"), code=2)
    assert result.output.startswith(f"error: {mapping}: line 1: field 'assume_tz': {said}")
    assert not (tmp_path / "log.parquet").exists()
    run("import", str(csv), "--assume-tz", "Europe/Berlin", "--out",
        str(tmp_path / "log.parquet"))


@pytest.mark.parametrize("command", ["import", "check"])
@pytest.mark.parametrize(("encoding", "said"), [
    ("bogus", "unknown encoding 'bogus'"), ("rot13", "'rot13' is not a text encoding")])
def test_bad_encoding_is_refused_where_no_input_needs_it(tmp_path: Path, command: str,
                                                         encoding: str, said: str) -> None:
    """`import canonical.parquet --encoding bogus` exited 0 (no CSV read, the option never
    looked at), where a CSV gave exit 2 "unknown encoding": every command that has
    --encoding checks it first."""
    csv = tmp_path / "log.csv"
    csv.write_text("case,activity,timestamp\n1,a,2024-01-01T10:00:00Z\n")
    log = tmp_path / "log.parquet"
    run("import", str(csv), "--out", str(log))
    out = str(tmp_path / "audit") if command == "check" else str(tmp_path / "again.parquet")
    result = run(command, str(log), "--encoding", encoding, "--out", out, code=2)
    assert result.output.startswith(f"error: field '--encoding': {said}"), result.output
    assert not Path(out).exists()
    run(command, str(log), "--encoding", "cp1252", "--out", out)


@pytest.mark.parametrize("command", ["sample", "discover"])
def test_out_help_and_readme_name_every_file_written(tmp_path: Path, command: str) -> None:
    """--out's help and the README's table left out `exports/` (sample) and `model.png`
    (discover): each names every file the command writes into --out."""
    out = tmp_path / "out"
    run("sample", "--channel", "offline", "--cases", "20", "--seed", "4", "--out",
        str(tmp_path / "s" if command == "discover" else out))
    if command == "discover":
        run("discover", str(tmp_path / "s" / "canonical.csv"), "--out", str(out))
    written = {p.name for p in out.iterdir()}
    assert written  # (the names below are read from the help and the README, not listed)
    text = " ".join(run(command, "--help").output.split())
    readme = next(line for line in (REPO / "README.md").read_text().splitlines()
                  if line.startswith(f"| `refund-audit {command} "))
    for name in written:
        shown = f"{name}/" if (out / name).is_dir() else name
        assert shown in text, (shown, text)
        assert f"`{shown}`" in readme, (shown, readme)


def test_import_out_help_names_every_file_written_beside_the_log(tmp_path: Path) -> None:
    """import's --out help named LOG.quarantine.csv alone; from exports it writes
    LOG.correlation.csv beside the log as well."""
    run("sample", "--channel", "offline", "--cases", "20", "--seed", "4", "--out",
        str(tmp_path / "s"))
    out = tmp_path / "out"
    out.mkdir()
    run("import", *sorted(str(p) for p in (tmp_path / "s" / "exports").iterdir()),
        "--out", str(out / "log.parquet"))
    written = sorted(p.name for p in out.iterdir())
    assert written == ["log.correlation.csv", "log.parquet", "log.quarantine.csv"]
    text = " ".join(run("import", "--help").output.split())
    shown = text[text.index("--out FILE"):]
    for name in written[::2]:
        assert name.replace("log.", "LOG.") in shown, (name, shown)


def test_import_help_tells_the_rows_in_neither_log_nor_quarantine(tmp_path: Path) -> None:
    """import's help said every input row ends in the log or in LOG.quarantine.csv; a
    charge no ticket or refund refers to is in neither (left out as a sale, counted)."""
    run("sample", "--channel", "subscription", "--cases", "40", "--seed", "3", "--out",
        str(tmp_path / "s"))
    log = tmp_path / "log.parquet"
    shown = run("import", str(tmp_path / "s" / "exports" / "paypal_activity.csv"), "--out",
                str(log)).output
    read = int(shown.split("read ", 1)[1].split(" ", 1)[0])
    events = pd.read_parquet(log)
    quarantined = pd.read_csv(tmp_path / "log.quarantine.csv")
    in_neither = read - events[C.SOURCE_ROW].nunique() - len(quarantined)
    assert in_neither > 0 and f"{in_neither} of the imported: charge(s) left out" in shown
    text = " ".join(run("import", "--help").output.split())
    assert "but for a record exported twice (dropped) and a charge no ticket or refund refers " \
           "to (a sale, left out of the cases)" in text, text


def test_source_help_names_every_format_it_takes(tmp_path: Path) -> None:
    """--source's help listed the systems only, while it takes the generic formats too
    (docs/sources.md advises `--source csv:FILE` to read a CSV as a generic log)."""
    from audit.ingest import FORMATS

    text = " ".join(run("import", "--help").output.split())
    shown = text[text.index("--source SYSTEM:FILE"):text.index("--project FILE")]
    assert [name for name in FORMATS if name not in shown] == []
    csv = tmp_path / "log.csv"
    csv.write_text("case,activity,time\nc1,A,2026-07-01T08:00:00Z\n", encoding="utf-8")
    result = run("import", "--source", f"csv:{csv}", "--out", str(tmp_path / "log.parquet"))
    assert "log.csv (csv): read 1 = imported 1 + quarantined 0" in result.output


def test_demo_writes_its_outputs(tmp_path: Path) -> None:
    bundled = Path(__file__).resolve().parents[1] / "sample_logs" / "refund-sample"
    events = len(pd.read_csv(bundled / "canonical.csv"))
    truth = pd.read_csv(bundled / "ground_truth.csv")
    result = run("demo", "--out", str(tmp_path / "demo"))
    # The demo reads the sample's ticketing and payment exports; correlated, they give back
    # canonical.csv's events (a charge refunded in two cases appears in both).
    assert "+ quarantined 0;" in result.output
    # (its counts with thousands separators, as check's first line and the import's; before,
    # "total: read 2185 = imported 2185 + quarantined 0; 2196 events in 300 cases")
    assert (f"  total: read 2,185 = imported 2,185 + quarantined 0; {events:,} events in "
            "300 cases\n") in result.output
    assert "  role_history.csv: roles set on 2,182 events\n" in result.output
    # The clock that judged the sample, named as check names it (the bundled policy pins
    # as_of): the demo said nothing of it.
    assert ("  clock: 2026-10-15T00:00:00+00:00 (the policy's as_of, policy.default.yaml)\n"
            in result.output)
    for name in ("canonical.parquet", "canonical.quarantine.csv", "findings.json",
                 "findings.csv"):
        assert (tmp_path / "demo" / name).exists(), name
    assert str(tmp_path / "demo") in result.output
    document = json.loads((tmp_path / "demo" / "findings.json").read_text())
    # The warnings check tells on its console, the demo tells too (the sample's closes by
    # no recorded role: unauthorized-performer judged them not), as its manifest holds them.
    warnings = document["manifest"]["warnings"]
    assert warnings and any("unauthorized-performer did not judge" in w for w in warnings)
    assert [line.removeprefix("warning: ") for line in result.output.splitlines()
            if line.startswith("warning: ")] == warnings
    found = {(f["case_id"], f["name"]) for f in document["findings"]}
    expected = set(truth.itertuples(index=False, name=None))
    assert found == expected
    # SHA256SUMS: every file the demo wrote, its log among them, with its sha256.
    import hashlib

    listed = dict(reversed(line.split("  ", 1)) for line in (
        tmp_path / "demo" / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    assert sorted(listed) == sorted(p.name for p in (tmp_path / "demo").iterdir()
                                    if p.name != "SHA256SUMS")
    assert "canonical.parquet" in listed and "report.html" in listed
    assert all(hashlib.sha256((tmp_path / "demo" / name).read_bytes()).hexdigest() == digest
               for name, digest in listed.items())


def test_demo_removes_an_earlier_checks_reports_it_does_not_write(tmp_path: Path) -> None:
    """The demo into a folder where a check wrote its reports: the check's quarantine.csv
    (here 1 row of another log) and correlation.csv stayed beside the demo's findings,
    which quarantine nothing, and read as the demo's. As `check` does, the demo removes an
    earlier run's reports that it does not write, and names them; other files stay."""
    out = tmp_path / "demo"
    log = tmp_path / "log.csv"
    log.write_text("case,activity,time\nc1,A,2026-07-01T08:00:00Z\nc1,B,not a time\n",
                   encoding="utf-8")
    run("check", str(log), "--out", str(out), "--fail-on", "never")
    assert "not a time" in (out / "quarantine.csv").read_text(encoding="utf-8")
    (out / "correlation.csv").write_text("earlier\n", encoding="utf-8")
    (out / "sop-retail.svg").write_text("<svg/>", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = run("demo", "--out", str(out))
    names = {p.name for p in out.iterdir()}
    assert not {"quarantine.csv", "correlation.csv", "sop-retail.svg"} & names
    assert {"notes.txt", "canonical.quarantine.csv", "findings.json", "report.html",
            "sop-offline.svg"} <= names
    assert (f"removed 3 report file(s) of an earlier run from {out}: correlation.csv, "
            "quarantine.csv, sop-retail.svg") in result.output


def test_demo_that_fails_while_writing_leaves_the_earlier_demo_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo writes as `check` does, through a staging folder moved in at the end: a
    writer that fails midway (here the HTML's, a file cut short, then a full disk) leaves
    the earlier demo's files as they were, and no staging folder. Before, the demo wrote
    into --out itself: the new canonical log, findings.json, .csv, .xlsx and graphs beside
    a report.html cut short."""
    from reports.writers import WRITERS

    out = tmp_path / "demo"
    run("demo", "--out", str(out))
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"canonical.parquet", "findings.json", "report.html", "findings.xlsx"} <= set(earlier)

    def cut_short(run: object, folder: Path) -> Path:
        (folder / "report.html").write_text("<html><body>cut short", encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(WRITERS, "html", cut_short)
    failed = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert isinstance(failed.exception, OSError), failed.output
    assert sorted(p.name for p in out.iterdir()) == sorted(earlier)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier


def test_demo_removes_the_staging_folder_of_a_run_that_ended_while_writing(
        tmp_path: Path) -> None:
    """The staging folder of a run that ended while writing into the demo's folder (its
    process is not running) is removed and named, as `check` removes it."""
    from audit.cli import staging_prefix

    out = tmp_path / "demo"
    out.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = out / f"{staging_prefix(pid=gone.pid)}q1w2e3r4"
    stale.mkdir()
    (stale / "findings.json").write_text("{", encoding="utf-8")
    result = run("demo", "--out", str(out))
    assert (f"  removed 1 staging folder of a run that ended while writing (its process is "
            f"not running) from {out}: {stale.name}") in result.output
    assert not any(p.name.startswith(".") for p in out.iterdir())


def test_demo_with_a_crashed_rule_is_exit_2(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that crashes in the demo is told and ends it with exit code 2, as in `check`
    (the demo once exited 0 with the rule's findings missing and no word of it: a wheel
    installed without the mining extra lost the conformance rules so)."""
    from audit.rules.duties.sd001_self_approval import SelfApproval

    def explode(self: SelfApproval, facts: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(SelfApproval, "check", explode)
    result = run("demo", "--out", str(tmp_path / "demo"), code=2)
    assert "rule SD001 (self-approval) crashed: RuntimeError: boom" in result.output
    document = json.loads((tmp_path / "demo" / "findings.json").read_text())
    assert [e["rule"] for e in document["errors"]] == ["SD001"]


def test_model_inspect(tmp_path: Path) -> None:
    models = Path(__file__).resolve().parents[1] / "models"
    result = run("model", "inspect", str(models / "ecommerce.bpmn"))
    assert "sound: yes" in result.output and "lane Supervisor: " in result.output
    report = json.loads(run("model", "inspect", str(models / "offline.bpmn"), "--json").output)
    assert report["sound"] == "yes" and report["refused"] == []
    assert {t["name"] for t in report["tasks"]} >= {"Approve refund", "Execute payout"}
    bad = tmp_path / "bad.bpmn"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><definitions/>')
    assert "must not contain a DTD" in run("model", "inspect", str(bad), code=2).output
    run("model", "inspect", str(tmp_path / "missing.bpmn"), code=2)
    # A refused model has no net: said so (before: "None places, None transitions").
    refused = tmp_path / "complex.bpmn"
    refused.write_text('<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/'
                       '20100524/MODEL" id="d" targetNamespace="t"><process id="p"><startEvent'
                       ' id="s"/><complexGateway id="c"/><task id="a" name="A"/><endEvent '
                       'id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="c"/>'
                       '<sequenceFlow id="f2" sourceRef="c" targetRef="a"/><sequenceFlow '
                       'id="f3" sourceRef="a" targetRef="e"/></process></definitions>')
    shown = run("model", "inspect", str(refused), code=1).output
    assert "workflow net: none (the model is refused)" in shown and "None" not in shown


def test_readme_exit_codes_tell_model_inspects_1(tmp_path: Path) -> None:
    """The README's exit codes said 1 is 'findings at or above --fail-on' for every command;
    `model inspect` ends with 1 for a model that is not sound (or refused), which it lacks."""
    unsound = tmp_path / "unsound.bpmn"  # a parallel split joined by an exclusive merge
    unsound.write_text(
        '<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' id="d" targetNamespace="t"><process id="p"><startEvent id="s"/><parallelGateway '
        'id="g1"/><task id="a" name="A"/><task id="b" name="B"/><exclusiveGateway id="g2"/>'
        '<endEvent id="e"/><sequenceFlow id="f1" sourceRef="s" targetRef="g1"/><sequenceFlow '
        'id="f2" sourceRef="g1" targetRef="a"/><sequenceFlow id="f3" sourceRef="g1" '
        'targetRef="b"/><sequenceFlow id="f4" sourceRef="a" targetRef="g2"/><sequenceFlow '
        'id="f5" sourceRef="b" targetRef="g2"/><sequenceFlow id="f6" sourceRef="g2" '
        'targetRef="e"/></process></definitions>', encoding="utf-8")
    assert "sound: no" in run("model", "inspect", str(unsound), code=1).output
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    codes = readme[readme.index("Exit codes for every command"):readme.index("`130`")]
    assert "`model inspect`" in codes and "not sound" in codes, codes


def test_model_inspect_and_check_refuse_sub_processes_nested_too_deep(tmp_path: Path) -> None:
    """200 nested sub-processes (XML that libxml2 parses) were a RecursionError, an internal
    error with a traceback: now an input error naming the file and the element (exit 2)."""
    from tests.test_bpmn_reader import nested_subprocesses

    deep = nested_subprocesses(tmp_path / "deep.bpmn", 201)
    message = "sub-processes nested more than 50 deep: <subProcess> 'sp50'"
    shown = run("model", "inspect", str(deep), code=2).output
    assert f"error: {deep}: line 1: {message}" in shown
    log = tmp_path / "log.csv"
    log.write_text("event:id,case:concept:name,concept:name,time:timestamp,refund:channel\n"
                   "e1,c1,T,2026-09-01T10:00:00Z,ecommerce\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nas_of: 2026-10-15T00:00:00Z\nactivities:\n"
                      "  T: {control: other}\nrules:\n  select: [CF]\n", encoding="utf-8")
    shown = run("check", str(log), "--policy", str(policy), "--sop", str(deep), "--out",
                str(tmp_path / "out"), "--format", "json", code=2).output
    assert f"error: {deep}: line 1: {message}" in shown and "Traceback" not in shown


WITNESS = ("class Witness:  # freed only by the interpreter's teardown\n"
           "    def __init__(self) -> None:  # no global read at teardown\n"
           "        self.write = pathlib.Path(sys.argv[1]).write_text\n"
           "    def __del__(self) -> None:\n"
           "        self.write('freed')\n"
           "witness = Witness()\n")
"""Put first in a script run as `python -c SCRIPT WITNESS_FILE ...`: the file is written
when the interpreter tears down (frees the script's objects), not when the process ends
at once (os._exit)."""


def _console_script(tmp_path: Path) -> tuple[str, Path, Path]:
    """A script running the console script as installed (`audit.cli.run`), the marker its
    exit handler writes and the file its teardown writes (see WITNESS); the script takes
    the teardown's file, then the command's arguments."""
    marker, freed = tmp_path / "exit-handler-ran", tmp_path / "torn-down"
    script = ("import atexit, pathlib, sys\n" + WITNESS +
              f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
              "sys.argv = ['refund-audit', *sys.argv[2:]]\n"
              "from audit.cli import run\n"
              "run()\n"
              "raise SystemExit(99)  # not reached: the command ends the process\n")
    return script, marker, freed


@pytest.mark.parametrize(("fail_on", "code"), [("never", 0), ("low", 1)])
def test_console_script_ends_the_process_with_the_exit_code(tmp_path: Path, fail_on: str,
                                                            code: int) -> None:
    """The console script (`run`) ends `check` at once (os._exit) once everything is
    written: the exit code is --fail-on's, stdout holds the whole summary, every report is
    on disk and complete, and the exit handlers ran (as at a normal exit)."""
    run("sample", "--channel", "all", "--cases", "60", "--seed", "5", "--out",
        str(tmp_path / "s"))
    script, marker, freed = _console_script(tmp_path)
    out = tmp_path / "audit"
    done = subprocess.run([sys.executable, "-c", script, str(freed), "check",
                           str(tmp_path / "s" / "canonical.csv"), "--out", str(out),
                           "--fail-on", fail_on], capture_output=True, text=True)
    assert done.returncode == code, done.stderr
    assert marker.read_text() == "yes"
    assert not freed.exists(), "the process was torn down, not ended at once"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("audited 60 cases")
    wrote = [line.split("wrote ", 1)[1] for line in lines if "  wrote " in line]
    assert {Path(p).name for p in wrote} >= {"findings.json", "findings.csv", "report.html",
                                            "findings.xlsx", "quarantine.csv"}
    document = json.loads((out / "findings.json").read_text())
    assert document["summary"]["findings"] == len(document["findings"]) > 0
    assert (out / "report.html").read_text().rstrip().endswith("</html>")


@pytest.mark.parametrize("command", ["import", "discover"])
def test_console_script_ends_import_and_discover_once_written(tmp_path: Path,
                                                               command: str) -> None:
    """`import` and `discover` end the process too (`end_process`) once everything is
    written and said: exit 0, the exit handlers ran, the summary whole, the files complete
    (the log read back with every event; the model parsed)."""
    run("sample", "--channel", "all", "--cases", "40", "--seed", "7", "--out",
        str(tmp_path / "s"))
    canonical = tmp_path / "s" / "canonical.csv"
    script, marker, freed = _console_script(tmp_path)
    out = tmp_path / "out"
    args = (["import", str(canonical), "--out", str(out / "log.parquet")]
            if command == "import" else ["discover", str(canonical), "--out", str(out)])
    done = subprocess.run([sys.executable, "-c", script, str(freed), *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "yes"
    assert not freed.exists(), "the process was torn down, not ended at once"
    lines = done.stdout.splitlines()
    events = len(pd.read_csv(canonical))
    if command == "import":
        assert lines[-2:] == [f"log: {out / 'log.parquet'}",
                              f"quarantine: {out / 'log.quarantine.csv'} (0 rows)"]
        assert len(pd.read_parquet(out / "log.parquet")) == events
    else:
        # (After the import's counts: read = imported + quarantined.)
        assert lines[0].startswith("canonical.csv (csv): read ")
        assert any(line.startswith(f"discovered with the inductive miner (noise 0.2) from "
                                   f"40 cases, {events:,} events") for line in lines)
        written = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        assert Path(written["model.bpmn"]).read_text().rstrip().endswith("definitions>")
        assert json.loads(Path(written["discovery.json"]).read_text())
        # (SHA256SUMS, of the files moved in, is said last)
        assert lines[-2:] == [f"discovery.json: {out / 'discovery.json'}",
                              f"SHA256SUMS: {out / 'SHA256SUMS'} (the sha256 of each file "
                              "written: `sha256sum -c SHA256SUMS` in the folder checks them)"]


def test_a_crash_of_the_console_script_exits_2_not_1(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An exception no command turned into an error line (a bug) ends the console script
    with its traceback and exit code 2; Python's own code for it, 1, reads as "findings"
    to a scheduled job (a control character in an activity once crashed the graphs so)."""
    from audit import cli

    def crash(**_: object) -> None:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(cli, "main", crash)
    monkeypatch.setattr(cli, "ENDS_PROCESS", False)  # (run sets it: put back after)
    with pytest.raises(SystemExit) as ended:
        cli.run()
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: drawing failed" in err
    assert err.rstrip().splitlines()[-1] == (
        "error: internal error (RuntimeError: drawing failed); the traceback above says where")


REPO = Path(__file__).resolve().parents[1]


def _as_console_script(*args: str) -> list[str]:
    """`python -m audit.cli ARGS` (as the console script `refund-audit` runs: `run`)."""
    return [sys.executable, "-m", "audit.cli", *args]


@pytest.mark.parametrize(("args", "code", "said"), [
    (["--help"], 0, ""), (["--version"], 0, ""), (["check", "--help"], 0, ""),
    (["check"], 2, "Error: Missing argument 'SOURCES...'."),
    (["check", "x.csv", "--out", "o", "--fail-on", "worst"], 2,
     "Error: Invalid value for '--fail-on'"),
    (["nosuchcommand"], 2, "Error: No such command 'nosuchcommand'."),
    (["explain", "nosuchrule"], 2, "error: field 'RULE': no rule 'nosuchrule'"),
    (["model", "inspect", "missing.bpmn"], 2, "error: missing.bpmn: no such file"),
])
def test_console_script_exit_codes(args: list[str], code: int, said: str) -> None:
    """Through `run` (the console script, and `python -m audit.cli`, which ran `main` in
    click's standalone mode): --help and --version exit 0, usage errors 2 with click's
    message, input errors 2 with one line, no traceback."""
    done = subprocess.run(_as_console_script(*args), capture_output=True, text=True,
                          cwd=REPO)
    assert done.returncode == code, done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    if code == 0:
        assert done.stdout


def test_console_script_interrupted_exits_130_not_1(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) during a command exits 130 with "error: interrupted", not 1
    (click's standalone mode: "Aborted!" and 1, which a scheduled job reads as "findings at
    or above --fail-on"). The command is held reading a FIFO until the signal comes."""
    import errno
    import os
    import signal
    import time

    fifo = tmp_path / "events.csv"
    os.mkfifo(fifo)
    child = subprocess.Popen(
        _as_console_script("check", str(fifo), "--out", str(tmp_path / "audit")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    writer = None
    try:
        deadline = time.monotonic() + 60
        while writer is None:  # opened without waiting once the command has it open
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                assert exc.errno == errno.ENXIO
                assert child.poll() is None, child.communicate()
                assert time.monotonic() < deadline, "the command never read its input"
                time.sleep(0.05)
        time.sleep(0.2)  # (in the read now: nothing written, the writer open)
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == "error: interrupted"
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["rules", "check", "--help", "--version"])
def test_console_script_closed_stdout_exits_141_quietly(tmp_path: Path, command: str) -> None:
    """A stdout whose reader went away (`refund-audit check ... | head -1`) ends the command
    quietly with 141 (128 + SIGPIPE), not 1 ("findings"): here the pipe's reading end is
    closed before the command writes anything."""
    import os

    args = ["rules", "--format", "markdown"]
    if command.startswith("--"):  # (the group's own options write before any command)
        args = [command]
    if command == "check":
        run("sample", "--channel", "offline", "--cases", "20", "--seed", "3", "--out",
            str(tmp_path / "s"))
        args = ["check", str(tmp_path / "s" / "canonical.csv"), "--out",
                str(tmp_path / "audit"), "--format", "json", "--fail-on", "never"]
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(_as_console_script(*args), stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=REPO)
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert done.stderr == ""


def test_help_examples_of_models_work_outside_the_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`refund-audit model inspect models/ecommerce.bpmn --json` and `refund-audit compare
    log.parquet models/ecommerce.bpmn --out out/diff` (the --help examples) failed outside
    the repository, and a bundled model's bare name, which a policy's sop: takes, was "no
    such file" to check --sop, compare and model inspect. The examples, as --help prints
    them, now run in an empty folder (beside a log.parquet for compare)."""
    import shlex

    monkeypatch.chdir(tmp_path)
    run("sample", "--channel", "ecommerce", "--cases", "30", "--seed", "2", "--out", "s")
    run("import", "s/canonical.csv", "--out", "log.parquet")
    examples = [line.strip() for group in (["model"], ["model", "inspect"], ["compare"])
                for line in run(*group, "--help").output.splitlines()
                if line.strip().startswith(("refund-audit model inspect",
                                            "refund-audit compare"))]
    assert len(examples) == 3 and all("models/" not in e for e in examples), examples
    for example in examples:
        result = run(*shlex.split(example)[1:])
        if "--json" in example:
            assert json.loads(result.output)["sound"] == "yes"
    assert (tmp_path / "out" / "diff" / "compare.json").exists()
    # FILE#PROCESS, and check --sop; a file of that name here is that file, not the bundled
    assert "process Refund handling" in run(
        "model", "inspect", "offline.bpmn#Process_Refund_offline").output
    run("compare", "subscription.bpmn", "ecommerce.bpmn#Process_Refund_ecommerce", "--out",
        "cmp")
    checked = run("check", "log.parquet", "--sop", "ecommerce.bpmn", "--out", "audit",
                  "--fail-on", "never")
    assert "audited 30 cases" in checked.output
    manifest = json.loads((tmp_path / "audit" / "findings.json").read_text())["manifest"]
    assert [Path(e["file"]).parts[-2:] for e in manifest["sop"]] == [
        ("models", "ecommerce.bpmn")], manifest["sop"]
    (tmp_path / "ecommerce.bpmn").write_text("not a model")
    for args in (["model", "inspect", "ecommerce.bpmn"],
                 ["check", "log.parquet", "--sop", "ecommerce.bpmn", "--out", "audit"]):
        assert "ecommerce.bpmn" in run(*args, code=2).output


def test_model_inspect_names_an_unnamed_lane_by_its_id(tmp_path: Path) -> None:
    """An unnamed lane printed as "lane Lane_0k2m3x1" (its id taken for a name and a role);
    it has no name, and its tasks the role of the lane around it."""
    path = tmp_path / "divided.bpmn"
    path.write_text(
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="t"><process id="p"><laneSet id="ls"><lane id="sup" '
        'name="Supervisor"><flowNodeRef>s</flowNodeRef><flowNodeRef>a</flowNodeRef>'
        '<flowNodeRef>e</flowNodeRef><childLaneSet id="c"><lane id="Lane_0k2m3x1">'
        '<flowNodeRef>a</flowNodeRef></lane></childLaneSet></lane></laneSet>'
        '<startEvent id="s"/><task id="a" name="Approve refund"/><endEvent id="e"/>'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="a"/>'
        '<sequenceFlow id="f2" sourceRef="a" targetRef="e"/></process></definitions>',
        encoding="utf-8")
    output = run("model", "inspect", str(path)).output
    assert "  lane (unnamed, Lane_0k2m3x1): Approve refund\n" in output
    assert "its nodes take the role of the lane 'Supervisor'" in output
    report = json.loads(run("model", "inspect", str(path), "--json").output)
    assert report["tasks"][0]["roles"] == ["Supervisor"]
    assert [(lane["name"], lane["role"]) for lane in report["lanes"]] == [
        ("Supervisor", "supervisor"), ("", "supervisor")]


def test_model_inspect_takes_file_hash_process(tmp_path: Path) -> None:
    """check, the policy and compare take FILE#PROCESS, which the warnings point to; model
    inspect took only --process and said "no such file" for FILE#PROCESS."""
    from tests.bpmn_texts import COLLABORATION

    model = tmp_path / "collab.bpmn"
    model.write_text(COLLABORATION, encoding="utf-8")
    named = CliRunner().invoke(main, ["model", "inspect", f"{model}#Shop"])
    assert named.exit_code == 0, named.output
    assert "process ps" in named.output or "process Shop" in named.output
    assert "tasks: 3;" in named.output
    unknown = CliRunner().invoke(main, ["model", "inspect", f"{model}#Nope"])
    assert unknown.exit_code == 2 and "no process or pool 'Nope'" in unknown.output


def test_model_inspect_shows_hidden_characters_of_names(tmp_path: Path) -> None:
    """The text of `model inspect` echoed a model's names as they were: U+202E (right-to-left
    override) in a lane's name reversed the rest of the line on the terminal, a zero-width
    space made two tasks look alike. They are shown as [U+XXXX], as every other console
    line shows them (XML allows no C0 control in a name); --json keeps the names as the
    model holds them."""
    path = tmp_path / "hostile.bpmn"
    path.write_text(
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="t"><process id="p" name="Refund&#x2066;"><laneSet id="ls">'
        '<lane id="sup" name="Super&#x202e;visor"><flowNodeRef>s</flowNodeRef>'
        '<flowNodeRef>a</flowNodeRef><flowNodeRef>e</flowNodeRef></lane></laneSet>'
        '<startEvent id="s"/><task id="a" name="Approve&#x200b;"/><endEvent id="e"/>'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="a"/>'
        '<sequenceFlow id="f2" sourceRef="a" targetRef="e"/></process></definitions>',
        encoding="utf-8")
    output = run("model", "inspect", str(path)).output
    assert not any(c in output for c in "\u202e\u200b\u2066"), output
    assert "process Refund[U+2066]" in output
    assert "  lane Super[U+202E]visor: Approve[U+200B]\n" in output
    report = json.loads(run("model", "inspect", str(path), "--json").output)
    assert report["tasks"][0]["name"] == "Approve\u200b"


def _commands_and_groups() -> list[list[str]]:
    """Every command and command group under refund-audit, as the words that name it."""
    found = []
    for name, command in sorted(main.commands.items()):
        found.append([name])
        if isinstance(command, click.Group):
            found += [[name, sub] for sub in sorted(command.commands)]
    return found


@pytest.mark.parametrize("words", _commands_and_groups(), ids=" ".join)
@pytest.mark.parametrize("option", ["-q", "--quiet", "-v", "--verbose"])
def test_global_options_are_taken_after_the_command_too(words: list[str], option: str) -> None:
    """`refund-audit check -q ...` was refused ("No such option '-q'") while
    `refund-audit -q check ...` worked: the global options go on either side now."""
    result = run(*words, option, "--help")
    assert result.output.startswith("Usage: ")
    assert "-q, --quiet" in result.output and "-v, --verbose" in result.output


def test_quiet_after_the_command_means_what_it_means_before(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    run("policy", "init", str(policy))
    loud = run("policy", "check", str(policy))
    assert "ok (" in loud.stdout
    for args in (["-q", "policy", "check", str(policy)], ["policy", "check", str(policy), "-q"],
                 ["policy", "--quiet", "check", str(policy)]):
        assert run(*args).output == "", args
    out = tmp_path / "sample"
    assert run("sample", "--cases", "5", "--out", str(out), "--quiet").output == ""
    assert (out / "canonical.csv").exists()


def test_policy_check_tells_ok_and_warnings_on_stdout_as_check_does(tmp_path: Path) -> None:
    """The streams' convention (README): what a command found or noted, its warnings
    included, on stdout; errors on stderr. policy check keeps it."""
    default = (Path(__file__).resolve().parents[1] / "models" / "policy.default.yaml")
    policy = tmp_path / "policy.yaml"
    policy.write_text(default.read_text(encoding="utf-8").replace(
        "  Close ticket: {control: close}\n",
        "  Close ticket: {control: close}\n  Escalate: {control: other}\n"), encoding="utf-8")
    result = run("policy", "check", str(policy))
    lines = result.stdout.splitlines()
    assert lines[0].endswith("ok (14 labels, 0 waivers)")
    assert lines[1].startswith("warning: the label 'Escalate' is a task of no SOP")
    assert result.stderr == ""
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nrules: {select: [nothing-such]}\n", encoding="utf-8")
    failed = run("policy", "check", str(broken), code=2)
    assert failed.stdout == "" and failed.stderr.startswith("error: ")


def test_assume_tz_over_a_mappings_other_zone_is_told_on_stderr(tmp_path: Path) -> None:
    """--assume-tz wins over the mapping's `assume_tz` (the run's explicit choice), and says
    so on stderr naming both zones, for import and check, even with --quiet (before: the
    mapping's zone was ignored without a word, and times read hours off what it says)."""
    import pandas as pd

    log = tmp_path / "naive.csv"
    log.write_text("case,activity,timestamp\nc1,Receive refund request,2026-07-01 10:00:00\n",
                   encoding="utf-8")
    mapping = tmp_path / "berlin.yaml"
    mapping.write_text("assume_tz: Europe/Berlin\n", encoding="utf-8")
    said = (f"warning: --assume-tz America/New_York overrides assume_tz: Europe/Berlin of the "
            f"mapping in {mapping}: timestamps without an offset are read in America/New_York")
    out = tmp_path / "log.parquet"
    done = run("-q", "import", str(log), "--mapping", str(mapping), "--assume-tz",
               "America/New_York", "--out", str(out))
    assert done.stderr.splitlines() == [said]
    assert str(pd.read_parquet(out)[C.TIMESTAMP].iloc[0]) == "2026-07-01 14:00:00+00:00"
    checked = run("-q", "check", str(log), "--mapping", str(mapping), "--assume-tz",
                  "America/New_York", "--out", str(tmp_path / "report"), "--format", "json")
    assert said in checked.stderr.splitlines()
    # The same zone in both, or one of them alone: nothing to tell.
    for options in (["--assume-tz", "Europe/Berlin", "--mapping", str(mapping)],
                    ["--mapping", str(mapping)], ["--assume-tz", "Europe/Berlin"]):
        again = run("-q", "import", str(log), *options, "--out", str(out))
        assert "overrides" not in again.stderr


def test_the_import_total_tells_the_duplicates_dropped(tmp_path: Path) -> None:
    """A record exported twice is dropped: the file's line said "(+ 1 duplicate
    dropped)", the total line did not (check's summary does), so the total's counts were
    one short of the records written without a word. The dropped record is one of the
    file's rows read: `read` counts it (read = imported + quarantined + dropped)."""
    path = tmp_path / "dup.csv"
    path.write_text(
        "case:concept:name,concept:name,time:timestamp,org:resource,event:id\n"
        "c1,Receive refund request,2026-01-01T10:00:00Z,ann,e1\n"
        "c1,Approve refund,2026-01-01T11:00:00Z,bob,e2\n"
        "c1,Approve refund,2026-01-01T11:00:00Z,bob,e2\n"
        "c1,Execute payout,2026-01-02T11:00:00Z,vic,e3\n", encoding="utf-8")
    result = run("import", str(path), "--out", str(tmp_path / "log.parquet"))
    lines = result.output.splitlines()
    assert lines[0] == "dup.csv (csv): read 4 = imported 3 + quarantined 0 + 1 duplicate dropped"
    assert lines[1] == "total: read 4 = imported 3 + quarantined 0 + 1 duplicate dropped; 1 case"


def test_import_counts_carry_thousands_separators_as_checks_first_line(
        tmp_path: Path) -> None:
    """`import`'s lines of each file and of the total count with thousands separators, as
    check's first line counts the same log: before, "read 1002 = imported 1001 + ...; 1001
    cases" beside check's "read 1,002 = imported 1,001 + ..."."""
    path = tmp_path / "many.csv"
    rows = [f"c{k},Receive refund request,2026-01-01T10:00:00Z,ann,e{k}" for k in range(1001)]
    path.write_text("case:concept:name,concept:name,time:timestamp,org:resource,event:id\n"
                    + "\n".join([*rows, rows[0]]) + "\n", encoding="utf-8")
    lines = run("import", str(path), "--out", str(tmp_path / "log.parquet")).output.splitlines()
    counts = "read 1,002 = imported 1,001 + quarantined 0 + 1 duplicate dropped"
    assert lines[0] == f"many.csv (csv): {counts}"
    assert lines[1] == f"total: {counts}; 1,001 cases"
    checked = run("check", str(path), "--out", str(tmp_path / "out"), "--fail-on", "never",
                  "--as-of", "2026-02-01T00:00:00Z")
    assert checked.output.splitlines()[0] == f"audited 1,001 cases, 1,001 events ({counts})"


def test_an_object_type_of_no_ocel_input_is_told_not_used(tmp_path: Path) -> None:
    """`--object-type` applies to OCEL 2.0 logs only: given with a CSV it was taken
    without a word, as if it had chosen the cases. A note says it was not used."""
    path = tmp_path / "log.csv"
    path.write_text("case:concept:name,concept:name,time:timestamp\n"
                    "c1,Receive refund request,2026-01-01T10:00:00Z\n", encoding="utf-8")
    note = ("note: --object-type Invoice: no input is an OCEL 2.0 log, the only kind it "
            "applies to: not used")
    result = run("import", str(path), "--object-type", "Invoice", "--out",
                 str(tmp_path / "log.parquet"))
    assert note[len("note: "):] in result.output.splitlines()
    result = run("check", str(path), "--object-type", "Invoice", "--out",
                 str(tmp_path / "out"), "--fail-on", "never")
    assert note in result.output.splitlines()
    result = run("import", str(path), "--out", str(tmp_path / "log.parquet"))
    assert "--object-type" not in result.output


OUT_THEN_READ = {
    "import": lambda log, out: ["import", log, "--out", f"{out}/log.parquet"],
    "check": lambda log, out: ["check", log, "--out", out],
    "discover": lambda log, out: ["discover", log, "--miner", "dfg", "--out", out],
    "compare": lambda log, out: ["compare", log, "ecommerce.bpmn", "--out", out],
}
"""The commands that make a missing --out folder (the log's folder, for import) before they
read their inputs."""


@pytest.mark.parametrize("command", sorted(OUT_THEN_READ))
def test_a_failed_command_removes_the_out_folder_it_made(command: str,
                                                         tmp_path: Path) -> None:
    """import, check, discover and compare made a missing --out folder before reading their
    inputs: a bad input (exit code 2) left a new empty folder behind (here two, `new/out`).
    The folders the command made are removed again; a folder that was there is left as it
    was, empty or not."""
    log = tmp_path / "bad.csv"
    log.write_text("x,y\n1,2\n", encoding="utf-8")
    told = "error: " + f"{log}: field 'case:concept:name': no column for 'case:concept:name'"
    result = run(*OUT_THEN_READ[command](str(log), str(tmp_path / "new" / "out")), code=2)
    assert result.output.startswith(told), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]

    (tmp_path / "empty").mkdir()  # (there before: left, its new folder inside removed)
    run(*OUT_THEN_READ[command](str(log), str(tmp_path / "empty" / "out")), code=2)
    assert (tmp_path / "empty").is_dir() and list((tmp_path / "empty").iterdir()) == []
    run(*OUT_THEN_READ[command](str(log), str(tmp_path / "empty")), code=2)
    assert (tmp_path / "empty").is_dir()

    held = tmp_path / "held"  # (there before with a file: left as it was)
    held.mkdir()
    (held / "notes.txt").write_text("mine", encoding="utf-8")
    run(*OUT_THEN_READ[command](str(log), str(held)), code=2)
    assert [p.name for p in held.iterdir()] == ["notes.txt"]
    assert (held / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(("option", "field", "constant", "most", "beyond"), [
    ("--cases", "cases", "MAX_SAMPLE_CASES", 10_000_000, ("10000001", "10000000000")),
    ("--first-case", "first_case", "MAX_FIRST_CASE", 1_000_000_000,
     ("1000000001", "99999999999999999999"))])
def test_sample_refuses_more_than_its_documented_most(
        option: str, field: str, constant: str, most: int, beyond: tuple[str, ...],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sample --cases` had no upper limit: a typo of 10000000000 started writing for hours,
    or until the disk was full. At most 10,000,000 (the bench's largest log is 1,000,000).
    `--first-case` had none either, while --cases had one: 99999999999999999999 wrote
    ticket ids of 20 digits and charge ids of 30. At most 1,000,000,000 (the ids then stay
    within 32-bit tickets and JSON numbers below 2^53). Beyond, a usage error naming the
    option, exit code 2, before anything is made; the most itself reaches the generator
    (here one that writes nothing)."""
    import audit.cli
    import audit.sample

    asked: list[int] = []
    monkeypatch.setattr(audit.sample, "write_sample",
                        lambda spec, out: asked.append(getattr(spec, field)) or {})
    assert getattr(audit.cli, constant) == most
    for value in beyond:
        result = run("sample", option, value, "--out", str(tmp_path / "big"), code=2)
        assert (f"Invalid value for '{option}': {value} is not in the range "
                f"1<=x<={most}") in result.output, result.output
    assert asked == [] and not (tmp_path / "big").exists()
    run("sample", option, str(most), "--out", str(tmp_path / "most"))
    assert asked == [most]
    docs = Path(__file__).parent.parent / "docs" / "sample-generator.md"
    assert f"at most {most:,}" in docs.read_text(encoding="utf-8")


@pytest.mark.parametrize("raised", [RuntimeError("a bug"), KeyboardInterrupt()],
                         ids=["crash", "interrupt"])
def test_a_crash_or_an_interrupt_removes_the_out_folder_it_made(
        raised: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only an input error: a crash (an internal error, its traceback) or an interrupt
    after --out was made and before anything was written there removes the folders made,
    and is raised on as it was."""
    import audit.cli

    def fails(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(audit.cli, "_run_check", fails)
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "A,Receive refund request,2026-08-01T10:00:00Z\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(log), "--out", str(tmp_path / "a" / "b")])
    assert isinstance(result.exception, type(raised)) or (
        isinstance(raised, KeyboardInterrupt) and result.exit_code == 1), result
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def _bpmn(body: str) -> str:
    return ('<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"'
            f' id="d" targetNamespace="t"><process id="p">{body}</process></definitions>')


@pytest.mark.parametrize(("body", "note"), [
    ('<startEvent id="s"/><task id="a" name="A"/><task id="b" name="Pay"/>'
     '<sequenceFlow id="f1" sourceRef="s" targetRef="a"/>'
     '<sequenceFlow id="f2" sourceRef="a" targetRef="b"/>',
     "'p' has no end event: it ends after 'Pay', which has no outgoing sequence flow "
     "(BPMN's implicit end)"),
    ('<task id="a" name="Ask"/><task id="b" name="B"/><endEvent id="e"/>'
     '<sequenceFlow id="f1" sourceRef="a" targetRef="b"/>'
     '<sequenceFlow id="f2" sourceRef="b" targetRef="e"/>',
     "'p' has no start event: it starts at 'Ask', which has no incoming sequence flow "
     "(BPMN's implicit start)"),
    ('<startEvent id="s"/><task id="a" name="A"/><parallelGateway id="g"/>'
     '<task id="b" name="B"/><task id="c" name="Forgotten"/><endEvent id="e"/>'
     '<sequenceFlow id="f1" sourceRef="s" targetRef="a"/>'
     '<sequenceFlow id="f2" sourceRef="a" targetRef="g"/>'
     '<sequenceFlow id="f3" sourceRef="g" targetRef="b"/>'
     '<sequenceFlow id="f4" sourceRef="g" targetRef="c"/>'
     '<sequenceFlow id="f5" sourceRef="b" targetRef="e"/>',
     "'p' ends after 'Forgotten' too, which has no outgoing sequence flow (BPMN's implicit "
     "end), besides at its end event"),
])
def test_model_inspect_tells_implicit_starts_and_ends(tmp_path: Path, body: str,
                                                     note: str) -> None:
    """A model without an end event, without a start event, or with a task whose outgoing flow
    is missing was "sound: yes" with no note: BPMN allows the implicit start and end, but the
    model's author is told where the process starts or ends, in text and JSON."""
    path = tmp_path / "m.bpmn"
    path.write_text(_bpmn(body), encoding="utf-8")
    output = run("model", "inspect", str(path)).output
    assert "sound: yes" in output and f"  note: {note}\n" in output
    report = json.loads(run("model", "inspect", str(path), "--json").output)
    assert report["sound"] == "yes" and report["notes"] == [note]


def test_model_inspect_lists_gateways_pools_and_lanes_without_tasks(tmp_path: Path) -> None:
    """The README says inspect shows the gateways: its text listed none; a lane holding no task
    printed "lane Supervisor: " and nothing after it."""
    path = tmp_path / "m.bpmn"
    path.write_text(_bpmn(
        '<laneSet id="ls"><lane id="l1" name="Service"><flowNodeRef>a</flowNodeRef>'
        '<flowNodeRef>b</flowNodeRef></lane><lane id="l2" name="Supervisor"/></laneSet>'
        '<startEvent id="s"/><exclusiveGateway id="g1" name="Valid?"/><task id="a" name="A"/>'
        '<task id="b" name="B"/><exclusiveGateway id="g2"/><endEvent id="e"/>'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="g1"/>'
        '<sequenceFlow id="f2" sourceRef="g1" targetRef="a"/>'
        '<sequenceFlow id="f3" sourceRef="g1" targetRef="b"/>'
        '<sequenceFlow id="f4" sourceRef="a" targetRef="g2"/>'
        '<sequenceFlow id="f5" sourceRef="b" targetRef="g2"/>'
        '<sequenceFlow id="f6" sourceRef="g2" targetRef="e"/>'), encoding="utf-8")
    output = run("model", "inspect", str(path)).output
    assert "  lane Service: A, B\n  lane Supervisor: (no tasks)\n" in output
    assert "  gateways (exclusive): Valid? (split), g2 (join)\n" in output
    assert "pools:" not in output  # (one pool: nothing to choose between)
    from tests.bpmn_texts import COLLABORATION

    two = tmp_path / "two.bpmn"
    two.write_text(COLLABORATION, encoding="utf-8")
    output = run("model", "inspect", str(two), "--process", "Shop").output
    assert "  pools: Customer (process pc), Shop (process ps, the one read)\n" in output


def test_xml_errors_name_the_line_once_and_a_dangling_flow_its_line(tmp_path: Path) -> None:
    """A BPMN or XES file's errors said "row 2: XML BPMN files must not contain a DTD" (an XML
    file has lines, not rows) and "row 24: malformed XML (line 24)" (the place twice); a
    sequence flow naming no node of the process was refused without its line, while one
    without a sourceRef named it."""
    dtd = tmp_path / "dtd.bpmn"
    dtd.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]><definitions/>',
                   encoding="utf-8")
    shown = run("model", "inspect", str(dtd), code=2).output
    assert f"error: {dtd}: line 2: XML BPMN files must not contain a DTD" in shown, shown
    broken = tmp_path / "broken.xes"
    broken.write_text('<?xml version="1.0"?>\n<log>\n<trace>\n<event>\n'
                      '<string key="concept:name" value="a">\n</event>\n</trace>\n</log>\n',
                      encoding="utf-8")
    shown = run("import", str(broken), "--out", str(tmp_path / "log.parquet"), code=2).output
    assert f"error: {broken}: line 6: malformed XML: " in shown, shown
    assert "row" not in shown and "(line" not in shown, shown
    outside = tmp_path / "outside.xes"
    outside.write_text('<log>\n<event>\n<string key="concept:name" value="a"/>\n</event>\n'
                       '</log>\n', encoding="utf-8")
    shown = run("import", str(outside), "--out", str(tmp_path / "log.parquet"), code=2).output
    assert f"error: {outside}: line 2: not an XES log: <event> outside a <trace>\n" in shown
    dangling = tmp_path / "dangling.bpmn"
    dangling.write_text(_bpmn(
        '\n<startEvent id="s"/><task id="a" name="A"/><endEvent id="e"/>'
        '\n<sequenceFlow id="F1" sourceRef="s" targetRef="a"/>'
        '\n<sequenceFlow id="F2" sourceRef="a" targetRef="T9"/>'
        '\n<sequenceFlow id="F3" sourceRef="a" targetRef="e"/>'
        '\n<sequenceFlow id="F4" targetRef="e"/>'), encoding="utf-8")
    shown = run("model", "inspect", str(dangling), code=1).output
    assert ("  refused sequenceFlow F2: refers to 'T9' (line 4), which is not a flow node of "
            "the process\n") in shown, shown
    assert "  refused sequenceFlow F4: names no sourceRef (line 6), so" in shown, shown


def test_an_input_error_at_a_line_keeps_it_through_a_worker_process() -> None:
    """A parallel import's worker sends its InputError back pickled: one at a line arrived as
    one at a row."""
    import pickle

    from audit.errors import InputError

    error = pickle.loads(pickle.dumps(InputError("bad", file="a.xes", line=7, field="k")))
    assert str(error) == "a.xes: line 7: field 'k': bad" and error.row == 7
    assert str(error.again(field="j")) == "a.xes: line 7: field 'j': bad"
    assert str(pickle.loads(pickle.dumps(InputError("bad", file="a.csv", row=3)))) == \
        "a.csv: row 3: bad"


def test_discover_of_a_csv_needing_a_mapping_reads_it_with_mapping(tmp_path: Path) -> None:
    """`discover weird.csv` (columns that are not the canonical names) said "name it in a
    mapping file", and `discover --mapping` was "No such option"; then the error sent
    discover to import for it. Now discover has --mapping, as import, check and compare
    have: the error names it, and `discover --mapping` reads the file, as importing it
    first does."""
    weird = tmp_path / "weird.csv"
    weird.write_text("Ticket,Step,When\nc1,Receive refund request,2026-07-01T08:00:00Z\n"
                     "c1,Close ticket,2026-07-01T09:00:00Z\n", encoding="utf-8")
    out = str(tmp_path / "out")
    shown = run("discover", str(weird), "--out", out, code=2).output.strip()
    assert "name it in a mapping file (--mapping)" in shown and "has no" not in shown, shown
    shown = run("compare", str(weird), "ecommerce.bpmn", "--out", out, code=2).output
    assert "name it in a mapping file (--mapping)" in shown and "has no" not in shown, shown
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  case:concept:name: Ticket\n  concept:name: Step\n"
                       "  time:timestamp: When\n", encoding="utf-8")
    log = str(tmp_path / "log.parquet")
    run("import", str(weird), "--mapping", str(mapping), "--out", log)
    run("discover", log, "--miner", "dfg", "--out", out)
    direct = str(tmp_path / "direct")
    run("discover", str(weird), "--mapping", str(mapping), "--miner", "dfg", "--out", direct)
    assert (Path(direct) / "variants.csv").read_text(encoding="utf-8") == (
        Path(out) / "variants.csv").read_text(encoding="utf-8")
    run("compare", str(weird), "ecommerce.bpmn", "--mapping", str(mapping), "--out",
        str(tmp_path / "compared"), code=0)


def test_a_warning_quoting_megabytes_is_cut_to_its_start_and_end(tmp_path: Path) -> None:
    """A log whose lifecycle:transition is a value of 1 MB was checked with a warning of
    1,000,173 characters on the console, in the manifest's warnings and in the report (the
    review of 2026-12-06). Each warning keeps its start and end and says how much it leaves
    out, as an error does."""
    value = "X" * 1_000_000
    path = tmp_path / "log.csv"
    path.write_text("case_id,activity,timestamp,lifecycle:transition\n"
                    "c1,A,2026-01-01T10:00:00Z,complete\n"
                    f"c1,B,2026-01-01T11:00:00Z,{value}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["check", str(path), "--out", str(out), "--format",
                                       "json", "--as-of", "2026-02-01T00:00:00Z",
                                       "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    told = [line for line in result.output.splitlines() if "lifecycle:transition" in line]
    assert told and all(len(line) < 2100 for line in told), [len(line) for line in told]
    assert any(line.startswith("warning: 1 event whose lifecycle:transition is not complete "
                               "(XXX") and "characters left out ...]" in line for line in told)
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    warnings = document["manifest"]["warnings"]
    assert all(len(w) <= 2100 for w in warnings)
    assert any("characters left out ...]" in w for w in warnings)


def test_discovers_and_compares_warnings_quoting_megabytes_are_cut(tmp_path: Path) -> None:
    """`discover` and `compare` print their warnings through the same console line as
    `check`'s: a 1 MB lifecycle:transition was printed whole in their warning of the events
    not counted (a line of a million characters). Each line is cut to its start and end."""
    value = "X" * 1_000_000
    path = tmp_path / "log.csv"
    path.write_text("case_id,activity,timestamp,lifecycle:transition\n"
                    "c1,A,2026-01-01T10:00:00Z,complete\n"
                    "c1,B,2026-01-01T11:00:00Z,complete\n"
                    f"c1,B,2026-01-01T11:30:00Z,{value}\n", encoding="utf-8")
    for args in (["discover", str(path), "--miner", "dfg", "--out", str(tmp_path / "d")],
                 ["compare", str(path), str(path), "--out", str(tmp_path / "c")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        told = [line for line in result.output.splitlines()
                if "lifecycle:transition is not complete" in line]
        assert told, (args[0], result.output[:500])
        assert all(len(line) < 2100 and "characters left out ...]" in line
                   for line in told), (args[0], [len(line) for line in told])


def test_discovers_and_compares_files_cut_a_warning_quoting_megabytes(tmp_path: Path) -> None:
    """discovery.json's and compare.json's notes and warnings (and compare.md's) are cut as
    check's warnings are (words.cut_middle): a 1 MB lifecycle:transition was written whole
    in their warning of the events not counted (1,000,165 characters in discovery.json,
    1,000,176 in compare.json, a line of 1,000,179 in compare.md), though the console's
    line was cut. The start (what the warning is about) and the end (the advice) stay."""
    value = "X" * 1_000_000
    path = tmp_path / "log.csv"
    path.write_text("case_id,activity,timestamp,lifecycle:transition\n"
                    "c1,A,2026-01-01T10:00:00Z,complete\n"
                    "c1,B,2026-01-01T11:00:00Z,complete\n"
                    f"c1,B,2026-01-01T11:30:00Z,{value}\n", encoding="utf-8")
    for args, written in (
            (["discover", str(path), "--miner", "dfg", "--out", str(tmp_path / "d")],
             tmp_path / "d" / "discovery.json"),
            (["compare", str(path), "ecommerce.bpmn", "--out", str(tmp_path / "c")],
             tmp_path / "c" / "compare.json")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        document = json.loads(written.read_text(encoding="utf-8"))
        texts = [*document["notes"], *document["warnings"]]
        told = [t for t in texts if "lifecycle:transition is not complete" in t]
        assert len(told) == 1, (args[0], [len(t) for t in texts])
        assert "characters left out ...]" in told[0] and len(told[0]) < 2100
        assert told[0].endswith("(a payout logged as start and complete is one payout)")
        assert all(len(t) <= 2100 for t in texts)
        if args[0] == "compare":
            lines = (tmp_path / "c" / "compare.md").read_text(encoding="utf-8").splitlines()
            assert max(len(line) for line in lines) < 2200
            assert any("lifecycle:transition is not complete" in line
                       and "characters left out" in line for line in lines)


def test_an_error_quoting_megabytes_is_cut_to_its_start_and_end(tmp_path: Path) -> None:
    """A CSV whose header gives a 10 MB column name twice was refused with that name
    quoted twice: an error line of 20,000,094 bytes on stderr. The line keeps its start
    (file, row, field) and end, and says how much it leaves out."""
    name = "h" * 1_000_000
    path = tmp_path / "wide.csv"
    path.write_text(f"case_id,activity,timestamp,{name},{name}\nc1,A,2026-01-01T10:00:00Z,1,2\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--out", str(tmp_path / "l.parquet")])
    assert result.exit_code == 2
    assert len(result.output) < 2100
    assert result.output.startswith(f"error: {path}: row 1: field 'hhh")
    assert "characters left out ...]" in result.output
    assert result.output.rstrip().endswith("' appears twice in the header")
