"""Every write of customer success: assessing accounts, raising a handoff (and its alert) once per window,
and the CSM's acknowledgment, intervention and result."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.models import Customer, Role, Ticket
from tickets.queue import after_commit
from triage.accounts.alert import RECENT_TICKETS, WORDS, alert_text
from triage.accounts.delivery import handoffs_enqueue
from triage.accounts.detection import Assessment, accounts_detect
from triage.accounts.models import (
    URGENCY_RANK,
    AccountHealth,
    AtRiskRule,
    Handoff,
    HandoffKind,
    HandoffResult,
    HandoffStatus,
    HandoffTrigger,
)
from triage.accounts.selectors import rule_current

logger = logging.getLogger(__name__)
WINDOW_EPOCH = date(2000, 1, 3)  # a Monday: windows of 7, 14, 28 days start on Mondays
NOTE_MAX = 5000


def window_start_for(day: date, window_days: int) -> date:
    """The first day of the fixed window of `window_days` that holds `day` (windows tile time from an epoch)."""
    return WINDOW_EPOCH + timedelta(days=((day - WINDOW_EPOCH).days // window_days) * window_days)


def accounts_assess(*, now: datetime | None = None, customer_ids: list[int] | None = None) -> dict[str, int]:
    """Assess every account with tickets in the window, store each one's health, and raise a handoff (with its
    alert to the CSM) for each account newly at risk or newly showing expansion interest.

    Once per new risk, not once per run: an account already at risk at its previous assessment is handed
    off again only when it has no open handoff of that kind (its CSM closed the last one) and shows new
    evidence. Safe to run twice, and concurrently: a handoff is unique per account, kind and window, and one
    whose evidence (its tickets) an earlier handoff already covered is not raised again.
    """
    now = now or timezone.now()
    rule = rule_current()
    triggers = {t.key: t for t in HandoffTrigger.objects.all()}
    assessments = accounts_detect(rule=rule, triggers=triggers, now=now, customer_ids=customer_ids)
    before = (
        AccountHealth.objects.all()
        if customer_ids is None
        else AccountHealth.objects.filter(customer_id__in=customer_ids)
    )
    flagged = {
        customer_id: {HandoffKind.AT_RISK: at_risk, HandoffKind.EXPANSION: expansion}
        for customer_id, at_risk, expansion in before.values_list("customer_id", "at_risk", "expansion")
    }
    with transaction.atomic():
        _health_store(assessments, triggers, rule, now, everyone=customer_ids is None)
    raised = 0
    if rule.is_active:
        for assessment in assessments:
            crossed = {HandoffKind.AT_RISK: assessment.at_risk, HandoffKind.EXPANSION: assessment.expansion}
            for kind in (k for k, yes in crossed.items() if yes):
                newly = not flagged.get(assessment.customer_id, {}).get(kind, False)
                if handoff_raise(assessment=assessment, kind=kind, rule=rule, triggers=triggers, now=now, newly=newly):
                    raised += 1
    at_risk = sum(a.at_risk for a in assessments)
    logger.info("Assessed %s accounts: %s at risk, %s handoffs raised", len(assessments), at_risk, raised)
    return {"accounts": len(assessments), "at_risk": at_risk, "handoffs": raised}


def _health_store(assessments: list[Assessment], triggers, rule: AtRiskRule, now: datetime, everyone: bool) -> None:
    existing = dict(AccountHealth.objects.values_list("customer_id", "pk"))
    rows_new, rows_old = [], []
    for a in assessments:
        row = AccountHealth(
            customer_id=a.customer_id,
            assessed_at=now,
            window_days=rule.window_days,
            score=a.score,
            at_risk=a.at_risk,
            expansion=a.expansion,
            signals=a.as_json(triggers),
        )
        if a.customer_id in existing:
            row.pk = existing[a.customer_id]
            rows_old.append(row)
        else:
            rows_new.append(row)
    AccountHealth.objects.bulk_create(rows_new, batch_size=500)
    fields = ["assessed_at", "window_days", "score", "at_risk", "expansion", "signals"]
    AccountHealth.objects.bulk_update(rows_old, fields, batch_size=500)
    if everyone:  # accounts with no ticket in the window any more are quiet now
        AccountHealth.objects.exclude(customer_id__in=[a.customer_id for a in assessments]).update(
            assessed_at=now, score=0, at_risk=False, expansion=False, signals=[]
        )


def _recipients(customer: Customer) -> list[str]:
    """The account's CSM; without one (or without an email) the customer-success team."""
    if customer.csm_owner_id and customer.csm_owner.email and customer.csm_owner.is_active:
        return [customer.csm_owner.email]
    User = get_user_model()
    team = User.objects.filter(groups__name=Role.CUSTOMER_SUCCESS, is_active=True).exclude(email="")
    return sorted(set(team.values_list("email", flat=True)))


def handoff_raise(
    *,
    assessment: Assessment,
    kind: str,
    rule: AtRiskRule,
    triggers: dict[str, HandoffTrigger],
    now: datetime,
    newly: bool = True,
) -> Handoff | None:
    """Write the handoff and its alert for one account in this window and send it after commit; None when
    the window already has one, an earlier handoff covered the same evidence, or the account was already
    flagged (`newly` false) and its CSM still holds an open handoff of this kind."""
    wanted_risk = kind == HandoffKind.AT_RISK
    signals = [s for s in assessment.signals if triggers[s.trigger].is_risk == wanted_risk]
    if not signals:
        return None
    evidence_ids = sorted({pk for s in signals for pk in s.ticket_ids})
    previous = (
        Handoff.objects.filter(customer_id=assessment.customer_id, kind=kind).order_by("-created_at", "-id").first()
    )
    if previous is not None and set(evidence_ids) <= set(previous.evidence_ids):
        return None  # nothing new since the last alert
    if previous is not None and previous.is_open and not newly:
        return None  # the same risk as before: its CSM has it already
    lead = max(signals, key=lambda s: (URGENCY_RANK[triggers[s.trigger].urgency], triggers[s.trigger].weight))
    customer = Customer.objects.select_related("csm_owner").get(pk=assessment.customer_id)
    signals_json = Assessment(customer.pk, signals, assessment.score, False, False).as_json(triggers)
    try:
        with transaction.atomic():
            handoff = Handoff.objects.create(
                customer=customer,
                kind=kind,
                window_start=window_start_for(timezone.localdate(now), rule.window_days),
                handoff_type=triggers[lead.trigger].handoff_type,
                urgency=triggers[lead.trigger].urgency,
                score=assessment.score,
                triggers=[s.trigger for s in signals],
                signals=signals_json,
                evidence_ids=evidence_ids,
                csm=customer.csm_owner,
                message=customer.name[:300],
                body="",
                recipients=_recipients(customer) if rule.notify_email else [],
                enqueued_at=now,
            )
            recent, words = _alert_tickets(customer, now - timedelta(days=rule.window_days), evidence_ids)
            message, body, payload = alert_text(
                customer=customer,
                kind=kind,
                handoff_type=handoff.handoff_type,
                urgency=handoff.urgency,
                score=assessment.score,
                signals=signals_json,
                triggers=triggers,
                recent=recent,
                words=words,
                handoff_id=handoff.pk,
            )
            Handoff.objects.filter(pk=handoff.pk).update(message=message, body=body, payload=payload)
            after_commit(handoffs_enqueue, ids=[handoff.pk])
    except IntegrityError:
        return None  # this window's handoff exists (another run got there first)
    return handoff


def _alert_tickets(customer: Customer, since: datetime, evidence_ids: list[int]) -> tuple[list[dict], list[dict]]:
    recent = [
        {
            "external_id": t.external_id,
            "subject": t.subject,
            "reported_at": t.reported_at.isoformat(),
            "kind": t.get_feedback_kind_display(),
            "status": t.get_status_display(),
        }
        for t in Ticket.objects.filter(customer=customer, reported_at__gte=since).order_by("-reported_at", "-id")[
            :RECENT_TICKETS
        ]
    ]
    words = []
    for t in Ticket.objects.filter(pk__in=evidence_ids).order_by("-reported_at", "-id"):
        said = (t.evidence or {}).get("customer_words") or (t.evidence or {}).get("quote")
        if said:
            words.append({"external_id": t.external_id, "words": str(said)})
        if len(words) >= WORDS:
            break
    return recent, words


# --- The CSM's side ------------------------------------------------------------------------


def _locked(handoff: Handoff) -> Handoff:
    return Handoff.objects.select_for_update().get(pk=handoff.pk)


def handoff_acknowledge(*, handoff: Handoff, actor: AbstractBaseUser) -> Handoff:
    """The CSM has seen the alert (no-op when already acknowledged)."""
    with transaction.atomic():
        handoff = _locked(handoff)
        if handoff.acknowledged_at is None:
            handoff.acknowledged_at, handoff.acknowledged_by = timezone.now(), actor
            if handoff.status == HandoffStatus.OPEN:
                handoff.status = HandoffStatus.ACKNOWLEDGED
            handoff.save(update_fields=["acknowledged_at", "acknowledged_by", "status"])
    return handoff


def handoff_record_intervention(*, handoff: Handoff, actor: AbstractBaseUser, intervention: str) -> Handoff:
    """What the CSM did about it (a call, a QBR, an executive sponsor); acknowledges it too."""
    intervention = (intervention or "").strip()
    if not intervention:
        raise ValidationError({"intervention": "Say what you did: the call, meeting or offer, and with whom."})
    if len(intervention) > NOTE_MAX:
        raise ValidationError({"intervention": f"At most {NOTE_MAX:,} characters (got {len(intervention):,})."})
    with transaction.atomic():
        handoff = _locked(handoff)
        if handoff.status == HandoffStatus.CLOSED:
            raise ValidationError({"intervention": "This handoff is closed; its result is recorded."})
        now = timezone.now()
        if handoff.acknowledged_at is None:
            handoff.acknowledged_at, handoff.acknowledged_by = now, actor
        handoff.intervention, handoff.intervention_at, handoff.intervention_by = intervention, now, actor
        handoff.status = HandoffStatus.INTERVENED
        handoff.save()
    return handoff


def handoff_record_result(*, handoff: Handoff, actor: AbstractBaseUser, result: str, note: str = "") -> Handoff:
    """How it ended (retained, churned, expanded, ...); closes the handoff."""
    if result not in HandoffResult.values:
        choices = ", ".join(f"{value} ({label})" for value, label in HandoffResult.choices)
        raise ValidationError({"result": f"Choose the result: {choices}."})
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": f"At most {NOTE_MAX:,} characters (got {len(note):,})."})
    with transaction.atomic():
        handoff = _locked(handoff)
        if not handoff.intervention:
            raise ValidationError({"result": "Record the intervention first: what was done, then how it ended."})
        handoff.result, handoff.result_note = result, note
        handoff.closed_at, handoff.closed_by, handoff.status = timezone.now(), actor, HandoffStatus.CLOSED
        handoff.save()
    return handoff
