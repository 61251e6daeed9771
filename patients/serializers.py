"""The shapes of the patient record in the REST API (read and input)."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from patients.models import (
    CareTeamMember,
    Document,
    LiaisonMessage,
    Observation,
    Patient,
    TimelineEvent,
)
from professionals.models import Organization, Professional
from tsn.models import Commune
from tsn.rest import DateTimeField


class CommuneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Commune
        fields = ["insee_code", "name"]


class ProfessionalSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Professional
        fields = ["id", "rpps", "first_name", "last_name", "profession", "mssante_address"]


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "finess"]


class PatientSerializer(serializers.ModelSerializer):
    ins = serializers.SerializerMethodField(
        help_text="Matricule INS (NIR) : seulement pour une identité qualifiée, sinon null."
    )
    commune = CommuneSerializer(allow_null=True)
    gp = ProfessionalSummarySerializer(allow_null=True, help_text="Médecin traitant.")

    class Meta:
        model = Patient
        fields = [
            "id",
            "birth_last_name",
            "first_names",
            "used_last_name",
            "used_first_name",
            "birth_date",
            "sex",
            "birth_place_insee",
            "identity_status",
            "ins",
            "address",
            "postcode",
            "commune",
            "phone",
            "email",
            "gp",
            "merged_into",
        ]

    def get_ins(self, patient: Patient) -> str | None:
        # Only a qualified identity may carry the INS to others (référentiel INS).
        return patient.nir if patient.identity_status == Patient.IdentityStatus.QUALIFIED else None


class PatientSearchSerializer(serializers.Serializer):
    """The filters of the patient search (all optional, combined)."""

    name = serializers.CharField(
        required=False, max_length=100, help_text="Nom ou prénom ; les accents sont ignorés."
    )
    birth_date = serializers.DateField(required=False)
    ins = serializers.RegexField(
        r"^[0-9ABab ]{1,21}$", required=False, help_text="Matricule INS (NIR), 15 caractères."
    )
    identity_status = serializers.ChoiceField(
        choices=Patient.IdentityStatus.choices, required=False
    )


class CareTeamMemberSerializer(serializers.ModelSerializer):
    professional = ProfessionalSummarySerializer()

    class Meta:
        model = CareTeamMember
        fields = ["id", "professional", "role", "read_only", "start", "end"]


class TimelineEventSerializer(serializers.ModelSerializer):
    author = ProfessionalSummarySerializer(allow_null=True)
    organization = OrganizationSummarySerializer(allow_null=True)
    document = serializers.SerializerMethodField(help_text="Id du document joint, ou null.")

    class Meta:
        model = TimelineEvent
        fields = [
            "id",
            "occurred_at",
            "recorded_at",
            "kind",
            "title",
            "body",
            "source",
            "author",
            "organization",
            "pathway",
            "corrects",
            "document",
            "shared_with_patient",
        ]

    def get_document(self, event: TimelineEvent) -> int | None:
        document = getattr(event, "document", None)
        return document.pk if document is not None else None


class TimelineFilterSerializer(serializers.Serializer):
    """The timeline page's filters, and its keyset cursor."""

    kind = serializers.ChoiceField(choices=TimelineEvent.Kind.choices, required=False)
    organization = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    pathway = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    start = serializers.DateField(required=False, help_text="Depuis ce jour (inclus).")
    end = serializers.DateField(required=False, help_text="Jusqu'à ce jour (inclus).")
    before = serializers.CharField(
        required=False,
        max_length=80,
        help_text="Curseur de la page suivante (champ `next` de la page précédente).",
    )


# The kinds a person may post to a timeline (the others come from the platform, the
# hospital feed, documents and pathways).
POSTABLE_KINDS = (
    TimelineEvent.Kind.NOTE,
    TimelineEvent.Kind.CONSULTATION,
    TimelineEvent.Kind.HOME_VISIT,
)


class TimelineEventInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in POSTABLE_KINDS])
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    occurred_at = DateTimeField(
        required=False, help_text="Par défaut, maintenant ; avec son fuseau horaire."
    )
    shared_with_patient = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Sur le portail du patient et de ses aidants (définitif). Par défaut : non.",
    )

    def validate_occurred_at(self, value: datetime.datetime) -> datetime.datetime:
        if value > timezone.now() + datetime.timedelta(minutes=5):
            raise serializers.ValidationError(
                _("L'événement ne peut pas être dans le futur."), code="future"
            )
        return value


class DocumentSerializer(serializers.ModelSerializer):
    event = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Document
        fields = ["id", "event", "original_name", "content_type", "size", "uploaded_at"]


class DocumentInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, JPEG ou PNG.")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)


class LiaisonMessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    mentions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = LiaisonMessage
        fields = ["id", "author", "body", "sent_at", "mentions"]

    def get_author(self, message: LiaisonMessage) -> str:
        return str(message.author)


class LiaisonMessageInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)
    mentions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=50,
        help_text="Ids des utilisateurs (membres actifs de l'équipe de soins) à mentionner.",
    )


class ObservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Observation
        fields = ["id", "kind", "value", "unit", "measured_at", "recorded_at", "device"]
