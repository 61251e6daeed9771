from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from patients.models import Caregiver, CareTeamMember, ConsentRecord, Patient, TimelineEvent
from tsn.audit import record_access
from tsn.models import AuditEvent


class PatientAdminForm(forms.ModelForm):
    """Identity changes follow the model's rules, not the form's fields.

    A changed strict trait goes through ``Patient.change_strict_traits()`` (which drops the
    identity to provisional) and a changed status through ``change_identity_status()``
    (which refuses impossible steps), in that order. The admin supplies the model and
    fields (see ``PatientAdmin.fieldsets``).
    """

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        # Here self.instance still holds the stored values: the form copies its data onto
        # the instance only after clean().
        patient = self.instance
        traits = {
            name: cleaned_data[name]
            for name in (*Patient.STRICT_TRAITS, "nir")
            if name in cleaned_data and name in self.changed_data
        }
        patient.change_strict_traits(**traits)
        if "identity_status" in self.changed_data and "identity_status" in cleaned_data:
            try:
                patient.change_identity_status(cleaned_data["identity_status"])
            except ValidationError as error:
                self.add_error("identity_status", error)
        cleaned_data["identity_status"] = patient.identity_status
        return cleaned_data


class CareTeamMemberInline(admin.TabularInline):
    model = CareTeamMember
    extra = 0
    autocomplete_fields = ("professional",)


class CaregiverInline(admin.StackedInline):
    model = Caregiver
    extra = 0
    autocomplete_fields = ("user",)


class ConsentRecordInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    autocomplete_fields = ("professional", "recorded_by")


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    form = PatientAdminForm
    list_display = (
        "birth_last_name",
        "used_last_name",
        "first_names",
        "birth_date",
        "sex",
        "identity_status",
        "commune",
    )
    list_filter = ("identity_status", "sex")
    search_fields = ("birth_last_name", "used_last_name", "first_names", "=nir")
    list_select_related = ("commune",)
    autocomplete_fields = ("commune", "gp", "user")
    inlines = (CareTeamMemberInline, CaregiverInline, ConsentRecordInline)
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("birth_last_name", "first_names"),
                    ("used_last_name", "used_first_name"),
                    ("birth_date", "sex", "birth_place_insee"),
                    ("nir", "identity_status"),
                )
            },
        ),
        (None, {"fields": ("address", "postcode", "commune", "phone", "email", "gp", "user")}),
    )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Opening a record in the admin is a read of patient data like any other.
        if request.method == "GET" and object_id.isdigit():
            record_access(
                request=request,
                action=AuditEvent.Action.READ,
                object_type="patient",
                object_id=object_id,
                patient_id=int(object_id),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: Patient, form: forms.ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        record_access(
            request=request,
            action=AuditEvent.Action.UPDATE if change else AuditEvent.Action.CREATE,
            object_type="patient",
            object_id=obj.pk,
            patient_id=obj.pk,
        )


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    """Append-only: events can be added, never changed or deleted (a mistake is corrected by
    a new "entered in error" event pointing back to it)."""

    list_display = ("occurred_at", "patient", "kind", "title", "source", "recorded_at")
    list_filter = ("kind", "source")
    search_fields = ("title", "patient__birth_last_name", "=patient__nir")
    list_select_related = ("patient",)
    autocomplete_fields = ("patient", "author", "organization")
    raw_id_fields = ("corrects",)
    readonly_fields = ("recorded_at",)
    show_full_result_count = False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        patient_id = (
            TimelineEvent.objects.filter(pk=object_id).values_list("patient_id", flat=True).first()
            if object_id.isdigit()
            else None
        )
        if request.method == "GET" and patient_id is not None:
            record_access(
                request=request,
                action=AuditEvent.Action.READ,
                object_type="timeline_event",
                object_id=object_id,
                patient_id=patient_id,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: TimelineEvent, form: forms.ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        record_access(
            request=request,
            action=AuditEvent.Action.CREATE,
            object_type="timeline_event",
            object_id=obj.pk,
            patient_id=obj.patient_id,
        )

    def has_change_permission(self, request: HttpRequest, obj: TimelineEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TimelineEvent | None = None) -> bool:
        return False
