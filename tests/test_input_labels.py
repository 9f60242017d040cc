"""Inputs that share a file name (monthly exports in folders of their own) keep apart: each is
named by the end of its path that tells them apart, in the log's provenance, the quarantine,
the per-file counts and the run's manifest; the same file given twice is an input error.
Correlation takes the events of the exports read in the run, whatever their events' file
names: not a canonical log's events whose provenance names an export of the same name."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit import canonical as C
from audit.cli import main
from audit.errors import InputError
from audit.ingest import input_labels
from tests.sample_exports import write_sale

REPO = Path(__file__).resolve().parents[1]
EXPORTS = REPO / "sample_logs" / "refund-sample" / "exports"


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def test_labels_are_file_names_unless_shared(tmp_path: Path) -> None:
    paths = [tmp_path / "jan" / "stripe_charges.csv", tmp_path / "zendesk.json",
             tmp_path / "feb" / "stripe_charges.csv",
             tmp_path / "p" / "q" / "refunds.csv", tmp_path / "r" / "q" / "refunds.csv"]
    assert input_labels(paths) == ["jan/stripe_charges.csv", "zendesk.json",
                                   "feb/stripe_charges.csv", "p/q/refunds.csv", "r/q/refunds.csv"]
    assert input_labels([Path("one.csv"), Path("two.csv")]) == ["one.csv", "two.csv"]


def test_the_same_file_given_twice_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    twice = [tmp_path / "a" / "x.csv", tmp_path / "a" / ".." / "a" / "x.csv"]
    with pytest.raises(InputError, match="given twice") as raised:
        input_labels(twice)
    assert raised.value.file == str(twice[1])
    # Under another name: a link to it.
    (tmp_path / "a" / "x.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "a" / "y.csv").symlink_to(tmp_path / "a" / "x.csv")
    with pytest.raises(InputError, match="given twice"):
        input_labels([tmp_path / "a" / "x.csv", tmp_path / "a" / "y.csv"])
    output = run("check", str(EXPORTS / "stripe_charges.csv"),
                 str(EXPORTS / "." / "stripe_charges.csv"), "--out", str(tmp_path / "o"),
                 code=2).output
    assert "given twice" in output and "stripe_charges.csv" in output


def _split_charges(tmp_path: Path) -> tuple[Path, Path, int, int]:
    """The sample's exports with stripe_charges.csv split in two files of that name, in
    folders a/ and b/; b's gets one row more with a bad amount (quarantined)."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for path in EXPORTS.iterdir():
        if path.name != "stripe_charges.csv":
            (a / path.name).write_bytes(path.read_bytes())
    with (EXPORTS / "stripe_charges.csv").open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    first, rest = rows[:99], rows[99:]
    bad = ["ch_bad_1", "Order EC-O1", "12x", "", "eur", "2026-05-24 22:41:03", "succeeded",
           "card", "EC-O1"]
    for folder, part in ((a, first), (b, [*rest, bad])):
        with (folder / "stripe_charges.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *part])
    return a, b, len(first), len(rest)


def test_two_exports_of_one_name_keep_their_own_counts_and_provenance(tmp_path: Path) -> None:
    a, b, in_a, in_b = _split_charges(tmp_path)
    inputs = [*sorted(str(p) for p in a.iterdir()), str(b / "stripe_charges.csv")]
    run("check", *inputs, "--out", str(tmp_path / "split"), "--fail-on", "never")
    run("check", *sorted(str(p) for p in EXPORTS.iterdir()), "--out", str(tmp_path / "whole"),
        "--fail-on", "never")
    split = json.loads((tmp_path / "split" / "findings.json").read_text(encoding="utf-8"))
    whole = json.loads((tmp_path / "whole" / "findings.json").read_text(encoding="utf-8"))
    counts = {entry["file"]: (entry["read"], entry["imported"], entry["quarantined"])
              for entry in split["manifest"]["inputs"]}
    # Each file's own counts (before, both took the counts of the last file of that name).
    assert counts[str(a / "stripe_charges.csv")] == (in_a, in_a, 0)
    assert counts[str(b / "stripe_charges.csv")] == (in_b + 1, in_b, 1)
    # The quarantined row names its file; the findings are the whole export's.
    quarantine = pd.read_csv(tmp_path / "split" / "quarantine.csv")
    assert quarantine[["file", "row", "field"]].values.tolist() == [
        ["b/stripe_charges.csv", in_b + 2, "amount"]]  # (row: the file's line, header first)
    assert sorted(f["fingerprint"] for f in split["findings"]) == sorted(
        f["fingerprint"] for f in whole["findings"])

    out = tmp_path / "log.parquet"
    lines = run("import", *inputs, "--out", str(out)).output.splitlines()
    log = pd.read_parquet(out)
    files = log[C.SOURCE_FILE].astype(str)
    # (and the events each file's records became, where a charge is in several cases)
    for label, told in (("a/stripe_charges.csv", f"read {in_a} = imported {in_a} + "
                         "quarantined 0"),
                        ("b/stripe_charges.csv", f"read {in_b + 1} = imported {in_b} + "
                         "quarantined 1")):
        imported = int(told.split("imported ")[1].split()[0])
        events = int((files == label).sum())
        assert f"{label} (stripe): {told}" + (
            "" if events == imported else f"; {imported} records imported -> {events} "
            f"events, {events - imported} of them a charge's event repeated in a further "
            "case that refunds it") in lines, lines
    assert "stripe_charges.csv" not in set(files)
    charges = log[files.str.endswith("stripe_charges.csv")]
    # Each event's file and row name one record: no (file, row) of a charge event repeats
    # except for a charge copied into several cases (its event id then ends in "@<case>").
    rows = charges[~charges[C.EVENT_ID].astype(str).str.contains("@")]
    assert not rows.duplicated([C.SOURCE_FILE, C.SOURCE_ROW]).any()
    assert set(rows[C.SOURCE_FILE].astype(str)) == {"a/stripe_charges.csv",
                                                    "b/stripe_charges.csv"}


def test_a_canonical_log_beside_an_export_of_a_name_it_names_keeps_its_cases(
        tmp_path: Path) -> None:
    """The sample's exports imported into a canonical log; checked again beside a new
    charges export that shares a name with the exports the log's events came from. The
    log's events of exports are taken back as their records stated them and correlated
    again with the new export's record (a charge no refund names: a sale, left out), as
    reading the log's exports and the new one at once would: the log's events keep their
    cases (once, correlated again by that name alone, 139 of its events were left out as
    sales and 128 findings were false). A charge's copies in several cases are one record
    again (dropped as repeats of it: read once) until correlation copies it again."""
    canonical = tmp_path / "canonical.parquet"
    run("import", *sorted(str(p) for p in EXPORTS.iterdir()), "--out", str(canonical))
    new = write_sale(tmp_path / "new" / "stripe_charges.csv", "ch_new_1", "EC-N1",
                     "2026-05-24 22:41:03")
    alone = run("check", str(canonical), "--out", str(tmp_path / "alone"),
                "--fail-on", "never").output.splitlines()
    beside = run("check", str(canonical), str(new), "--out", str(tmp_path / "beside"),
                 "--fail-on", "never").output.splitlines()
    before = pd.read_parquet(canonical)
    events = int(alone[0].split(" cases, ")[1].split(" events")[0].replace(",", ""))
    copies = before[C.EVENT_ID].astype(str)[lambda ids: ids.str.contains("@")]
    assert len(before) == events and len(copies) > 0
    records = events - len(copies) + copies.str.partition("@")[0].nunique()
    findings = [json.loads((tmp_path / name / "findings.json").read_text(encoding="utf-8"))[
        "findings"] for name in ("alone", "beside")]
    assert sorted(f["fingerprint"] for f in findings[0]) == sorted(
        f["fingerprint"] for f in findings[1])
    # The sale is imported (read = imported + quarantined + duplicates dropped), counted as
    # left out, for the new
    # export only (the log's events keep the name of an export, which the new one shares).
    # (The copies beyond the first of each are dropped as its repeats, and said so.)
    repeats = len(copies) - copies.str.partition("@")[0].nunique()
    # (and the events the records made: the sale none, a charge's copies one per case)
    assert beside[0] == (f"audited 300 cases, {events:,} events (read "
                         f"{records + 1 + repeats:,} = imported {records + 1:,} + quarantined "
                         f"0 + {repeats} duplicates dropped, 1 of the imported: charge(s) "
                         "left out as sales (no ticket or refund refers to them); "
                         f"{records + 1:,} records imported -> {events:,} events)")
    document = json.loads((tmp_path / "beside" / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["left_out"] == 1
    assert [(Path(i["file"]).name, i["imported"], i["left_out"])
            for i in document["manifest"]["inputs"]] == [
        ("canonical.parquet", records, 0), ("stripe_charges.csv", 1, 1)]
    imported = run("import", str(canonical), str(new), "--out",
                   str(tmp_path / "again.parquet")).output
    assert "1 charge event(s) that no ticket or refund refers to are sales" in imported
    assert ("stripe_charges.csv (stripe): read 1 = imported 1 + quarantined 0; 1 of the "
            "imported: charge(s) left out as sales (no ticket or refund refers to them)"
            ) in imported
    again = pd.read_parquet(tmp_path / "again.parquet")
    assert len(again) == events
    pd.testing.assert_frame_equal(
        again.astype("string").sort_values(C.EVENT_ID).reset_index(drop=True),
        before.astype("string").sort_values(C.EVENT_ID).reset_index(drop=True))


def test_a_log_event_correlation_leaves_out_counts_for_the_log_not_a_same_named_export(
        tmp_path: Path) -> None:
    """A canonical log whose refund and ticket events of one case were cut out by hand
    holds that case's charge alone: taken back and correlated again, nothing refers to it,
    and it is left out as a sale. It is counted for the log, the input it came from, not
    for the new export that shares the name of the export the charge was once read from."""
    canonical = tmp_path / "canonical.parquet"
    run("import", *sorted(str(p) for p in EXPORTS.iterdir()), "--out", str(canonical))
    log = pd.read_parquet(canonical)
    ids = log[C.EVENT_ID].astype(str)
    charges = log[ids.str.startswith("stripe:ch_") & ~ids.str.contains("@")]
    case = str(charges[C.CASE].iloc[0])
    cut = log[(log[C.CASE].astype(str) != case) | (log[C.EVENT_ID].astype(str)
                                                    == str(charges[C.EVENT_ID].iloc[0]))]
    cut.to_parquet(canonical, index=False)
    new = write_sale(tmp_path / "new" / "stripe_charges.csv", "ch_new_1", "EC-N1",
                     "2026-05-24 22:41:03")
    run("check", str(canonical), str(new), "--out", str(tmp_path / "out"),
        "--fail-on", "never")
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert document["summary"]["left_out"] == 2
    assert [(Path(i["file"]).name, i["left_out"])
            for i in document["manifest"]["inputs"]] == [
        ("canonical.parquet", 1), ("stripe_charges.csv", 1)]
