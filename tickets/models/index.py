"""The clustering engine's index: an inverted index of assignable clusters and per-cluster exemplars.

Everything here is derived from tickets (`Ticket.match_features`) and can be
rebuilt with `manage.py clustering_rebuild`.
"""

from django.db import models

from tickets.models.clusters import BugCluster


class ClusterTerm(models.Model):
    """A posting: a term (word stem, fingerprint or evidence value) of an assignable cluster.

    `weight` sums the term's weight over the cluster's tickets. Only clusters the
    engine may assign to have postings, so retrieval never reads closed clusters.
    """

    cluster = models.ForeignKey(BugCluster, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=20, help_text="The cluster's kind, so bugs and requests stay apart.")
    term = models.CharField(max_length=120)
    weight = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "kind", "term"], name="cluster_term_unique")]
        indexes = [models.Index(fields=["kind", "term"], name="cluster_term_lookup", include=["cluster", "weight"])]

    def __str__(self) -> str:
        return f"{self.term} @ {self.cluster_id}"


class TermStat(models.Model):
    """How many tickets hold a term (document frequency), for inverse document frequency.

    The row with term `#tickets` counts all tickets, `#length` their summed text length.
    """

    term = models.CharField(max_length=120, primary_key=True)
    tickets = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.term}: {self.tickets:g}"


class ClusterProfile(models.Model):
    """What the engine compares a new ticket with: a few member tickets' term vectors and the cluster's
    fingerprint and evidence counts."""

    cluster = models.OneToOneField(BugCluster, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    kind = models.CharField(max_length=20)
    exemplars = models.JSONField(default=list, help_text='[{"id": ticket id, "terms": {term: weight}, "len": n}]')
    fingerprints = models.JSONField(default=dict, help_text="fingerprint -> tickets holding it")
    evidence = models.JSONField(default=dict, help_text='"key=value" -> tickets holding it')
    tickets = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of cluster {self.cluster_id}"
