"""Pathways, steps, the care plan, referrals and alerts in the REST API.

Each view does what its page does (pathways/views/*.py): the same access check first (a
patient's data through `get_patient_for`, a referral through the service it was sent to,
an alert through the patients one sees; one audit event either way), then the same
service, whose refusals become 400 answers in French and English.

The care plan is saved under optimistic locking, in HTTP terms: GET gives the current
version with `ETag: "<number>"`; PUT needs `If-Match` with the ETag the edit started from
(`"0"` for a first version): 428 without it, 412 when someone saved since.
"""

import re

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pathways.access import (
    can_validate_care_plan,
    get_alert_for,
    get_referral_for_service,
    referrals_for_service_member,
    visible_alerts,
)
from pathways.models import (
    Alert,
    CarePlan,
    CarePlanVersion,
    Pathway,
    PathwayTemplate,
    Referral,
    Step,
    StepTemplate,
)
from pathways.serializers import (
    AlertFilterSerializer,
    AlertResolveInputSerializer,
    AlertSerializer,
    CarePlanInputSerializer,
    CarePlanValidationInputSerializer,
    CarePlanVersionSerializer,
    EnrolmentInputSerializer,
    InboxFilterSerializer,
    InboxReferralSerializer,
    PathwaySerializer,
    PathwayStatusInputSerializer,
    PathwayTemplateSerializer,
    ReferralCancelInputSerializer,
    ReferralInputSerializer,
    ReferralRefuseInputSerializer,
    ReferralSerializer,
    StepAssignInputSerializer,
    StepCompleteInputSerializer,
    StepScheduleInputSerializer,
    StepSerializer,
    StepSkipInputSerializer,
)
from pathways.services.alert import acknowledge_alerts, resolve_alerts
from pathways.services.care_plan import (
    CarePlanContent,
    StaleCarePlan,
    care_plan_people,
    save_care_plan,
    validate_care_plan,
)
from pathways.services.pathway import (
    assign_step,
    change_pathway_status,
    complete_step,
    enrol_patient,
    schedule_step,
    skip_step,
)
from pathways.services.referral import (
    accept_referral,
    acknowledge_referral,
    cancel_referral,
    complete_referral,
    refuse_referral,
    send_referral,
)
from patients.api import PATIENT_ID, PatientRecordView
from patients.models import Patient
from tsn.audit import record_access
from tsn.authentication import IsClinical
from tsn.models import AuditEvent
from tsn.rest import ApiError, ErrorSerializer, KeysetPagination, bilingual, entry, validated

PATHWAY_ID = OpenApiParameter("pathway_id", int, OpenApiParameter.PATH)
STEP_ID = OpenApiParameter("step_id", int, OpenApiParameter.PATH)
REFERRAL_ID = OpenApiParameter("referral_id", int, OpenApiParameter.PATH)
ALERT_ID = OpenApiParameter("alert_id", int, OpenApiParameter.PATH)


class ByCode(KeysetPagination):
    ordering = ("code",)


class NewestSent(KeysetPagination):
    ordering = ("-sent_at", "-id")


class NewestCreated(KeysetPagination):
    ordering = ("-created_at", "-id")


def _trace_list(request: Request, object_type: str, shown: int) -> None:
    """A list of names is an access to patient data too: one trace per list."""
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type=object_type,
        patient_id=None,
        object_id=str(shown),
    )


# --- Pathway templates, pathways and steps ---------------------------------------------------


@extend_schema(tags=["pathways"])
class PathwayTemplateList(generics.ListAPIView):
    """The pathway templates in force (current versions) and their steps: what a patient
    may be enrolled in."""

    serializer_class = PathwayTemplateSerializer
    pagination_class = ByCode

    def get_queryset(self) -> QuerySet[PathwayTemplate]:
        steps = StepTemplate.objects.order_by("order")
        return PathwayTemplate.objects.filter(is_current=True).prefetch_related(
            Prefetch("steps", queryset=steps)
        )


def _with_steps(pathways: QuerySet[Pathway]) -> QuerySet[Pathway]:
    steps = Step.objects.select_related("template_step", "assignee").order_by(
        "template_step__order"
    )
    return pathways.select_related(
        "template", "referent", "support_service__organization"
    ).prefetch_related(Prefetch("steps", queryset=steps))


class PathwayView(PatientRecordView):
    """A view answering with pathways or steps (their overdue flag needs today's date)."""

    def get_serializer_context(self) -> dict:
        return super().get_serializer_context() | {"today": timezone.localdate()}

    def pathway_data(self, pathway_pk: int) -> dict:
        """The pathway as it is now, with its steps (after a change)."""
        pathway = _with_steps(Pathway.objects.filter(pk=pathway_pk)).get()
        return PathwaySerializer(pathway, context=self.get_serializer_context()).data


@extend_schema(tags=["pathways"], parameters=[PATIENT_ID])
class PathwayList(PathwayView, generics.ListAPIView):
    """The patient's pathways, current and past, with their steps (newest first); enrol
    the patient in a pathway (proposed until the patient is informed)."""

    serializer_class = PathwaySerializer
    object_type = "pathways"

    def get_queryset(self) -> QuerySet[Pathway]:
        if self.is_schema():
            return Pathway.objects.none()
        return _with_steps(self.get_patient().pathways.all())

    @extend_schema(request=EnrolmentInputSerializer, responses={201: PathwaySerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        patient = self.get_patient(write=True, object_type="pathway")
        data = validated(EnrolmentInputSerializer, data=request.data)
        pathway = enrol_patient(request=request, patient=patient, **data)
        return Response(self.pathway_data(pathway.pk), status=status.HTTP_201_CREATED)


@extend_schema(tags=["pathways"], parameters=[PATIENT_ID, PATHWAY_ID])
class PathwayDetail(PathwayView):
    """A pathway and its steps."""

    serializer_class = PathwaySerializer
    object_type = "pathway"

    def get(self, request: Request, patient_id: int, pathway_id: int) -> Response:
        patient = self.get_patient(object_id=pathway_id)
        pathway = get_object_or_404(_with_steps(patient.pathways.all()), pk=pathway_id)
        return Response(self.get_serializer(pathway).data)


@extend_schema(
    tags=["pathways"],
    parameters=[PATIENT_ID, PATHWAY_ID],
    request=PathwayStatusInputSerializer,
    responses=PathwaySerializer,
)
class PathwayStatus(PathwayView):
    """Activate (once the patient is informed: `informed` records it), suspend, resume,
    complete (every required step done or skipped) or exit (with a reason)."""

    serializer_class = PathwaySerializer
    object_type = "pathway"

    def post(self, request: Request, patient_id: int, pathway_id: int) -> Response:
        patient = self.get_patient(write=True, object_id=pathway_id)
        pathway = get_object_or_404(patient.pathways.select_related("template"), pk=pathway_id)
        pathway.patient = patient
        data = validated(PathwayStatusInputSerializer, data=request.data)
        change_pathway_status(request=request, pathway=pathway, **data)
        return Response(self.pathway_data(pathway.pk))


class StepAction(PathwayView):
    """One move of a step of the patient's pathways; answers with the step as it is now."""

    serializer_class = StepSerializer
    object_type = "step"
    input_serializer: type[serializers.Serializer]

    def post(self, request: Request, patient_id: int, step_id: int) -> Response:
        patient = self.get_patient(write=True, object_id=step_id)
        step = get_object_or_404(
            Step.objects.select_related("template_step", "assignee", "pathway__template"),
            pk=step_id,
            pathway__patient=patient,
        )
        step.pathway.patient = patient
        data = validated(self.input_serializer, data=request.data)
        step = self.act(request, step, data)
        return Response(self.get_serializer(step).data)

    def act(self, request: Request, step: Step, data: dict) -> Step:
        raise NotImplementedError


STEP_SCHEMA = {
    "tags": ["pathways"],
    "parameters": [PATIENT_ID, STEP_ID],
    "responses": StepSerializer,
}


@extend_schema(request=StepScheduleInputSerializer, **STEP_SCHEMA)
class StepSchedule(StepAction):
    """Give an open step an appointment (date, place or video link, professional)."""

    input_serializer = StepScheduleInputSerializer

    def act(self, request: Request, step: Step, data: dict) -> Step:
        return schedule_step(request=request, step=step, **data)


@extend_schema(request=StepAssignInputSerializer, **STEP_SCHEMA)
class StepAssign(StepAction):
    """Change who is responsible for an open step."""

    input_serializer = StepAssignInputSerializer

    def act(self, request: Request, step: Step, data: dict) -> Step:
        return assign_step(request=request, step=step, assignee=data["assignee"])


@extend_schema(request=StepCompleteInputSerializer, **STEP_SCHEMA)
class StepComplete(StepAction):
    """Mark a step done, with its outcome (on the timeline)."""

    input_serializer = StepCompleteInputSerializer

    def act(self, request: Request, step: Step, data: dict) -> Step:
        return complete_step(request=request, step=step, **data)


@extend_schema(request=StepSkipInputSerializer, **STEP_SCHEMA)
class StepSkip(StepAction):
    """Declare a step not done, with the reason (never a blocking one)."""

    input_serializer = StepSkipInputSerializer

    def act(self, request: Request, step: Step, data: dict) -> Step:
        return skip_step(request=request, step=step, reason=data["reason"])


# --- Care plan -----------------------------------------------------------------------------

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='L\'ETag de la version dont la modification est partie, ex. "3" ; "0" pour '
    "une première version.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 412],
    description='Le numéro de la version en cours, entre guillemets : "3".',
)
_ENTITY_TAG = re.compile(r'^(?:W/)?"([0-9]{1,9})"$')


def _etag(number: int) -> str:
    return f'"{number}"'


def _base_version(request: Request) -> int:
    """The version number the edit started from, from `If-Match` (428 without it)."""
    header = request.headers.get("If-Match")
    if header is None:
        raise ApiError.of(
            428,
            "if_match_required",
            _(
                "Indiquez la version du PPCS que vous modifiez : en-tête If-Match avec son "
                'ETag, ou "0" pour une première version.'
            ),
        )
    match = _ENTITY_TAG.match(header.strip())
    if match is None:
        raise ApiError.of(
            400,
            "invalid_if_match",
            _("En-tête If-Match invalide : l'ETag d'une version est attendu, ex. \"3\"."),
            field="If-Match",
        )
    return int(match.group(1))


def _stale(current: int) -> Response:
    """412: someone saved a version since the one the edit started from."""
    message = _(
        "Le PPCS a été enregistré par quelqu'un d'autre depuis (version en cours : "
        "%(number)s) : relisez-le avant d'enregistrer."
    )
    return Response(
        {"errors": [entry("stale", *bilingual(message, {"number": current}), field="If-Match")]},
        status=status.HTTP_412_PRECONDITION_FAILED,
        headers={"ETag": _etag(current)},
    )


def _current_version(patient: Patient) -> CarePlanVersion | None:
    number = (
        CarePlan.objects.filter(patient=patient).values_list("current_version", flat=True).first()
    )
    if not number:
        return None
    return (
        CarePlanVersion.objects.filter(care_plan__patient=patient, number=number)
        .select_related("author", "referent", "validated_by")
        .get()
    )


@extend_schema(tags=["care plan"], parameters=[PATIENT_ID])
class CarePlanDetail(PatientRecordView):
    """The patient's personalised care plan (PPCS): its current version, and a new one."""

    serializer_class = CarePlanVersionSerializer
    object_type = "care_plan"

    @extend_schema(parameters=[ETAG], responses={200: CarePlanVersionSerializer})
    def get(self, request: Request, patient_id: int) -> Response:
        """The current version (404 while there is none), with its ETag."""
        patient = self.get_patient()
        version = _current_version(patient)
        if version is None:
            raise Http404
        data = CarePlanVersionSerializer(version).data
        return Response(data, headers={"ETag": _etag(version.number)})

    @extend_schema(
        request=CarePlanInputSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={
            200: CarePlanVersionSerializer,
            201: OpenApiResponse(CarePlanVersionSerializer, description="La première version."),
            412: OpenApiResponse(
                ErrorSerializer,
                description="Une autre version a été enregistrée depuis celle de If-Match ; "
                "l'en-tête ETag donne la version en cours.",
            ),
            428: OpenApiResponse(ErrorSerializer, description="Sans en-tête If-Match."),
        },
    )
    def put(self, request: Request, patient_id: int) -> Response:
        """Save the next version (the whole plan: a section left out is empty in it), if
        If-Match names the current version."""
        patient = self.get_patient(write=True)
        base_version = _base_version(request)
        current = (
            CarePlan.objects.filter(patient=patient)
            .values_list("current_version", flat=True)
            .first()
        ) or 0
        if base_version != current:
            return _stale(current)
        data = validated(
            CarePlanInputSerializer,
            data=request.data,
            context={"people": care_plan_people(patient)},
        )
        try:
            version = save_care_plan(
                request=request,
                patient=patient,
                base_version=base_version,
                content=CarePlanContent(**data),
            )
        except StaleCarePlan as error:  # saved in between: the lock decides
            return _stale(error.current.number)
        return Response(
            CarePlanVersionSerializer(version).data,
            status=status.HTTP_201_CREATED if version.number == 1 else status.HTTP_200_OK,
            headers={"ETag": _etag(version.number)},
        )


@extend_schema(
    tags=["care plan"],
    parameters=[PATIENT_ID],
    request=CarePlanValidationInputSerializer,
    responses=CarePlanVersionSerializer,
)
class CarePlanValidate(PatientRecordView):
    """The patient's GP validates the current version they read (once); the pathways'
    steps "care plan validated by the GP" are done with it. 403 for anyone else."""

    serializer_class = CarePlanVersionSerializer
    object_type = "care_plan"

    def post(self, request: Request, patient_id: int) -> Response:
        patient = self.get_patient(write=True, also=can_validate_care_plan)
        data = validated(CarePlanValidationInputSerializer, data=request.data)
        if not CarePlan.objects.filter(patient=patient).exists():
            raise ApiError.of(
                400, "no_care_plan", _("Il n'y a pas de version à valider."), field="version"
            )
        version = validate_care_plan(
            request=request, patient=patient, version_number=data["version"]
        )
        return Response(CarePlanVersionSerializer(version).data)


# --- Referrals -----------------------------------------------------------------------------


class ReferralView(generics.GenericAPIView):
    """A view answering with referrals (their late flag needs the time)."""

    def get_serializer_context(self) -> dict:
        return super().get_serializer_context() | {"now": timezone.now()}


@extend_schema(tags=["referrals"], parameters=[PATIENT_ID])
class ReferralList(ReferralView, PatientRecordView, generics.ListAPIView):
    """The patient's referrals to support services with their answers and clocks (newest
    first); send one."""

    serializer_class = ReferralSerializer
    pagination_class = NewestSent
    object_type = "referrals"

    def get_queryset(self) -> QuerySet[Referral]:
        if self.is_schema():
            return Referral.objects.none()
        return self.get_patient().referrals.select_related(
            "service__organization", "sent_by", "responded_by"
        )

    @extend_schema(request=ReferralInputSerializer, responses={201: ReferralSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        patient = self.get_patient(write=True, object_type="referral")
        data = validated(ReferralInputSerializer, data=request.data, context={"patient": patient})
        referral = send_referral(request=request, patient=patient, **data)
        return Response(self.get_serializer(referral).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["referrals"],
    parameters=[PATIENT_ID, REFERRAL_ID],
    request=ReferralCancelInputSerializer,
    responses=ReferralSerializer,
)
class ReferralCancel(ReferralView, PatientRecordView):
    """The sender's side withdraws a referral (with an optional reason)."""

    serializer_class = ReferralSerializer
    object_type = "referral"

    def post(self, request: Request, patient_id: int, referral_id: int) -> Response:
        patient = self.get_patient(write=True, object_id=referral_id)
        referral = get_object_or_404(
            Referral.objects.select_related("service__organization", "sent_by", "responded_by"),
            pk=referral_id,
            patient=patient,
        )
        referral.patient = patient
        data = validated(ReferralCancelInputSerializer, data=request.data)
        cancel_referral(request=request, referral=referral, reason=data["reason"])
        return Response(self.get_serializer(referral).data)


@extend_schema(tags=["referrals"], parameters=[InboxFilterSerializer])
class ReferralInbox(ReferralView, generics.ListAPIView):
    """The referrals sent to the services you are a member of (newest first)."""

    serializer_class = InboxReferralSerializer
    pagination_class = NewestSent
    permission_classes = [IsClinical]
    query_serializer = InboxFilterSerializer

    def get_queryset(self) -> QuerySet[Referral]:
        if getattr(self, "swagger_fake_view", False):
            return Referral.objects.none()
        data = validated(InboxFilterSerializer, data=self.request.query_params)
        referrals = referrals_for_service_member(self.request.user)
        if data.get("status") == InboxFilterSerializer.AWAITING:
            referrals = referrals.filter(status__in=Referral.AWAITING_STATUSES)
        elif data.get("status"):
            referrals = referrals.filter(status=data["status"])
        if "service" in data:
            referrals = referrals.filter(service_id=data["service"])
        return referrals.select_related(
            "patient__commune", "service__organization", "sent_by", "responded_by"
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        _trace_list(request, "referral_list", len(response.data["results"]))
        return response


@extend_schema(tags=["referrals"], parameters=[REFERRAL_ID])
class ServiceReferralDetail(ReferralView):
    """A referral sent to one of your services: the patient, the reason, who is asking."""

    serializer_class = InboxReferralSerializer

    def get(self, request: Request, referral_id: int) -> Response:
        referral = get_referral_for_service(request, referral_id)
        return Response(self.get_serializer(referral).data)


class ReferralAnswer(ReferralView):
    """One answer of the service a referral was sent to (its members only: 404 for
    anyone else); answers with the referral as it is now."""

    serializer_class = InboxReferralSerializer
    input_serializer: type[serializers.Serializer] | None = None

    def post(self, request: Request, referral_id: int) -> Response:
        referral = get_referral_for_service(request, referral_id, write=True)
        data = validated(self.input_serializer, data=request.data) if self.input_serializer else {}
        self.answer(request, referral, data)
        return Response(self.get_serializer(referral).data)

    def answer(self, request: Request, referral: Referral, data: dict) -> None:
        raise NotImplementedError


ANSWER_SCHEMA = {"tags": ["referrals"], "parameters": [REFERRAL_ID]}


@extend_schema(request=None, responses=InboxReferralSerializer, **ANSWER_SCHEMA)
class ReferralAcknowledge(ReferralAnswer):
    """The service has received the referral (its response clock keeps running)."""

    def answer(self, request: Request, referral: Referral, data: dict) -> None:
        acknowledge_referral(request=request, referral=referral)


@extend_schema(request=None, responses=InboxReferralSerializer, **ANSWER_SCHEMA)
class ReferralAccept(ReferralAnswer):
    """The service takes the patient on: its members now see and write the record."""

    def answer(self, request: Request, referral: Referral, data: dict) -> None:
        accept_referral(request=request, referral=referral)


@extend_schema(
    request=ReferralRefuseInputSerializer, responses=InboxReferralSerializer, **ANSWER_SCHEMA
)
class ReferralRefuse(ReferralAnswer):
    """The service declines, with the reason the sender reads."""

    input_serializer = ReferralRefuseInputSerializer

    def answer(self, request: Request, referral: Referral, data: dict) -> None:
        refuse_referral(request=request, referral=referral, reason=data["reason"])


@extend_schema(request=None, responses=InboxReferralSerializer, **ANSWER_SCHEMA)
class ReferralComplete(ReferralAnswer):
    """The service has done what was asked."""

    def answer(self, request: Request, referral: Referral, data: dict) -> None:
        complete_referral(request=request, referral=referral)


# --- Alerts --------------------------------------------------------------------------------


@extend_schema(tags=["alerts"], parameters=[AlertFilterSerializer])
class AlertList(generics.ListAPIView):
    """The coordination alerts about the patients you may see, newest first."""

    serializer_class = AlertSerializer
    pagination_class = NewestCreated
    permission_classes = [IsClinical]
    query_serializer = AlertFilterSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        data = validated(AlertFilterSerializer, data=self.request.query_params)
        alerts, only = Alert.objects.all(), None
        if "patient" in data:
            alerts, only = alerts.filter(patient_id=data["patient"]), [data["patient"]]
        if "status" in data:
            alerts = alerts.filter(status=data["status"])
        if "kind" in data:
            alerts = alerts.filter(kind=data["kind"])
        return visible_alerts(self.request.user, alerts, only=only).select_related("patient")

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        _trace_list(request, "alert_list", len(response.data["results"]))
        return response


class AlertAction(generics.GenericAPIView):
    """Acknowledge or resolve one alert about a patient you may see (404 otherwise); an
    alert already handled is answered as it is (the same request twice, the same answer)."""

    serializer_class = AlertSerializer
    permission_classes = [IsClinical]

    def post(self, request: Request, alert_id: int) -> Response:
        get_alert_for(request, alert_id, write=True)
        self.act(request, alert_id)
        alert = Alert.objects.select_related("patient").get(pk=alert_id)
        return Response(AlertSerializer(alert).data)

    def act(self, request: Request, alert_id: int) -> None:
        raise NotImplementedError


@extend_schema(tags=["alerts"], parameters=[ALERT_ID], request=None, responses=AlertSerializer)
class AlertAcknowledge(AlertAction):
    """An open alert becomes acknowledged by you."""

    def act(self, request: Request, alert_id: int) -> None:
        acknowledge_alerts(request=request, alert_ids=[alert_id])


@extend_schema(
    tags=["alerts"],
    parameters=[ALERT_ID],
    request=AlertResolveInputSerializer,
    responses=AlertSerializer,
)
class AlertResolve(AlertAction):
    """An open or acknowledged alert becomes resolved, with your comment."""

    def act(self, request: Request, alert_id: int) -> None:
        data = validated(AlertResolveInputSerializer, data=request.data)
        resolve_alerts(request=request, alert_ids=[alert_id], comment=data["comment"])
