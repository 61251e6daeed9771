"""URLs of the directory (namespace "professionals")."""

from django.urls import path

from professionals import views

app_name = "professionals"

urlpatterns = [
    path("recherche/", views.search, name="search"),
]
