from django import forms
from django.contrib import admin

from slas.models import Alert, BusinessCalendar, Holiday, SlaPolicy, SlaTimer
from slas.services import policy_changed
from tickets.models import ClusterKind, FeedbackKind, Priority


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "always_open", "day_start", "day_end")
    inlines = [HolidayInline]
    fieldsets = (
        (None, {"fields": ("name", "time_zone", "always_open")}),
        (
            "Working days and hours",
            {
                "fields": (
                    ("monday", "tuesday", "wednesday", "thursday", "friday"),
                    ("saturday", "sunday"),
                    ("day_start", "day_end"),
                )
            },
        ),
    )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        policy_changed()


class SlaPolicyForm(forms.ModelForm):
    """Conditions as checkboxes; stored as JSON lists (empty = any)."""

    priorities = forms.MultipleChoiceField(
        choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked = any."
    )
    cluster_kinds = forms.MultipleChoiceField(
        choices=ClusterKind.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="None = any."
    )
    feedback_kinds = forms.MultipleChoiceField(
        choices=FeedbackKind.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="None = any."
    )

    chat_webhook_url = forms.URLField(
        label="Chat webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Slack-compatible incoming webhook.",
    )
    webhook_url = forms.URLField(label="Signed webhook URL", required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = SlaPolicy
        fields = [
            "name", "description", "position", "is_active", "priorities", "cluster_kinds", "feedback_kinds",
            "ticket_types", "min_segment", "min_plan_tier", "min_mrr_at_stake", "calendar", "no_clocks", "ack_minutes",
            "update_minutes", "resolution_minutes", "warning_percent", "escalation_1_minutes", "escalation_2_minutes",
            "escalation_3_minutes", "head_of_product", "notify_email", "chat_webhook_url", "webhook_url",
            "webhook_secret", "label_on_breach",
        ]  # fmt: skip


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = ("position", "name", "is_active", "ack_minutes", "update_minutes", "resolution_minutes", "calendar")
    list_display_links = ("name",)
    list_editable = ("position", "is_active")
    filter_horizontal = ("ticket_types",)
    autocomplete_fields = ("head_of_product",)
    fieldsets = (
        (None, {"fields": ("name", "description", "position", "is_active")}),
        (
            "Conditions (all must hold; the first matching policy wins)",
            {
                "fields": (
                    "priorities",
                    "cluster_kinds",
                    "feedback_kinds",
                    "ticket_types",
                    "min_segment",
                    "min_plan_tier",
                    "min_mrr_at_stake",
                )
            },
        ),
        (
            "Targets, in minutes of business time",
            {
                "fields": (
                    "calendar",
                    "no_clocks",
                    "ack_minutes",
                    "update_minutes",
                    "resolution_minutes",
                    "warning_percent",
                )
            },
        ),
        (
            "Escalation after a breach",
            {"fields": ("escalation_1_minutes", "escalation_2_minutes", "escalation_3_minutes", "head_of_product")},
        ),
        (
            "Channels",
            {"fields": ("notify_email", "chat_webhook_url", "webhook_url", "webhook_secret", "label_on_breach")},
        ),
    )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        policy_changed(policy=form.instance)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        policy_changed()


@admin.register(SlaTimer)
class SlaTimerAdmin(admin.ModelAdmin):
    list_display = ("cluster", "target", "state", "policy", "deadline_at", "next_stage", "next_fire_at", "breached_at")
    list_filter = ("target", "state", "policy")
    raw_id_fields = ("cluster",)
    list_select_related = ("cluster", "policy")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "message", "kind", "level", "sent_at", "failed_at", "attempts")
    list_filter = ("kind", "target", "level")
    search_fields = ("message",)
    raw_id_fields = ("cluster", "timer")
    list_select_related = ("cluster",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
