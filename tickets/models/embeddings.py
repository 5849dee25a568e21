"""Sentence embeddings the clustering engine keeps: one per ticket, what scoring needs per cluster.

Vectors are float32 bytes, L2-normalised. Each row names the model that made it (`model`: the model
directory's name, a hash of its weights and the dimension), so vectors of two models are never
compared: rows of another model are ignored until `manage.py clustering_embed` re-embeds them.
Everything here is derived from tickets and can be rebuilt.
"""

from django.db import models

from tickets.models.clusters import BugCluster
from tickets.models.tickets import Ticket


class TicketEmbedding(models.Model):
    """What one ticket's text (subject, description, free-text evidence) means, as one vector."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, primary_key=True, related_name="+")
    model = models.CharField(max_length=80, help_text="Identity of the model that made the vector.")
    vector = models.BinaryField(help_text="float32 values, L2-normalised.")
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"embedding of ticket {self.ticket_id}"


class ClusterEmbedding(models.Model):
    """What semantic scoring compares a ticket with: the sum of the cluster's ticket vectors (its
    centroid once normalised) and the vectors of a few member tickets (its exemplars).

    `assignable` mirrors the cluster's status, so a worker's in-memory matrix of open clusters reads
    only what it needs; `updated_at` lets it read only the rows changed since its last look.
    """

    cluster = models.OneToOneField(BugCluster, on_delete=models.CASCADE, primary_key=True, related_name="+")
    kind = models.CharField(max_length=20)
    model = models.CharField(max_length=80)
    assignable = models.BooleanField(default=True)
    total = models.BinaryField(help_text="Sum of the member tickets' vectors (float32).")
    tickets = models.PositiveIntegerField(default=0, help_text="Tickets summed into `total`.")
    exemplars = models.BinaryField(help_text="Member tickets' vectors, one after the other (float32).")
    exemplar_ids = models.JSONField(default=list, help_text="The ticket of each exemplar vector, in order.")
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "model"], name="cluster_embedding_open", condition=models.Q(assignable=True))
        ]

    def __str__(self) -> str:
        return f"embedding of cluster {self.cluster_id}"
