"""Signals other apps listen to, so `tickets` never imports `slas` or `metrics`.

Each is sent after the transaction that made the change has committed, so a
receiver that enqueues work never sees a row that was rolled back.
"""

from django.dispatch import Signal

# sender=Ticket, ticket=Ticket  (one ticket filed: the form, a single API create, the inbound webhook)
ticket_filed = Signal()
# sender=Ticket, ticket_ids=list[int]  (many tickets created at once: bulk API, CSV import; one send, not one each)
tickets_filed = Signal()
# sender=Ticket, ticket=Ticket, cluster=BugCluster, previous_cluster_id=int|None
ticket_assigned = Signal()
# sender=Ticket, assignments=list[tuple[Ticket, BugCluster]]  (the engine assigned new tickets, a batch at a
# time: one send per batch, not one per ticket; each pair means what ticket_assigned with no previous cluster means)
tickets_assigned = Signal()
# sender=BugCluster, cluster_ids=list[int]  (people moved many tickets at once: a merge, a split, an undo)
tickets_moved = Signal()
# sender=BugCluster, cluster=BugCluster
cluster_created = Signal()
# sender=BugCluster, cluster=BugCluster, old_status=str, new_status=str, actor=User|None
cluster_status_changed = Signal()
# sender=BugCluster, cluster=BugCluster, actor=User|None  (any product-side update: response, priority, owner)
cluster_updated = Signal()
# sender=BugCluster, cluster=BugCluster, deployed_at=datetime, actor=User|None
cluster_fix_deployed = Signal()
# sender=BugCluster, cluster=BugCluster, count=int, window_days=int  (once per crossing)
cluster_threshold_reached = Signal()
# sender=BugCluster, cluster=BugCluster, actor=User|None, message=str  (support answered product's question)
cluster_question_answered = Signal()
# Sent by `slas` (which tickets never imports); tickets' webhook delivery listens.
# sender=str ("slas"), cluster=BugCluster, event=str ("sla.warning" | "sla.breach" | "sla.escalation"),
# payload=dict (JSON-ready details: target, due_at, level, policy)
sla_alert_fired = Signal()
# sender=BugCluster, cluster=BugCluster, ratio=float, details=dict, message=str  (once per spike;
# details: window "24h" | "7d", count, baseline, std, k, ceiling, ratio, min_volume, history)
cluster_spike_detected = Signal()
# sender=str ("demo"), end=datetime, stdout=TextIO  (`manage.py seed_demo` loaded the demo history and clustered
# it; the apps above add their part of the demo organisation)
demo_loaded = Signal()
