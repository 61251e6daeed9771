"""Reading HL7 v2.5 ADT messages (French IHE PAM profile) and writing their acknowledgements.

ER7 is read by a small tokenizer of our own rather than `hl7.parse`: the library's parse
tree changes shape with the content (a field with no component is not a list of
components) and a missing component raises IndexError, while every problem here must
become a French reason naming its segment and field. The MLLP transport uses the library
(`pathways/mllp.py`).

Nothing here touches the database. Every problem is an `HL7Error`; no other exception
escapes `read_header` and `read_adt`.
"""

import dataclasses
import datetime
import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.fr import nir as stdnum_nir

from tsn.identifiers import validate_insee_commune

# Object identifiers of the INS in PID-3 (CX-4, universal id): the NIR, and the NIA given
# while a NIR is being assigned. The test OIDs (…4.10, …4.11) are refused on purpose: a
# test identity must never reach a real record.
INS_NIR_OID = "1.2.250.1.213.1.4.8"
INS_NIA_OID = "1.2.250.1.213.1.4.9"
INS_OIDS = (INS_NIR_OID, INS_NIA_OID)

# PID-32, identity reliability code (French PAM): only QUAL carries a qualified INS.
QUALIFIED_IDENTITY = "QUAL"

SUPPORTED_VERSIONS = ("2.5", "2.5.1")
# fmt: off
SUPPORTED_EVENTS = (
    "A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A40",
)
# fmt: on
# Events whose message structure has no PV1, or whose PV1 we do not need.
_WITHOUT_VISIT = ("A40",)
# Cancellations find what they cancel by the visit number.
CANCELLATIONS = ("A11", "A12", "A13")

# HL7 table 0357, the error codes of ERR-3.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT_CODE = "201"
UNSUPPORTED_VERSION_ID = "203"
APPLICATION_INTERNAL_ERROR = "207"
_ERROR_LABELS = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    UNSUPPORTED_VERSION_ID: "Unsupported version id",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}

# MSA-1: accepted, error (the content), reject (the envelope: type, version, framing).
ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
# MSA-3 is an 80-character ST in v2.5; the whole text goes to ERR-8.
_MSA_TEXT_MAX = 80

_SEGMENT_BREAK = re.compile(r"\r\n|\n|\r")
_SEGMENT_NAME = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_TIMESTAMP = re.compile(
    r"^(?P<year>\d{4})(?P<month>\d{2})?(?P<day>\d{2})?"
    r"(?P<hour>\d{2})?(?P<minute>\d{2})?(?P<second>\d{2})?(?:\.\d{1,4})?"
    r"(?P<offset>[+-]\d{4})?$"
)
_PLAUSIBLE_YEARS = (1850, 2200)
# HL7 table 0001 (administrative sex) -> Patient.Sex.
_SEXES = {"F": "F", "M": "M", "U": "I", "O": "I", "A": "I", "N": "I"}


class HL7Error(Exception):
    """A message we cannot accept: an ACK code, an HL7 error code, where, and why (French)."""

    def __init__(
        self,
        reason: str,
        *,
        segment: str,
        field: int | None = None,
        code: str = DATA_TYPE_ERROR,
        ack_code: str = ERROR,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segment = segment
        self.field = field
        self.code = code
        self.ack_code = ack_code
        # Set once the header could be read, for the ACK.
        self.header: Header | None = None


@dataclass(frozen=True)
class Separators:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


STANDARD = Separators()


@dataclass(frozen=True)
class Segment:
    """One segment: `fields[n]` is the raw text of field n (`fields[0]` the name; for MSH,
    `fields[1]` is the field separator and `fields[2]` the encoding characters)."""

    name: str
    fields: tuple[str, ...]
    separators: Separators

    def raw(self, number: int) -> str:
        return self.fields[number] if number < len(self.fields) else ""

    def repetitions(self, number: int) -> list[str]:
        raw = self.raw(number)
        return raw.split(self.separators.repetition) if raw else []

    def components(self, repetition: str) -> list[str]:
        return repetition.split(self.separators.component)

    def value(
        self, number: int, component: int = 1, subcomponent: int = 1, repetition: int = 1
    ) -> str:
        """One unescaped value; "" when absent."""
        repetitions = self.repetitions(number)
        if len(repetitions) < repetition:
            return ""
        return self.part(repetitions[repetition - 1], component, subcomponent)

    def part(self, repetition: str, component: int = 1, subcomponent: int = 1) -> str:
        components = self.components(repetition)
        if len(components) < component:
            return ""
        subcomponents = components[component - 1].split(self.separators.subcomponent)
        if len(subcomponents) < subcomponent:
            return ""
        return unescape(subcomponents[subcomponent - 1], self.separators).strip()


def unescape(text: str, separators: Separators = STANDARD) -> str:
    """Replace the escape sequences of the delimiters; drop the others (formatting)."""
    esc = separators.escape
    if esc not in text:
        return text
    replacements = {
        "F": separators.field,
        "S": separators.component,
        "T": separators.subcomponent,
        "R": separators.repetition,
        "E": esc,
        ".br": " ",
    }
    pattern = re.compile(re.escape(esc) + r"([^" + re.escape(esc) + r"]*)" + re.escape(esc))
    return pattern.sub(lambda match: replacements.get(match.group(1), ""), text)


def escape(text: str) -> str:
    """A value made safe for a field written with the standard separators."""
    text = " ".join(str(text).split())  # no segment break inside a field
    text = text.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        text = text.replace(char, f"\\{code}\\")
    return text


def decode_er7(data: bytes) -> str:
    """The message's text: UTF-8, or ISO-8859-1 (MSH-18 "8859/1", the French default) when
    the bytes are not UTF-8; NUL characters, which PostgreSQL text cannot hold, replaced."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("iso-8859-1")
    return text.replace("\x00", "\ufffd")


def split_segments(raw: str) -> list[str]:
    return [line for line in _SEGMENT_BREAK.split(raw) if line.strip()]


# --- The header (MSH): enough to acknowledge, even when the rest cannot be read ---


@dataclass(frozen=True)
class Header:
    separators: Separators
    # HD fields (namespace, universal id, id type), unescaped, for the ACK's MSH-5/6.
    sending_application: tuple[str, ...]
    sending_facility: tuple[str, ...]
    sent_at: datetime.datetime | None
    message_type: str
    event: str
    structure: str
    control_id: str
    processing_id: str
    version: str
    charset: str


def _msh_error(reason: str, field: int | None, code: str) -> HL7Error:
    return HL7Error(reason, segment="MSH", field=field, code=code, ack_code=REJECT)


def _read_separators(line: str) -> Separators:
    if not line.startswith("MSH"):
        raise _msh_error(
            _("MSH : le message ne commence pas par un segment MSH."),
            None,
            SEGMENT_SEQUENCE_ERROR,
        )
    if len(line) < 8:
        raise _msh_error(
            _("MSH-2 : caractères d'encodage absents ou incomplets."), 2, REQUIRED_FIELD_MISSING
        )
    field_separator, encoding = line[3], line[4:8]
    chars = field_separator + encoding
    if (
        len(set(chars)) != 5
        or any(char.isalnum() or char.isspace() for char in chars)
        or (len(line) > 8 and line[8] != field_separator)
    ):
        raise _msh_error(
            _("MSH-2 : caractères d'encodage invalides (« ^~\\& » attendus)."),
            2,
            DATA_TYPE_ERROR,
        )
    return Separators(field_separator, encoding[0], encoding[1], encoding[2], encoding[3])


def _segment(line: str, separators: Separators) -> Segment:
    parts = line.split(separators.field)
    fields = ("MSH", separators.field, *parts[1:]) if parts[0] == "MSH" else tuple(parts)
    return Segment(name=parts[0], fields=fields, separators=separators)


def _hd(segment: Segment, number: int) -> tuple[str, ...]:
    return tuple(segment.value(number, component) for component in (1, 2, 3))


def read_header(raw: str) -> Header:
    """The MSH segment, checked: encoding characters, MSH-9 (an ADT event we handle),
    MSH-10, MSH-12 (v2.5). HL7Error with an AR code otherwise."""
    lines = split_segments(raw)
    if not lines:
        raise _msh_error(_("MSH : message vide."), None, SEGMENT_SEQUENCE_ERROR)
    separators = _read_separators(lines[0].lstrip("\ufeff"))
    msh = _segment(lines[0].lstrip("\ufeff"), separators)
    header = Header(
        separators=separators,
        sending_application=_hd(msh, 3),
        sending_facility=_hd(msh, 4),
        sent_at=None,
        message_type=msh.value(9, 1).upper(),
        event=msh.value(9, 2).upper(),
        structure=msh.value(9, 3).upper(),
        control_id=msh.value(10),
        processing_id=msh.value(11),
        version=msh.value(12),
        charset=msh.value(18),
    )
    try:
        header = _checked_header(msh, header)
    except HL7Error as error:
        # What could be read still addresses the ACK.
        error.header = header
        raise
    return header


def _checked_header(msh: Segment, header: Header) -> Header:
    if not header.message_type:
        raise _msh_error(_("MSH-9 : type de message absent."), 9, REQUIRED_FIELD_MISSING)
    if not header.control_id:
        raise _msh_error(_("MSH-10 : identifiant du message absent."), 10, REQUIRED_FIELD_MISSING)
    if len(header.control_id) > 50:
        raise _msh_error(
            _("MSH-10 : identifiant du message trop long (50 caractères au plus)."),
            10,
            DATA_TYPE_ERROR,
        )
    if not header.version:
        raise _msh_error(_("MSH-12 : version HL7 absente."), 12, REQUIRED_FIELD_MISSING)
    if header.version not in SUPPORTED_VERSIONS:
        raise _msh_error(
            _("MSH-12 : version HL7 %(version)s non prise en charge (2.5 attendue).")
            % {"version": header.version[:10]},
            12,
            UNSUPPORTED_VERSION_ID,
        )
    if header.message_type != "ADT":
        raise _msh_error(
            _("MSH-9 : type de message %(type)s non pris en charge (ADT attendu).")
            % {"type": header.message_type[:10]},
            9,
            UNSUPPORTED_MESSAGE_TYPE,
        )
    if not header.event:
        raise _msh_error(_("MSH-9 : événement absent."), 9, REQUIRED_FIELD_MISSING)
    if header.event not in SUPPORTED_EVENTS:
        raise _msh_error(
            _("MSH-9 : événement %(event)s non pris en charge.") % {"event": header.event[:10]},
            9,
            UNSUPPORTED_EVENT_CODE,
        )
    sent_at = parse_timestamp(msh.value(7), segment="MSH", field=7, label=_("date du message"))
    return dataclasses.replace(header, sent_at=sent_at)


# --- Dates ---


def _timestamp_parts(value: str, *, segment: str, field: int, label: str) -> re.Match | None:
    if not value:
        return None
    match = _TIMESTAMP.match(value)
    # Beyond these years a date is a typing error, and date arithmetic could overflow.
    if match is None or not _PLAUSIBLE_YEARS[0] <= int(match["year"]) <= _PLAUSIBLE_YEARS[1]:
        raise HL7Error(
            _("%(where)s : %(label)s illisible.") % {"where": f"{segment}-{field}", "label": label},
            segment=segment,
            field=field,
        )
    return match


def parse_date(value: str, *, segment: str, field: int, label: str) -> datetime.date | None:
    """A date (DT or TS) to the day; None when absent or known only to the month or year."""
    match = _timestamp_parts(value, segment=segment, field=field, label=label)
    if match is None or match["day"] is None:
        return None
    try:
        return datetime.date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise HL7Error(
            _("%(where)s : %(label)s illisible.") % {"where": f"{segment}-{field}", "label": label},
            segment=segment,
            field=field,
        ) from None


def parse_timestamp(
    value: str, *, segment: str, field: int, label: str
) -> datetime.datetime | None:
    """An aware datetime (TS, at least to the day); a time without offset is the
    territory's local time. None when absent."""
    match = _timestamp_parts(value, segment=segment, field=field, label=label)
    if match is None:
        return None
    error = HL7Error(
        _("%(where)s : %(label)s illisible.") % {"where": f"{segment}-{field}", "label": label},
        segment=segment,
        field=field,
    )
    if match["day"] is None:
        raise error
    try:
        moment = datetime.datetime(  # noqa: DTZ001 (made aware just below)
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
        )
        if match["offset"]:
            sign = -1 if match["offset"][0] == "-" else 1
            hours, minutes = int(match["offset"][1:3]), int(match["offset"][3:5])
            offset = datetime.timedelta(hours=hours, minutes=minutes)
            return moment.replace(tzinfo=datetime.timezone(sign * offset))
    except ValueError:
        raise error from None
    return timezone.make_aware(moment)


def format_timestamp(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d%H%M%S%z")


# --- The content of an ADT message ---


@dataclass(frozen=True)
class Identifier:
    value: str
    authority: str
    oid: str
    type_code: str


@dataclass(frozen=True)
class Identity:
    """The patient as PID describes them."""

    identifiers: tuple[Identifier, ...] = ()
    birth_name: str = ""
    # All the birth first names (PID-5.3 in the French profile), and the first of them.
    first_names: str = ""
    first_name: str = ""
    used_name: str = ""
    used_first_name: str = ""
    birth_date: datetime.date | None = None
    sex: str = ""
    birth_place: str = ""
    reliability: tuple[str, ...] = ()

    @property
    def ins(self) -> str:
        """The INS matricule (NIR or NIA) carried in PID-3, if any."""
        for identifier in self.identifiers:
            if identifier.oid in INS_OIDS:
                return identifier.value
        return ""

    @property
    def is_qualified(self) -> bool:
        return QUALIFIED_IDENTITY in self.reliability


@dataclass(frozen=True)
class Visit:
    patient_class: str = ""
    visit_number: str = ""
    ward: str = ""
    admitted_at: datetime.datetime | None = None
    discharged_at: datetime.datetime | None = None


@dataclass(frozen=True)
class Movement:
    """The French PAM ZBE segment: the movement this message is about."""

    movement_id: str = ""
    at: datetime.datetime | None = None
    action: str = ""
    original_event: str = ""
    ward: str = ""


@dataclass(frozen=True)
class AdtMessage:
    header: Header
    identity: Identity
    visit: Visit | None = None
    movement: Movement | None = None
    recorded_at: datetime.datetime | None = None
    occurred_at: datetime.datetime | None = None
    prior_identifiers: tuple[Identifier, ...] = ()

    @property
    def event(self) -> str:
        return self.header.event

    @property
    def visit_number(self) -> str:
        return self.visit.visit_number if self.visit else ""

    @property
    def ward(self) -> str:
        if self.movement and self.movement.ward:
            return self.movement.ward
        return self.visit.ward if self.visit else ""

    def event_time(self) -> datetime.datetime | None:
        """When what the message reports happened: the admission or discharge time of
        PV1, else the movement's (ZBE-2), else the event's (EVN-6, EVN-2), else MSH-7."""
        visit, movement = self.visit or Visit(), self.movement or Movement()
        first: list[datetime.datetime | None] = []
        if self.event in ("A01", "A04"):
            first = [visit.admitted_at]
        elif self.event == "A03":
            first = [visit.discharged_at]
        candidates = [*first, movement.at, self.occurred_at, self.recorded_at, self.header.sent_at]
        return next((moment for moment in candidates if moment is not None), None)


def _segments(raw: str, separators: Separators) -> dict[str, list[Segment]]:
    found: dict[str, list[Segment]] = {}
    for number, line in enumerate(split_segments(raw), start=1):
        segment = _segment(line.lstrip("\ufeff"), separators)
        if not _SEGMENT_NAME.match(segment.name):
            raise HL7Error(
                _("Segment n° %(number)s : nom de segment invalide.") % {"number": number},
                segment=segment.name[:3] or "?",
                code=SEGMENT_SEQUENCE_ERROR,
            )
        found.setdefault(segment.name, []).append(segment)
    return found


def _identifiers(segment: Segment, number: int) -> tuple[Identifier, ...]:
    return tuple(
        Identifier(
            value=segment.part(repetition, 1),
            authority=segment.part(repetition, 4, 1),
            oid=segment.part(repetition, 4, 2),
            type_code=segment.part(repetition, 5).upper(),
        )
        for repetition in segment.repetitions(number)
        if segment.part(repetition, 1)
    )


def _names(pid: Segment) -> dict[str, str]:
    """PID-5: the birth name (type L) and the used name (type D)."""
    names: dict[str, str] = {}
    repetitions = pid.repetitions(5)
    for repetition in repetitions:
        name_type = pid.part(repetition, 7).upper()
        # A lone name without a type is the birth name (older senders).
        if name_type == "L" or (not name_type and len(repetitions) == 1):
            first_name = pid.part(repetition, 2)
            names["birth_name"] = pid.part(repetition, 1)
            names["first_name"] = first_name
            names["first_names"] = pid.part(repetition, 3) or first_name
        elif name_type == "D":
            names["used_name"] = pid.part(repetition, 1)
            names["used_first_name"] = pid.part(repetition, 2)
    if names.get("first_names") and not names.get("first_name"):
        names["first_name"] = names["first_names"].split()[0]
    return names


def _birth_place(pid: Segment) -> str:
    """The INSEE code of the birth commune: PID-11 of type BDL (component 9), or PID-23."""
    candidates = [
        pid.part(repetition, 9)
        for repetition in pid.repetitions(11)
        if pid.part(repetition, 7).upper() == "BDL"
    ]
    candidates.append(pid.value(23))
    for candidate in candidates:
        try:
            validate_insee_commune(candidate)
        except ValidationError:  # not an INSEE code: look at the next one
            continue
        return candidate
    return ""


def read_identity(pid: Segment) -> Identity:
    """The patient's identity from PID; HL7Error naming the field when one is unreadable."""
    identifiers = _identifiers(pid, 3)
    if not identifiers:
        raise HL7Error(
            _("PID-3 : identifiant du patient absent."),
            segment="PID",
            field=3,
            code=REQUIRED_FIELD_MISSING,
        )
    names = _names(pid)
    if not names.get("birth_name") and not names.get("used_name"):
        raise HL7Error(
            _("PID-5 : nom du patient absent."),
            segment="PID",
            field=5,
            code=REQUIRED_FIELD_MISSING,
        )
    for identifier in identifiers:
        if identifier.oid in INS_OIDS and not stdnum_nir.is_valid(identifier.value):
            raise HL7Error(
                _("PID-3 : matricule INS invalide (15 caractères avec une clé attendus)."),
                segment="PID",
                field=3,
            )
    sex_code = pid.value(8).upper()
    if sex_code and sex_code not in _SEXES:
        raise HL7Error(
            _("PID-8 : sexe inconnu (F, M ou U attendu)."),
            segment="PID",
            field=8,
            code=TABLE_VALUE_NOT_FOUND,
        )
    return Identity(
        identifiers=identifiers,
        **names,
        birth_date=parse_date(pid.value(7), segment="PID", field=7, label=_("date de naissance")),
        sex=_SEXES.get(sex_code, ""),
        birth_place=_birth_place(pid),
        reliability=tuple(pid.part(repetition, 1).upper() for repetition in pid.repetitions(32)),
    )


def _visit(pv1: Segment) -> Visit:
    return Visit(
        patient_class=pv1.value(2).upper(),
        ward=pv1.value(3, 1),
        visit_number=pv1.value(19, 1),
        admitted_at=parse_timestamp(
            pv1.value(44), segment="PV1", field=44, label=_("date d'admission")
        ),
        discharged_at=parse_timestamp(
            pv1.value(45), segment="PV1", field=45, label=_("date de sortie")
        ),
    )


def _movement(zbe: Segment) -> Movement:
    return Movement(
        movement_id=zbe.value(1, 1),
        at=parse_timestamp(zbe.value(2), segment="ZBE", field=2, label=_("date du mouvement")),
        action=zbe.value(4).upper(),
        original_event=zbe.value(6).upper(),
        ward=zbe.value(7, 1),
    )


def _one(segments: dict[str, list[Segment]], name: str, *, required: bool) -> Segment | None:
    found = segments.get(name)
    if found:
        return found[0]
    if required:
        raise HL7Error(
            _("%(segment)s : segment absent.") % {"segment": name},
            segment=name,
            code=SEGMENT_SEQUENCE_ERROR,
        )
    return None


def read_adt(raw: str) -> AdtMessage:
    """The whole message, checked; HL7Error (AR for the header, AE for the content)."""
    header = read_header(raw)
    try:
        return _read_content(raw, header)
    except HL7Error as error:
        error.header = header
        raise


def _read_content(raw: str, header: Header) -> AdtMessage:
    segments = _segments(raw, header.separators)
    evn = _one(segments, "EVN", required=False)
    pid = _one(segments, "PID", required=True)
    identity = read_identity(pid)
    pv1 = _one(segments, "PV1", required=header.event not in _WITHOUT_VISIT)
    zbe = _one(segments, "ZBE", required=False)
    mrg = _one(segments, "MRG", required=header.event == "A40")
    visit = _visit(pv1) if pv1 else None
    if header.event in CANCELLATIONS and not (visit and visit.visit_number):
        raise HL7Error(
            _("PV1-19 : numéro de venue absent (il désigne le mouvement annulé)."),
            segment="PV1",
            field=19,
            code=REQUIRED_FIELD_MISSING,
        )
    if visit and len(visit.visit_number) > 50:
        raise HL7Error(
            _("PV1-19 : numéro de venue trop long (50 caractères au plus)."),
            segment="PV1",
            field=19,
        )
    return AdtMessage(
        header=header,
        identity=identity,
        visit=visit,
        movement=_movement(zbe) if zbe else None,
        recorded_at=parse_timestamp(
            evn.value(2), segment="EVN", field=2, label=_("date d'enregistrement")
        )
        if evn
        else None,
        occurred_at=parse_timestamp(
            evn.value(6), segment="EVN", field=6, label=_("date de l'événement")
        )
        if evn
        else None,
        prior_identifiers=_identifiers(mrg, 1) if mrg else (),
    )


def identity_for_review(raw: str) -> Identity | None:
    """The PID traits of a stored message, as far as they can be read (for the
    administrators' review; a field that cannot be read is left empty)."""
    try:
        header = read_header(raw)
    except HL7Error as error:
        if error.header is None:
            return None
        header = error.header
    try:
        pid = _segments(raw, header.separators).get("PID")
    except HL7Error:
        return None
    if not pid:
        return None
    try:
        return read_identity(pid[0])
    except HL7Error:
        names = _names(pid[0])
        return Identity(identifiers=_identifiers(pid[0], 3), **names)


# --- Acknowledgements ---


def build_ack(
    *,
    header: Header | None,
    code: str,
    text: str,
    error: HL7Error | None = None,
    now: datetime.datetime | None = None,
) -> str:
    """The ACK of a message: MSH (sender and receiver swapped), MSA (code, the message's
    MSH-10, a text) and, for AE/AR, ERR naming the segment and field. Our own MSH-18 says
    UTF-8: the ACK is sent as UTF-8 whatever the message's charset."""
    now = now or timezone.now()
    event = header.event if header and header.event in SUPPORTED_EVENTS else ""
    msh = [
        "MSH",
        STANDARD.encoding_characters,
        "TSN",
        "TSN",
        "^".join(escape(part) for part in header.sending_application).rstrip("^") if header else "",
        "^".join(escape(part) for part in header.sending_facility).rstrip("^") if header else "",
        format_timestamp(now),
        "",
        f"ACK^{event}^ACK" if event else "ACK",
        uuid.uuid4().hex[:20],
        escape(header.processing_id[:3]) if header and header.processing_id else "P",
        "2.5",
        *[""] * 4,  # MSH-13 to MSH-16
        "FRA",
        "UNICODE UTF-8",
    ]
    segments = [
        "|".join(msh),
        "|".join(
            [
                "MSA",
                code,
                escape(header.control_id) if header else "",
                escape(text[:_MSA_TEXT_MAX]),
            ]
        ),
    ]
    if error is not None:
        location = [error.segment, "1"] + ([str(error.field)] if error.field else [])
        segments.append(
            "|".join(
                [
                    "ERR",
                    "",
                    "^".join(escape(part) for part in location),
                    f"{error.code}^{_ERROR_LABELS.get(error.code, '')}^HL70357",
                    "E",
                    *[""] * 3,  # ERR-5 to ERR-7
                    escape(error.reason),  # ERR-8, the user message
                ]
            )
        )
    return "\r".join(segments) + "\r"
