from django.contrib import admin

from metrics.models import DailyClusterVolume, DailyTicketVolume, FixImpact


@admin.register(FixImpact)
class FixImpactAdmin(admin.ModelAdmin):
    """Read-only: measurements are computed by the services, never typed in."""

    list_display = (
        "cluster",
        "deploy_day",
        "verdict",
        "provisional_verdict",
        "change_pct",
        "days_observed",
        "is_final",
    )
    list_filter = ("verdict", "is_final", "control_used")
    search_fields = ("cluster__title",)
    list_select_related = ("cluster",)
    date_hierarchy = "deploy_day"
    raw_id_fields = ("cluster",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DailyClusterVolume)
class DailyClusterVolumeAdmin(admin.ModelAdmin):
    list_display = ("cluster", "day", "count")
    raw_id_fields = ("cluster",)
    date_hierarchy = "day"
    list_select_related = ("cluster",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DailyTicketVolume)
class DailyTicketVolumeAdmin(admin.ModelAdmin):
    list_display = ("day", "feedback_kind", "count")
    list_filter = ("feedback_kind",)
    date_hierarchy = "day"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
