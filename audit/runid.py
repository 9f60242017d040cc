"""A check's run identifier: the SHA-256 of what decided its findings, as findings.json's
manifest records it, so that report.html, findings.xlsx and findings.json name the run they
came from by the same value, and a re-performance of the audit gets it again.

The identity (`run_identity`) is the manifest's tool and version, the digest of the tool's
own code (`code_digest`: its installed source, templates and bundled models), findings.json's
format, the audit's clock (`as_of`), each input's digest with that of a canonical log's own
quarantine where its rows were counted (sorted: the order given changes no finding), the
digests of the policy, of each SOP (with its channel and process), of the mapping and (where
--sources-config gave one and an export was read with it) of the sources file, the import
options, each rule's logic version and the event order. It holds no time of the run,
no path, no command, no engine (the local and the Dask engine find the same) and no
measurement: the same inputs, policy, SOPs, mapping, sources file, options, clock and code
give the same run id on any machine, in any folder, at any time, and another of any of them
another. It is written as JSON with sorted keys, no spaces and ASCII escapes
(`canonical_json`), and hashed; `run_id` is that hex digest.

`python -m audit.runid findings.json ...` recomputes each file's run id from its manifest
and compares it with the `run_id` it records (exit code 1 where one differs, 2 where a file
cannot be read as a findings.json of refund-audit): a manifest edited since its check, and
not given a recomputed id, no longer matches. It is a consistency check, not a seal: the id
is an unkeyed digest anyone can recompute after editing a manifest, and it covers neither
the findings nor the summary (SHA256SUMS holds the sha256 of each file written).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

RUN_ID_VERSION = 2
"""The version of what `run_identity` holds, part of the identity: a later change of its
fields gives every run another id, never one an older run had for other content. (2: the
code digest and each input's earlier quarantine added, the engine taken out.)"""

CODE_FILES: dict[str, tuple[str, ...]] = {
    "audit": ("*.py", "py.typed"),
    "conformance": ("*.py", "py.typed"),
    "reports": ("*.py", "py.typed", "templates/*"),
    "models": ("*.py", "*.bpmn", "*.yaml", "*.md"),
}
"""The packages of the tool's code and, per package, the files of it `code_digest` reads,
as the wheel installs them (pyproject.toml's packages and package-data): `*.py` in the
package and in each subpackage below it (a folder holding `__init__.py`), every other
pattern a path inside the package matched at its own depth (`*.yaml` beside
`__init__.py`, not in a subfolder). No hidden file or folder (a name starting with `.`: an
editor's `.report.html.j2.swp`), no cache (`__pycache__`), no `.py` of a folder that is no
package and no other file a checkout holds beside them. The sample logs (package
`sample_logs`) are not code: a run of them has their digests as its inputs'."""

TEXT_SUFFIXES = frozenset({".py", ".typed", ".j2", ".html", ".css", ".js", ".yaml", ".yml",
                           ".bpmn", ".md", ".json", ".txt", ".csv", ".toml", ".cfg"})
"""The code files `code_digest` reads as text: their CRLF line ends are hashed as LF, so a
checkout with `core.autocrlf=true` (Windows) has the digest of the same commit's LF one.
Every other file (an image, a font) is hashed as its bytes are."""


def _package_root(package: str) -> Path | None:
    """The folder of regular package `package` as this process imports it (the folder of
    its `__init__.py`, where `importlib.resources.files` reads the bundled policy, SOPs and
    sources from), None where none is found or it is a namespace package (no
    `__init__.py`: not one of the tool's, which all have one)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None or Path(spec.origin).name != "__init__.py":
        return None
    return Path(spec.origin).parent


def _installed(inside: str, patterns: tuple[str, ...], root: Path) -> bool:
    """Whether the wheel installs package file `inside` (its path in the package, `root`):
    see `CODE_FILES`."""
    parts = inside.split("/")
    if any(part.startswith(".") for part in parts):
        return False
    for pattern in patterns:
        if pattern == "*.py":
            if inside.endswith(".py") and all(
                    (root.joinpath(*parts[:depth]) / "__init__.py").is_file()
                    for depth in range(1, len(parts))):
                return True
        elif inside.count("/") == pattern.count("/") and fnmatch.fnmatchcase(inside, pattern):
            return True
    return False


def code_files() -> list[tuple[str, Path]]:
    """The files of the tool's code (`CODE_FILES`) as this process imports them: per file,
    its name (`package/path`, `/`-separated) and where it lies, sorted by name."""
    found: list[tuple[str, Path]] = []
    for package, patterns in CODE_FILES.items():
        root = _package_root(package)
        if root is None:
            continue
        for path in root.rglob("*"):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            inside = path.relative_to(root).as_posix()
            if _installed(inside, patterns, root):
                found.append((f"{package}/{inside}", path))
    return sorted(found)


def _file_digest(path: Path) -> str:
    """The sha256 of code file `path` as `code_digest` reads it: a text file's
    (`TEXT_SUFFIXES`) with CRLF taken as LF, any other file's bytes as they are."""
    data = path.read_bytes()
    if path.suffix in TEXT_SUFFIXES:
        data = data.replace(b"\r\n", b"\n")
    return hashlib.sha256(data).hexdigest()


@functools.cache
def code_digest() -> dict[str, Any]:
    """The tool's code as this process runs it: `sha256`, the SHA-256 of the lines
    `NAME<TAB>SHA256\\n` (each file of `code_files`, by name, its sha256 as `_file_digest`
    reads it: a text file's line ends as LF), and `files`, how many. Computed once per
    process (about 140 files, 3 MB). It tells two builds apart where the version
    (`audit.__version__`) does not, with no git commit, which a wheel or an archive has
    not; the same commit checked out with LF or CRLF line ends, with or without an editor's
    swap file or a stray untracked script beside it, has one digest. The Python and
    libraries the tool runs on (pandas, pm4py) are not part of it (the manifest's
    `libraries` records their versions)."""
    lines = [f"{name}\t{_file_digest(path)}\n" for name, path in code_files()]
    return {"sha256": hashlib.sha256("".join(lines).encode("utf-8")).hexdigest(),
            "files": len(lines)}


LIBRARIES = ("pandas", "pyarrow", "numpy", "pm4py", "tzdata")
"""The distributions whose versions `library_versions` records: the data frames, the
Parquet reader, the arrays and the conformance checker the findings are computed with, and
the `tzdata` package (the IANA time zone data where the system has none)."""


def _tz_database() -> str | None:
    """The version of the IANA time zone database `zoneinfo` reads (`--assume-tz`'s
    offsets): the first `tzdata.zi` of the system's time zone folders (`zoneinfo.TZPATH`),
    else the `tzdata` package's, read from its first line (`# version 2025b`); None where
    neither says."""
    import zoneinfo

    places = [Path(folder) / "tzdata.zi" for folder in zoneinfo.TZPATH]
    try:
        from importlib.resources import files

        places.append(Path(str(files("tzdata.zoneinfo").joinpath("tzdata.zi"))))
    except (ImportError, ModuleNotFoundError, TypeError):
        pass
    for place in places:
        try:
            with place.open("rb") as handle:
                first = handle.readline(100).decode("ascii", "replace").strip()
        except OSError:
            continue
        if first.startswith("# version "):
            return first.removeprefix("# version ").strip() or None
    return None


@functools.cache
def library_versions() -> dict[str, str | None]:
    """The Python and the libraries this process runs the rules with, for findings.json's
    manifest (`libraries`): `python`, each of `LIBRARIES`' installed version (None where it
    is not installed) and `tz_database`, the time zone data's version. Recorded, not part of
    the run id: findings can differ across their versions, and a reader can tell which
    ones a run had, but the same audit re-performed after an update keeps its id."""
    import importlib.metadata
    import platform

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    found["tz_database"] = _tz_database()
    return found


RUN_ID_COVERS = (
    "the tool and its version", "the code digest (the sha256 of the tool's own source, "
    "templates and bundled models)", "the findings' format version", "the audit clock",
    "each input's sha256 (and that of a canonical log's own quarantine where its rows were "
    "counted)", "the policy's, each SOP's and the mapping's sha256", "the sources file's "
    "sha256 where --sources-config gave one that an export was read with",
    "the import options",
    "each rule's logic version", "the event order")
"""What the run id is the digest of, in words, as report.html's run details and
findings.xlsx's Summary say it (`run_id_is`) and docs/reports.md lists it."""


def run_id_is(formats: list[str] | None) -> str:
    """What the run id is, for report.html's run details and findings.xlsx's Summary of a
    run of report `formats` (None: all): what it covers (`RUN_ID_COVERS`), that it is no
    seal, and how to check it (`refund-audit verify`, `audit.verify`), or, where the run
    wrote no findings.json, that it cannot be."""
    check = ("findings.json's manifest.run_id records it, and refund-audit verify DIR, of "
             "the folder as filed, recomputes it from the manifest, checks each file's "
             "sha256 against SHA256SUMS and, with --inputs FILE..., the inputs' against "
             "those the manifest records"
             if formats is None or "json" in formats else
             f"this run wrote no findings.json (--format {','.join(formats)}), so nothing it "
             "wrote lets the run id be recomputed: a run with json in --format writes it")
    return ("the SHA-256 of what decided the findings: " + "; ".join(RUN_ID_COVERS)
            + ". No time, path, command or engine is part of it: the same inputs, policy, "
            "SOPs, mapping, sources file, options, clock and code give the same run id. It "
            "names the run; "
            "it is no seal (anyone can recompute it after editing the manifest, and it "
            "covers no finding): SHA256SUMS holds each file's sha256; " + check + ".")


def _sha256(entry: Any) -> Any:
    return entry.get("sha256") if isinstance(entry, dict) else None


def _counted_quarantine(entry: Any) -> Any:
    """The sha256 of a canonical-log input's own quarantine (LOG.quarantine.csv) where its
    rows were counted (`status` read: found, and verified or of a record that holds no
    sha256), else None: the file whose rows each finding's case_quarantined_rows counts."""
    told = entry.get("earlier_quarantine") if isinstance(entry, dict) else None
    if not isinstance(told, dict) or told.get("status") != "read":
        return None
    return told.get("sha256")


def run_identity(manifest: dict[str, Any], version: int = RUN_ID_VERSION) -> dict[str, Any]:
    """What of `manifest` (findings.json's) the run id is the digest of (see the module);
    `version` 1: as a run id was computed before version 2 (each input's sha256 alone, the
    engine's name, no code digest), which `main` checks an older findings.json by."""
    common = {
        "tool": manifest.get("tool"),
        "version": manifest.get("version"),
        "format_version": manifest.get("format_version"),
        "as_of": manifest.get("as_of"),
        "policy": _sha256(manifest.get("policy")),
        "sop": sorted([str(s.get("channel")), str(s.get("process")), str(s.get("sha256"))]
                      for s in manifest.get("sop") or [] if isinstance(s, dict)),
        "mapping": _sha256(manifest.get("mapping")),
        "import_options": manifest.get("import_options"),
        "rule_versions": manifest.get("rule_versions"),
        "event_order": manifest.get("event_order"),
    }
    if version == 1:
        engine = manifest.get("engine")
        return {"run_id_version": 1, **common,
                "inputs": sorted(str(_sha256(i)) for i in manifest.get("inputs") or []),
                "engine": engine.get("name") if isinstance(engine, dict) else None}
    inputs = [[str(_sha256(i)), _counted_quarantine(i)] for i in manifest.get("inputs") or []]
    identity = {"run_id_version": RUN_ID_VERSION, **common,
                "code": _sha256(manifest.get("code")),
                "inputs": sorted(inputs, key=lambda i: (i[0], str(i[1])))}
    # The sources file of --sources-config, only where one was given and used: it decides
    # how the exports are read (a PayPal account's date_format), and the bundled one read
    # where none is given is part of the code digest; runs without it keep the run ids they
    # had, and a run whose inputs hold no export (`used` false) has the id of one given none.
    sources_config = _sha256(used_sources_config(manifest))
    if sources_config is not None:
        identity["sources_config"] = sources_config
    return identity


def used_sources_config(manifest: dict[str, Any]) -> Any:
    """The manifest's `sources_config` where the run read its exports with it; None where
    none was given or it was not used (`used` false: no input is a source-system export)."""
    entry = manifest.get("sources_config")
    return None if isinstance(entry, dict) and entry.get("used") is False else entry


def canonical_json(value: Any) -> bytes:
    """`value` as the run id hashes it: sorted keys, no spaces, ASCII (`\\uXXXX` escapes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def run_id(manifest: dict[str, Any], version: int = RUN_ID_VERSION) -> str:
    """The run id of the run `manifest` records: the SHA-256 (hex) of its identity (of
    `run_identity`'s `version`)."""
    return hashlib.sha256(canonical_json(run_identity(manifest, version))).hexdigest()


RUN_ID_PARTS: dict[str, tuple[str, str]] = {
    "inputs": ("inputs", "data"),
    "policy": ("policy", "configuration"),
    "sop": ("SOPs", "configuration"),
    "mapping": ("mapping", "configuration"),
    "sources_config": ("sources config", "configuration"),
    "import_options": ("import options", "configuration"),
    "as_of": ("audit clock", "clock"),
    "rule_versions": ("rules' logic versions", "tool"),
    "event_order": ("event order", "tool"),
    "code": ("code digest", "tool"),
    "version": ("tool version", "tool"),
    "format_version": ("findings.json format", "tool"),
    "tool": ("tool", "tool"),
    "run_id_version": ("run id version", "tool"),
}
"""Each field of `run_identity` (version 2), in the order `identity_changes` and `diff`
tell them: its name in words and its kind, `data` (what the tool read), `configuration`
(how it was told to judge it), `clock` (when it judged it as of) or `tool` (the code that
judged: its digest, version, rule logic versions, event order and formats), so that a
reader of two runs' difference can tell a change of the data from one of the tool."""


NULL_IS_A_VALUE = frozenset({"mapping", "sources_config"})
"""The parts of the run id whose null is something a run records (no mapping used, no
sources file given or one not used), not a part its findings.json was written before
(`not_recorded`)."""


def not_recorded(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The parts of the run id (`RUN_ID_PARTS`, in its order) that neither manifest records
    (null in both: findings.json written before the code digest, rule logic versions or
    event order were): null == null shows nothing the same, so `diff` tells them apart from
    the parts the same, and does not call the tool the same on them."""
    was, now = run_identity(old), run_identity(new)
    return [part for part in RUN_ID_PARTS if part not in NULL_IS_A_VALUE
            and was.get(part) is None and now.get(part) is None]


def _file_entry(entry: Any, *keys: str) -> dict[str, Any] | None:
    return {k: entry.get(k) for k in keys} if isinstance(entry, dict) else None


def _input_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """How two manifests' inputs differ, as the run id reads them (each input's sha256 and
    its counted earlier quarantine's: `run_identity`): the inputs of the same bytes are
    paired first (whatever their names: a renamed input is the same input to the run id),
    preferring one of the same file name; of the rest, those of the same bytes and another
    counted quarantine (`quarantine_changed`), then those of the same file name and other
    bytes (`changed`), then those in one run only (`only_in_old`, `only_in_new`)."""
    def entries(manifest: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        return [(str(i.get("file")), _sha256(i), _counted_quarantine(i))
                for i in manifest.get("inputs") or [] if isinstance(i, dict)]

    def name(file: str) -> str:
        return Path(file).name

    olds, news = entries(old), entries(new)
    out: dict[str, list[Any]] = {"changed": [], "quarantine_changed": [], "only_in_old": [],
                                 "only_in_new": []}

    def pair(same: Any, prefer: Any = None) -> list[tuple[tuple[str, Any, Any],
                                                          tuple[str, Any, Any]]]:
        paired = []
        for was in list(olds):
            twins = [now for now in news if same(was, now)]
            if prefer is not None:
                twins.sort(key=lambda now: not prefer(was, now))
            if twins:
                olds.remove(was)
                news.remove(twins[0])
                paired.append((was, twins[0]))
        return paired

    pair(lambda a, b: a[1:] == b[1:], lambda a, b: name(a[0]) == name(b[0]))
    for was, now in pair(lambda a, b: a[1] == b[1], lambda a, b: name(a[0]) == name(b[0])):
        out["quarantine_changed"].append({"old_file": was[0], "new_file": now[0],
                                          "sha256": was[1], "old_quarantine_sha256": was[2],
                                          "new_quarantine_sha256": now[2]})
    for was, now in pair(lambda a, b: name(a[0]) == name(b[0])):
        out["changed"].append({"old_file": was[0], "new_file": now[0],
                               "old_sha256": was[1], "new_sha256": now[1]})
    out["only_in_old"] = [{"file": file, "sha256": sha} for file, sha, _ in olds]
    out["only_in_new"] = [{"file": file, "sha256": sha} for file, sha, _ in news]
    return out


def _keyed_changes(was: Any, now: Any) -> dict[str, Any]:
    """Per key of two mappings, its values where they differ ({"old", "new"}; null where a
    side has no such key), or, where either is no mapping, both whole."""
    if not isinstance(was, dict) or not isinstance(now, dict):
        return {"old": was, "new": now}
    return {key: {"old": was.get(key), "new": now.get(key)}
            for key in sorted(was.keys() | now.keys(), key=str)
            if was.get(key) != now.get(key)}


def identity_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Where the run ids of two manifests (findings.json's, OLD's and NEW's) differ: per part
    of `run_identity` (`RUN_ID_PARTS`, in its order) whose value differs between them, what
    each run holds. Empty where every part agrees (the same run id, recomputed). `inputs`:
    `_input_changes`; `sop`: per channel, each run's `file`, `process` and `sha256` (null
    where it has none); `rule_versions` and `import_options`: per rule or option, each run's
    (null: not run, not set); `policy` and `mapping`: each run's `file` and `sha256`;
    `code`: each run's code digest; any other part: each run's value. A part a manifest
    does not record (written before it: the code digest before run ids) is null there."""
    was, now = run_identity(old), run_identity(new)
    out: dict[str, Any] = {}
    for part in RUN_ID_PARTS:
        if was.get(part) == now.get(part):
            continue
        if part == "inputs":
            out[part] = _input_changes(old, new)
        elif part == "sources_config":  # (one given and not used: none, to the run id)
            out[part] = {"old": _file_entry(used_sources_config(old), "file", "sha256"),
                         "new": _file_entry(used_sources_config(new), "file", "sha256")}
        elif part in ("policy", "mapping"):
            out[part] = {"old": _file_entry(old.get(part), "file", "sha256"),
                         "new": _file_entry(new.get(part), "file", "sha256")}
        elif part == "sop":
            sops = [{str(s.get("channel")): _file_entry(s, "file", "process", "sha256")
                     for s in manifest.get("sop") or [] if isinstance(s, dict)}
                    for manifest in (old, new)]
            out[part] = {channel: {"old": sops[0].get(channel), "new": sops[1].get(channel)}
                         for channel in sorted(sops[0].keys() | sops[1].keys())
                         if _sha_process(sops[0].get(channel))
                         != _sha_process(sops[1].get(channel))}
        elif part in ("rule_versions", "import_options"):
            out[part] = _keyed_changes(old.get(part), new.get(part))
        else:
            out[part] = {"old": was.get(part), "new": now.get(part)}
    return out


def _sha_process(entry: dict[str, Any] | None) -> tuple[Any, Any] | None:
    return None if entry is None else (entry.get("sha256"), entry.get("process"))


def run_id_status(manifest: dict[str, Any]) -> str:
    """Whether the run id `manifest` records is the one computed from it: `matches`;
    `matches_version_1` (a findings.json of run id version 1, before the code digest,
    computed as that version did); `none` (a findings.json written before run ids records
    none); `differs` (the manifest was edited since its check, or its id written so)."""
    recorded = manifest.get("run_id")
    if recorded is None:
        return "none"
    if recorded == run_id(manifest):
        return "matches"
    if "code" not in manifest and recorded == run_id(manifest, 1):
        return "matches_version_1"
    return "differs"


NOT_A_SEAL = ("(a consistency check of the manifest, not a seal: anyone editing it can "
              "recompute the id, and the id covers neither the findings nor the summary; "
              "SHA256SUMS holds the sha256 of each file written)")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _manifest(name: str) -> dict[str, Any]:
    """The manifest of findings.json `name`, a ValueError saying why where it has none."""
    return manifest_of(Path(name).read_bytes())


def manifest_of(data: bytes) -> dict[str, Any]:
    """The manifest of a findings.json of bytes `data`, a ValueError saying why where it has
    none (UnicodeDecodeError is one)."""
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply to be read") from None
    manifest = document.get("manifest") if isinstance(document, dict) else None
    if not isinstance(manifest, dict):
        raise ValueError("no manifest object")
    if manifest.get("tool") != "refund-audit":
        raise ValueError(f"its manifest's tool is {manifest.get('tool')!r}, not "
                         "'refund-audit'")
    return manifest


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m audit.runid findings.json ...", file=sys.stderr)
        return 2
    worst = 0
    for name in argv:
        try:
            manifest = _manifest(name)
            recorded = manifest.get("run_id")
            computed = run_id(manifest)
        except (OSError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"error: {name}: not a findings.json of refund-audit check ({why})",
                  file=sys.stderr)
            worst = 2
            continue
        if recorded == computed:
            print(f"{name}: run id {computed}: matches its manifest {NOT_A_SEAL}")
        elif "code" not in manifest and recorded == run_id(manifest, 1):
            print(f"{name}: run id {recorded}: matches its manifest as a run id of version 1 "
                  f"(no code digest, no earlier quarantine, the engine's name) {NOT_A_SEAL}")
        else:
            print(f"{name}: run id {recorded!s} recorded, {computed} computed from its "
                  "manifest: they differ (the manifest was edited, or written before run ids "
                  "or by another version of them)")
            worst = max(worst, 1)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
