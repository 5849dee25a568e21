"""Enumerations shared by tickets, clusters, the API and later apps."""

from django.db import models


class Segment(models.TextChoices):
    ENTERPRISE = "enterprise", "Enterprise"
    MID_MARKET = "mid_market", "Mid-market"
    SMB = "smb", "SMB"


SEGMENT_RANK = {Segment.SMB: 1, Segment.MID_MARKET: 2, Segment.ENTERPRISE: 3}


class PlanTier(models.TextChoices):
    FREE = "free", "Free"
    STARTER = "starter", "Starter"
    PROFESSIONAL = "professional", "Professional"
    BUSINESS = "business", "Business"
    ENTERPRISE = "enterprise", "Enterprise"


TIER_RANK = {
    PlanTier.FREE: 1,
    PlanTier.STARTER: 2,
    PlanTier.PROFESSIONAL: 3,
    PlanTier.BUSINESS: 4,
    PlanTier.ENTERPRISE: 5,
}


class FeedbackKind(models.TextChoices):
    BUG_REPORT = "bug_report", "Bug report"
    FEATURE_REQUEST = "feature_request", "Feature request"
    UX_FEEDBACK = "ux_feedback", "UX feedback"
    DOCUMENTATION_GAP = "documentation_gap", "Documentation gap"
    AT_RISK_SIGNAL = "at_risk_signal", "At-risk signal"
    PRAISE = "praise", "Praise"
    COMPETITIVE_INTEL = "competitive_intel", "Competitive intel"


class FieldKind(models.TextChoices):
    TEXT = "text", "Text"
    LONG_TEXT = "long_text", "Long text"
    CHOICE = "choice", "Choice"
    NUMBER = "number", "Number"
    MONEY = "money", "Money"
    DATETIME = "datetime", "Date and time"
    URL = "url", "URL"
    FILE = "file", "File"


class Requirement(models.TextChoices):
    REQUIRED = "required", "Required"
    RECOMMENDED = "recommended", "Recommended"
    OPTIONAL = "optional", "Optional"


class CollectionMethod(models.TextChoices):
    AUTO = "auto", "Auto-populated"
    CUSTOMER = "customer", "Ask the customer"
    AGENT = "agent", "Agent observes"
    LOGS = "logs", "From logs"


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class ClusterKind(models.TextChoices):
    BUG = "bug", "Bug"
    FEATURE_REQUEST = "feature_request", "Feature request"
    FEEDBACK = "feedback", "Other feedback"


def cluster_kind_for(feedback_kind: str) -> str:
    """The kind of cluster a ticket of `feedback_kind` joins: bugs with bugs, requests with requests,
    other feedback on its own (the one place this rule lives)."""
    if feedback_kind == FeedbackKind.BUG_REPORT:
        return ClusterKind.BUG
    if feedback_kind == FeedbackKind.FEATURE_REQUEST:
        return ClusterKind.FEATURE_REQUEST
    return ClusterKind.FEEDBACK


class ClusterStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IN_PROGRESS = "in_progress", "In progress"
    NEEDS_INFO = "needs_info", "Needs info"
    FIXED = "fixed", "Fixed"
    VERIFIED = "verified", "Verified"
    WONT_FIX = "wont_fix", "Won't fix"
    MERGED = "merged", "Merged"


OPEN_CLUSTER_STATUSES = (
    ClusterStatus.NEW,
    ClusterStatus.ACKNOWLEDGED,
    ClusterStatus.IN_PROGRESS,
    ClusterStatus.NEEDS_INFO,
)


# Where the clustering engine may put a new ticket: open clusters, and fixed or won't-fix ones too, so
# tickets that keep coming after a fix count against it (fix impact) instead of hiding in a new cluster.
ASSIGNABLE_CLUSTER_STATUSES = (
    *OPEN_CLUSTER_STATUSES,
    ClusterStatus.FIXED,
    ClusterStatus.WONT_FIX,
)


class Priority(models.TextChoices):
    P1 = "P1", "P1 - blocks revenue"
    P2 = "P2", "P2 - degrades for 10%+ of users"
    P3 = "P3", "P3 - edge case"


PRIORITY_DEFINITIONS = {
    Priority.P1: "Blocks revenue: customers cannot pay, sign in or use a core flow.",
    Priority.P2: "Degrades the product for 10% or more of users.",
    Priority.P3: "Edge case: few users, or a workaround is easy.",
}


class AssignmentSource(models.TextChoices):
    """Who put a ticket in its cluster; anything but ENGINE is a person's decision."""

    ENGINE = "engine", "Clustering engine"
    AGENT = "agent", "Agent (same bug)"
    PERSON = "person", "Moved by a person"
    IMPORT = "import", "Given by the help desk"


class Role(models.TextChoices):
    """Django group names created by migration."""

    AGENT = "agent", "Support agent"
    PRODUCT_LEAD = "product_lead", "Product lead"
    CUSTOMER_SUCCESS = "customer_success", "Customer success"
    ADMIN = "admin", "Admin"
