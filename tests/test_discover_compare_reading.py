"""`discover` and `compare` read their logs with every reading option `check` has.

A process designer works from raw exports: a US merchant's PayPal download (month-first
dates), a generic CSV whose columns need a mapping, a CSV in cp1252. `check` took each of
--mapping, --sources-config, --encoding, --assume-tz, --object-type and --follow-o2o; discover
lacked --mapping, --sources-config and --encoding, compare --sources-config and --encoding,
and both refused such a file with "discover has no --sources-config: import the file with it
first". Now both take the options check takes (declared once, `audit.cli.
_log_reading_options`), with check's semantics, and record them where they record their
inputs: discovery.json's and compare.json's `mapping` and `sources_config` (by name and
sha256; a sources file no export was read with `used` false, with check's "not used" note),
and the encoding in the `import` options. An export is read as check reads it: its records
correlated into refund cases (before, discover and compare made a case of each record)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from audit.cli import main
from audit.digest import sha256_of
from audit.sources.config import default_sources_path

HEADER = ("Date,Time,TimeZone,Name,Type,Status,Currency,Gross,Fee,Net,From Email Address,"
          "To Email Address,Transaction ID,Reference Txn ID,Invoice Number,Custom Number,Note,"
          "Funding Source,Balance Impact")
ROWS = [  # (1 to 12 November: every date up to the 12th in both places)
    "11/01/2026,09:30:00,PST,Jane Doe,Subscription Payment,Completed,USD,19.99,-0.74,19.25,"
    "jane@example.org,billing@example.com,4SX12345AB678901C,,SU-O7001,,,card,Credit",
    "11/05/2026,10:00:00,PST,Jane Doe,Payment Refund,Completed,USD,-9.33,0.00,-9.33,"
    "billing@example.com,jane@example.org,8UZ11111ZX432109E,4SX12345AB678901C,SU-O7001,"
    "RFD-7,Wanda Maier,card,Debit",
    "11/12/2026,10:00:00,PST,Jane Doe,Payment Refund,Completed,USD,-9.33,0.00,-9.33,"
    "billing@example.com,jane@example.org,9VZ22222ZX432109F,4SX12345AB678901C,SU-O7001,"
    "RFD-8,Wanda Maier,card,Debit",
]
COMMANDS = {"discover": ["--miner", "dfg"], "compare": ["ecommerce.bpmn"]}


def run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def _invoke(command: str, log: Path, out: Path, *extra: str, code: int = 0) -> Result:
    """`discover LOG --miner dfg` or `compare LOG ecommerce.bpmn`, into `out`."""
    return run(command, str(log), *COMMANDS[command], "--out", str(out), *extra, code=code)


def _written(command: str, out: Path) -> dict[str, Any]:
    name = "discovery.json" if command == "discover" else "compare.json"
    document: dict[str, Any] = json.loads((out / name).read_text(encoding="utf-8"))
    return document


def _us_download(folder: Path) -> Path:
    path = folder / "activity.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def _us_sources(folder: Path) -> Path:
    text = default_sources_path().read_text(encoding="utf-8")
    commented = '    # date_format: "%m/%d/%Y"'
    assert text.count(commented) == 1
    path = folder / "us.yaml"
    path.write_text(text.replace(commented, '    date_format: "%m/%d/%Y"'), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_us_paypal_download_is_read_with_its_sources_file(tmp_path: Path,
                                                            command: str) -> None:
    """Before: exit 2, "discover has no --sources-config: import the file with it first"
    (and "No such option" once the user gave it). Now the error names --sources-config
    alone, and with the sources file the download is read (its three rows) and the file
    recorded by name and sha256."""
    download = _us_download(tmp_path)
    refused = _invoke(command, download, tmp_path / "refused", code=2).output
    assert "row 2: field 'Date': every date is up to the 12th in both places" in refused
    assert "given with --sources-config" in refused, refused
    assert "has no" not in refused and "import the file with it first" not in refused
    assert not (tmp_path / "refused").exists()
    us = _us_sources(tmp_path)
    out = tmp_path / "out"
    said = _invoke(command, download, out, "--sources-config", str(us)).output
    document = _written(command, out)
    assert document["sources_config"] == {"file": "us.yaml", "sha256": sha256_of(us)}
    assert document["mapping"] is None
    assert "not used" not in said
    # Read as check reads it (and as `import` then discover/compare of its log does): the
    # charge and its two refunds correlated into one refund case. Before, discover and
    # compare read an export's records uncorrelated: 3 cases of one event each, and the
    # correlation's notes unsaid; they are told, pointing to no correlation.csv (neither
    # command writes one).
    notes = document["import"]["notes"] if command == "discover" else document["notes"]
    assert any("correlation: " in n and "not listed by discover or compare" in n
               for n in notes), notes
    assert "see correlation.csv" not in said and "not listed by discover or compare" in said
    log = tmp_path / "log.parquet"
    run("import", str(download), "--sources-config", str(us), "--out", str(log), code=0)
    _invoke(command, log, tmp_path / "imported")
    earlier = _written(command, tmp_path / "imported")
    if command == "discover":
        assert (document["import"]["read"], document["import"]["imported"]) == (3, 3)
        assert (document["cases"], document["events"]) == (1, 3)
        assert (out / "variants.csv").read_text(encoding="utf-8") == (
            tmp_path / "imported" / "variants.csv").read_text(encoding="utf-8")
    else:
        assert document["as_is"]["file"] == "activity.csv"
        assert document["as_is"]["cases"] == earlier["as_is"]["cases"] == 1
        assert document["differences"] == earlier["differences"]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_sources_file_no_export_is_read_with_is_told_not_used(tmp_path: Path,
                                                                 command: str) -> None:
    """A canonical log (its exports read with the sources file of its import) given
    --sources-config: as check tells it, a note says it was not used, and the file is
    recorded with `used` false."""
    us = _us_sources(tmp_path)
    log = tmp_path / "log.parquet"
    run("import", str(_us_download(tmp_path)), "--sources-config", str(us), "--out", str(log),
        code=0)
    out = tmp_path / "out"
    said = " ".join(_invoke(command, log, out, "--sources-config", str(us)).output.split())
    note = ("--sources-config us.yaml: no input is a source-system export (Zendesk, Jira, "
            "ServiceNow, Stripe, PayPal, Adyen), the only kind it is read for: not used")
    assert note in said, said
    document = _written(command, out)
    assert document["sources_config"] == {"file": "us.yaml", "sha256": sha256_of(us),
                                          "used": False}
    notes = document["import"]["notes"] if command == "discover" else document["notes"]
    assert any(n.startswith(note) for n in notes), notes
    plain = _invoke(command, log, tmp_path / "plain").output
    assert "not used" not in plain
    assert _written(command, tmp_path / "plain")["sources_config"] is None


def _cp1252_log(folder: Path) -> Path:
    """A generic CSV in cp1252 whose columns need a mapping ('Created at' beside 'Updated
    at': the event time cannot be told by name), an activity label with an 'ñ'."""
    path = folder / "tickets.csv"
    rows = ["Ticket,Status,Created at,Updated at,Agent",
            "T1,Receive refund request,2026-11-01T09:00:00Z,2026-11-01T09:00:00Z,José Peña",
            "T1,Revisión del reembolso,2026-11-01T09:00:00Z,2026-11-02T10:00:00Z,José Peña",
            "T2,Receive refund request,2026-11-03T09:00:00Z,2026-11-03T09:00:00Z,Ana Núñez",
            "T2,Revisión del reembolso,2026-11-03T09:00:00Z,2026-11-04T10:00:00Z,Ana Núñez"]
    path.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    return path


def _mapping(folder: Path) -> Path:
    path = folder / "map.yaml"
    path.write_text("columns:\n  case:concept:name: Ticket\n  concept:name: Status\n"
                    "  time:timestamp: Updated at\n  org:resource: Agent\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_cp1252_csv_is_read_with_its_mapping_and_encoding(tmp_path: Path,
                                                            command: str) -> None:
    """Before: discover had no --mapping nor --encoding, compare no --encoding ("import the
    file with it first"). Now both read the file with them; the encoding is recorded among
    the import options in effect, the mapping by name and sha256."""
    log, mapping = _cp1252_log(tmp_path), _mapping(tmp_path)
    refused = _invoke(command, log, tmp_path / "refused", "--mapping", str(mapping),
                      code=2).output
    assert "--encoding" in refused and "import the file with it first" not in refused
    out = tmp_path / "out"
    _invoke(command, log, out, "--mapping", str(mapping), "--encoding", "cp1252")
    document = _written(command, out)
    assert document["mapping"] == {"file": "map.yaml", "sha256": sha256_of(mapping)}
    assert document["sources_config"] is None
    if command == "discover":
        assert document["import"]["options"]["encoding"] == "cp1252"
        variants = (out / "variants.csv").read_text(encoding="utf-8")
        assert "Receive refund request -> Revisión del reembolso" in variants, variants
    else:
        assert document["import_options"]["encoding"] == "cp1252"
        assert document["as_is"]["import"]["options"]["encoding"] == "cp1252"
        assert "Revisión del reembolso" in document["as_is"]["activities"]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_bad_encoding_is_refused_before_the_log_is_read(tmp_path: Path,
                                                          command: str) -> None:
    """As check: --encoding is checked first, where no input is a CSV too."""
    log = tmp_path / "log.parquet"
    csv = tmp_path / "log.csv"
    csv.write_text("case,activity,timestamp\n1,a,2026-01-01T10:00:00Z\n", encoding="utf-8")
    run("import", str(csv), "--out", str(log), code=0)
    result = _invoke(command, log, tmp_path / "out", "--encoding", "bogus", code=2)
    assert result.output.startswith("error: field '--encoding': unknown encoding 'bogus'")
    assert not (tmp_path / "out").exists()


def test_check_discover_and_compare_declare_the_same_reading_options() -> None:
    """One declaration (`_log_reading_options`): every reading option of `import` is an
    option of check, discover and compare, of the same type and multiplicity, so that no
    error of reading needs "import the file with it first"."""
    from audit.cli import IMPORT_READING_OPTIONS

    def options(name: str) -> dict[str, tuple[dict[str, Any], bool]]:
        command = main.commands[name]
        return {opt: (p.type.to_info_dict(), p.multiple) for p in command.params for opt in p.opts
                if opt in IMPORT_READING_OPTIONS}

    reference = options("import")
    assert set(reference) == set(IMPORT_READING_OPTIONS)
    for name in ("check", "discover", "compare"):
        assert options(name) == reference, name


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_not_used_note_names_the_sources_file_without_its_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """The same log and options give the same file (no folder and no time): the sources
    file given as `us.yaml` and by its absolute path gave discovery.json and compare.json
    that differed in the "not used" note, which wrote the path as typed (and so the user's
    folders). Now the note names the file, as `sources_config` does."""
    us = _us_sources(tmp_path)
    log = tmp_path / "log.parquet"
    run("import", str(_us_download(tmp_path)), "--sources-config", str(us), "--out", str(log),
        code=0)
    monkeypatch.chdir(tmp_path)
    _invoke(command, Path("log.parquet"), Path("relative"), "--sources-config", "us.yaml")
    _invoke(command, Path("log.parquet"), Path("absolute"), "--sources-config", str(us))
    name = "discovery.json" if command == "discover" else "compare.json"
    relative = (tmp_path / "relative" / name).read_bytes()
    assert relative == (tmp_path / "absolute" / name).read_bytes()
    assert str(tmp_path).encode() not in relative
    assert b"--sources-config us.yaml: no input is a source-system export" in relative


EXTRA_CHARGE = ("11/03/2026,11:00:00,PST,Bob,Subscription Payment,Completed,USD,29.99,-0.74,"
                "29.25,bob@example.org,billing@example.com,5AB12345AB678901D,,SU-O7002,,,card,"
                "Credit")
"""A charge no refund or ticket refers to: a sale, left out of the refund cases."""


def test_discovery_json_counts_the_charges_left_out_and_the_events(tmp_path: Path) -> None:
    """A US PayPal download of 4 records, one a charge nothing refunds: the console said
    "4 records imported -> 3 events", discovery.json `read 4 = imported 4 + quarantined
    0` alone (its 3 events unexplained). Now its `import` counts the charges left out as
    sales, the charges' events repeated, the events made and the correlation problems."""
    download = tmp_path / "activity.csv"
    download.write_text("\n".join([HEADER, *ROWS, EXTRA_CHARGE]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    _invoke("discover", download, out, "--sources-config", str(_us_sources(tmp_path)))
    intake = _written("discover", out)["import"]
    assert (intake["read"], intake["imported"], intake["quarantined"]) == (4, 4, 0)
    assert (intake["left_out"], intake["repeated"], intake["events"]) == (1, 0, 3)
    assert intake["events"] == intake["imported"] - intake["left_out"] + intake["repeated"]
    assert intake["correlation_problems"] == 2  # (the refund ids RFD-7 and RFD-8: no ticket)


def test_compare_side_note_counts_the_charges_left_out(tmp_path: Path) -> None:
    """A side's note of its quarantined rows tells the charges left out as sales too, as
    the import's summary does (before: "read 5 = imported 4 + quarantined 1" of a log of
    3 events)."""
    bad = ROWS[2].replace("11/12/2026", "99/99/2026").replace("9VZ2", "9VZ3")
    download = tmp_path / "activity.csv"
    download.write_text("\n".join([HEADER, *ROWS, EXTRA_CHARGE, bad]) + "\n",
                        encoding="utf-8")
    out = tmp_path / "out"
    _invoke("compare", download, out, "--sources-config", str(_us_sources(tmp_path)))
    notes = [n for n in _written("compare", out)["notes"] if n.startswith("as-is log: read")]
    assert notes == ["as-is log: read 5 = imported 4 + quarantined 1, 1 of the imported: "
                     "charge(s) left out as sales (no ticket or refund refers to them); "
                     "4 records imported -> 3 events (`refund-audit import` writes the "
                     "quarantined rows with reasons)"], notes


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_download_of_sales_alone_is_told_so(tmp_path: Path, command: str) -> None:
    """A PayPal download whose every record is a charge no refund or ticket refers to: all
    left out as sales. Before: "the log has no events" alone (the console's summary above
    it); now the error says why, exit 2 as before."""
    download = tmp_path / "activity.csv"
    download.write_text("\n".join([HEADER, ROWS[0], EXTRA_CHARGE]) + "\n", encoding="utf-8")
    said = _invoke(command, download, tmp_path / "out", "--sources-config",
                   str(_us_sources(tmp_path)), code=2).output
    error = " ".join(said[said.index("error:"):].split())
    assert error == (f"error: {download}: the log has no events: each of its 2 imported "
                     "records is a charge no refund or ticket refers to, all left out as "
                     "sales, so there is no refund case to "
                     + ("mine" if command == "discover" else "compare")), said


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_encoding_is_not_applied_to_a_log_that_is_no_csv(tmp_path: Path,
                                                           command: str) -> None:
    """`--encoding cp1252` of a Parquet log (no CSV read: nothing decoded with it) was
    recorded in `options` as in effect; now it is in `not_applied`, as --object-type of a
    log that is no OCEL log. Of the CSV itself it is in effect."""
    csv = tmp_path / "log.csv"
    csv.write_text("case,activity,timestamp\n1,a,2026-01-01T10:00:00Z\n"
                   "1,b,2026-01-01T11:00:00Z\n", encoding="utf-8")
    log = tmp_path / "log.parquet"
    run("import", str(csv), "--out", str(log), code=0)
    for given, applied in ((log, False), (csv, True)):
        out = tmp_path / f"out-{given.suffix[1:]}"
        _invoke(command, given, out, "--encoding", "cp1252")
        document = _written(command, out)
        read = document["import"] if command == "discover" else document["as_is"]["import"]
        assert read["options"]["encoding"] == ("cp1252" if applied else None), read
        assert read["not_applied"] == ([] if applied else ["encoding"]), read


@pytest.mark.parametrize("option", [["--sources-config", "us.yaml"], ["--encoding", "cp1252"],
                                    ["--assume-tz", "Europe/Berlin"],
                                    ["--mapping", "map.yaml"]])
def test_reading_options_are_refused_between_two_models(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: list[str]) -> None:
    """Two models compared read no log: a reading option was accepted and did nothing (the
    sources file recorded `used` false with a note that "a canonical log's events were read
    with the sources file of its import", of no log read). Refused, as --min-shift and
    --fdr against a model are, before any side is read."""
    _us_sources(tmp_path)
    _mapping(tmp_path)
    monkeypatch.chdir(tmp_path)
    said = run("compare", "ecommerce.bpmn", "subscription.bpmn", "--out", "out", *option,
               code=2).output
    assert (f"{option[0]} applies to a log side only: both sides are models "
            "(ecommerce.bpmn, subscription.bpmn), and no log is read; leave it out") in \
        " ".join(said.split()), said
    assert not (tmp_path / "out").exists()
