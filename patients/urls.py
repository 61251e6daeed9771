"""URLs of the shared patient record (namespace "patients").

Every route with a patient `pk` is patient-scoped: its view calls
`patients.access.get_patient_for` first, and tests/patients/test_access_matrix.py
lists it with the expected answer for every persona.
"""

from django.urls import path

from patients.views import access_pages, documents, liaison, record, search, team, vigilance

app_name = "patients"

urlpatterns = [
    # Break-the-glass and the record's access log (patients/views/access_pages.py).
    path("<int:pk>/bris-de-glace/", access_pages.break_glass, name="break_glass"),
    path("<int:pk>/acces/", access_pages.access_log, name="access_log"),
    # The record and its timeline (patients/views/record.py).
    path("<int:pk>/", record.patient_detail, name="detail"),
    path("<int:pk>/fil/", record.timeline, name="timeline"),
    path("<int:pk>/fil/ajouter/", record.post_event, name="post_event"),
    path("<int:pk>/fil/<int:event_pk>/erreur/", record.mark_event_in_error, name="event_in_error"),
    # Documents (patients/views/documents.py).
    path("<int:pk>/documents/ajouter/", documents.document_upload, name="document_upload"),
    path(
        "<int:pk>/documents/<int:document_pk>/",
        documents.document_download,
        name="document_download",
    ),
    # Liaison notebook (patients/views/liaison.py).
    # Care team, caregivers, objections (patients/views/team.py).
    # Search and lists (patients/views/search.py).
    # Identity vigilance (patients/views/vigilance.py).
]

# Liaison notebook, care team, search and identity vigilance (issue "shared patient record").
urlpatterns += [
    path("", search.search, name="search"),
    path("doublons/", vigilance.duplicates, name="duplicates"),
    path("doublons/fusion/", vigilance.merge, name="merge"),
    path("<int:pk>/liaison/", liaison.liaison, name="liaison"),
    path("<int:pk>/equipe/", team.care_team, name="care_team"),
    path("<int:pk>/equipe/ajouter/", team.add_member, name="care_team_add"),
    path("<int:pk>/equipe/<int:member_pk>/fin/", team.end_member, name="care_team_end"),
    path("<int:pk>/equipe/aidants/ajouter/", team.add_caregiver_view, name="caregiver_add"),
    path("<int:pk>/equipe/oppositions/ajouter/", team.add_objection, name="objection_add"),
    path(
        "<int:pk>/equipe/oppositions/<int:consent_pk>/retrait/",
        team.withdraw_objection_view,
        name="objection_withdraw",
    ),
]
