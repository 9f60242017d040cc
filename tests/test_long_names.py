"""A canonical log named near the file-name limit (255 bytes on ext4): its side files
(LOG.quarantine.csv, LOG.correlation.csv) are longer than its name, and a re-import moves
the earlier files aside under a name of their own. Before: an import failed with `File name
too long` after reading every input, a re-import of a log 2 bytes short of that failed on
the name of the file moved aside, and `check` or `discover` of such a log (a copy, renamed)
ended in an internal error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audit.sample import SampleSpec, write_sample
from audit.store import name_limit
from tests.test_check_cli import run


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(SampleSpec(channel="offline", cases=10, seed=5, violation_rate=0.3), out)
    return out / "canonical.csv"


def test_import_refuses_a_log_whose_side_file_names_would_be_too_long(
        sample: Path, tmp_path: Path) -> None:
    """Refused before any input is read (a missing one is not reached), naming --out."""
    limit = name_limit(tmp_path)
    log = tmp_path / ("x" * (limit - 14) + ".parquet")  # (its quarantine: limit + 1 bytes)
    for source in (sample, tmp_path / "missing.csv"):
        result = run("import", str(source), "--out", str(log), code=2)
        assert f"{log}: field '--out': the name is too long: " in result.output
        assert (f".quarantine.csv beside it would be {limit + 1:,} bytes, over the "
                f"{limit:,} bytes a file name can have in its folder; name the log with at "
                f"most {limit - 16:,} bytes before its .parquet") in result.output
        assert list(tmp_path.iterdir()) == [], "nothing written, no staging folder left"


def test_a_log_at_the_longest_name_allowed_is_imported_again(sample: Path,
                                                             tmp_path: Path) -> None:
    """The second import moves the earlier log and quarantine aside (under a name cut
    short): before, `0-` before the quarantine's name made it 1 byte too long."""
    limit = name_limit(tmp_path)
    log = tmp_path / ("y" * (limit - 16) + ".parquet")
    for _ in range(2):
        result = run("import", str(sample), "--out", str(log), code=0)
        assert f"log: {log}" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [log.name, log.stem + ".quarantine.csv"])


def test_check_and_discover_of_a_log_whose_side_files_cannot_exist(
        sample: Path, tmp_path: Path) -> None:
    """A log imported under a short name, then renamed to one whose LOG.quarantine.csv
    would be too long: the side file is `not found`, as it cannot be there."""
    limit = name_limit(tmp_path)
    first = tmp_path / "log.parquet"
    run("import", str(sample), "--out", str(first), code=0)
    log = tmp_path / ("z" * (limit - 14) + ".parquet")
    shutil.copyfile(first, log)
    result = run("check", str(log), "--out", str(tmp_path / "out"), "--fail-on", "never",
                 "--format", "json", code=0)
    assert (f"(not found: {tmp_path / (log.stem + '.quarantine.csv')})") in result.output
    result = run("discover", str(log), "--miner", "dfg", "--out", str(tmp_path / "model"),
                 code=0)
    assert "not found: " in result.output
