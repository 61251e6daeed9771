from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, register_converter
from django.views.i18n import set_language
from django.views.static import serve

from professionals import pro_sante_connect
from tsn import views
from tsn.converters import IdConverter
from tsn.sessions import SessionList

register_converter(IdConverter, "id")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("audit/", views.audit_search, name="audit_search"),
    path("compte/jetons/", views.api_tokens, name="api_tokens"),
    path("compte/jetons/<id:pk>/revoquer/", views.api_token_revoke, name="api_token_revoke"),
    # Public: the login page offers the language switch too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    # allauth's OpenID Connect views (Pro Santé Connect), with a provider out of reach shown
    # as a failed login rather than a server error; the same addresses and names.
    path(
        "comptes/oidc/<str:provider_id>/login/",
        pro_sante_connect.login,
        name="openid_connect_login",
    ),
    path(
        "comptes/oidc/<str:provider_id>/login/callback/",
        pro_sante_connect.callback,
        name="openid_connect_callback",
    ),
    # allauth's session list, stating the session limits (it resolves before allauth's own).
    path("comptes/sessions/", SessionList.as_view(), name="usersessions_list"),
    path("comptes/", include("allauth.urls")),
    path("patients/", include("patients.urls")),
    # Pathways' pages live under patients/<id>/ too, and the coordinator's under /coordination/.
    path("", include("pathways.urls")),
    # After pathways' routes: its /api/observations/ and /api/inbound/hl7v2/ come first,
    # then the REST API (which ends with a JSON 404 for any other /api/ address).
    path("api/", include("tsn.api_urls")),
    path("fhir/", include("pathways.fhir.urls")),
    path("annuaire/", include("professionals.urls")),
    path("portail/", include("portal.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
