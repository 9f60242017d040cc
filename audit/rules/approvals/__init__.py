"""AP: approvals: was every refund approved, in time, by someone allowed, for the amount paid."""

from audit.rules.approvals.ap001_missing_approval import MissingApproval
from audit.rules.approvals.ap002_approval_after_payout import ApprovalAfterPayout
from audit.rules.approvals.ap003_missing_second_approval import MissingSecondApproval
from audit.rules.approvals.ap004_unauthorized_approver import UnauthorizedApprover
from audit.rules.approvals.ap005_payout_exceeds_approved import PayoutExceedsApproved

RULES = (MissingApproval, ApprovalAfterPayout, MissingSecondApproval, UnauthorizedApprover,
         PayoutExceedsApproved)
