"""DU: duplicates: the same purchase refunded twice, or one store receipt refunded twice."""

from audit.rules.duplicates.du001_duplicate_refund import DuplicateRefund
from audit.rules.duplicates.du002_receipt_reused import ReceiptReused

RULES = (DuplicateRefund, ReceiptReused)
