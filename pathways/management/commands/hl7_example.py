"""manage.py hl7_example: print a well-formed ADT message (HL7 v2.5, French PAM) about an
existing patient, as an establishment would send it; for demonstrations and tests:

    manage.py hl7_example --patient 42 --event A01 | curl --data-binary @- \\
        -H "Authorization: Bearer <key>" http://localhost:8000/api/inbound/hl7v2/
"""

import datetime
import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.hl7 import INS_NIR_OID, SUPPORTED_EVENTS, escape, format_timestamp
from patients.models import Patient
from professionals.models import Organization

# The message structure of each event (MSH-9.3).
STRUCTURES = {
    "A01": "ADT_A01",
    "A02": "ADT_A02",
    "A03": "ADT_A03",
    "A04": "ADT_A01",
    "A05": "ADT_A05",
    "A06": "ADT_A06",
    "A07": "ADT_A06",
    "A08": "ADT_A01",
    "A11": "ADT_A09",
    "A12": "ADT_A12",
    "A13": "ADT_A01",
}
# PID-32, the identity reliability code of each identity status.
RELIABILITY = {
    Patient.IdentityStatus.PROVISIONAL: "PROV",
    Patient.IdentityStatus.RETRIEVED: "RECUP",
    Patient.IdentityStatus.VALIDATED: "VALI",
    Patient.IdentityStatus.QUALIFIED: "QUAL",
}
SEXES = {Patient.Sex.FEMALE: "F", Patient.Sex.MALE: "M", Patient.Sex.UNDETERMINED: "U"}


def _fields(*values: str) -> str:
    return "|".join(values).rstrip("|")


def _pid(patient: Patient) -> str:
    identifiers = [f"IPP{patient.pk}^^^HOPITAL^PI"]
    if patient.ins:
        identifiers.append(f"{patient.ins}^^^ASIP-SANTE-INS-NIR&{INS_NIR_OID}&ISO^INS")
    first_names = patient.first_names.split()
    names = [
        "^".join(
            [
                escape(patient.birth_last_name),
                escape(first_names[0] if first_names else ""),
                escape(patient.first_names),
                "",
                "",
                "",
                "L",
            ]
        )
    ]
    if patient.used_last_name:
        used_first = patient.used_first_name or (first_names[0] if first_names else "")
        names.append(f"{escape(patient.used_last_name)}^{escape(used_first)}^^^^^D")
    fields = ["PID", "1", "", "~".join(identifiers), "", "~".join(names), ""]
    fields += [patient.birth_date.strftime("%Y%m%d"), SEXES[patient.sex], "", ""]
    fields.append(f"^^^^^^BDL^^{patient.birth_place_insee}" if patient.birth_place_insee else "")
    fields += [""] * 20  # PID-12 to PID-31
    fields.append(RELIABILITY[patient.identity_status])
    return _fields(*fields)


def _pv1(*, patient_class: str, visit: str, admitted: str, discharged: str) -> str:
    fields = ["PV1", "1", patient_class, "CARDIO^^^HOPITAL"] + [""] * 15
    fields.append(f"{visit}^^^HOPITAL^VN")  # PV1-19
    fields += [""] * 24  # PV1-20 to PV1-43
    fields += [admitted, discharged]  # PV1-44, PV1-45
    return _fields(*fields)


def build_example(
    *,
    patient: Patient,
    organization: Organization,
    event: str,
    visit: str,
    now: datetime.datetime,
    patient_class: str = "",
) -> list[str]:
    """The segments of an ADT message about `patient`, sent by `organization`."""
    stamp = format_timestamp(now)
    admitted = format_timestamp(now - datetime.timedelta(days=5)) if event == "A03" else stamp
    patient_class = patient_class or ("E" if event == "A04" else "I")
    facility = escape(organization.name) + (
        f"^{organization.finess}^FINESS" if organization.finess else ""
    )
    action = "CANCEL" if event in ("A11", "A12", "A13") else "INSERT"
    return [
        _fields(
            "MSH",
            "^~\\&",
            "PAM-DEMO",
            facility,
            "TSN",
            "TSN",
            stamp,
            "",
            f"ADT^{event}^{STRUCTURES[event]}",
            uuid.uuid4().hex[:20],
            "P",
            "2.5",
            "",
            "",
            "",
            "",
            "FRA",
            "8859/1",
        ),
        _fields("EVN", "", stamp, "", "", "", stamp),
        _pid(patient),
        _pv1(
            patient_class=patient_class,
            visit=escape(visit),
            admitted=admitted,
            discharged=stamp if event == "A03" else "",
        ),
        _fields("ZBE", f"MVT{uuid.uuid4().hex[:8]}^PAM-DEMO", stamp, "", action, "N"),
    ]


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse wants a str, not a lazy string
        return _(
            "Affiche un message ADT (HL7 v2.5, profil PAM français) bien formé pour un patient "
            "existant, tel qu'un établissement l'enverrait."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patient",
            required=True,
            help=_("numéro TSN du patient, ou l'e-mail de son compte (patient@demo.tsn.test)"),
        )
        parser.add_argument(
            "--event",
            default="A01",
            choices=[event for event in SUPPORTED_EVENTS if event in STRUCTURES],
            help=_("événement ADT (défaut : A01)"),
        )
        parser.add_argument("--visit", default="", help=_("numéro de venue (PV1-19)"))
        parser.add_argument(
            "--organization",
            metavar="FINESS",
            default="",
            help=_("FINESS de l'établissement émetteur (défaut : le premier hôpital)"),
        )
        parser.add_argument(
            "--cr",
            action="store_true",
            help=_("séparer les segments par un retour chariot (\\r) comme en ER7 strict"),
        )

    def handle(self, *args: object, **options) -> None:
        wanted = str(options["patient"]).strip()
        patient = (
            Patient.objects.filter(user__email__iexact=wanted).first()
            if "@" in wanted
            else Patient.objects.filter(pk=int(wanted)).first()
            if wanted.isdigit()
            else None
        )
        if patient is None:
            raise CommandError(
                _("Aucun patient ne porte le n° %(pk)s.") % {"pk": options["patient"]}
            )
        if options["organization"]:
            organization = Organization.objects.filter(finess=options["organization"]).first()
        else:
            organization = (
                Organization.objects.filter(kind=Organization.Kind.HOSPITAL).order_by("pk").first()
            )
        if organization is None:
            raise CommandError(_("Aucun établissement émetteur : indiquez --organization FINESS."))
        now = timezone.now()
        segments = build_example(
            patient=patient,
            organization=organization,
            event=options["event"],
            visit=options["visit"] or f"V{now:%y%m%d%H%M%S}",
            now=now,
        )
        separator = "\r" if options["cr"] else "\n"
        self.stdout.write(separator.join(segments) + separator, ending="")
