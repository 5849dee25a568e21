"""The descriptive fields product keeps up to date on a cluster: title, summary, root cause, workaround..."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.dateformat import format as date_format

from tickets.clusters.services import cluster_lock, cluster_product_touched, index_rebuild_later
from tickets.models import BugCluster, ClusterEvent

DETAIL_FIELDS = ("title", "summary", "root_cause", "workaround", "fix_eta", "engineering_url", "reproduced")
DETAIL_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "root_cause": "Suspected root cause",
    "workaround": "Workaround",
    "fix_eta": "Fix ETA",
    "engineering_url": "Engineering issue",
    "reproduced": "Reproduced",
}
DETAIL_TEXT_MAX = 10_000
_TEXT_FIELDS = ("summary", "root_cause", "workaround")
INDEXED_WORDS = frozenset({"title", "summary", "root_cause"})  # the cluster's own words the engine reads
_http_url = URLValidator(schemes=["http", "https"])


def _details_clean(cluster: BugCluster, changes: dict[str, Any]) -> dict[str, Any]:
    """Each given detail in its stored form; ValidationError naming every refused field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, raw in changes.items():
        if name not in DETAIL_FIELDS:
            errors[name] = [f"'{name}' cannot be changed here; the details are: {', '.join(DETAIL_FIELDS)}."]
            continue
        label = DETAIL_LABELS[name]
        if name == "reproduced":
            if not isinstance(raw, bool):
                errors[name] = ["Reproduced must be true or false."]
            values[name] = raw
            continue
        if name == "fix_eta":
            try:
                values[name] = eta = _as_date(raw)
            except ValueError:
                errors[name] = [
                    f"The fix ETA must be a date written YYYY-MM-DD, e.g. 2027-03-12 (got '{str(raw)[:40]}')."
                ]
                continue
            today = timezone.localdate()
            if eta is not None and eta != cluster.fix_eta and eta < today:
                errors[name] = [f"The fix ETA cannot be in the past (today is {today:%Y-%m-%d}); choose a later date."]
            continue
        if raw is not None and not isinstance(raw, str):
            errors[name] = [f"{label} must be text."]
            continue
        text = (raw or "").replace("\r\n", "\n").strip()
        values[name] = text
        if name == "title" and not text:
            errors[name] = ["A title is required: one line saying what the bug is."]
        elif name == "title" and len(text) > 255:
            errors[name] = [f"The title must be at most 255 characters (got {len(text)})."]
        elif name == "engineering_url" and len(text) > 500:
            errors[name] = [f"The engineering issue link must be at most 500 characters (got {len(text)})."]
        elif name == "engineering_url" and text:
            try:
                _http_url(text)
            except ValidationError:
                errors[name] = [
                    "The engineering issue link must be a full http(s) address of the issue, "
                    f"e.g. https://github.com/acme/app/issues/42 (got '{text[:80]}')."
                ]
        elif name in _TEXT_FIELDS and len(text) > DETAIL_TEXT_MAX:
            errors[name] = [f"{label} must be at most {DETAIL_TEXT_MAX:,} characters (got {len(text):,})."]
    if errors:
        raise ValidationError(errors)
    return values


def _as_date(raw: Any) -> date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        return date.fromisoformat(raw.strip())
    raise ValueError(raw)


def _detail_line(name: str, old: Any, new: Any) -> str:
    """One line of the "details updated" entry agents read in the story."""
    if name == "reproduced":
        return "Product reproduced the bug." if new else "No longer marked as reproduced."
    if name == "fix_eta":
        return f"Fix ETA: {date_format(new, 'j M Y')}." if new else "Fix ETA removed."
    if name in ("title", "engineering_url"):
        return f"{DETAIL_LABELS[name]}: {new}" if new else f"{DETAIL_LABELS[name]} removed."
    if not new:
        return f"{DETAIL_LABELS[name]} removed."
    return f"{DETAIL_LABELS[name]} {'updated' if old else 'added'}."


def _json_ready(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def cluster_update_details(*, cluster: BugCluster, actor: AbstractBaseUser | None, **changes: Any) -> BugCluster:
    """Set a cluster's descriptive fields (product side): any of title, summary, root_cause,
    workaround, fix_eta, engineering_url, and reproduced (True stamps `reproduced_at`, False clears it).

    Raises ValidationError keyed by field and stores nothing when any value is refused; a fix
    ETA may not be newly set in the past (an unchanged past ETA is kept). Saves only what
    changed and counts as a product update (acknowledgment, last update, `cluster_updated`
    after commit). The story gets a WORKAROUND entry with the text of a new workaround, and
    one "details updated" product response listing the other changes. Nothing changed: no write.
    """
    values = _details_clean(cluster, changes)
    with transaction.atomic():
        cluster = cluster_lock(cluster=cluster)
        now = timezone.now()
        diff: dict[str, tuple[Any, Any]] = {}
        for name, new in values.items():
            old = cluster.reproduced_at is not None if name == "reproduced" else getattr(cluster, name)
            if new != old:
                diff[name] = (old, new)
        if not diff:
            return cluster
        for name, (_, new) in diff.items():
            if name == "reproduced":
                cluster.reproduced_at = now if new else None
            else:
                setattr(cluster, name, new)
        fields = ["reproduced_at" if name == "reproduced" else name for name in diff]
        cluster.save(
            update_fields=[*fields, "updated_at", *cluster_product_touched(cluster=cluster, now=now, actor=actor)]
        )
        if INDEXED_WORDS.intersection(diff):
            index_rebuild_later(cluster_ids=[cluster.pk])  # the engine finds the cluster by its new words
        others = {name: change for name, change in diff.items() if not (name == "workaround" and change[1])}
        if others:
            ClusterEvent.objects.create(
                cluster=cluster,
                actor=actor,
                kind=ClusterEvent.Kind.RESPONSE,
                message="\n".join(_detail_line(name, old, new) for name, (old, new) in others.items()),
                data={
                    "details": list(others),
                    "from": {name: _json_ready(old) for name, (old, _) in others.items()},
                    "to": {name: _json_ready(new) for name, (_, new) in others.items()},
                },
            )
        if "workaround" in diff and diff["workaround"][1]:
            ClusterEvent.objects.create(
                cluster=cluster,
                actor=actor,
                kind=ClusterEvent.Kind.WORKAROUND,
                message=diff["workaround"][1],
                data={"replaces": diff["workaround"][0]},
            )
    return cluster
