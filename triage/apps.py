from django.apps import AppConfig
from django.core import checks


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Triage"

    # Customer success works its accounts and handoffs; product leads read them.
    @property
    def role_permissions(self) -> dict[str, list[str]]:
        return ACCOUNT_PERMISSIONS

    def ready(self) -> None:
        checks.register(embedded_defaults_check)


_READ_ACCOUNTS = ["triage.view_accounthealth", "triage.view_handoff", "triage.view_handofftrigger"]
ACCOUNT_PERMISSIONS = {
    "customer_success": _READ_ACCOUNTS + ["triage.change_handoff"],
    "product_lead": _READ_ACCOUNTS,
}


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
