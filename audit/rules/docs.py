"""Rule documentation generated from the rule classes: docs/rules/*.md and the index.

`python -m audit.rules.docs [DIR]` rewrites the pages; a test fails when they are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from audit.rules.base import FAMILIES, SECTIONS, Rule
from audit.rules.registry import RuleSet, default_rules


def rule_record(rule: Rule) -> dict[str, Any]:
    return {"code": rule.code, "name": rule.name, "family": FAMILIES[rule.family],
            "severity": rule.severity, "summary": rule.summary,
            "suppresses": list(rule.suppresses),
            "options": [{"name": o.name, "description": o.description, "policy": o.source}
                        for o in rule.options]}


def rule_page(rule: Rule) -> str:
    sections = rule.doc_sections()
    lines = [f"# {rule.code} `{rule.name}`", "", f"{rule.summary}.", "",
             f"- Family: {rule.family} ({FAMILIES[rule.family]})",
             f"- Default severity: {rule.severity}"]
    if rule.suppresses:
        lines.append("- Replaces on the same case: "
                     + ", ".join(f"`{n}`" for n in rule.suppresses))
    for section in SECTIONS:
        lines += ["", f"## {section}", "", sections[section]]
    return "\n".join(lines) + "\n"


def index_page(rules: RuleSet) -> str:
    lines = ["# Rule catalogue", "",
             "Generated from the rule classes by `python -m audit.rules.docs`; do not edit.",
             "Select rules in the policy by code, name, family (`AP` or `approvals`) or glob.",
             "A glob (`*`, `?`, `[...]`) matches codes in any letter case and names as "
             "written (names are lower case), and selects every rule either matches: `ap*` "
             "selects AP001-AP005 and also `approved-not-paid` (EV003) and `approver-pays` "
             "(SD002), `AP*` the approvals alone; to mean a family, name it (`AP`, "
             "`approvals`).",
             "", "| code | name | family | severity | what |", "|---|---|---|---|---|"]
    for rule in rules:
        lines.append(f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | "
                     f"{FAMILIES[rule.family]} | {rule.severity} | {rule.summary} |")
    lines += ["", "## Precedences", "",
              "Where one finding explains another on the same case, only the more specific "
              "one is reported. A finding itself replaced replaces nothing (where "
              "`approved-not-paid` replaces a case's `sla-breach`, the case's "
              "`stage-overdue` findings stay), nor does a waived one (a waiver accepts "
              "its finding, not the ones its rule would replace):", ""]
    episodic = {r.name for r in rules if r.per_request}
    for rule in rules:
        if rule.suppresses:
            lines.append(f"- `{rule.name}` replaces "
                         + ", ".join(f"`{n}`" + (" (of the same request's episode)"
                                                 if rule.per_request and n in episodic
                                                 else "")
                                     for n in rule.suppresses))
    return "\n".join(lines) + "\n"


def render_all(rules: RuleSet) -> dict[str, str]:
    pages = {f"{rule.code}.md": rule_page(rule) for rule in rules}
    pages["README.md"] = index_page(rules)
    return pages


def table(rules: RuleSet) -> str:
    rows = [(r.code, r.name, r.severity, r.summary) for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{c:<{widths[0]}}  {n:<{widths[1]}}  {s:<{widths[2]}}  {w}"
                     for c, n, s, w in rows)


def as_json(rules: RuleSet) -> str:
    return json.dumps([rule_record(r) for r in rules], indent=2)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("docs/rules")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_all(default_rules()).items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
