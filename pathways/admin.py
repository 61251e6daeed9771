from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from pathways.models import (
    Alert,
    InboundMessage,
    Notification,
    NotificationPreference,
    Pathway,
    PathwayTemplate,
    Step,
    StepTemplate,
)


class StepTemplateInline(admin.TabularInline):
    model = StepTemplate
    extra = 0


@admin.register(PathwayTemplate)
class PathwayTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "version", "is_current")
    list_filter = ("is_current",)
    search_fields = ("name", "code")
    inlines = (StepTemplateInline,)


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = ("template_step", "due_on", "assignee", "status", "done_at", "outcome")
    autocomplete_fields = ("assignee",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Step]:
        return super().get_queryset(request).select_related("template_step", "assignee")

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        # On a pathway's page, only the steps of its own template version.
        pathway_id = request.resolver_match.kwargs.get("object_id")
        if db_field.name == "template_step" and pathway_id:
            kwargs["queryset"] = StepTemplate.objects.filter(template__pathways__pk=pathway_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Pathway)
class PathwayAdmin(admin.ModelAdmin):
    list_display = (
        "patient",
        "template",
        "status",
        "referent",
        "support_service",
        "enrolled_on",
        "ended_on",
    )
    list_filter = ("status", "template")
    search_fields = ("patient__birth_last_name", "patient__used_last_name", "=patient__nir")
    list_select_related = ("patient", "template", "referent", "support_service")
    autocomplete_fields = ("patient", "referent", "support_service")
    inlines = (StepInline,)
    show_full_result_count = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "patient", "kind", "severity", "status", "assignee", "due_at")
    list_filter = ("status", "kind", "severity")
    search_fields = ("=dedupe_key", "patient__birth_last_name", "=patient__nir")
    list_select_related = ("patient", "assignee")
    autocomplete_fields = ("patient", "assignee")
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, read-only: failed e-mails are retried from the "Envois en échec" page."""

    list_display = ("created_at", "recipient", "channel", "status", "attempts", "sent_at")
    list_filter = ("status", "channel", "digest")
    search_fields = ("=recipient__email",)
    list_select_related = ("recipient",)
    readonly_fields = [field.name for field in Notification._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "email_digest", "delegate", "absent_from", "absent_until")
    search_fields = ("=user__email",)
    autocomplete_fields = ("user", "delegate")


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """The hospital feed's trace, read-only: messages are handled on the quarantine page
    (/administration/flux-hospitalier/), never edited here."""

    list_display = (
        "received_at",
        "organization",
        "event",
        "control_id",
        "visit_number",
        "status",
        "duplicates",
    )
    list_filter = ("status", "event")
    search_fields = ("=control_id", "=visit_number", "organization__name")
    list_select_related = ("organization",)
    show_full_result_count = False
    readonly_fields = (
        "organization",
        "received_at",
        "control_id",
        "event",
        "visit_number",
        "status",
        "reason",
        "patient",
        "timeline_event",
        "duplicates",
        "resolved_by",
        "resolved_at",
        "raw",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: InboundMessage | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: InboundMessage | None = None
    ) -> bool:
        return False
