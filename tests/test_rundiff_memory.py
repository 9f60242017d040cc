"""`diff`'s reading and writing in little memory: a findings.json decoded with only the fields
the diff reads (msgspec, from the bytes) gives the diff json's whole document gave, and
its refusals in json's words; diff.json and diff.csv written in pieces are the texts
written whole."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner

from audit import rundiff
from audit.cli import main
from audit.errors import InputError
from audit.rundiff import csv_chunks, csv_text, diff_runs, load_run
from tests.test_rundiff import _documents, runs  # noqa: F401  (the two checks of the sample)


class _Refusing:
    """A decoder that decodes nothing: every findings.json read by json, whole."""

    def decode(self, data: bytes) -> Any:
        raise msgspec.DecodeError("refused")


def _diff(folders: tuple[Path, Path]) -> rundiff.RunDiff:
    return diff_runs(load_run(folders[0], "OLD"), load_run(folders[1], "NEW"))


def test_only_the_fields_the_diff_reads_are_kept_and_the_diff_is_the_same(
        runs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    old_document, _ = _documents(runs)
    assert {"activities", "resources", "sources"} <= set(old_document["findings"][0])
    # (every field the diff checks is decoded: one left out would be refused as missing)
    assert set(rundiff._Finding.__annotations__) == {
        *rundiff._FINDING_FIELDS, "evidence", "waived_by"}
    kept = _diff(runs)
    run = kept.old
    assert all(set(f) <= set(rundiff._Finding.__annotations__) for f in run.findings)
    assert all("evidence" in f and "waived_by" in f for f in run.findings)
    # (each of a few values one object for all the findings holding it)
    assert len({id(f["rule"]) for f in run.findings}) == len({f["rule"] for f in run.findings})
    monkeypatch.setattr(rundiff, "_DECODER", _Refusing())
    whole = _diff(runs)
    assert set(whole.old.findings[0]) > set(run.findings[0])  # (json's: every field)
    assert kept.document() == whole.document()
    assert csv_text(kept.rows) == csv_text(whole.rows)


def _written(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "findings.json").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("edit", "expected"), [
    # (a number too large for a float: msgspec refuses it, json reads it as infinity)
    (lambda t: t.replace('"amount_at_risk":', '"amount_at_risk":1e400,"was":', 1),
     "findings[0].amount_at_risk': not a number or null: inf"),
    # (a finding not an object: not of the shape msgspec decodes)
    (lambda t: t.replace('"findings": [', '"findings": [7, ', 1),
     "field 'findings[0]': not an object"),
    (lambda t: t.replace('"findings": [', '"findings": "none", "was": [', 1),
     "field 'findings': missing or not a list"),
    (lambda t: t[:-40], "not JSON: "),
])
def test_what_msgspec_does_not_decode_is_read_and_refused_as_json_reads_it(
        runs: tuple[Path, Path], tmp_path: Path, edit: Any, expected: str) -> None:  # noqa: F811
    text = (runs[1] / "findings.json").read_text(encoding="utf-8")
    folder = _written(tmp_path / "run", edit(text))
    with pytest.raises(InputError) as refused:
        load_run(folder, "NEW")
    assert expected in str(refused.value)


def test_a_lone_surrogate_msgspec_refuses_is_read_by_json(
        runs: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    document = json.loads((runs[1] / "findings.json").read_text(encoding="utf-8"))
    document["findings"][0]["resources"] = ["\ud800"]  # (a field the diff does not read)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "findings.json").write_text(json.dumps(document), encoding="ascii")
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode((folder / "findings.json").read_bytes())
    run = load_run(folder, "NEW")
    assert run.findings[0]["fingerprint"] == document["findings"][0]["fingerprint"]
    assert len(run.findings) == len(document["findings"])


def test_a_lone_surrogate_in_a_field_diff_writes_is_refused_naming_it(
        runs: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    """A lone surrogate in a finding's message (which check never writes: the import refuses
    it) read by json's fallback made write_diff fail with a UnicodeEncodeError traceback;
    now diff refuses the file naming the field, exit code 2, nothing written."""
    document = json.loads((runs[1] / "findings.json").read_text(encoding="utf-8"))
    document["findings"][3]["message"] = "paid \ud800 twice"
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "findings.json").write_text(json.dumps(document), encoding="ascii")
    with pytest.raises(InputError) as refused:
        load_run(folder, "NEW")
    assert refused.value.field == "findings[3].message"
    assert "lone UTF-16 surrogate" in str(refused.value)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["diff", str(runs[0]), str(folder), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "findings[3].message" in result.output and "Traceback" not in result.output
    assert not (out / "diff.json").exists()


def test_diff_json_and_csv_in_pieces_are_the_texts_written_whole(
        runs: tuple[Path, Path]) -> None:  # noqa: F811
    diff = _diff(runs)
    assert len(diff.rows) > 20
    assert "".join(diff.json_chunks()) == json.dumps(
        diff.document(), indent=1, ensure_ascii=False) + "\n"
    whole = "".join(csv_chunks(diff.rows, chunk=len(diff.rows) + 1))
    for chunk in (1, 2, 7):
        assert "".join(csv_chunks(diff.rows, chunk=chunk)) == whole
    empty = rundiff.RunDiff(diff.old, diff.new, [], [])
    assert "".join(empty.json_chunks()) == json.dumps(
        empty.document(), indent=1, ensure_ascii=False) + "\n"
    assert "".join(csv_chunks([])) == ",".join(rundiff.CSV_COLUMNS) + "\n"


def test_a_cell_quoted_in_one_piece_only_is_quoted_as_written_whole(
        runs: tuple[Path, Path]) -> None:  # noqa: F811
    diff = _diff(runs)
    rows = list(diff.rows)
    last = rows[-1]
    # (a message with a comma, a quote and a lone CR in the last piece only: its column
    # searched for them per piece)
    rows[-1] = replace(last, finding={**last.finding,
                                              "message": 'a, "b"\rc', "name": "x\ny"})
    texts = {k: "".join(csv_chunks(rows, chunk=k)) for k in (3, len(rows) + 1)}
    assert len(set(texts.values())) == 1
    assert '"a, ""b""\rc"' in texts[3]
