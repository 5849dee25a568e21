"""What each role (a Django group) may do, kept in code and synced after every migrate.

Every app declares what its roles may do as `role_permissions` on its AppConfig (permissions named
"app_label.codename"); `roles_sync` gives each group the union, so no app edits another's list.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db.models import Q

from tickets.models.choices import FeedbackKind, Role

_VIEW_ALL = [
    "tickets.view_ticket",
    "tickets.view_bugcluster",
    "tickets.view_customer",
    "tickets.view_tickettype",
    "tickets.view_evidencefield",
    "tickets.view_attachment",
    "tickets.view_clusterevent",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: _VIEW_ALL
    + [
        "tickets.add_ticket",
        "tickets.add_attachment",
        "tickets.answer_question",
        "tickets.file_any_feedback",
    ],
    Role.PRODUCT_LEAD: _VIEW_ALL
    + [
        "tickets.add_ticket",
        "tickets.change_ticket",
        "tickets.add_attachment",
        "tickets.change_bugcluster",
        "tickets.triage_cluster",
        "tickets.correct_clusters",
        "tickets.add_clusterevent",
        "tickets.answer_question",
        "tickets.file_any_feedback",
    ],
    Role.CUSTOMER_SUCCESS: _VIEW_ALL
    + ["tickets.change_customer", "tickets.add_customer", "tickets.add_ticket", "tickets.add_attachment"],
    Role.ADMIN: ["*"],
}

# Who may file which kinds: people with `tickets.file_any_feedback` (agents, product leads, admins) file every
# kind; others allowed to file (customer success) file at-risk signals and praise.
LIMITED_FILING_KINDS = (FeedbackKind.AT_RISK_SIGNAL, FeedbackKind.PRAISE)


def filing_kinds_for(user) -> tuple[str, ...]:
    """The feedback kinds `user` may file (no query once the user's permissions are loaded)."""
    if user.has_perm("tickets.file_any_feedback"):
        return tuple(FeedbackKind.values)
    return LIMITED_FILING_KINDS


def role_permissions(role: str) -> list[str]:
    """Everything `role` may do, as the installed apps declare it (`AppConfig.role_permissions`)."""
    names: list[str] = []
    for config in global_apps.get_app_configs():
        for name in getattr(config, "role_permissions", {}).get(role, []):
            if name not in names:
                names.append(name)
    return names


def roles_sync(apps=global_apps, **kwargs) -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in Role.values:
        group, _ = Group.objects.get_or_create(name=role)
        names = role_permissions(role)
        if "*" in names:
            group.permissions.set(Permission.objects.all())
            continue
        query = Q(pk__in=[])
        for name in names:
            app_label, codename = name.split(".", 1)
            query |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(query))
