from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from pathways.models import Alert, Pathway, PathwayTemplate, Step, StepTemplate


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
