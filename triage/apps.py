from django.apps import AppConfig
from django.core import checks


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Triage"

    @property
    def role_permissions(self) -> dict[str, list[str]]:
        from tickets.models import Role  # not at import time: app configs load before models

        # The weekly review: product leads run it; agents and customer success read it (admins have all).
        return {
            Role.PRODUCT_LEAD: ["triage.view_review", "triage.run_review"],
            Role.AGENT: ["triage.view_review"],
            Role.CUSTOMER_SUCCESS: ["triage.view_review"],
        }

    def ready(self) -> None:
        checks.register(embedded_defaults_check)
        from triage.review import tasks  # noqa: F401  (registers the review's Celery tasks)


def embedded_defaults_check(app_configs=None, **kwargs):
    """Say at start-up when the first-run embedded defaults are in use."""
    from django.conf import settings

    messages = []
    if settings.USING_EMBEDDED_DATABASE:
        messages.append(
            checks.Info(
                "Using the embedded SQLite database (first-run default).",
                hint="Set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/NAME for production.",
                id="triage.I001",
            )
        )
    if settings.USING_EMBEDDED_BROKER:
        messages.append(
            checks.Info(
                "Using the embedded file-system Celery broker (first-run default).",
                hint="Set CELERY_BROKER_URL=redis://HOST:6379/0 for production.",
                id="triage.I002",
            )
        )
    return messages
