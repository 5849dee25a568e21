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
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from slas.models import BusinessCalendar, Holiday, SlaPolicy
        from slas.selectors import policy_conditions_forget, working_times_forget

        post_save.connect(policy_conditions_forget, sender=SlaPolicy, dispatch_uid="slas.conditions.save")
        post_delete.connect(policy_conditions_forget, sender=SlaPolicy, dispatch_uid="slas.conditions.delete")
        m2m_changed.connect(
            policy_conditions_forget, sender=SlaPolicy.ticket_types.through, dispatch_uid="slas.conditions.types"
        )
        for model in (BusinessCalendar, Holiday):
            post_save.connect(working_times_forget, sender=model, dispatch_uid=f"slas.times.save.{model.__name__}")
            post_delete.connect(working_times_forget, sender=model, dispatch_uid=f"slas.times.delete.{model.__name__}")
        for role in (Role.AGENT, Role.PRODUCT_LEAD, Role.CUSTOMER_SUCCESS):
            EXTRA_ROLE_PERMISSIONS[role] += [p for p in VIEW_SLAS if p not in EXTRA_ROLE_PERMISSIONS[role]]
