"""The platform's URLs plus the floors, for benchmark runs only (never in tsn.urls)."""

from django.urls import path

from pathways.benchmark import floors
from tsn.urls import urlpatterns as platform_urlpatterns

urlpatterns = [
    *platform_urlpatterns,
    path("_floor/home/professional", floors.professional_home, name="floor_professional_home"),
    path("_floor/home/coordinator", floors.coordinator_home, name="floor_coordinator_home"),
    path("_floor/home/ars", floors.ars_home, name="floor_ars_home"),
    path("_floor/home/patient", floors.patient_home, name="floor_patient_home"),
    path(
        "_floor/timeline/<id:pk>/first",
        floors.timeline_first_page,
        name="floor_timeline_first_page",
    ),
    path(
        "_floor/timeline/<id:pk>/deep", floors.timeline_deep_page, name="floor_timeline_deep_page"
    ),
    path("_floor/worklist", floors.worklist, name="floor_worklist"),
    path("_floor/caseload", floors.caseload, name="floor_caseload"),
    path("_floor/directory", floors.directory_search, name="floor_directory_search"),
]
