"""Admin for integrations: API keys (shown once), webhook subscriptions and their delivery log, inbound mappings."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from tickets.integrations.webhooks import webhook_delivery_redeliver
from tickets.models import (
    ApiKey,
    IdempotencyRecord,
    InboundMapping,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scope", "created_at", "created_by", "last_used_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # The scope of an existing key is fixed: make a new key instead of widening an old one.
        return (*self.readonly_fields, "scope") if obj else self.readonly_fields

    def save_model(self, request, obj: ApiKey, form, change) -> None:
        if not change:
            key, obj.prefix, obj.key_hash = ApiKey.generate()
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                f"API key for {obj.name}: {key} — copy it now; it is stored hashed and will not be shown again.",
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected keys (requests with them get 401)")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="The help desk's HTTPS endpoint.")
    events = forms.MultipleChoiceField(choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "events", "secret", "is_active")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("name", "url", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "status_code", "error", "duration_ms", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "subscription", "status", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("status", "event", "subscription")
    search_fields = ("event_id",)
    list_select_related = ("subscription",)
    readonly_fields = (
        "subscription",
        "event",
        "event_id",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    )
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Redeliver selected webhooks now")
    def redeliver(self, request, queryset) -> None:
        count = webhook_delivery_redeliver(deliveries=queryset)
        self.message_user(request, f"Queued {count} delivery(ies) for sending.")


@admin.register(InboundMapping)
class InboundMappingAdmin(admin.ModelAdmin):
    list_display = ("slug", "source", "default_ticket_type", "is_active")
    list_filter = ("is_active", "source")
    fieldsets = (
        (None, {"fields": ("slug", "source", "is_active")}),
        ("Ticket", {"fields": ("external_id_path", "subject_path", "description_path", "reported_at_path")}),
        ("Type", {"fields": ("ticket_type_path", "ticket_type_values", "default_ticket_type")}),
        ("Evidence and customer", {"fields": ("evidence_paths", "customer_external_id_path", "customer_name_path")}),
    )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "owner", "key", "method", "path", "status_code")
    search_fields = ("key", "owner")
    readonly_fields = ("owner", "key", "method", "path", "request_hash", "status_code", "response_body", "created_at")

    def has_add_permission(self, request) -> bool:
        return False
