"""A project file: the exports of one audit, listed once (YAML), paths relative to the file.

    sources:
      - zendesk: exports/zendesk_ticket_audits.json   # system: file
      - exports/stripe_refunds.csv                     # format detected from the layout
    roles: exports/role_history.csv                    # optional role history
    config: sources.yaml                               # optional; default: the bundled one
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit.errors import InputError
from audit.ingest import FORMATS
from audit.yamlio import child, line_of, load_yaml


@dataclass(frozen=True)
class Project:
    sources: list[tuple[Path, str | None]]
    config: Path | None


def parse_source(text: str) -> tuple[Path, str | None]:
    """`system:FILE` (or just FILE) as given to --source."""
    system, sep, file = text.partition(":")
    if sep and system in FORMATS:
        return Path(file), system
    if sep and len(system) > 1 and "/" not in system and "\\" not in system:
        raise InputError(f"unknown source system '{system}' (known: {', '.join(FORMATS)})",
                         field="--source")
    return Path(text), None


def load_project(path: Path) -> Project:
    data, node = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError("a project file is a YAML mapping with 'sources:'", file=path)
    for key in data:
        if key not in ("sources", "roles", "config"):
            raise InputError(f"unknown key '{key}' (known: sources, roles, config)", file=path,
                             line=line_of(node, str(key)), field=str(key))
    base = path.parent
    entries = data.get("sources") or []
    if not isinstance(entries, list) or not entries:
        raise InputError("'sources' must be a non-empty list", file=path,
                         line=line_of(node, "sources"), field="sources")
    sources: list[tuple[Path, str | None]] = []
    for k, entry in enumerate(entries):
        where = line_of(child(node, "sources"), k)
        if isinstance(entry, str):
            sources.append((base / entry, None))
        elif isinstance(entry, dict) and len(entry) == 1:
            system, file = next(iter(entry.items()))
            if system not in FORMATS:
                raise InputError(f"unknown source system '{system}' (known: "
                                 f"{', '.join(FORMATS)})", file=path, line=where,
                                 field=f"sources[{k}]")
            if not isinstance(file, str) or not file.strip():
                raise InputError(f"the {system} source must be a file name", file=path,
                                 line=where, field=f"sources[{k}].{system}")
            sources.append((base / file, str(system)))
        else:
            raise InputError("each source is a file or {system: file}", file=path, line=where,
                             field=f"sources[{k}]")
    for key in ("roles", "config"):  # (a list or a number is no file name: `roles: [a.csv]`)
        if key in data and not isinstance(data[key], str | None):
            raise InputError(f"'{key}' must be a file name", file=path,
                             line=line_of(node, key), field=key)
    if data.get("roles"):
        sources.append((base / data["roles"], "roles"))
    config = base / data["config"] if data.get("config") else None
    return Project(sources, config)
