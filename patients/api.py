"""The patient record in the REST API: search, identity, care team, timeline, documents,
liaison notebook, remote-monitoring measurements.

Each view of one record reaches the patient through `get_patient_for` (404 if not
visible, 403 for a write one may not make; one audit event either way), exactly as the
pages do. An organisation's machine (token `tsno_…`) reaches the identity, the timeline
and the measurements of its organisation's patients; the rest is for people.
"""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import BasePagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from patients.access import get_patient_for, visible_patients_for
from patients.models import (
    CareTeamMember,
    Document,
    LiaisonMessage,
    Observation,
    Patient,
    TimelineEvent,
)
from patients.serializers import (
    CareTeamMemberSerializer,
    DocumentInputSerializer,
    DocumentSerializer,
    LiaisonMessageInputSerializer,
    LiaisonMessageSerializer,
    ObservationSerializer,
    PatientSearchSerializer,
    PatientSerializer,
    TimelineEventInputSerializer,
    TimelineEventSerializer,
    TimelineFilterSerializer,
)
from patients.services import add_document, add_timeline_event, post_liaison_message
from patients.views.record import TimelineFilterForm
from patients.views.search import filter_patients
from professionals.authentication import IsPersonOrMachine
from tsn.audit import record_access
from tsn.keyset import Cursor, cursor_after, older_than, parse_cursor
from tsn.models import AuditEvent, User
from tsn.rest import validated

PATIENT_ID = OpenApiParameter("patient_id", int, OpenApiParameter.PATH)


class PatientRecordView(generics.GenericAPIView):
    """A view of one patient's record (the `patient_id` of the URL)."""

    object_type = "patient"

    def get_patient(self, *, write: bool = False, **audit) -> Patient:
        """The patient through the access chokepoint (audited): call once per request."""
        return get_patient_for(
            self.request,
            self.kwargs["patient_id"],
            write=write,
            object_type=audit.pop("object_type", self.object_type),
            **audit,
        )

    def is_schema(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


# --- Patients ------------------------------------------------------------------------------


@extend_schema(tags=["patients"], parameters=[PatientSearchSerializer])
class PatientList(generics.ListAPIView):
    """Search the patients one may see (all of them without filters), by id."""

    serializer_class = PatientSerializer
    permission_classes = [IsPersonOrMachine]
    throttle_scope = "search"
    query_serializer = PatientSearchSerializer

    def get_queryset(self) -> QuerySet[Patient]:
        if getattr(self, "swagger_fake_view", False):
            return Patient.objects.none()
        data = validated(PatientSearchSerializer, data=self.request.query_params)
        search = {
            "nom": data.get("name", ""),
            "naissance": data.get("birth_date"),
            "ins": "".join(data.get("ins", "").split()).upper(),
            "identite": data.get("identity_status", ""),
        }
        patients = filter_patients(
            visible_patients_for(self.request).filter(merged_into__isnull=True),
            data=search,
            professional=getattr(self.request.user, "professional", None),
        )
        return patients.select_related("gp", "commune")

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        # A list of names is an access to patient data too: one trace per list.
        record_access(
            request=request,
            action=AuditEvent.Action.READ,
            object_type="patient_list",
            patient_id=None,
            object_id=len(response.data["results"]),
        )
        return response


@extend_schema(tags=["patients"], parameters=[PATIENT_ID])
class PatientDetail(PatientRecordView):
    """A patient's identity, contact details and GP."""

    serializer_class = PatientSerializer
    permission_classes = [IsPersonOrMachine]

    def get(self, request: Request, patient_id: int) -> Response:
        return Response(PatientSerializer(self.get_patient()).data)


@extend_schema(tags=["patients"], parameters=[PATIENT_ID])
class CareTeamList(PatientRecordView, generics.ListAPIView):
    """The care team, current and past members (newest first)."""

    serializer_class = CareTeamMemberSerializer
    object_type = "care_team"

    def get_queryset(self) -> QuerySet[CareTeamMember]:
        if self.is_schema():
            return CareTeamMember.objects.none()
        patient = self.get_patient()
        return patient.care_team.select_related("professional")


# --- Timeline ------------------------------------------------------------------------------


class TimelinePagination(BasePagination):
    """The timeline page's own keyset: newest first, `before` is the last event shown
    (`<occurred_at ISO 8601>,<id>`), `limit` up to 200 (50 by default)."""

    page_size, max_page_size = 50, 200

    def paginate_queryset(self, queryset, request: Request, view=None) -> list:
        limit = request.query_params.get("limit", "")
        size = min(int(limit), self.max_page_size) if limit.isdigit() and int(limit) else 0
        size = size or self.page_size
        rows = list(queryset[: size + 1])
        self.request, self.more = request, len(rows) > size
        self.page = rows[:size]
        return self.page

    def get_paginated_response(self, data) -> Response:
        next_url = None
        if self.more:
            last = self.page[-1]
            next_url = replace_query_param(
                self.request.build_absolute_uri(), "before", cursor_after(last.occurred_at, last.pk)
            )
        return Response({"next": next_url, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }


@extend_schema(tags=["timeline"], parameters=[PATIENT_ID])
class Timeline(PatientRecordView, generics.ListCreateAPIView):
    """The shared timeline, newest first, with the page's filters and keyset cursor; post
    a note, a consultation or a home visit."""

    serializer_class = TimelineEventSerializer
    pagination_class = TimelinePagination
    permission_classes = [IsPersonOrMachine]
    query_serializer = TimelineFilterSerializer
    object_type = "timeline"

    @extend_schema(parameters=[TimelineFilterSerializer])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[TimelineEvent]:
        if self.is_schema():
            return TimelineEvent.objects.none()
        data = validated(TimelineFilterSerializer, data=self.request.query_params)
        before = None
        if "before" in data:
            before = parse_api_cursor(data["before"])
        patient = self.get_patient()
        # The page's form filters the same way (one place for the filters' meaning).
        form_data = {key: value for key, value in data.items() if key != "before"}
        events = TimelineFilterForm(form_data).filter(
            TimelineEvent.objects.filter(patient_id__in=patient.record_ids())
        )
        if before is not None:
            events = events.filter(older_than("occurred_at", before))
        return events.select_related("author", "organization", "document").order_by(
            "-occurred_at", "-id"
        )

    @extend_schema(request=TimelineEventInputSerializer, responses={201: TimelineEventSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        data = validated(TimelineEventInputSerializer, data=request.data)
        patient = self.get_patient(write=True)
        event = add_timeline_event(request=request, patient=patient, **data)
        return Response(TimelineEventSerializer(event).data, status=status.HTTP_201_CREATED)


def parse_api_cursor(raw: str) -> Cursor:
    """The `before` cursor, or a 400 naming it (the page ignores a bad one; a program
    should hear about it)."""
    cursor = parse_cursor(raw)
    if cursor is None:
        raise ValidationError(
            {"before": ValidationError(_("Curseur de pagination invalide."), code="invalid")}
        )
    return cursor


# --- Documents, liaison notebook, measurements -----------------------------------------


@extend_schema(tags=["documents"], parameters=[PATIENT_ID])
class DocumentList(PatientRecordView, generics.ListCreateAPIView):
    """The record's documents (newest first); upload a PDF, JPEG or PNG (multipart)."""

    serializer_class = DocumentSerializer
    object_type = "document"

    def get_parsers(self):
        if self.request is not None and self.request.method == "POST":
            return [MultiPartParser()]
        return super().get_parsers()

    def get_queryset(self) -> QuerySet[Document]:
        if self.is_schema():
            return Document.objects.none()
        return Document.objects.filter(patient=self.get_patient())

    @extend_schema(request={"multipart/form-data": DocumentInputSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        data = validated(DocumentInputSerializer, data=request.data)
        patient = self.get_patient(write=True)
        document = add_document(
            request=request, patient=patient, upload=data["file"], title=data.get("title", "")
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["documents"],
    parameters=[PATIENT_ID, OpenApiParameter("document_id", int, OpenApiParameter.PATH)],
    responses={
        (200, "application/octet-stream"): OpenApiResponse(
            description="Le fichier (PDF, JPEG ou PNG), en pièce jointe."
        )
    },
)
class DocumentContent(PatientRecordView):
    """A document's file, as an attachment."""

    throttle_scope = "export"

    def get(self, request: Request, patient_id: int, document_id: int) -> FileResponse:
        patient = self.get_patient(object_type="document", object_id=document_id)
        document = get_object_or_404(Document, pk=document_id, patient=patient)
        response = FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=document.original_name,
            content_type=document.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


@extend_schema(tags=["liaison"], parameters=[PATIENT_ID])
class LiaisonMessages(PatientRecordView, generics.ListCreateAPIView):
    """The liaison notebook, newest first; post a message (mentions: care-team users)."""

    serializer_class = LiaisonMessageSerializer
    object_type = "liaison"

    def get_queryset(self) -> QuerySet[LiaisonMessage]:
        if self.is_schema():
            return LiaisonMessage.objects.none()
        return (
            LiaisonMessage.objects.filter(patient=self.get_patient())
            .select_related("author")
            .prefetch_related("mentions")
        )

    @extend_schema(request=LiaisonMessageInputSerializer, responses={201: LiaisonMessageSerializer})
    def post(self, request: Request, patient_id: int) -> Response:
        data = validated(LiaisonMessageInputSerializer, data=request.data)
        patient = self.get_patient(write=True)
        wanted = set(data.get("mentions", []))
        mentions = list(User.objects.filter(pk__in=wanted))
        # An unknown id goes to the service as an unsaved user: it refuses it as it
        # refuses anyone outside the care team (one rule, one message).
        mentions += [User(pk=pk) for pk in wanted - {user.pk for user in mentions}]
        message = post_liaison_message(
            author=request.user, patient=patient, body=data["body"], mentions=mentions
        )
        return Response(LiaisonMessageSerializer(message).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["monitoring"], parameters=[PATIENT_ID])
class ObservationList(PatientRecordView, generics.ListAPIView):
    """Remote-monitoring measurements, newest first (send them with POST /api/observations/)."""

    serializer_class = ObservationSerializer
    permission_classes = [IsPersonOrMachine]
    object_type = "observation"

    def get_queryset(self) -> QuerySet[Observation]:
        if self.is_schema():
            return Observation.objects.none()
        return Observation.objects.filter(patient=self.get_patient())
