from django.conf import settings
from django.db import models

from tickets.models.choices import PlanTier, Segment


class Customer(models.Model):
    """One customer account of the support organisation, as the help desk knows it."""

    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=100, unique=True, help_text="The account's id in the help desk or CRM.")
    segment = models.CharField(max_length=20, choices=Segment.choices, default=Segment.SMB)
    plan_tier = models.CharField(max_length=20, choices=PlanTier.choices, default=PlanTier.STARTER)
    mrr = models.DecimalField("MRR", max_digits=12, decimal_places=2, default=0, help_text="Monthly recurring revenue.")
    renewal_date = models.DateField(null=True, blank=True)
    csm_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="CSM owner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["segment", "name"])]

    def __str__(self) -> str:
        return self.name
