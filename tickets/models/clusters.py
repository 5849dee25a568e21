from django.conf import settings
from django.db import models

from tickets.models.choices import OPEN_CLUSTER_STATUSES, ClusterKind, ClusterStatus, Priority


class BugCluster(models.Model):
    """One underlying problem (or one feature request) that many tickets describe.

    Counters and first/last report times are maintained by services so lists and
    SLA/metrics queries never aggregate over all tickets.
    """

    kind = models.CharField(max_length=20, choices=ClusterKind.choices, default=ClusterKind.BUG)
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True, help_text="What is going on, in product's words.")
    root_cause = models.TextField("suspected root cause", blank=True)
    status = models.CharField(max_length=20, choices=ClusterStatus.choices, default=ClusterStatus.NEW)
    priority = models.CharField(max_length=2, choices=Priority.choices, blank=True)
    ticket_type = models.ForeignKey(
        "tickets.TicketType",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clusters",
        help_text="The type most of its tickets have.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_clusters",
    )
    fix_eta = models.DateField("fix ETA", null=True, blank=True)
    workaround = models.TextField(blank=True)
    engineering_url = models.URLField(
        "engineering issue", max_length=500, blank=True, help_text="Jira, Linear or GitHub issue URL."
    )
    fix_deployed_at = models.DateTimeField(null=True, blank=True)
    reproduced_at = models.DateTimeField(null=True, blank=True, help_text="When product reproduced the bug.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    last_product_update_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=list, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        help_text="Set when a person merged this cluster into another.",
    )
    threshold_crossed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the cluster last reached its ticket type's alert threshold; cleared when it falls back.",
    )
    spike_detected_at = models.DateTimeField(null=True, blank=True)
    spike_ratio = models.FloatField(
        null=True, blank=True, help_text="Recent volume over the cluster's own baseline when flagged."
    )
    spike_details = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, output_field=models.JSONField())
    )
    ticket_count = models.PositiveIntegerField(default=0)
    first_reported_at = models.DateTimeField(null=True, blank=True)
    last_reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_reported_at", "-id"]
        indexes = [
            models.Index(fields=["status", "kind"]),
            models.Index(fields=["-last_reported_at"]),
            models.Index(fields=["priority", "status"]),
            models.Index(
                fields=["-spike_detected_at"], name="cluster_spiking", condition=models.Q(spike_ratio__isnull=False)
            ),
        ]
        permissions = [
            ("triage_cluster", "Can set a cluster's status, priority and owner"),
            ("correct_clusters", "Can merge and split clusters and move tickets between them"),
            ("answer_question", "Can answer product's questions on a cluster"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CLUSTER_STATUSES


class ClusterEvent(models.Model):
    """One entry in a cluster's story: a status change, a product response, a question, an answer."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        TICKET_ADDED = "ticket_added", "Ticket added"
        STATUS_CHANGED = "status_changed", "Status changed"
        PRIORITY_CHANGED = "priority_changed", "Priority changed"
        OWNER_CHANGED = "owner_changed", "Owner changed"
        RESPONSE = "response", "Product response"
        QUESTION = "question", "Question for support"
        ANSWER = "answer", "Answer from support"
        FIX_DEPLOYED = "fix_deployed", "Fix deployed"
        WORKAROUND = "workaround", "Workaround"
        CORRECTION = "correction", "Correction"
        ALERT = "alert", "Alert"

    cluster = models.ForeignKey(BugCluster, on_delete=models.CASCADE, related_name="events")
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="cluster_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["cluster", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on cluster {self.cluster_id}"

    @property
    def is_product_response(self) -> bool:
        return self.kind in (self.Kind.RESPONSE, self.Kind.QUESTION, self.Kind.STATUS_CHANGED)


class ClusterCorrection(models.Model):
    """A person's merge, split or move, with everything needed to undo it exactly.

    `data["tickets"]` lists each moved ticket's assignment before the action
    (cluster, source, confidence, reasons, assigned-at); `data["clusters"]`
    the status (and merged-into) of each cluster the action changed.
    """

    class Action(models.TextChoices):
        MERGE = "merge", "Merge"
        SPLIT = "split", "Split"
        MOVE = "move", "Move ticket"

    action = models.CharField(max_length=10, choices=Action.choices)
    source_cluster = models.ForeignKey(
        BugCluster, null=True, on_delete=models.SET_NULL, related_name="corrections_from"
    )
    target_cluster = models.ForeignKey(BugCluster, null=True, on_delete=models.SET_NULL, related_name="corrections_to")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["source_cluster", "-created_at"]),
            models.Index(fields=["target_cluster", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.source_cluster_id} -> {self.target_cluster_id}"
