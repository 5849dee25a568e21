"""Fixes that did not hold: when a fix's verdict turns *regressed* or *worse*, flag its cluster once.

Claimed with a conditional UPDATE on `FixImpact.regression_flagged_at` inside the measuring transaction, so
two workers measuring the same fix, or the hourly task running twice, flag it once; a new deploy time
starts a new measurement and may be flagged again. The flag, the owner's alert and the help desk's
`cluster.regressed` webhook rows are written in that same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from metrics.impact import Verdict
from metrics.models import FixImpact
from slas.services import regression_alert_create
from tickets.clusters.regressions import cluster_flag_regressed
from tickets.models import BugCluster

logger = logging.getLogger(__name__)

REGRESSION_VERDICTS = (Verdict.REGRESSED, Verdict.WORSE)


def fix_regressions_flag(*, rows: Iterable[FixImpact], now: datetime) -> list[int]:
    """Flag the clusters of `rows` whose (possibly provisional) verdict is regressed or worse and that were
    not flagged for this deploy yet; returns their ids. Call inside the transaction that saved the rows."""
    flagged = []
    for row in rows:
        verdict = row.current_verdict
        if verdict not in REGRESSION_VERDICTS or row.regression_flagged_at is not None:
            continue
        claimed = FixImpact.objects.filter(pk=row.pk, regression_flagged_at=None).update(regression_flagged_at=now)
        if claimed != 1:
            continue
        row.regression_flagged_at = now
        cluster = BugCluster.objects.select_related("owner").get(pk=row.cluster_id)
        cluster_flag_regressed(cluster=cluster, verdict=verdict, reason=row.reason)
        regression_alert_create(cluster=cluster, verdict=verdict, reason=row.reason)
        logger.info("Fix of cluster %s %s; flagged", row.cluster_id, verdict)
        flagged.append(row.cluster_id)
    return flagged
