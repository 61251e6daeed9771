"""The territory's directory in the REST API: the searches of the /annuaire/ page
(professionals, organisations, support services) and one entry of each.

Directory data is not patient data: any signed-in person reads it, and no audit event is
written. A search answers the 30 best matches (by name, then distance), as the page does:
ranked results, not a list to page through.
"""

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from professionals.directory import (
    DirectoryQuery,
    Kind,
    search_organizations,
    search_professionals,
    search_services,
)
from professionals.models import Organization, PractitionerRole, Professional, SupportService
from professionals.serializers import (
    OrganizationDetailSerializer,
    OrganizationResultSerializer,
    OrganizationResultsSerializer,
    OrganizationSearchSerializer,
    ProfessionalDetailSerializer,
    ProfessionalResultSerializer,
    ProfessionalResultsSerializer,
    ProfessionalSearchSerializer,
    ServiceSearchSerializer,
    SupportServiceDetailSerializer,
    SupportServiceResultSerializer,
    SupportServiceResultsSerializer,
)
from tsn.models import Commune
from tsn.periods import in_effect_on
from tsn.rest import validated


def _query(kind: str, data: dict) -> DirectoryQuery:
    """The directory's query from validated search parameters."""
    return DirectoryQuery(
        kind=kind,
        name=data.get("q", "").strip(),
        profession=data.get("profession", ""),
        category=data.get("category", ""),
        commune=data.get("commune"),
        radius_km=data.get("radius"),
        accepting_only=data.get("accepting", False),
    )


@extend_schema(
    tags=["directory"],
    parameters=[ProfessionalSearchSerializer],
    responses=ProfessionalResultsSerializer,
)
class ProfessionalSearch(APIView):
    """Search the professionals (by name, profession, commune or distance; those taking
    new patients), with their current places of practice."""

    throttle_scope = "search"
    query_serializer = ProfessionalSearchSerializer

    @extend_schema(operation_id="directory_professionals_search")
    def get(self, request: Request) -> Response:
        data = validated(ProfessionalSearchSerializer, data=request.query_params)
        rows = search_professionals(_query(Kind.PROFESSIONAL, data), timezone.localdate())
        return Response({"results": ProfessionalResultSerializer(rows, many=True).data})


@extend_schema(
    tags=["directory"],
    parameters=[OrganizationSearchSerializer],
    responses=OrganizationResultsSerializer,
)
class OrganizationSearch(APIView):
    """Search the open organisations (by name, kind, commune or distance)."""

    throttle_scope = "search"
    query_serializer = OrganizationSearchSerializer

    @extend_schema(operation_id="directory_organizations_search")
    def get(self, request: Request) -> Response:
        data = validated(OrganizationSearchSerializer, data=request.query_params)
        rows = search_organizations(_query(Kind.ORGANIZATION, data))
        return Response({"results": OrganizationResultSerializer(rows, many=True).data})


@extend_schema(
    tags=["directory"],
    parameters=[ServiceSearchSerializer],
    responses=SupportServiceResultsSerializer,
)
class ServiceSearch(APIView):
    """Search the support services (by name, category, or the commune they cover, or one
    within a distance of it)."""

    throttle_scope = "search"
    query_serializer = ServiceSearchSerializer

    @extend_schema(operation_id="directory_services_search")
    def get(self, request: Request) -> Response:
        data = validated(ServiceSearchSerializer, data=request.query_params)
        rows = search_services(_query(Kind.SERVICE, data))
        return Response({"results": SupportServiceResultSerializer(rows, many=True).data})


@extend_schema(
    tags=["directory"], parameters=[OpenApiParameter("professional_id", int, OpenApiParameter.PATH)]
)
class ProfessionalDetail(generics.RetrieveAPIView):
    """A professional, their current places of practice and the services they belong to."""

    serializer_class = ProfessionalDetailSerializer
    lookup_url_kwarg = "professional_id"

    def get_queryset(self) -> QuerySet[Professional]:
        roles = (
            PractitionerRole.objects.filter(in_effect_on(timezone.localdate()))
            .select_related("organization", "commune")
            .order_by("start", "pk")
        )
        return Professional.objects.prefetch_related(
            Prefetch("roles", queryset=roles, to_attr="current_roles"),
            Prefetch(
                "support_services",
                queryset=SupportService.objects.select_related("organization").order_by("name"),
            ),
        )


@extend_schema(
    tags=["directory"], parameters=[OpenApiParameter("organization_id", int, OpenApiParameter.PATH)]
)
class OrganizationDetail(generics.RetrieveAPIView):
    """An organisation and its support services."""

    serializer_class = OrganizationDetailSerializer
    lookup_url_kwarg = "organization_id"

    def get_queryset(self) -> QuerySet[Organization]:
        return Organization.objects.select_related("commune").prefetch_related(
            Prefetch(
                "support_services",
                queryset=SupportService.objects.select_related("organization").order_by("name"),
            )
        )


@extend_schema(
    tags=["directory"], parameters=[OpenApiParameter("service_id", int, OpenApiParameter.PATH)]
)
class ServiceDetail(generics.RetrieveAPIView):
    """A support service, its organisation and the communes it covers."""

    serializer_class = SupportServiceDetailSerializer
    lookup_url_kwarg = "service_id"

    def get_queryset(self) -> QuerySet[SupportService]:
        return SupportService.objects.select_related(
            "organization", "organization__commune"
        ).prefetch_related(Prefetch("communes", queryset=Commune.objects.order_by("name")))
