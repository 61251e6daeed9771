"""URLs of the directory (namespace "professionals")."""

from django.urls import path

from professionals import views

app_name = "professionals"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("recherche/", views.search_picker, name="search"),
    path("professionnels/<id:professional_pk>/", views.professional_detail, name="professional"),
    path("structures/<id:organization_pk>/", views.organization_detail, name="organization"),
    path("services/<id:service_pk>/", views.service_detail, name="service"),
]
