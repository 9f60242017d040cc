"""DU: duplicates: the same purchase refunded twice."""

from audit.rules.duplicates.du001_duplicate_refund import DuplicateRefund

RULES = (DuplicateRefund,)
