from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from professionals.models import (
    ImportRejection,
    ImportRun,
    Organization,
    OrganizationToken,
    PractitionerRole,
    Professional,
    SupportService,
)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "finess", "commune", "phone", "closed_on")
    list_filter = ("kind", "from_finess", ("closed_on", admin.EmptyFieldListFilter))
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


@admin.register(OrganizationToken)
class OrganizationTokenAdmin(admin.ModelAdmin):
    """API tokens are issued by `manage.py issue_api_token` (the key is shown once, only
    its hash is kept); here they are listed and revoked."""

    list_display = ("organization", "name", "hint", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("organization__name", "=organization__finess", "name")
    list_select_related = ("organization",)
    fields = ("organization", "name", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("organization", "name", "hint", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Révoquer les jetons sélectionnés"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[OrganizationToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d jeton révoqué.", "%(count)d jetons révoqués.", count)
            % {"count": count},
        )


class ImportRejectionInline(admin.TabularInline):
    model = ImportRejection
    extra = 0
    fields = ("line", "reason", "content")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """What each import of the national files did, and the lines it rejected: written by
    the import commands (`import_communes`, `import_finess`, `import_rpps`), only read here."""

    list_display = (
        "started_at",
        "kind",
        "file_name",
        "status",
        "rows",
        "created",
        "updated",
        "ended",
        "rejected",
    )
    list_filter = ("kind", "status")
    search_fields = ("file_name",)
    fields = (
        "kind",
        "file_name",
        "status",
        "started_at",
        "finished_at",
        "rows",
        "created",
        "updated",
        "ended",
        "rejected",
        "message",
    )
    readonly_fields = fields
    inlines = (ImportRejectionInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False
