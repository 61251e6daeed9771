"""FHIR R4 routes under /fhir/: metadata, read and search of each resource type served,
Patient/{id}/$everything, and an OperationOutcome 404 for any other address."""

from django.urls import path, re_path

from pathways.fhir import views
from pathways.fhir.endpoints import ENDPOINTS
from tsn.rest import authenticated_by_the_api

app_name = "fhir"

TYPES = "|".join(ENDPOINTS)

urlpatterns = authenticated_by_the_api(
    [
        path("metadata", views.Metadata.as_view(), name="metadata"),
        re_path(
            r"^Patient/(?P<pk>[0-9]{1,18})/\$everything$",
            views.Everything.as_view(),
            name="everything",
        ),
        re_path(rf"^(?P<resource_type>{TYPES})$", views.Search.as_view(), name="search"),
        re_path(
            rf"^(?P<resource_type>{TYPES})/(?P<resource_id>[A-Za-z0-9\-.]{{1,64}})$",
            views.Read.as_view(),
            name="read",
        ),
        re_path(r"^(?P<path>[\s\S]*)$", views.Unknown.as_view(), name="unknown"),
    ]
)
