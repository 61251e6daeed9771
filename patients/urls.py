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
    path("<id:pk>/acces/", access_pages.access_log, name="access_log"),
    # The record and its timeline (patients/views/record.py).
    path("<id:pk>/", record.patient_detail, name="detail"),
    path("<id:pk>/fil/", record.timeline, name="timeline"),
    path("<id:pk>/fil/ajouter/", record.post_event, name="post_event"),
    path("<id:pk>/fil/<id:event_pk>/erreur/", record.mark_event_in_error, name="event_in_error"),
    # Documents (patients/views/documents.py).
    path("<id:pk>/documents/ajouter/", documents.document_upload, name="document_upload"),
    path(
        "<id:pk>/documents/<id:document_pk>/",
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
    path("<id:pk>/liaison/", liaison.liaison, name="liaison"),
    path("<id:pk>/equipe/", team.care_team, name="care_team"),
    path("<id:pk>/equipe/ajouter/", team.add_member, name="care_team_add"),
    path("<id:pk>/equipe/<id:member_pk>/fin/", team.end_member, name="care_team_end"),
    path("<id:pk>/equipe/aidants/ajouter/", team.add_caregiver_view, name="caregiver_add"),
    path("<id:pk>/equipe/oppositions/ajouter/", team.add_objection, name="objection_add"),
    path(
        "<id:pk>/equipe/oppositions/<id:consent_pk>/retrait/",
        team.withdraw_objection_view,
        name="objection_withdraw",
    ),
]
