"""URLs of pathways, care plans, referrals, tele-expertise and the coordinator's pages
(namespace "pathways").

Every route with a patient `pk` is patient-scoped: its view calls
`patients.access.get_patient_for` first, and tests/patients/test_access_matrix.py lists
it with the expected answer for every persona. Other objects in a patient-scoped URL are
looked up within that patient.
"""

from django.urls import path

from pathways import api
from pathways.views import (
    break_glass,
    calendar,
    care_plan,
    catalogue,
    evaluation,
    hospital_feed,
    inbound,
    monitoring,
    notification,
    orientation,
    pathway,
    referral,
    tele_expertise,
    worklist,
)

app_name = "pathways"

urlpatterns = [
    # Evaluation reports for the ARS (pathways/views/evaluation.py).
    path("evaluation/", evaluation.evaluation_reports, name="evaluation_reports"),
    path(
        "evaluation/extrait-pseudonymise/",
        evaluation.pseudonymised_extract_download,
        name="pseudonymised_extract",
    ),
    path(
        "evaluation/<id:report_pk>/ligne/",
        evaluation.evaluation_report_row,
        name="evaluation_report_row",
    ),
    path(
        "evaluation/<id:report_pk>/rapport.pdf",
        evaluation.evaluation_report_file,
        {"kind": "pdf"},
        name="evaluation_report_pdf",
    ),
    path(
        "evaluation/<id:report_pk>/indicateurs.csv",
        evaluation.evaluation_report_file,
        {"kind": "csv"},
        name="evaluation_report_csv",
    ),
    # Break-the-glass (pathways/views/break_glass.py): it alerts the referent coordinators.
    path("patients/<id:pk>/bris-de-glace/", break_glass.break_glass, name="break_glass"),
    # Pathways and steps (pathways/views/pathway.py).
    path("patients/<id:pk>/parcours/", pathway.pathway_list, name="pathways"),
    path("patients/<id:pk>/parcours/inclure/", pathway.pathway_enrol, name="pathway_enrol"),
    path(
        "patients/<id:pk>/parcours/<id:pathway_pk>/",
        pathway.pathway_detail,
        name="pathway_detail",
    ),
    path(
        "patients/<id:pk>/parcours/<id:pathway_pk>/statut/",
        pathway.pathway_status,
        name="pathway_status",
    ),
    path(
        "patients/<id:pk>/parcours/<id:pathway_pk>/etapes/<id:step_pk>/",
        pathway.step_detail,
        name="step",
    ),
    path(
        "patients/<id:pk>/parcours/<id:pathway_pk>/etapes/<id:step_pk>/modifier/",
        pathway.step_update,
        name="step_update",
    ),
    # The territory's pathway templates (pathways/views/catalogue.py).
    path("parcours/modeles/", catalogue.template_list, name="templates"),
    path("parcours/modeles/<id:template_pk>/", catalogue.template_detail, name="template_detail"),
    path(
        "parcours/modeles/<id:template_pk>/modifier/",
        catalogue.template_revise,
        name="template_revise",
    ),
    # Care plans (pathways/views/care_plan.py).
    path("patients/<id:pk>/ppcs/", care_plan.care_plan, name="care_plan"),
    path("patients/<id:pk>/ppcs/modifier/", care_plan.care_plan_edit, name="care_plan_edit"),
    path("patients/<id:pk>/ppcs/valider/", care_plan.care_plan_validate, name="care_plan_validate"),
    path(
        "patients/<id:pk>/ppcs/versions/<int:number>/",
        care_plan.care_plan_version,
        name="care_plan_version",
    ),
    path("patients/<id:pk>/ppcs/imprimer/", care_plan.care_plan_print, name="care_plan_print"),
    path("patients/<id:pk>/ppcs/pdf/", care_plan.care_plan_pdf, name="care_plan_pdf"),
    # The orientation tool: services near a commune, near a patient's home
    # (pathways/views/orientation.py).
    path("orientation/", orientation.orientation, name="orientation"),
    path(
        "patients/<id:pk>/orientation/",
        orientation.patient_orientation,
        name="patient_orientation",
    ),
    # Referrals and tele-expertise (pathways/views/referral.py, tele_expertise.py).
    path("patients/<id:pk>/demandes/", referral.referrals, name="referrals"),
    path("patients/<id:pk>/demandes/envoyer/", referral.referral_send, name="referral_send"),
    path(
        "patients/<id:pk>/demandes/<id:referral_pk>/annuler/",
        referral.referral_cancel,
        name="referral_cancel",
    ),
    path("demandes/", referral.referral_inbox, name="referral_inbox"),
    path("demandes/<id:referral_pk>/", referral.referral_detail, name="referral_detail"),
    path(
        "demandes/<id:referral_pk>/repondre/",
        referral.referral_respond,
        name="referral_respond",
    ),
    path(
        "patients/<id:pk>/tele-expertise/",
        tele_expertise.tele_expertise,
        name="tele_expertise",
    ),
    path(
        "patients/<id:pk>/tele-expertise/demander/",
        tele_expertise.tele_expertise_ask,
        name="tele_expertise_ask",
    ),
    path(
        "patients/<id:pk>/tele-expertise/<id:request_pk>/annuler/",
        tele_expertise.tele_expertise_cancel,
        name="tele_expertise_cancel",
    ),
    path("tele-expertise/", tele_expertise.tele_expertise_inbox, name="tele_expertise_inbox"),
    path(
        "tele-expertise/<id:request_pk>/",
        tele_expertise.tele_expertise_detail,
        name="tele_expertise_detail",
    ),
    path(
        "tele-expertise/<id:request_pk>/repondre/",
        tele_expertise.tele_expertise_answer,
        name="tele_expertise_answer",
    ),
    path(
        "tele-expertise/<id:request_pk>/documents/<id:document_pk>/",
        tele_expertise.tele_expertise_document,
        name="tele_expertise_document",
    ),
    # Remote monitoring: a patient's charts (pathways/views/monitoring.py) and the
    # measurements API for devices and sessions (pathways/api.py).
    path("patients/<id:pk>/telesurveillance/", monitoring.monitoring, name="monitoring"),
    path("api/observations/", api.observations, name="api_observations"),
    # The professional's calendar feed (pathways/views/calendar.py).
    path("agenda/", calendar.calendar_settings, name="calendar_settings"),
    path("agenda/<str:token>.ics", calendar.calendar_feed, name="calendar_feed"),
    # The coordinator's worklist, caseload and data quality (pathways/views/worklist.py).
    path("coordination/", worklist.worklist_page, name="worklist"),
    path("coordination/alertes/", worklist.alerts_update, name="alerts_update"),
    path("coordination/file-active/", worklist.caseload_page, name="caseload"),
    path("coordination/qualite/", worklist.quality_page, name="quality"),
    path("coordination/filtres/", worklist.saved_filter_add, name="saved_filter_add"),
    path(
        "coordination/filtres/<id:filter_pk>/supprimer/",
        worklist.saved_filter_delete,
        name="saved_filter_delete",
    ),
    # A user's notifications; failed e-mails for administrators (views/notification.py).
    path("notifications/", notification.notifications, name="notifications"),
    path("notifications/badge/", notification.notification_badge, name="notification_badge"),
    path(
        "notifications/preferences/",
        notification.notification_preferences,
        name="notification_preferences",
    ),
    path(
        "administration/notifications/",
        notification.failed_notifications,
        name="failed_notifications",
    ),
    path(
        "administration/notifications/relancer/",
        notification.failed_notifications_retry,
        name="failed_notifications_retry",
    ),
    # The hospital feed: the endpoint of the establishments' machines (pathways/views/
    # inbound.py, token-authenticated; its final path is /api/inbound/hl7v2/), and the
    # administrators' quarantine (pathways/views/hospital_feed.py).
    path("api/inbound/hl7v2/", inbound.hl7v2_inbound, name="inbound_hl7v2"),
    path("administration/flux-hospitalier/", hospital_feed.hospital_feed, name="hospital_feed"),
    path(
        "administration/flux-hospitalier/<id:message_pk>/",
        hospital_feed.inbound_message,
        name="inbound_message",
    ),
    path(
        "administration/flux-hospitalier/<id:message_pk>/rattacher/",
        hospital_feed.inbound_message_attach,
        name="inbound_message_attach",
    ),
    path(
        "administration/flux-hospitalier/<id:message_pk>/ecarter/",
        hospital_feed.inbound_message_dismiss,
        name="inbound_message_dismiss",
    ),
]
