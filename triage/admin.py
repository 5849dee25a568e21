"""Admin of customer success: the at-risk rule, the handoff triggers table, handoffs and account health."""

from django.contrib import admin

from triage.accounts.models import AccountHealth, AtRiskRule, Handoff, HandoffTrigger


@admin.register(AtRiskRule)
class AtRiskRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "is_active", "window_days", "escalation_threshold", "min_score", "competitors")
    fieldsets = (
        (None, {"fields": ("is_active", "window_days", "escalation_threshold", "min_score", "csat_threshold")}),
        ("Detection", {"fields": ("competitors",)}),
        ("Alert channels", {"fields": ("notify_email", "chat_webhook_url", "webhook_url", "webhook_secret")}),
    )


@admin.register(HandoffTrigger)
class HandoffTriggerAdmin(admin.ModelAdmin):
    list_display = ("key", "handoff_type", "urgency", "weight", "is_risk", "is_active", "order")
    list_editable = ("urgency", "weight", "is_active")
    readonly_fields = ("key",)


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ("created_at", "customer", "kind", "handoff_type", "urgency", "status", "csm", "sent_at")
    list_filter = ("kind", "status", "urgency")
    search_fields = ("customer__name", "message")
    raw_id_fields = ("customer", "csm", "acknowledged_by", "intervention_by", "closed_by")
    readonly_fields = ("signals", "evidence_ids", "payload", "deliveries", "attempts", "sent_at", "failed_at", "body")


@admin.register(AccountHealth)
class AccountHealthAdmin(admin.ModelAdmin):
    list_display = ("customer", "score", "at_risk", "expansion", "assessed_at")
    list_filter = ("at_risk", "expansion")
    search_fields = ("customer__name",)
    raw_id_fields = ("customer",)
