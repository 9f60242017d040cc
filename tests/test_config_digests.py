"""The sha256 a run records of each configuration file it read (the policy, with its
waivers; --mapping; --sources-config) is the digest of the very bytes parsed: each file is
read once, hashed and parsed from those bytes. Before, the policy's and the mapping's were
taken by a second read, and the sources file's (check, discover, compare, import) and the
mapping's (discover, compare, import) once the run was done: a file edited in between was
recorded by bytes the run had not read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from audit.cli import _import_reading, main
from audit.store import import_record

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "sample_logs" / "refund-sample" / "exports"
MODELS = ROOT / "models"


@pytest.fixture
def edited_once_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[Path, bytes]]:
    """Files to edit right after the run has read them: each such file, the moment its text
    is parsed as YAML, gets a line added on disk (as an editor saving it would). Yields
    the map of those files to the bytes they held when read (filled in by the caller)."""
    files: dict[Path, bytes] = {}
    compose = yaml.compose

    def composed(text: str, *args: object, **kwargs: object) -> object:
        for path, before in files.items():
            if before.decode("utf-8") == text and path.read_bytes() == before:
                path.write_bytes(before + b"# edited after the run read it\n")
        return compose(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(yaml, "compose", composed)
    yield files


def _configs(folder: Path, files: dict[Path, bytes]) -> dict[str, Path]:
    folder.mkdir()
    policy = folder / "policy.yaml"  # (the conformance rules left out: they need pm4py)
    policy.write_text((MODELS / "policy.default.yaml").read_text(encoding="utf-8").replace(
        "  ignore: []", "  ignore: [conformance]").replace(
        ": ecommerce.bpmn", f": {MODELS / 'ecommerce.bpmn'}").replace(
        ": subscription.bpmn", f": {MODELS / 'subscription.bpmn'}").replace(
        ": offline.bpmn", f": {MODELS / 'offline.bpmn'}"), encoding="utf-8")
    mapping = folder / "mapping.yaml"
    mapping.write_text("# no column renamed\n", encoding="utf-8")
    sources = folder / "sources.yaml"
    sources.write_bytes((MODELS / "sources.default.yaml").read_bytes())
    named = {"policy": policy, "mapping": mapping, "sources_config": sources}
    for path in named.values():
        files[path] = path.read_bytes()
    return named


def _read_digests(named: dict[str, Path], files: dict[Path, bytes]) -> dict[str, str]:
    """The sha256 of each file as the run read it; each file was edited since."""
    for path in named.values():
        assert path.read_bytes() != files[path], f"{path.name} was not read, or not edited"
    return {key: hashlib.sha256(files[path]).hexdigest() for key, path in named.items()}


INPUTS = [EXPORTS / "zendesk_ticket_audits.json", EXPORTS / "stripe_charges.csv",
          EXPORTS / "stripe_refunds.csv", EXPORTS / "role_history.csv"]


def test_check_records_the_bytes_it_read(tmp_path: Path,
                                         edited_once_read: dict[Path, bytes]) -> None:
    named = _configs(tmp_path / "config", edited_once_read)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "check", *map(str, INPUTS), "--out", str(out), "--policy", str(named["policy"]),
        "--mapping", str(named["mapping"]), "--sources-config", str(named["sources_config"]),
        "--fail-on", "never", "--as-of", "2026-10-15T00:00:00Z"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "findings.json").read_text(encoding="utf-8"))["manifest"]
    read = _read_digests(named, edited_once_read)
    assert manifest["policy"]["sha256"] == read["policy"]
    assert manifest["mapping"]["sha256"] == read["mapping"]
    assert manifest["sources_config"]["sha256"] == read["sources_config"]


def test_import_records_the_bytes_it_read(tmp_path: Path,
                                          edited_once_read: dict[Path, bytes]) -> None:
    named = _configs(tmp_path / "config", edited_once_read)
    del edited_once_read[named.pop("policy")]  # (import reads no policy)
    out = tmp_path / "log.parquet"
    result = CliRunner().invoke(main, [
        "import", *map(str, INPUTS), "--out", str(out), "--mapping", str(named["mapping"]),
        "--sources-config", str(named["sources_config"])])
    assert result.exit_code == 0, result.output
    record = import_record(out)
    assert record is not None
    options = record["options"]
    read = _read_digests(named, edited_once_read)
    assert options["mapping"]["sha256"] == read["mapping"]
    assert options["sources_config"]["sha256"] == read["sources_config"]


def test_discover_and_compare_record_the_bytes_read(
        tmp_path: Path, edited_once_read: dict[Path, bytes]) -> None:
    """discovery.json's and compare.json's `mapping` and `sources_config` (`ImportReading.
    files`), as their commands take them from the files read before any log is."""
    named = _configs(tmp_path / "config", edited_once_read)
    del edited_once_read[named.pop("policy")]
    reading = _import_reading(named["mapping"], named["sources_config"], None, None, None,
                              ())
    files = reading.files(True)
    read = _read_digests(named, edited_once_read)
    assert files["mapping"] == {"file": "mapping.yaml", "sha256": read["mapping"]}
    assert files["sources_config"] == {"file": "sources.yaml",
                                       "sha256": read["sources_config"]}
