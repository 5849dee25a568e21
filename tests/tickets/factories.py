import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from tickets.models import BugCluster, Customer, Segment, Ticket, TicketType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    external_id = factory.Sequence(lambda n: f"acct-{n:05d}")
    segment = Segment.SMB
    mrr = 500


class ClusterFactory(factory.django.DjangoModelFactory):
    """A cluster written straight to the table, indexed for the engine as the product's services would."""

    class Meta:
        model = BugCluster
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Bug {n}")

    @factory.post_generation
    def indexed(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            from tickets.clustering.services import cluster_index_rebuild

            cluster_index_rebuild(cluster=obj)


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket written straight to the table; use services.ticket_create to test validation."""

    class Meta:
        model = Ticket

    source = "zendesk"
    external_id = factory.Sequence(lambda n: f"ZD-{n}")
    subject = factory.Sequence(lambda n: f"Customer problem {n}")
    reported_at = factory.LazyFunction(timezone.now)
    ticket_type = factory.LazyFunction(lambda: TicketType.objects.get(key="feature_bug"))


def plant_login_pattern(
    login: TicketType, *, cluster: BugCluster | None = None, recent: int = 20, baseline_days: int = 15
) -> None:
    """90 older login tickets spread over three OSes with passwords, then `recent` tickets of the last
    hours that all share iOS 17.2 + biometric sign-in (in `cluster` when given): a pattern to find."""
    from datetime import timedelta

    now = timezone.now()
    rows = [
        Ticket(
            source="zendesk",
            external_id=f"B-{i}",
            subject="Cannot sign in",
            ticket_type=login,
            evidence={"os": ["iOS 17.2", "Android 14", "Windows 11"][i % 3], "login_method": "password"},
            reported_at=now - timedelta(days=baseline_days, minutes=i),
        )
        for i in range(90)
    ]
    rows += [
        Ticket(
            source="zendesk",
            external_id=f"R-{i}",
            subject="Face ID fails",
            ticket_type=login,
            cluster=cluster,
            evidence={"os": "iOS 17.2", "login_method": "biometric"},
            reported_at=now - timedelta(hours=2, minutes=i),
        )
        for i in range(recent)
    ]
    Ticket.objects.bulk_create(rows)
