from django.contrib import admin

from tickets.models import Attachment, BugCluster, ClusterEvent, Customer, EvidenceField, Ticket, TicketType


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "segment", "plan_tier", "mrr", "renewal_date", "csm_owner")
    list_filter = ("segment", "plan_tier")
    search_fields = ("name", "external_id")
    autocomplete_fields = ("csm_owner",)


class EvidenceFieldInline(admin.TabularInline):
    model = EvidenceField
    extra = 1
    fields = ("order", "key", "label", "kind", "requirement", "collection_method", "choices", "help_text")
    ordering = ("order", "id")


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "feedback_kind", "is_active", "order", "field_count")
    list_filter = ("is_active", "feedback_kind")
    search_fields = ("name", "key")
    prepopulated_fields = {"key": ("name",)}
    inlines = [EvidenceFieldInline]

    @admin.display(description="Evidence fields")
    def field_count(self, obj: TicketType) -> int:
        return obj.fields.count()


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("original_name", "kind", "content_type", "size", "file", "uploaded_by")
    readonly_fields = ("size", "content_type")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "source",
        "external_id",
        "feedback_kind",
        "ticket_type",
        "status",
        "cluster",
        "reported_at",
    )
    list_filter = ("feedback_kind", "ticket_type", "status", "source", "assignment_source")
    search_fields = ("subject", "description", "external_id", "customer__name")
    date_hierarchy = "reported_at"
    raw_id_fields = ("cluster", "customer", "agent")
    list_select_related = ("ticket_type", "cluster")
    readonly_fields = ("created_at", "updated_at", "cluster_assigned_at", "assignment_confidence", "assignment_reasons")
    inlines = [AttachmentInline]


class ClusterEventInline(admin.TabularInline):
    model = ClusterEvent
    extra = 0
    fields = ("created_at", "kind", "actor", "ticket", "message")
    readonly_fields = ("created_at",)
    raw_id_fields = ("ticket", "actor")
    ordering = ("-created_at",)
    show_change_link = True


@admin.register(BugCluster)
class BugClusterAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "kind", "status", "priority", "ticket_count", "owner", "last_reported_at")
    list_filter = ("kind", "status", "priority", "ticket_type")
    search_fields = ("title", "summary", "root_cause")
    # Status, priority, owner and the fix go through the cluster page or the API, whose services
    # log the change, run the status guards (e.g. the verification gate) and notify the other apps.
    readonly_fields = (
        "status",
        "priority",
        "owner",
        "fix_deployed_at",
        "acknowledged_at",
        "status_changed_at",
        "last_product_update_at",
        "ticket_count",
        "first_reported_at",
        "last_reported_at",
        "created_at",
        "updated_at",
    )
    inlines = [ClusterEventInline]


@admin.register(ClusterEvent)
class ClusterEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "cluster", "kind", "actor", "message")
    list_filter = ("kind",)
    search_fields = ("message",)
    raw_id_fields = ("cluster", "ticket", "actor")


from tickets.admin import feedback, integrations  # noqa: E402,F401  (registers their admin)
