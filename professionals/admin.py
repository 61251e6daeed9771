from django.contrib import admin

from professionals.models import Organization, PractitionerRole, Professional, SupportService


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "finess", "commune", "phone")
    list_filter = ("kind",)
    search_fields = ("name", "=finess", "=siret")
    list_select_related = ("commune",)
    autocomplete_fields = ("commune",)


class PractitionerRoleInline(admin.TabularInline):
    model = PractitionerRole
    extra = 0
    autocomplete_fields = ("organization",)


@admin.register(Professional)
class ProfessionalAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "profession", "specialty", "rpps", "user")
    list_filter = ("profession", "accepts_new_patients")
    search_fields = ("last_name", "first_name", "=rpps", "=adeli")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    inlines = (PractitionerRoleInline,)


@admin.register(SupportService)
class SupportServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "organization", "capacity", "waiting_days")
    list_filter = ("category",)
    search_fields = ("name", "organization__name")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization", "communes", "members")
