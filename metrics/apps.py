from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """Fix impact and success metrics. Hears `tickets` through its outbox signals (`metrics.receivers`)."""

    name = "metrics"
    verbose_name = "Metrics"

    @property
    def role_permissions(self) -> dict[str, list[str]]:
        from tickets.models import Role  # not at import time: app configs load before models

        # Support confirms fixes (agents) and product leads move them to verified.
        verify = {Role.AGENT: ["metrics.verify_fix"], Role.PRODUCT_LEAD: ["metrics.verify_fix"]}
        view = ["metrics.view_fiximpact"]
        return {
            role: verify.get(role, []) + view for role in (Role.AGENT, Role.PRODUCT_LEAD, Role.CUSTOMER_SUCCESS)
        }

    def ready(self) -> None:
        from metrics import receivers  # importing them needs the models: only once the apps are ready

        receivers.connect()
