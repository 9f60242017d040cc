"""A check's run identifier: the SHA-256 of what decided its findings, as findings.json's
manifest records it, so that report.html, findings.xlsx and findings.json name the run they
came from by the same value, and a re-performance of the audit gets it again.

The identity (`run_identity`) is the manifest's tool and version, findings.json's format,
the audit's clock (`as_of`), the digests of the inputs (sorted: the order given changes no
finding), of the policy, of each SOP (with its channel and process) and of the mapping, the
import options, each rule's logic version, the event order and the engine's name. It holds
no time of the run, no path, no command and no measurement: the same inputs, policy, SOPs,
options, clock and tool version give the same run id on any machine, in any folder, at any
time, and another of any of them another. It is written as JSON with sorted keys, no
spaces and ASCII escapes (`canonical_json`), and hashed; `run_id` is that hex digest.

`python -m audit.runid findings.json ...` recomputes each file's run id from its manifest
and compares it with the `run_id` it records (exit code 1 where one differs, 2 where a file
cannot be read as a findings.json): a manifest edited since its check no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

RUN_ID_VERSION = 1
"""The version of what `run_identity` holds, part of the identity: a later change of its
fields gives every run another id, never one an older run had for other content."""


def _sha256(entry: Any) -> Any:
    return entry.get("sha256") if isinstance(entry, dict) else None


def run_identity(manifest: dict[str, Any]) -> dict[str, Any]:
    """What of `manifest` (findings.json's) the run id is the digest of (see the module)."""
    engine = manifest.get("engine")
    return {
        "run_id_version": RUN_ID_VERSION,
        "tool": manifest.get("tool"),
        "version": manifest.get("version"),
        "format_version": manifest.get("format_version"),
        "as_of": manifest.get("as_of"),
        "inputs": sorted(str(_sha256(i)) for i in manifest.get("inputs") or []),
        "policy": _sha256(manifest.get("policy")),
        "sop": sorted([str(s.get("channel")), str(s.get("process")), str(s.get("sha256"))]
                       for s in manifest.get("sop") or [] if isinstance(s, dict)),
        "mapping": _sha256(manifest.get("mapping")),
        "import_options": manifest.get("import_options"),
        "rule_versions": manifest.get("rule_versions"),
        "event_order": manifest.get("event_order"),
        "engine": engine.get("name") if isinstance(engine, dict) else None,
    }


def canonical_json(value: Any) -> bytes:
    """`value` as the run id hashes it: sorted keys, no spaces, ASCII (`\\uXXXX` escapes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def run_id(manifest: dict[str, Any]) -> str:
    """The run id of the run `manifest` records: the SHA-256 (hex) of its identity."""
    return hashlib.sha256(canonical_json(run_identity(manifest))).hexdigest()


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m audit.runid findings.json ...", file=sys.stderr)
        return 2
    worst = 0
    for name in argv:
        try:
            document = json.loads(Path(name).read_text(encoding="utf-8"))
            manifest = document["manifest"]
            recorded = manifest.get("run_id")
            computed = run_id(manifest)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            print(f"error: {name}: not a findings.json of refund-audit check ({exc})",
                  file=sys.stderr)
            worst = 2
            continue
        if recorded == computed:
            print(f"{name}: run id {computed}: matches its manifest")
        else:
            print(f"{name}: run id {recorded!s} recorded, {computed} computed from its "
                  "manifest: they differ (the manifest was edited, or written before run ids)")
            worst = max(worst, 1)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
