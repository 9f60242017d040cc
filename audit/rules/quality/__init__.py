"""DQ: data quality: what the log cannot tell the controls."""

from audit.rules.quality.dq001_unmapped_activity import UnmappedActivity
from audit.rules.quality.dq002_missing_resource import MissingResource
from audit.rules.quality.dq003_payout_without_amount import PayoutWithoutAmount
from audit.rules.quality.dq004_conflicting_channel import ConflictingChannel

RULES = (UnmappedActivity, MissingResource, PayoutWithoutAmount, ConflictingChannel)
