"""The shapes of pathways, steps, care plans, referrals and alerts in the REST API (read
and input). Input serializers check the shape; the services decide the rules."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pathways.models import (
    Alert,
    CarePlanVersion,
    Pathway,
    PathwayTemplate,
    Referral,
    Step,
    StepTemplate,
)
from patients.models import Patient
from patients.serializers import CommuneSerializer, ProfessionalSummarySerializer
from professionals.models import Professional, SupportService
from professionals.serializers import SupportServiceSummarySerializer
from tsn.rest import DateTimeField

# A PostgreSQL bigint: a larger id cannot exist (and must not reach the database).
MAX_ID = 2**63 - 1
Version = CarePlanVersion


class IdField(serializers.IntegerField):
    """A database id given as input (a positive bigint)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class RelatedIdField(serializers.PrimaryKeyRelatedField):
    """An object by id, among `queryset`; an id out of a bigint's range is refused before
    it reaches the database."""

    def to_internal_value(self, data: object) -> object:
        if isinstance(data, int) and not isinstance(data, bool) and not 0 < data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        if isinstance(data, str) and data.isdigit() and int(data) > MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class PersonField(RelatedIdField):
    """A professional who may be named in this patient's care plan (the serializer's
    context "people": the active care team and the coordinators following the patient)."""

    def get_queryset(self):
        return self.context.get("people", Professional.objects.none())


# --- Pathway templates, pathways and steps ---------------------------------------------------


class StepTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepTemplate
        fields = [
            "id",
            "order",
            "name",
            "responsible_profession",
            "deadline_days",
            "relative_to",
            "required",
            "blocking",
            "validates_care_plan",
        ]


class PathwayTemplateSerializer(serializers.ModelSerializer):
    steps = StepTemplateSerializer(many=True)

    class Meta:
        model = PathwayTemplate
        fields = ["id", "code", "version", "name", "description", "steps"]


class PathwayTemplateSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = PathwayTemplate
        fields = ["id", "code", "version", "name"]


class StepSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="template_step.order")
    name = serializers.CharField(source="template_step.name")
    responsible_profession = serializers.ChoiceField(
        source="template_step.responsible_profession", choices=Professional.Profession.choices
    )
    required = serializers.BooleanField(source="template_step.required")
    blocking = serializers.BooleanField(source="template_step.blocking")
    assignee = ProfessionalSummarySerializer(allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="Ouverte et échéance dépassée.")

    class Meta:
        model = Step
        fields = [
            "id",
            "pathway",
            "order",
            "name",
            "responsible_profession",
            "required",
            "blocking",
            "status",
            "due_on",
            "overdue",
            "assignee",
            "scheduled_at",
            "place",
            "done_at",
            "outcome",
        ]

    def get_overdue(self, step: Step) -> bool:
        return step.is_overdue(self.context.get("today"))


class PathwaySerializer(serializers.ModelSerializer):
    template = PathwayTemplateSummarySerializer()
    referent = ProfessionalSummarySerializer(allow_null=True)
    support_service = SupportServiceSummarySerializer(allow_null=True)
    next_statuses = serializers.SerializerMethodField(
        help_text="Les statuts vers lesquels le parcours peut passer."
    )
    steps = StepSerializer(many=True)

    class Meta:
        model = Pathway
        fields = [
            "id",
            "patient",
            "template",
            "status",
            "next_statuses",
            "origin",
            "enrolled_on",
            "ended_on",
            "exit_reason",
            "referent",
            "support_service",
            "steps",
        ]

    def get_next_statuses(self, pathway: Pathway) -> list[str]:
        return [str(status) for status in pathway.TRANSITIONS.get(pathway.status, ())]


class EnrolmentInputSerializer(serializers.Serializer):
    template = serializers.SlugRelatedField(
        slug_field="code",
        queryset=PathwayTemplate.objects.filter(is_current=True),
        required=False,
        help_text="Code du modèle de parcours : sa version en vigueur.",
    )
    template_id = RelatedIdField(
        queryset=PathwayTemplate.objects.all(),
        required=False,
        help_text="Ou l'id d'une version du modèle (refusée si elle a été remplacée).",
    )
    origin = serializers.ChoiceField(choices=Pathway.Origin.choices)
    referent = RelatedIdField(
        queryset=Professional.objects.filter(profession=Professional.Profession.COORDINATOR),
        required=False,
        allow_null=True,
        default=None,
        help_text="Coordinateur·rice référent·e (un professionnel coordinateur).",
    )
    support_service = RelatedIdField(
        queryset=SupportService.objects.filter(category=SupportService.Category.COORDINATION),
        required=False,
        allow_null=True,
        default=None,
        help_text="Service d'appui à la coordination qui suit le patient.",
    )
    enrolled_on = serializers.DateField(required=False, help_text="Par défaut, aujourd'hui.")

    def validate(self, data: dict) -> dict:
        by_code, by_id = data.pop("template", None), data.pop("template_id", None)
        if (by_code is None) == (by_id is None):
            raise serializers.ValidationError(
                _(
                    "Indiquez le modèle de parcours, l'un ou l'autre : son code (template) ou "
                    "l'id d'une de ses versions (template_id)."
                ),
                code="template_required",
            )
        data["template"] = by_code or by_id
        return data


class PathwayStatusInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Pathway.Status.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", help_text="Motif."
    )
    informed = serializers.BooleanField(
        default=False,
        help_text="À l'activation : le patient a reçu l'information sur le partage de ses "
        "données et ne s'y oppose pas (tracé avec l'activation).",
    )


class StepScheduleInputSerializer(serializers.Serializer):
    scheduled_at = DateTimeField(help_text="Rendez-vous, avec son fuseau horaire.")
    place = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        default="",
        help_text="Lieu ou lien de téléconsultation.",
    )
    assignee = RelatedIdField(
        queryset=Professional.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Le professionnel du rendez-vous (sans : le responsable de l'étape).",
    )


class StepAssignInputSerializer(serializers.Serializer):
    assignee = RelatedIdField(
        queryset=Professional.objects.all(), help_text="Un professionnel de l'annuaire."
    )


class StepCompleteInputSerializer(serializers.Serializer):
    done_at = DateTimeField(required=False, help_text="Par défaut, maintenant.")
    outcome = serializers.CharField(
        required=False, allow_blank=True, max_length=20_000, default="", help_text="Compte rendu."
    )

    def validate_done_at(self, value: datetime.datetime) -> datetime.datetime:
        if value > timezone.now() + datetime.timedelta(minutes=5):
            raise serializers.ValidationError(
                _("Une étape ne peut pas être réalisée dans le futur."), code="future"
            )
        return value


class StepSkipInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Pourquoi l'étape n'est pas faite.")


# --- Care plan ---------------------------------------------------------------------------


class GoalSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    target = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    status = serializers.ChoiceField(
        choices=Version.GoalStatus.choices, default=Version.GoalStatus.PLANNED
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text="Commentaire, ou la raison d'un objectif non atteint.",
    )


class ActionSerializer(serializers.Serializer):
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=Version.ActionKind.choices)
    owner = serializers.IntegerField(allow_null=True, help_text="Id du professionnel, ou null.")
    owner_name = serializers.CharField()
    due_on = serializers.DateField(allow_null=True)


class CarePlanVersionSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    referent = ProfessionalSummarySerializer(allow_null=True)
    needs = serializers.DictField(
        child=serializers.CharField(), help_text="Texte par domaine (health, social…)."
    )
    goals = GoalSerializer(many=True)
    actions = ActionSerializer(many=True)
    validated_by = ProfessionalSummarySerializer(allow_null=True)

    class Meta:
        model = CarePlanVersion
        fields = [
            "number",
            "created_at",
            "author",
            "referent",
            "next_review_on",
            "general_information",
            "needs",
            "goals",
            "actions",
            "preferences",
            "validated_by",
            "validated_at",
        ]

    def get_author(self, version: CarePlanVersion) -> str:
        return str(version.author)


class ActionInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500)
    kind = serializers.ChoiceField(choices=Version.ActionKind.choices)
    owner = PersonField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Qui : un membre actif de l'équipe de soins ou un coordinateur qui suit le "
        "patient.",
    )
    due_on = serializers.DateField(required=False, allow_null=True, default=None)


class CarePlanInputSerializer(serializers.Serializer):
    """A whole version: what is left out is empty in the new version."""

    general_information = serializers.CharField(
        required=False, allow_blank=True, max_length=20_000, default=""
    )
    referent = PersonField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Référent du PPCS : un membre actif de l'équipe de soins ou un coordinateur "
        "qui suit le patient.",
    )
    next_review_on = serializers.DateField(required=False, allow_null=True, default=None)
    needs = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=20_000),
        required=False,
        default=dict,
        help_text="Problèmes et besoins, par domaine : " + ", ".join(Version.Domain.values) + ".",
    )
    goals = GoalSerializer(many=True, required=False, default=list, max_length=50)
    actions = ActionInputSerializer(many=True, required=False, default=list, max_length=50)
    preferences = serializers.CharField(
        required=False, allow_blank=True, max_length=20_000, default=""
    )


class CarePlanValidationInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="Le numéro de la version lue et validée."
    )


# --- Referrals ---------------------------------------------------------------------------


class ReferralSerializer(serializers.ModelSerializer):
    service = SupportServiceSummarySerializer()
    sent_by = ProfessionalSummarySerializer()
    responded_by = ProfessionalSummarySerializer(allow_null=True)
    late = serializers.SerializerMethodField(help_text="En attente de réponse après l'échéance.")

    class Meta:
        model = Referral
        fields = [
            "id",
            "patient",
            "pathway",
            "service",
            "status",
            "reason",
            "sent_by",
            "sent_at",
            "respond_by",
            "late",
            "acknowledged_at",
            "responded_at",
            "responded_by",
            "refusal_reason",
            "closed_at",
        ]

    def get_late(self, referral: Referral) -> bool:
        return referral.is_late(self.context.get("now"))


class ReferredPatientSerializer(serializers.ModelSerializer):
    """What the service needs to know of the patient to answer (the inbox's page)."""

    commune = CommuneSerializer(allow_null=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "birth_last_name",
            "used_last_name",
            "first_names",
            "used_first_name",
            "birth_date",
            "commune",
            "phone",
        ]


class InboxReferralSerializer(ReferralSerializer):
    patient = ReferredPatientSerializer()


class ReferralInputSerializer(serializers.Serializer):
    service = RelatedIdField(
        queryset=SupportService.objects.all(), help_text="Le service d'appui sollicité."
    )
    reason = serializers.CharField(max_length=5000, help_text="Ce que vous attendez du service.")
    pathway = RelatedIdField(
        queryset=Pathway.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Un parcours en cours du patient, s'il s'y rapporte.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        patient = self.context.get("patient")
        if patient is not None:
            self.fields["pathway"].queryset = patient.pathways.exclude(
                status__in=Pathway.CLOSED_STATUSES
            )


class ReferralCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", help_text="Motif."
    )


class ReferralRefuseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, help_text="Motif, lu par l'envoyeur.")


class InboxFilterSerializer(serializers.Serializer):
    AWAITING = "awaiting"

    status = serializers.ChoiceField(
        choices=[(AWAITING, _("En attente de réponse")), *Referral.Status.choices],
        required=False,
        help_text="awaiting : envoyées ou reçues, en attente de réponse.",
    )
    service = IdField(required=False, help_text="Un de vos services.")


# --- Alerts ------------------------------------------------------------------------------


class AlertSerializer(serializers.ModelSerializer):
    patient_name = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "patient",
            "patient_name",
            "kind",
            "severity",
            "message",
            "status",
            "due_at",
            "created_at",
            "assignee",
            "pathway",
            "step",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution_comment",
            "escalation_level",
        ]

    def get_patient_name(self, alert: Alert) -> str:
        return str(alert.patient)


class AlertFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Alert.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Alert.Kind.choices, required=False)
    patient = IdField(required=False)


class AlertResolveInputSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", help_text="Commentaire."
    )
