"""Intake models: customers, ticket types and their evidence fields, tickets, bug clusters, feedback routing."""

from tickets.models.choices import (
    ASSIGNABLE_CLUSTER_STATUSES,
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
    cluster_kind_for,
)
from tickets.models.clusters import BugCluster, ClusterCorrection, ClusterEvent
from tickets.models.customers import Customer
from tickets.models.embeddings import ClusterEmbedding, TicketEmbedding
from tickets.models.feedback import (
    FeatureDecision,
    FeatureRequestDecision,
    FeedbackItem,
    FeedbackOutcome,
    FeedbackQueue,
    FeedbackStatus,
)
from tickets.models.index import ClusterProfile, ClusterTerm, TermStat
from tickets.models.integrations import (
    ApiKey,
    IdempotencyRecord,
    InboundMapping,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from tickets.models.outbox import OutboxMessage
from tickets.models.tickets import Attachment, Ticket
from tickets.models.types import EvidenceField, TicketType

__all__ = [
    "FeatureDecision",
    "FeatureRequestDecision",
    "FeedbackItem",
    "FeedbackOutcome",
    "FeedbackQueue",
    "FeedbackStatus",
    "OutboxMessage",
    "cluster_kind_for",
    "ASSIGNABLE_CLUSTER_STATUSES",
    "ClusterCorrection",
    "ClusterEmbedding",
    "ClusterProfile",
    "ClusterTerm",
    "TermStat",
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
    "TicketEmbedding",
    "TicketStatus",
    "TicketType",
]
