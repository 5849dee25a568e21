"""Admin of feedback routing: queues and their owners, feature-request decisions (read-only history)."""

from django.contrib import admin

from tickets.models import FeatureRequestDecision, FeedbackItem, FeedbackQueue


@admin.register(FeedbackQueue)
class FeedbackQueueAdmin(admin.ModelAdmin):
    list_display = ("feedback_kind", "name", "owner_names", "fallback_role", "order")
    filter_horizontal = ("owners",)
    readonly_fields = ("feedback_kind",)

    @admin.display(description="Owners")
    def owner_names(self, obj: FeedbackQueue) -> str:
        return ", ".join(u.get_full_name() or u.get_username() for u in obj.owners.all()) or "— (fallback role)"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("owners")


@admin.register(FeedbackItem)
class FeedbackItemAdmin(admin.ModelAdmin):
    list_display = ("ticket", "status", "outcome", "acknowledged_at", "closed_at")
    list_filter = ("status", "outcome")
    raw_id_fields = ("ticket", "acknowledged_by", "responded_by", "closed_by")


@admin.register(FeatureRequestDecision)
class FeatureRequestDecisionAdmin(admin.ModelAdmin):
    list_display = ("decided_at", "cluster", "decision", "quarter", "decided_by")
    list_filter = ("decision",)
    raw_id_fields = ("cluster", "decided_by")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # decisions go through feature_request_decide (story, status, webhook)

    def has_add_permission(self, request) -> bool:
        return False
