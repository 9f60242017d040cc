"""EV: evidence chain: ticket, purchase, charge and payout agree and are all there."""

from audit.rules.evidence.ev001_missing_evidence import MissingEvidence
from audit.rules.evidence.ev002_orphan_payout import OrphanPayout
from audit.rules.evidence.ev003_approved_not_paid import ApprovedNotPaid
from audit.rules.evidence.ev004_amount_mismatch import AmountMismatch
from audit.rules.evidence.ev005_refund_exceeds_charge import RefundExceedsCharge
from audit.rules.evidence.ev006_instrument_mismatch import InstrumentMismatch
from audit.rules.evidence.ev007_no_prior_purchase import NoPriorPurchase
from audit.rules.evidence.ev008_outside_refund_window import OutsideRefundWindow

RULES = (MissingEvidence, OrphanPayout, ApprovedNotPaid, AmountMismatch, RefundExceedsCharge,
         InstrumentMismatch, NoPriorPurchase, OutsideRefundWindow)
