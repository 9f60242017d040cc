"""SD: segregation of duties (four eyes): request, approval and payout by different people."""

from audit.rules.duties.sd001_self_approval import SelfApproval
from audit.rules.duties.sd002_approver_pays import ApproverPays
from audit.rules.duties.sd003_same_approver_twice import SameApproverTwice

RULES = (SelfApproval, ApproverPays, SameApproverTwice)
