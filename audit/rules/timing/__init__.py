"""SL: timing: the refund SLA and the limits of each stage."""

from audit.rules.timing.sl001_sla_breach import SlaBreach
from audit.rules.timing.sl002_stage_overdue import StageOverdue

RULES = (SlaBreach, StageOverdue)
