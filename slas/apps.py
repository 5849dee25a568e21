from django.apps import AppConfig

VIEW_SLAS = [
    "slas.view_slapolicy",
    "slas.view_businesscalendar",
    "slas.view_holiday",
    "slas.view_slatimer",
    "slas.view_alert",
]


class SlasConfig(AppConfig):
    name = "slas"
    verbose_name = "Service levels"

    def ready(self) -> None:
        from slas import receivers
        from tickets.models import Role
        from tickets.roles import EXTRA_ROLE_PERMISSIONS

        receivers.connect()
        for role in (Role.AGENT, Role.PRODUCT_LEAD, Role.CUSTOMER_SUCCESS):
            EXTRA_ROLE_PERMISSIONS[role] += [p for p in VIEW_SLAS if p not in EXTRA_ROLE_PERMISSIONS[role]]
