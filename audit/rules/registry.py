"""The rule registry: built explicitly, refuses mistakes, selects by code, name, family or glob."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator

from audit.findings import SEVERITIES
from audit.rules.base import FAMILIES, Rule

_CODE = re.compile(r"^[A-Z]{2}\d{3}$")
_NAME = re.compile(r"^[a-z]+(-[a-z]+)*$")


class RegistryError(ValueError):
    pass


class RuleSet:
    """An ordered set of rule instances keyed by code and by name."""

    def __init__(self, rules: Iterable[type[Rule]] = ()) -> None:
        self._by_code: dict[str, Rule] = {}
        self._by_name: dict[str, Rule] = {}
        for rule in rules:
            self.register(rule)

    def register(self, rule_class: type[Rule]) -> None:
        rule = rule_class()
        if not _CODE.match(rule.code) or rule.code[:2] not in FAMILIES:
            raise RegistryError(f"{rule_class.__name__}: code {rule.code!r} is not AA000 of a "
                                "known family")
        if not _NAME.match(rule.name):
            raise RegistryError(f"{rule.code}: name {rule.name!r} is not kebab-case")
        if rule.severity not in SEVERITIES:
            raise RegistryError(f"{rule.code}: unknown severity {rule.severity!r}")
        version = rule_class.__dict__.get("logic_version")
        if type(version) is not int or version < 1:
            raise RegistryError(f"{rule.code}: logic_version {version!r} is not a whole number "
                                "from 1 set in the rule's own definition")
        if rule.code in self._by_code:
            raise RegistryError(f"duplicate rule code {rule.code}")
        if rule.name in self._by_name:
            raise RegistryError(f"duplicate rule name {rule.name}")
        rule_class.doc_sections()  # refuses a rule without its documentation sections
        self._by_code[rule.code] = rule
        self._by_name[rule.name] = rule

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._by_code)

    def all(self) -> list[Rule]:
        return sorted(self._by_code.values(), key=lambda r: r.code)

    def get(self, ref: str) -> Rule | None:
        return self._by_code.get(ref.upper()) or self._by_name.get(ref.lower())

    def resolve(self, ref: str) -> list[Rule]:
        """Rules a reference names: a code, a name, a family (AP or 'approvals'), or a glob,
        matched against the codes in any letter case and the names as written: every rule
        either matches (`ap*` is AP001-AP005, approved-not-paid and approver-pays; `AP*` the
        approvals alone: no name is upper case)."""
        one = self.get(ref)
        if one is not None:
            return [one]
        family = next((k for k, v in FAMILIES.items() if ref.upper() == k or ref.lower() == v),
                      None)
        if family is not None:
            return [r for r in self.all() if r.family == family]
        return [r for r in self.all()
                if fnmatch.fnmatchcase(r.code, ref.upper()) or fnmatch.fnmatchcase(r.name, ref)]

    def known(self, ref: str) -> bool:
        return bool(self.resolve(ref))

    def select(self, select: Iterable[str], ignore: Iterable[str] = ()) -> list[Rule]:
        chosen = {r.code for ref in select for r in self.resolve(ref)}
        chosen -= {r.code for ref in ignore for r in self.resolve(ref)}
        return [r for r in self.all() if r.code in chosen]


def default_rules() -> RuleSet:
    """Every rule of the catalogue, family by family."""
    from audit.rules import approvals, conformance, duplicates, duties, evidence, quality, timing

    return RuleSet([*approvals.RULES, *duties.RULES, *evidence.RULES, *duplicates.RULES,
                    *timing.RULES, *conformance.RULES, *quality.RULES])
