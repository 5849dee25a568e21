import factory

from slas.models import BusinessCalendar, SlaPolicy


class CalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Calendar {n}")
    time_zone = "UTC"


class PolicyFactory(factory.django.DjangoModelFactory):
    """A policy tried before the seeded ones (position 1) with a 4 h acknowledgment window, 24/7."""

    class Meta:
        model = SlaPolicy

    name = factory.Sequence(lambda n: f"Policy {n}")
    position = 1
    ack_minutes = 240
    escalation_1_minutes = 60
    escalation_2_minutes = 120
    escalation_3_minutes = 240
