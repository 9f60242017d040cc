"""The refund process the generator plays out: activities, people, roles and control limits.

These are the defaults the reference SOPs and the default policy describe; the generator's
ground truth is only true relative to them, so they live in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PURCHASE = {
    "ecommerce": "Capture payment",
    "subscription": "Charge subscription renewal",
    "offline": "Record store sale",
}
REQUEST = "Receive refund request"
EVIDENCE = "Collect evidence"
PRORATA = "Calculate pro-rata amount"
APPROVE = "Approve refund"
APPROVE_2 = "Approve refund (second level)"
REJECT = "Reject refund"
PAYOUT = "Execute payout"
PAYOUT_FAILED = "Payout failed"
NOTIFY = "Notify customer"
CLOSE = "Close ticket"
UNMAPPED_LABEL = "Customer called back"
"""A label the default policy does not map (the data-quality rule's injected case)."""

# Which systems record which part of a channel's process.
TICKETING = {"ecommerce": "zendesk", "subscription": "jira", "offline": "servicenow"}
PAYMENTS = {"ecommerce": "stripe", "subscription": "paypal", "offline": "adyen"}
PREFIX = {"ecommerce": "EC", "subscription": "SU", "offline": "OF"}


def ticket_key(channel: str, index: int) -> str:
    """The ticket id as each channel's ticketing system writes it; a ticketed case is named
    by its ticket (Zendesk: a number; Jira: project key and number; ServiceNow: CS number)."""
    if channel == "ecommerce":
        return str(40000 + index)
    if channel == "subscription":
        return f"RFD-{index}"
    return f"CS{index:07d}"

TIME_ZONE = {"ecommerce": "Europe/Berlin", "subscription": "Europe/Berlin",
             "offline": "Europe/London"}
PAYPAL_DATE_FORMAT = "%d/%m/%Y"
"""The order of day and month the sample's PayPal account writes (day first, as most
accounts outside the US): the sample's sources file (`sample_sources.yaml`) sets it, as a
small sample's dates may all be up to the 12th, whose order a download cannot tell."""
CHANNEL_SHARE = (("ecommerce", 0.5), ("subscription", 0.3), ("offline", 0.2))

REQUIRED_EVIDENCE = {
    "ecommerce": ("evidence:order", "evidence:payment_voucher"),
    "subscription": ("evidence:renewal_date", "evidence:usage"),
    "offline": ("evidence:receipt", "evidence:photo"),
}
EVIDENCE_COLUMNS = tuple(sorted({c for cols in REQUIRED_EVIDENCE.values() for c in cols}))

# Control limits of the default policy.
SECOND_APPROVAL_THRESHOLD = {"EUR": 500.0, "USD": 550.0, "GBP": 450.0}
SLA = timedelta(days=14)
"""Request to successful payout."""
APPROVAL_STAGE_LIMIT = timedelta(days=10)
"""Request to first approval."""
PAYOUT_STAGE_LIMIT = timedelta(days=7)
"""Last approval to successful payout."""
PAYOUT_GRACE = timedelta(days=5)
"""Approved but not paid after this long (at the as-of date) is a finding."""
RUNNING_FOR = timedelta(days=14)
"""A case not at an end of its SOP whose last event is less than this before the as-of date
is running (conformance.running_for): the SOP tasks after its last event are not skipped."""

PERIOD_START = datetime(2026, 7, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 10, 1, tzinfo=UTC)
AS_OF = datetime(2026, 10, 15, tzinfo=UTC)
"""The audit's fixed clock for generated logs."""

ROLE_AGENT = "customer-service"
ROLE_SUPERVISOR = "supervisor"
ROLE_FINANCE = "finance"
ROLE_PAYMENTS = "payments"
ROLE_SYSTEM = "system"
FIRST_APPROVER_ROLES = (ROLE_SUPERVISOR, ROLE_FINANCE)
SECOND_APPROVER_ROLES = (ROLE_FINANCE,)

AGENTS = (
    "Amira Haddad", "Ben Carter", "Chloe Martin", "Daniel Novak", "Elif Yilmaz", "Felix Weber",
    "Grace Okafor", "Hugo Lefevre", "Ines Costa", "Jonas Berg", "Lena Fischer", "Mei Lin",
)
SUPERVISORS = ("Nadia Rossi", "Omar Farouk", "Paula Schmidt", "Quentin Blake")
FINANCE = ("Rita Alvarez", "Stefan Kowalski", "Tanja Vogel")
PAYMENTS_CLERKS = ("Ulla Nyberg", "Victor Chen", "Wanda Maier")
PROMOTED = "Lena Fischer"
PROMOTION = datetime(2026, 8, 17, 6, 0, tzinfo=UTC)
"""Lena Fischer is customer-service before this instant and supervisor from it on."""


def role_of(person: str, at: datetime) -> str:
    """The role a person holds at a time (roles change: one agent is promoted mid-period)."""
    if person == PROMOTED:
        return ROLE_SUPERVISOR if at >= PROMOTION else ROLE_AGENT
    if person in AGENTS:
        return ROLE_AGENT
    if person in SUPERVISORS:
        return ROLE_SUPERVISOR
    if person in FINANCE:
        return ROLE_FINANCE
    if person in PAYMENTS_CLERKS:
        return ROLE_PAYMENTS
    return ROLE_SYSTEM
