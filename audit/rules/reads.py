"""Which cached facts each rule reads, so that the engine can drop a column after the last
rule that reads it (at 1M cases the rules stage otherwise holds 0.4 GB of per-event masks,
codes and per-case columns that no later rule needs).

The table (audit/rules/reads_table.py) is traced, not written by hand:
`python -m audit.rules.reads` runs every rule of the catalogue on the bundled sample's
exports with the default policy (and a refund window for every channel, which it leaves
out), and again with another value of a policy key (`VARIANTS`), and records every cache
key each rule asks for (a rule naming that key among its options: in either run); a test
fails when the table is stale. It is a hint for memory only: a column dropped and asked for
again (a rule reading, on other data, what it did not read on the sample) is computed again,
with the same values. A rule the table does not know keeps everything cached before it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from audit import canonical as C
from audit.rules.base import Rule

TABLE = Path(__file__).with_name("reads_table.py")
VARIANTS: dict[str, dict[str, Any]] = {"evidence_due": {"evidence_due": "approval"}}
"""Per policy key (an `Option.source`): the policy's fields set otherwise for a second
trace of the rules naming it among their options (a setting reading facts the default
does not: missing-evidence's `evidence_due: approval` reads the approvals, rejections,
closes and requests). Each such rule's reads are those of both traces."""


def kept_after(rules: Sequence[Rule], reads: dict[str, frozenset[str]]) -> list[
        frozenset[str] | None]:
    """Per rule (in run order): the cache keys the rules after it read, or None where one of
    them is not in `reads` (then nothing is dropped)."""
    out: list[frozenset[str] | None] = [None] * len(rules)
    later: set[str] = set()
    known = True
    for i in range(len(rules) - 1, -1, -1):
        out[i] = frozenset(later) if known else None
        code = rules[i].code
        if code in reads:
            later |= reads[code]
        else:
            known = False
    return out


class _Traced(dict[str, Any]):
    """A cache that notes every key asked for, with a prefix, in `seen`."""

    def __init__(self, prefix: str, seen: set[str]) -> None:
        super().__init__()
        self.prefix = prefix
        self.seen = seen

    def __contains__(self, key: object) -> bool:
        self.seen.add(f"{self.prefix}{key}")
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        self.seen.add(f"{self.prefix}{key}")
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(f"{self.prefix}{key}")
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.seen.add(f"{self.prefix}{key}")
        return super().setdefault(key, default)


def trace_reads() -> dict[str, frozenset[str]]:
    """Every rule of the catalogue run on the bundled sample's exports (default policy with a
    refund window of 30 days for every channel and finance as its exception approvers, the
    sample's as-of date), and again with the policy changed as each of `VARIANTS` says:
    the cache keys each asks for (a rule naming that variant's key among its options: in
    either run)."""
    from importlib.resources import as_file, files

    from audit.demo import SAMPLE
    from audit.policy import default_policy_path, load_policy
    from audit.rules.facts import CaseFacts
    from audit.rules.registry import default_rules
    from audit.sources.pipeline import import_and_correlate

    folder = files("sample_logs").joinpath(SAMPLE)
    with as_file(folder) as root:
        meta = json.loads((root / "sample.json").read_text(encoding="utf-8"))
        exports = sorted(p for p in (root / "exports").iterdir() if p.is_file())
        log = import_and_correlate([(p, None) for p in exports]).log
    ruleset = default_rules()
    policy = load_policy(default_policy_path(), known_rules=ruleset.known)
    # A refund window for every channel, and an exception role, which the default policy
    # leaves out: outside-refund-window reads nothing without them (no other rule reads
    # them).
    policy = replace(policy, refund_window=dict.fromkeys(C.CHANNELS, timedelta(days=30)),
                     refund_window_exception_roles=("finance",))
    as_of = datetime.fromisoformat(meta["as_of"])
    reads = _trace(CaseFacts(log, policy, as_of), ruleset.all())
    for key, fields in VARIANTS.items():
        # (every rule run again, in order, as a run with that setting runs them: a rule
        # reads what the rules before it did not leave cached; only those naming the key
        # read anything else)
        again = _trace(CaseFacts(log, replace(policy, **fields), as_of), ruleset.all())
        for rule in ruleset.all():
            if any(option.source == key for option in rule.options):
                reads[rule.code] |= again[rule.code]
    return reads


def _trace(facts: Any, rules: Sequence[Rule]) -> dict[str, frozenset[str]]:
    """`rules` run in turn on `facts` (a `CaseFacts`): the cache keys each asks for."""
    seen: set[str] = set()
    facts._sorted = _Traced("events:", seen)
    facts._columns = _Traced("cases:", seen)
    reads = {}
    for rule in rules:
        seen.clear()
        # The shared work an earlier rule computed, computed again: what computing it reads
        # is read by each rule reading it (the one computing it first in a run may be
        # another, or run in another process).
        for key in [k for k in facts._sorted if k.startswith("shared:")]:
            dict.__delitem__(facts._sorted, key)
        list(rule.check(facts))
        reads[rule.code] = frozenset(seen)
    return reads


def table_text(reads: dict[str, frozenset[str]]) -> str:
    lines = ['"""Generated by `python -m audit.rules.reads` (see audit/rules/reads.py); do not '
             'edit."""', "", "READS: dict[str, frozenset[str]] = {"]
    for code in sorted(reads):
        lines.append(f"    {json.dumps(code)}: frozenset({{")
        lines += [f"        {json.dumps(key)}," for key in sorted(reads[code])]
        lines.append("    }),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else TABLE
    target.write_text(table_text(trace_reads()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
