"""The rule catalogue: one small rule class per file, grouped by family."""

from audit.rules.registry import RuleSet, default_rules

__all__ = ["RuleSet", "default_rules"]
