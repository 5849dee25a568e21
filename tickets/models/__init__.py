"""Intake models: customers, ticket types and their evidence fields, tickets, bug clusters."""

from tickets.models.choices import (
    OPEN_CLUSTER_STATUSES,
    AssignmentSource,
    ClusterKind,
    ClusterStatus,
    CollectionMethod,
    FeedbackKind,
    FieldKind,
    PlanTier,
    Priority,
    Requirement,
    Role,
    Segment,
    TicketStatus,
)
from tickets.models.clusters import BugCluster, ClusterEvent
from tickets.models.customers import Customer
from tickets.models.integrations import (
    ApiKey,
    IdempotencyRecord,
    InboundMapping,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from tickets.models.tickets import Attachment, Ticket
from tickets.models.types import EvidenceField, TicketType

__all__ = [
    "ApiKey",
    "IdempotencyRecord",
    "InboundMapping",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "OPEN_CLUSTER_STATUSES",
    "AssignmentSource",
    "Attachment",
    "BugCluster",
    "ClusterEvent",
    "ClusterKind",
    "ClusterStatus",
    "CollectionMethod",
    "Customer",
    "EvidenceField",
    "FeedbackKind",
    "FieldKind",
    "PlanTier",
    "Priority",
    "Requirement",
    "Role",
    "Segment",
    "Ticket",
    "TicketStatus",
    "TicketType",
]
