"""Seed the contract's service levels: two calendars and five ordered policies."""

from datetime import time

from django.db import migrations

HOUR = 60
DAY = 24 * HOUR

CALENDARS = [
    {"name": "24/7", "always_open": True},
    {
        "name": "Business days (Mon-Fri, UTC)",
        "always_open": False,
        "day_start": time(0),
        "day_end": time(0),
    },
]

# (name, position, conditions, ack, update, resolution, calendar, description)
POLICIES = [
    (
        "P1 - blocks revenue",
        10,
        {"priorities": ["P1"]},
        4 * HOUR,
        DAY,
        DAY,
        "24/7",
        "Contract: acknowledge P1/critical within 4 h; resolve (fix or documented workaround) the same day.",
    ),
    (
        "Feature requests",
        20,
        {"cluster_kinds": ["feature_request"]},
        7 * DAY,
        None,
        30 * DAY,
        "Business days (Mon-Fri, UTC)",
        "Contract: feature requests acknowledged within 7 days and decided within 30 days.",
    ),
    (
        "P2 - degrades for 10%+ of users",
        30,
        {"priorities": ["P2"]},
        DAY,
        None,
        7 * DAY,
        "Business days (Mon-Fri, UTC)",
        "Contract: acknowledge within 24 h; resolve within 7 days.",
    ),
    (
        "P3 - edge case",
        40,
        {"priorities": ["P3"]},
        DAY,
        None,
        90 * DAY,
        "Business days (Mon-Fri, UTC)",
        "Contract: acknowledge within 24 h; resolve by the next quarterly review (90 days).",
    ),
    (
        "Everything else",
        1000,
        {},
        DAY,
        None,
        None,
        "Business days (Mon-Fri, UTC)",
        "Contract: acknowledge within 24 h. Clusters without a priority yet land here.",
    ),
]


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("slas", "BusinessCalendar")
    SlaPolicy = apps.get_model("slas", "SlaPolicy")
    calendars = {}
    for spec in CALENDARS:
        calendars[spec["name"]], _ = BusinessCalendar.objects.get_or_create(name=spec["name"], defaults=spec)
    for name, position, conditions, ack, update, resolution, calendar, description in POLICIES:
        SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "position": position,
                "ack_minutes": ack,
                "update_minutes": update,
                "resolution_minutes": resolution,
                "calendar": calendars[calendar],
                "description": description,
                **conditions,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("slas", "SlaPolicy").objects.filter(name__in=[p[0] for p in POLICIES]).delete()
    BusinessCalendar = apps.get_model("slas", "BusinessCalendar")
    ids = list(BusinessCalendar.objects.filter(name__in=[c["name"] for c in CALENDARS]).values_list("pk", flat=True))
    if not ids:
        return
    apps.get_model("slas", "Holiday").objects.filter(calendar_id__in=ids).delete()
    # The calendars by SQL, not through the ORM's cascade: unapplied in one run with other apps' migrations
    # (`migrate tickets zero`), the historical Holiday points at an older BusinessCalendar class than the one
    # that loaded the rows, and Django refuses the query ("Must be "BusinessCalendar" instance").
    table = schema_editor.quote_name(BusinessCalendar._meta.db_table)
    schema_editor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)


class Migration(migrations.Migration):
    dependencies = [("slas", "0001_sla_policies_timers_alerts")]

    operations = [migrations.RunPython(seed, unseed)]
