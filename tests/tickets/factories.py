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
    class Meta:
        model = BugCluster

    title = factory.Sequence(lambda n: f"Bug {n}")


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket written straight to the table; use services.ticket_create to test validation."""

    class Meta:
        model = Ticket

    source = "zendesk"
    external_id = factory.Sequence(lambda n: f"ZD-{n}")
    subject = factory.Sequence(lambda n: f"Customer problem {n}")
    reported_at = factory.LazyFunction(timezone.now)
    ticket_type = factory.LazyFunction(lambda: TicketType.objects.get(key="feature_bug"))
