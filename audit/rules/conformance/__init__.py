"""CF: conformance: does each case follow its channel's SOP (skipped, inserted, misplaced)."""

from audit.rules.conformance.cf001_skipped_activity import SkippedActivity
from audit.rules.conformance.cf002_unexpected_activity import UnexpectedActivity
from audit.rules.conformance.cf003_wrong_order import WrongOrder
from audit.rules.conformance.cf004_unfit_case import UnfitCase

RULES = (SkippedActivity, UnexpectedActivity, WrongOrder, UnfitCase)
