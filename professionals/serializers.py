"""The shapes of the directory in the REST API: search parameters, results and details of
professionals, organisations and support services."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from patients.serializers import CommuneSerializer, OrganizationSummarySerializer
from professionals.directory import find_commune
from professionals.models import Organization, PractitionerRole, Professional, SupportService

MAX_RADIUS_KM = 100


class SupportServiceSummarySerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer()

    class Meta:
        model = SupportService
        fields = ["id", "name", "category", "response_days", "organization"]


# --- Search parameters -----------------------------------------------------------------------


class DirectorySearchSerializer(serializers.Serializer):
    """The criteria every directory search shares (the /annuaire/ page's); at least one."""

    # The other fields that count as a criterion, in a subclass.
    criteria: tuple[str, ...] = ()
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Nom ; les accents et les fautes de frappe sont tolérés.",
    )
    commune = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Commune : nom (accents ignorés) ou code INSEE.",
    )
    radius = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_RADIUS_KM,
        help_text="À moins de tant de km du centre de la commune (sans : dans la commune).",
    )

    def validate_commune(self, text: str) -> object:
        text = text.strip()
        if not text:
            return None
        commune = find_commune(text)
        if commune is None:
            raise serializers.ValidationError(
                _("Commune inconnue ou ambiguë : précisez son code INSEE."), code="commune"
            )
        return commune

    def validate(self, data: dict) -> dict:
        if data.get("radius") is not None and data.get("commune") is None:
            raise serializers.ValidationError(
                {"radius": _("Une distance se compte depuis une commune : indiquez-la.")},
                code="radius_without_commune",
            )
        criteria = ("q", "commune", *self.criteria)
        if not any(data.get(name) for name in criteria):
            raise serializers.ValidationError(
                _("Indiquez au moins un critère de recherche."), code="no_criteria"
            )
        return data


class ProfessionalSearchSerializer(DirectorySearchSerializer):
    profession = serializers.ChoiceField(choices=Professional.Profession.choices, required=False)
    accepting = serializers.BooleanField(
        default=False, help_text="Seulement ceux qui acceptent de nouveaux patients."
    )

    criteria = ("profession",)


class OrganizationSearchSerializer(DirectorySearchSerializer):
    category = serializers.ChoiceField(choices=Organization.Kind.choices, required=False)

    criteria = ("category",)


class ServiceSearchSerializer(DirectorySearchSerializer):
    category = serializers.ChoiceField(choices=SupportService.Category.choices, required=False)

    criteria = ("category",)


# --- Results -----------------------------------------------------------------------------------


class PlaceSerializer(serializers.Serializer):
    """A current place of practice (its own address and phone, else its organisation's)."""

    site = serializers.CharField()
    address = serializers.CharField()
    postcode = serializers.CharField()
    commune = serializers.CharField()
    phone = serializers.CharField()


class ProfessionalResultSerializer(serializers.Serializer):
    """A professional found (the rows `professionals.directory.search_professionals` gives)."""

    id = serializers.IntegerField(source="pk")
    rpps = serializers.CharField(allow_null=True)
    last_name = serializers.CharField()
    first_name = serializers.CharField()
    profession = serializers.ChoiceField(choices=Professional.Profession.choices)
    specialty = serializers.CharField()
    accepts_new_patients = serializers.BooleanField()
    mssante_address = serializers.CharField()
    distance_km = serializers.FloatField(
        source="distance",
        allow_null=True,
        help_text="Distance au lieu d'exercice le plus proche (recherche par commune).",
    )
    places = PlaceSerializer(many=True)


class OrganizationSerializer(serializers.ModelSerializer):
    commune = CommuneSerializer(allow_null=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "kind",
            "finess",
            "siret",
            "address",
            "postcode",
            "commune",
            "phone",
            "mssante_address",
            "latitude",
            "longitude",
        ]


class OrganizationResultSerializer(OrganizationSerializer):
    distance_km = serializers.FloatField(
        source="distance", allow_null=True, default=None, help_text="Recherche par commune."
    )

    class Meta(OrganizationSerializer.Meta):
        fields = [*OrganizationSerializer.Meta.fields, "distance_km"]


class SupportServiceSerializer(serializers.ModelSerializer):
    organization = OrganizationSerializer()

    class Meta:
        model = SupportService
        fields = [
            "id",
            "name",
            "category",
            "description",
            "eligibility",
            "capacity",
            "waiting_days",
            "response_days",
            "organization",
        ]


class SupportServiceResultSerializer(SupportServiceSerializer):
    distance_km = serializers.FloatField(
        source="distance", allow_null=True, default=None, help_text="Recherche par commune."
    )

    class Meta(SupportServiceSerializer.Meta):
        fields = [*SupportServiceSerializer.Meta.fields, "distance_km"]


# --- Details ---------------------------------------------------------------------------------


class PractitionerRoleSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(allow_null=True)
    commune = CommuneSerializer(allow_null=True)

    class Meta:
        model = PractitionerRole
        fields = [
            "id",
            "organization",
            "function",
            "practice_mode",
            "site_name",
            "address",
            "postcode",
            "commune",
            "phone",
            "start",
            "end",
        ]


class ProfessionalDetailSerializer(serializers.ModelSerializer):
    roles = PractitionerRoleSerializer(many=True, source="current_roles")
    support_services = SupportServiceSummarySerializer(many=True)

    class Meta:
        model = Professional
        fields = [
            "id",
            "rpps",
            "last_name",
            "first_name",
            "profession",
            "specialty",
            "phone",
            "mssante_address",
            "accepts_new_patients",
            "roles",
            "support_services",
        ]


class OrganizationDetailSerializer(OrganizationSerializer):
    support_services = SupportServiceSummarySerializer(many=True)

    class Meta(OrganizationSerializer.Meta):
        fields = [*OrganizationSerializer.Meta.fields, "closed_on", "support_services"]


class SupportServiceDetailSerializer(SupportServiceSerializer):
    communes = CommuneSerializer(many=True, help_text="Communes couvertes.")

    class Meta(SupportServiceSerializer.Meta):
        fields = [*SupportServiceSerializer.Meta.fields, "communes"]


class ProfessionalResultsSerializer(serializers.Serializer):
    results = ProfessionalResultSerializer(many=True, help_text="Les 30 meilleurs résultats.")


class OrganizationResultsSerializer(serializers.Serializer):
    results = OrganizationResultSerializer(many=True, help_text="Les 30 meilleurs résultats.")


class SupportServiceResultsSerializer(serializers.Serializer):
    results = SupportServiceResultSerializer(many=True, help_text="Les 30 meilleurs résultats.")
