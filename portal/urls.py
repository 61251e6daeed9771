"""The portal of patients and caregivers, under /portail/ (README, "Portal")."""

from django.urls import path

from portal import exports, invitation_link, invitations, questionnaires, views

app_name = "portal"

urlpatterns = [
    path("", views.records, name="records"),
    path("<id:pk>/", views.home, name="home"),
    path("<id:pk>/questionnaires/", questionnaires.questionnaires, name="questionnaires"),
    path(
        "<id:pk>/questionnaires/<str:moment>/<id:pathway_pk>/",
        questionnaires.questionnaire,
        name="questionnaire",
    ),
    path("questionnaire-pro/", questionnaires.questionnaire_pro, name="questionnaire_pro"),
    path("<id:pk>/plan-de-soins/", views.care_plan, name="care_plan"),
    path("<id:pk>/fil/", views.timeline, name="timeline"),
    path("<id:pk>/documents/", views.documents, name="documents"),
    path("<id:pk>/messages/", views.conversation, name="conversation"),
    path("<id:pk>/acces/", views.access_log, name="access_log"),
    path("<id:pk>/acces.pdf", views.access_log_pdf, name="access_log_pdf"),
    path("<id:pk>/oppositions/", views.objections, name="objections"),
    path(
        "<id:pk>/oppositions/<id:objection_pk>/retirer/",
        views.objection_withdraw,
        name="objection_withdraw",
    ),
    # "Download all my data" (portal/exports.py).
    path("<id:pk>/telecharger/", exports.exports, name="exports"),
    path(
        "<id:pk>/telecharger/<id:export_pk>/etat/",
        exports.export_status,
        name="export_status",
    ),
    path(
        "<id:pk>/telecharger/<id:export_pk>/archive/",
        exports.export_download,
        name="export_download",
    ),
    # Invitations: the link of the e-mail (public) and the page after it
    # (portal/invitation_link.py), the referent coordinator's section of the care team page
    # (portal/invitations.py).
    path("invitation/<str:key>/", invitation_link.invitation, name="invitation"),
    path("bienvenue/", invitation_link.invitation_welcome, name="invitation_welcome"),
    path("patients/<id:pk>/invitations/", invitations.invitations, name="invitations"),
    path(
        "patients/<id:pk>/invitations/patient/",
        invitations.invite_patient,
        name="invite_patient",
    ),
    path(
        "patients/<id:pk>/invitations/aidants/<id:caregiver_pk>/",
        invitations.invite_caregiver,
        name="invite_caregiver",
    ),
    path(
        "patients/<id:pk>/invitations/aidants/<id:caregiver_pk>/acces/",
        invitations.caregiver_access,
        name="caregiver_access",
    ),
    path(
        "patients/<id:pk>/invitations/<id:invitation_pk>/annulation/",
        invitations.revoke,
        name="revoke_invitation",
    ),
]
