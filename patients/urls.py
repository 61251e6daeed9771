"""URLs of the shared patient record (namespace "patients").

Every route with a patient `pk` is patient-scoped: its view calls
`patients.access.get_patient_for` first, and tests/patients/test_access_matrix.py
lists it with the expected answer for every persona.
"""

from django.urls import path

from patients.views import access_pages

app_name = "patients"

urlpatterns = [
    # Break-the-glass and the record's access log (patients/views/access_pages.py).
    path("<int:pk>/bris-de-glace/", access_pages.break_glass, name="break_glass"),
    path("<int:pk>/acces/", access_pages.access_log, name="access_log"),
    # The record and its timeline (patients/views/record.py).
    # Documents (patients/views/documents.py).
    # Liaison notebook (patients/views/liaison.py).
    # Care team, caregivers, objections (patients/views/team.py).
    # Search and lists (patients/views/search.py).
    # Identity vigilance (patients/views/vigilance.py).
]
