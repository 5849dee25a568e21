"""Seed the handoff triggers table and the default at-risk rule (30 days, score 3, 3 escalations).

What the customer says (churn language, an executive's complaint) puts an account at risk alone; what
it lives through (escalations, an open P1, falling CSAT, a blocking request) adds weight but takes
several together, so a busy account is not called at risk for being busy.

Self-contained (a data migration must not import the app's code). Admins edit both later; re-running is a no-op.
"""

from django.db import migrations

# (key, handoff type, urgency, weight, is risk, recommended action)
TRIGGERS = [
    ("churn_language", "Save play: retention call", "critical", 3, True,
     "Call the account's decision maker within a day; agree a recovery plan with dates and an owner."),
    ("executive_complaint", "Executive outreach", "critical", 3, True,
     "Have an executive sponsor reach the complaining executive this week; acknowledge the issue in writing."),
    ("repeated_escalations", "Escalation review", "high", 1, True,
     "Review the escalated tickets with product; send the customer one status update covering all of them."),
    ("competitor_mentioned", "Competitive defence", "high", 2, True,
     "Find out what the competitor offers them; bring a comparison and the roadmap to the next call."),
    ("champion_departure", "Relationship rebuild", "high", 2, True,
     "Meet the new contact, re-run onboarding for their team, and find a new champion."),
    ("incident_impact", "Incident follow-up", "high", 1, True,
     "Send the incident's status and workaround; offer a follow-up call once it is fixed."),
    ("negative_csat", "Health check", "medium", 1, True,
     "Read the low-rated conversations; schedule a health check with the account's admin."),
    ("feature_blocker", "Roadmap review with product", "medium", 1, True,
     "Bring the blocking request to product with the account's revenue; tell the customer what was decided."),
    ("expansion_interest", "Expansion opportunity (upsell lead)", "low", 0, False,
     "Qualify the interest and hand it to the account executive; not a risk."),
]  # fmt: skip


def seed(apps, schema_editor):
    HandoffTrigger = apps.get_model("triage", "HandoffTrigger")
    AtRiskRule = apps.get_model("triage", "AtRiskRule")
    for order, (key, handoff_type, urgency, weight, is_risk, action) in enumerate(TRIGGERS):
        HandoffTrigger.objects.get_or_create(
            key=key,
            defaults={
                "handoff_type": handoff_type,
                "urgency": urgency,
                "weight": weight,
                "is_risk": is_risk,
                "recommended_action": action,
                "order": (order + 1) * 10,
            },
        )
    if not AtRiskRule.objects.exists():
        AtRiskRule.objects.create()


def unseed(apps, schema_editor):
    apps.get_model("triage", "HandoffTrigger").objects.all().delete()
    apps.get_model("triage", "AtRiskRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("triage", "0001_accounts_and_handoffs")]

    operations = [migrations.RunPython(seed, unseed)]
