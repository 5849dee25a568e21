from django.apps import AppConfig, apps
from django.core import checks
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    """Intake, bug clusters and the clustering engine. It sends its announcements to the apps above
    it through the outbox (`tickets.outbox`) and listens to nobody."""

    name = "tickets"
    verbose_name = "Tickets and bug clusters"

    @property
    def role_permissions(self) -> dict[str, list[str]]:
        from tickets.roles import ROLE_PERMISSIONS  # not at import time: app configs load before models

        return ROLE_PERMISSIONS

    def ready(self) -> None:
        from tickets.clustering.checks import embedding_model_check  # needs the models: only once apps are ready

        post_migrate.connect(_sync_roles_after_last_app, dispatch_uid="tickets.roles_sync")
        checks.register(embedding_model_check)


def _sync_roles_after_last_app(sender, **kwargs) -> None:
    """post_migrate fires once per app; sync after the last one so every app's permissions exist."""
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.name != with_models[-1].name:
        return
    from tickets.roles import roles_sync  # not at import time: app configs load before models

    roles_sync()
