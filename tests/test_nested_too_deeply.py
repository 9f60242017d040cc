"""A findings.json that `diff` reads, nested past Python's stack: one error line naming the
file, exit code 2, not an internal error and its traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import main

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("document", [
    # (in a key diff does not read: msgspec skips it, recursing; before, `internal error
    # (RecursionError: maximum recursion depth exceeded while deserializing an object)`)
    '{"extra": ' + DEEP + ', "manifest": {}}',
    # (in one it reads)
    '{"manifest": ' + DEEP + "}",
    # (after a text msgspec refuses, a lone surrogate escaped: read by json, which
    # recurses too)
    '{"note": "\\ud800", "x": ' + DEEP + "}",
])
def test_diff_of_a_findings_json_nested_too_deeply_is_an_input_error(
        tmp_path: Path, document: str) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "findings.json").write_text(document, encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(old), str(new),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output == (f"error: {old / 'findings.json'}: field 'OLD': not a "
                             "findings.json of refund-audit check: nested too deeply to "
                             "be read\n")
    assert "internal error" not in result.output
    assert not (tmp_path / "out").exists()
