"""SD: segregation of duties (four eyes): request, approval and payout by different people;
each task by the roles of its SOP lane."""

from audit.rules.duties.sd001_self_approval import SelfApproval
from audit.rules.duties.sd002_approver_pays import ApproverPays
from audit.rules.duties.sd003_same_approver_twice import SameApproverTwice
from audit.rules.duties.sd004_unauthorized_performer import UnauthorizedPerformer

RULES = (SelfApproval, ApproverPays, SameApproverTwice, UnauthorizedPerformer)
