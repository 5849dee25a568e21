from django.apps import AppConfig, apps
from django.core import checks
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and bug clusters"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles_after_last_app, dispatch_uid="tickets.roles_sync")
        from tickets.clustering import receivers
        from tickets.clustering.checks import embedding_model_check
        from tickets.integrations import webhooks  # noqa: F401  (connects the outbound webhook receivers)

        receivers.connect()
        checks.register(embedding_model_check)


def _sync_roles_after_last_app(sender, **kwargs) -> None:
    """post_migrate fires once per app; sync after the last one so every app's permissions exist."""
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.name != with_models[-1].name:
        return
    from tickets.roles import roles_sync

    roles_sync()
