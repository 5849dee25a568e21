"""The At-Risk Alert, following the template: account, tier, MRR, CSM, risk indicators, recent tickets, the
customer's words and recommended actions. Built once when the handoff is written, so every channel sends
the same text."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from tickets.models import Customer
from triage.accounts.models import HandoffKind, HandoffTrigger

RECENT_TICKETS = 8
WORDS = 3


def _person(user) -> str:
    if user is None:
        return "no CSM assigned"
    return user.get_full_name() or user.get_username()


def _cell(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def alert_text(
    *,
    customer: Customer,
    kind: str,
    handoff_type: str,
    urgency: str,
    score: int,
    signals: list[dict],
    triggers: dict[str, HandoffTrigger],
    recent: list[dict],
    words: list[dict],
    handoff_id: int,
) -> tuple[str, str, dict]:
    """(message, Markdown body, JSON payload) of the alert."""
    headline = "AT-RISK ALERT" if kind == HandoffKind.AT_RISK else "EXPANSION LEAD"
    url = f"{settings.SITE_URL}{reverse('accounts:handoff', args=[handoff_id])}"
    indicators = [s["name"] for s in signals]
    message = (
        f"{'At risk' if kind == HandoffKind.AT_RISK else 'Expansion lead'}: {customer.name} "
        f"({customer.get_plan_tier_display()}, ${customer.mrr:,.0f} MRR): {', '.join(indicators)}"
    )[:300]
    lines = [
        f"# {headline}: {customer.name}",
        "",
        f"- **Account**: {customer.name} ({customer.external_id})",
        f"- **Tier**: {customer.get_plan_tier_display()} · {customer.get_segment_display()}",
        f"- **MRR**: ${customer.mrr:,.2f} (ARR ${customer.mrr * 12:,.0f})",
        f"- **CSM**: {_person(customer.csm_owner)}",
        f"- **Renewal**: {customer.renewal_date:%d %b %Y}" if customer.renewal_date else "- **Renewal**: unknown",
        f"- **Handoff**: {handoff_type} · urgency {urgency} · risk score {score}",
        "",
        "## Risk indicators",
        "",
    ]
    for s in signals:
        lines.append(f"- **{s['name']}**: {s['summary']}")
        for e in s["evidence"][:3]:
            lines.append(f"  - {e['external_id']} ({e['reported_at'][:10]}): {_cell(e['note'] or e['subject'])}")
    lines += ["", "## Recent tickets", "", "| Date | Ticket | Subject | Kind | Status |", "|---|---|---|---|---|"]
    for t in recent:
        lines.append(
            f"| {t['reported_at'][:10]} | {t['external_id']} | {_cell(t['subject'])} | {t['kind']} | {t['status']} |"
        )
    lines += ["", "## In the customer's words", ""]
    lines += [f"> {_cell(w['words'])} ({w['external_id']})" for w in words] or ["No quotes recorded."]
    lines += ["", "## Recommended actions", ""]
    for s in signals:
        trigger = triggers.get(s["trigger"])
        if trigger and trigger.recommended_action:
            lines.append(f"- {trigger.recommended_action}")
    lines += ["", f"Acknowledge and record what you did: {url}"]
    payload = {
        "account": {
            "external_id": customer.external_id,
            "name": customer.name,
            "segment": customer.segment,
            "tier": customer.plan_tier,
            "mrr": str(customer.mrr),
            "csm": customer.csm_owner.get_username() if customer.csm_owner else None,
            "renewal_date": customer.renewal_date.isoformat() if customer.renewal_date else None,
        },
        "kind": kind,
        "handoff_type": handoff_type,
        "urgency": urgency,
        "score": score,
        "indicators": [{"trigger": s["trigger"], "name": s["name"], "summary": s["summary"]} for s in signals],
        "recent_tickets": recent,
        "customer_words": words,
        "url": url,
        "detail": "\n".join(lines),
    }
    return message, "\n".join(lines), payload
