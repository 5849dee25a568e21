"""Acknowledgment targets per feedback kind: at-risk signals fast, UX feedback and documentation gaps within
a week, and no clocks at all for praise and competitive intel (they are not bugs to acknowledge).

Placed before "Everything else" (whose 24-hour bug acknowledgment they used to get); a priority set on a
feedback cluster still wins (P1-P3 come first). Re-running is a no-op.
"""

from django.db import migrations

HOUR = 60
DAY = 24 * HOUR
BUSINESS = "Business days (Mon-Fri, UTC)"

# (name, position, feedback kinds, ack minutes, description)
POLICIES = [
    (
        "At-risk signals",
        12,
        ["at_risk_signal"],
        4 * HOUR,
        "Customer success acknowledges an account at risk within 4 business hours.",
    ),
    (
        "UX feedback and documentation gaps",
        44,
        ["ux_feedback", "documentation_gap"],
        5 * DAY,
        "Design and docs acknowledge within 5 business days.",
    ),
    (
        "Praise and competitive intel: no clocks",
        45,
        ["praise", "competitive_intel"],
        None,
        "Nothing to acknowledge against a clock: customer success, marketing and sales read them as they come.",
    ),
]


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("slas", "BusinessCalendar")
    SlaPolicy = apps.get_model("slas", "SlaPolicy")
    calendar = BusinessCalendar.objects.filter(name=BUSINESS).first()
    for name, position, kinds, ack, description in POLICIES:
        SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "position": position,
                "feedback_kinds": kinds,
                "ack_minutes": ack,
                "no_clocks": ack is None,
                "calendar": calendar,
                "description": description,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("slas", "SlaPolicy").objects.filter(name__in=[p[0] for p in POLICIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("slas", "0004_alert_kind_regression_and_no_clocks")]

    operations = [migrations.RunPython(seed, unseed)]
