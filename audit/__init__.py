"""refund-audit: process-mining and audit-compliance checks for refund processes."""

__version__ = "0.1.0"
