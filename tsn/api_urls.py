"""The REST API under /api/ (namespace "api"; each app's `api` module) and its OpenAPI
schema and docs. Every route with a `patient_id` is patient-scoped: its view reaches the
patient through `patients.access.get_patient_for`, and tests/test_api_matrix.py lists it
with the expected answer for every persona."""

from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from pathways import rest_api as pathways
from patients import api as patients
from professionals import api as directory
from tsn.rest import authenticated_by_the_api

app_name = "api"

# The schema and its docs are public: they describe the interface, never data.
schema = SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[])
docs = SpectacularSwaggerSplitView.as_view(
    url_name="api:schema", permission_classes=[AllowAny], authentication_classes=[]
)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
@authentication_classes([])
def no_such_endpoint(request: Request, path: str) -> Response:
    """Any other address under /api/: a JSON 404, not Django's HTML page."""
    raise NotFound()


PATIENT = "patients/<id:patient_id>/"

urlpatterns = authenticated_by_the_api(
    [
        path("schema/", schema, name="schema"),
        path("docs/", docs, name="docs"),
        path("patients/", patients.PatientList.as_view(), name="patients"),
        path(PATIENT, patients.PatientDetail.as_view(), name="patient"),
        path(PATIENT + "care-team/", patients.CareTeamList.as_view(), name="care_team"),
        path(PATIENT + "timeline/", patients.Timeline.as_view(), name="timeline"),
        path(PATIENT + "documents/", patients.DocumentList.as_view(), name="documents"),
        path(
            PATIENT + "documents/<id:document_id>/content/",
            patients.DocumentContent.as_view(),
            name="document_content",
        ),
        path(PATIENT + "messages/", patients.LiaisonMessages.as_view(), name="messages"),
        path(PATIENT + "observations/", patients.ObservationList.as_view(), name="observations"),
        # Pathways and their steps, the care plan, referrals (pathways/rest_api.py).
        path(
            "pathway-templates/", pathways.PathwayTemplateList.as_view(), name="pathway_templates"
        ),
        path(PATIENT + "pathways/", pathways.PathwayList.as_view(), name="pathways"),
        path(
            PATIENT + "pathways/<id:pathway_id>/",
            pathways.PathwayDetail.as_view(),
            name="pathway",
        ),
        path(
            PATIENT + "pathways/<id:pathway_id>/status/",
            pathways.PathwayStatus.as_view(),
            name="pathway_status",
        ),
        path(
            PATIENT + "steps/<id:step_id>/schedule/",
            pathways.StepSchedule.as_view(),
            name="step_schedule",
        ),
        path(
            PATIENT + "steps/<id:step_id>/assign/",
            pathways.StepAssign.as_view(),
            name="step_assign",
        ),
        path(
            PATIENT + "steps/<id:step_id>/complete/",
            pathways.StepComplete.as_view(),
            name="step_complete",
        ),
        path(PATIENT + "steps/<id:step_id>/skip/", pathways.StepSkip.as_view(), name="step_skip"),
        path(PATIENT + "care-plan/", pathways.CarePlanDetail.as_view(), name="care_plan"),
        path(
            PATIENT + "care-plan/validate/",
            pathways.CarePlanValidate.as_view(),
            name="care_plan_validate",
        ),
        path(PATIENT + "referrals/", pathways.ReferralList.as_view(), name="referrals"),
        path(
            PATIENT + "referrals/<id:referral_id>/cancel/",
            pathways.ReferralCancel.as_view(),
            name="referral_cancel",
        ),
        # The receiving service's side of referrals (not patient-scoped: its members).
        path("referrals/inbox/", pathways.ReferralInbox.as_view(), name="referral_inbox"),
        path(
            "referrals/<id:referral_id>/",
            pathways.ServiceReferralDetail.as_view(),
            name="service_referral",
        ),
        path(
            "referrals/<id:referral_id>/acknowledge/",
            pathways.ReferralAcknowledge.as_view(),
            name="referral_acknowledge",
        ),
        path(
            "referrals/<id:referral_id>/accept/",
            pathways.ReferralAccept.as_view(),
            name="referral_accept",
        ),
        path(
            "referrals/<id:referral_id>/refuse/",
            pathways.ReferralRefuse.as_view(),
            name="referral_refuse",
        ),
        path(
            "referrals/<id:referral_id>/complete/",
            pathways.ReferralComplete.as_view(),
            name="referral_complete",
        ),
        # Alerts about the patients one may see.
        path("alerts/", pathways.AlertList.as_view(), name="alerts"),
        path(
            "alerts/<id:alert_id>/acknowledge/",
            pathways.AlertAcknowledge.as_view(),
            name="alert_acknowledge",
        ),
        path(
            "alerts/<id:alert_id>/resolve/", pathways.AlertResolve.as_view(), name="alert_resolve"
        ),
        # The directory (professionals/api.py): not patient data.
        path(
            "directory/professionals/",
            directory.ProfessionalSearch.as_view(),
            name="directory_professionals",
        ),
        path(
            "directory/professionals/<id:professional_id>/",
            directory.ProfessionalDetail.as_view(),
            name="directory_professional",
        ),
        path(
            "directory/organizations/",
            directory.OrganizationSearch.as_view(),
            name="directory_organizations",
        ),
        path(
            "directory/organizations/<id:organization_id>/",
            directory.OrganizationDetail.as_view(),
            name="directory_organization",
        ),
        path("directory/services/", directory.ServiceSearch.as_view(), name="directory_services"),
        path(
            "directory/services/<id:service_id>/",
            directory.ServiceDetail.as_view(),
            name="directory_service",
        ),
        # Last: any other address under /api/ is a JSON 404, not Django's HTML page.
        re_path(r"^(?P<path>[\s\S]*)$", no_such_endpoint),
    ]
)
