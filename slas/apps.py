from django.apps import AppConfig

VIEW_SLAS = [
    "slas.view_slapolicy",
    "slas.view_businesscalendar",
    "slas.view_holiday",
    "slas.view_slatimer",
    "slas.view_alert",
]


class SlasConfig(AppConfig):
    """Product-side service levels. Hears `tickets` through its outbox signals (`slas.receivers`)."""

    name = "slas"
    verbose_name = "Service levels"

    @property
    def role_permissions(self) -> dict[str, list[str]]:
        from tickets.models import Role  # not at import time: app configs load before models

        return dict.fromkeys((Role.AGENT, Role.PRODUCT_LEAD, Role.CUSTOMER_SUCCESS), VIEW_SLAS)

    def ready(self) -> None:
        from slas import receivers  # importing them needs the models: only once the apps are ready

        receivers.connect()
