"""What `tickets` announces to the apps above it (`slas`, `metrics`), which it never imports.

Every signal but one is sent by the outbox (`tickets.outbox`) after the transaction that made the
change committed, at least once: a receiver may hear the same change twice and must be idempotent.
Receivers are connected in each app's `receivers.py`, from its `AppConfig.ready()`. Inside
`tickets`, steps call each other directly; nothing in `tickets` listens to these.
"""

from django.dispatch import Signal

# --- Sent by the outbox, after the commit (at least once) ---------------------------------------
# sender=Ticket, ticket=Ticket, cluster=BugCluster, previous_cluster_id=int|None  (a person placed or moved it)
ticket_assigned = Signal()
# sender=Ticket, assignments=list[tuple[Ticket, BugCluster]]  (the engine assigned new tickets, a batch at a
# time: one send per batch; each pair means what ticket_assigned with no previous cluster means)
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
# sender=BugCluster, cluster=BugCluster, ratio=float, details=dict, message=str  (once per spike;
# details: window "24h" | "7d", count, baseline, std, k, ceiling, ratio, min_volume, history)
cluster_spike_detected = Signal()

# --- Sent inside the transaction, before the change ---------------------------------------------
# sender=BugCluster, cluster=BugCluster (locked), status=str (the new one), actor=User|None, context=dict.
# A receiver refuses the move by raising ValidationError({"status": reason}); nothing is changed then.
# (The metrics app's verification gate refuses VERIFIED until the fix is shown to work.)
cluster_status_changing = Signal()
