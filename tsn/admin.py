from allauth.account.decorators import secure_admin_login
from allauth.usersessions.adapter import get_adapter as usersessions_adapter
from allauth.usersessions.admin import UserSessionAdmin as AllauthUserSessionAdmin
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tsn.models import ApiToken, AuditEvent, Commune, Territory, User


class UserAddForm(AdminUserCreationForm):
    """An account is identified by its e-mail address and has exactly one role."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("Un compte existe déjà avec cette adresse e-mail."), code="unique"
            )
        return email


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Identité et rôle"), {"fields": ("first_name", "last_name", "role")}),
        (
            _("Droits"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    list_display = (
        "email",
        "first_name",
        "last_name",
        "role",
        "is_active",
        "is_staff",
        "last_login",
    )
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ("name", "ars_region", "departement_codes")
    search_fields = ("name",)


@admin.register(Commune)
class CommuneAdmin(admin.ModelAdmin):
    list_display = ("name", "insee_code", "postcodes", "population", "sector")
    list_filter = ("sector",)
    search_fields = ("name", "=insee_code")
    ordering = ("name",)


class ActorRoleFilter(admin.SimpleListFilter):
    """The roles as known choices: listing the distinct values would scan the whole trail."""

    title = _("rôle de l'auteur")
    parameter_name = "actor_role"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return User.Role.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(actor_role=self.value())
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail can be read here, never written: it is append-only."""

    list_display = (
        "occurred_at",
        "actor",
        "actor_role",
        "action",
        "outcome",
        "object_type",
        "object_id",
        "patient_id",
        "client_ip",
        "api_token",
    )
    list_filter = ("action", "outcome", ActorRoleFilter)
    search_fields = ("=patient_id", "=object_id", "actor__email")
    list_select_related = ("actor",)
    # Newest first by id: insertion order, and the primary key index serves it.
    ordering = ("-id",)
    # Counting millions of rows twice per page is slow; the paginator's count is enough.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


admin.site.site_header = _("Administration TSN")
admin.site.site_title = _("Administration TSN")
admin.site.index_title = _("Administration du territoire")
# The administration's login is allauth's: the same throttling and second factor.
admin.site.login = secure_admin_login(admin.site.login)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Personal API tokens are created by their users (page Jetons d'API) or by `manage.py
    issue_api_token EMAIL`; here they are listed and revoked (a lost laptop, a leaver)."""

    list_display = ("user", "name", "hint", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__email", "name")
    list_select_related = ("user",)
    fields = list_display
    readonly_fields = list_display
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Révoquer les jetons sélectionnés"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d jeton révoqué.", "%(count)d jetons révoqués.", count)
            % {"count": count},
        )


admin.site.unregister(UserSession)


@admin.register(UserSession)
class UserSessionAdmin(AllauthUserSessionAdmin):
    """The open sessions of every account (from their login), which an administrator may
    end (a lost device)."""

    search_fields = ["user__email", "ip"]
    actions = ["end"]

    @admin.action(description=_("Terminer les sessions sélectionnées"))
    def end(self, request: HttpRequest, queryset: QuerySet[UserSession]) -> None:
        count = len(queryset)
        usersessions_adapter().end_sessions(queryset)
        self.message_user(
            request,
            ngettext("%(count)d session terminée.", "%(count)d sessions terminées.", count)
            % {"count": count},
        )
