"""FHIR search: typed parameters (token, string, date with its prefixes, reference), `_count`
and the keyset cursor of the next page.

Each parameter of a resource type turns its values into a `Q`: the values of one
occurrence are ORed (`status=a,b`), repeated occurrences are ANDed (`date=ge…&date=le…`).
A parameter this server does not know is ignored, as FHIR's lenient handling says, unless
the client sends `Prefer: handling=strict` (then a 400); a malformed value is always a 400.
Pages are keyset pages: rows after the last one shown, never an OFFSET, never a COUNT.
"""

import base64
import binascii
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.fhir.errors import FhirError, invalid

DEFAULT_COUNT = 50
MAX_COUNT = 200
# What a search may carry besides its parameters; `_format` is checked by the renderer's
# negotiation, `_pretty` changes nothing here.
CONTROL_PARAMETERS = frozenset({"_count", "_cursor", "_format", "_pretty"})
# Longer values are cut (no name, code or id comes near it).
MAX_VALUE_LENGTH = 200
# Matches no row (Django answers it without a query).
NOTHING = Q(pk__in=[])

Token = tuple[str | None, str]


@dataclass(frozen=True)
class Reference:
    type: str | None
    id: int


@dataclass(frozen=True)
class DateRange:
    """A date parameter: its prefix and the range its value covers, [start, end)."""

    prefix: str
    start: datetime.datetime
    end: datetime.datetime


@dataclass(frozen=True)
class Param:
    """One search parameter of a resource type: its FHIR type, what it searches (for the
    CapabilityStatement), and how a parsed value becomes a condition on the rows."""

    type: str
    documentation: str
    to_q: Callable[[object, str], Q] | None = None  # (value, modifier) -> Q
    modifiers: tuple[str, ...] = ()
    # The parameter names the patient (`patient`, `subject`): the access check uses it.
    names_the_patient: bool = False


@dataclass
class Search:
    """A parsed search: the conditions, the patient it is about (if named), the page."""

    conditions: list[Q] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    patient_id: int | None = None
    count: int = DEFAULT_COUNT
    cursor: tuple[int, ...] | None = None
    # The parameters applied, as sent: the self and next links repeat them.
    applied: list[tuple[str, str]] = field(default_factory=list)


# --- Values --------------------------------------------------------------------------------


def _values(name: str, raw: str) -> list[str]:
    values = [value.strip()[:MAX_VALUE_LENGTH] for value in raw.split(",")]
    if not all(values) or "\x00" in raw:
        raise invalid(
            _("Le paramètre « %(name)s » a une valeur vide ou invalide.") % {"name": name},
            f"Parameter '{name}' has an empty or invalid value.",
        )
    return values


def parse_token(raw: str) -> Token:
    """`system|code`, `|code` (no system) or `code` (any system)."""
    if "|" not in raw:
        return None, raw
    system, _bar, code = raw.partition("|")
    return system or None, code


_REFERENCE = re.compile(r"^(?:(?:.*/)?(?P<type>[A-Z][A-Za-z]+)/)?(?P<id>[0-9]{1,18})$")


def parse_reference(name: str, raw: str) -> Reference:
    """`12`, `Patient/12` or an absolute URL ending with `Patient/12`."""
    match = _REFERENCE.match(raw)
    if match is None:
        raise invalid(
            _("Le paramètre « %(name)s » attend une référence (par exemple Patient/12).")
            % {"name": name},
            f"Parameter '{name}' expects a reference such as Patient/12, got '{raw}'.",
        )
    return Reference(match["type"], int(match["id"]))


_DATE = re.compile(
    r"^(?P<prefix>[a-z]{2})?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?P<time>T\d{2}:\d{2}(?P<seconds>:\d{2}(?P<fraction>\.\d+)?)?.*)?)?)?$"
)
SUPPORTED_PREFIXES = ("eq", "gt", "lt", "ge", "le")


def _bad_date(name: str, raw: str) -> FhirError:
    return invalid(
        _(
            "Le paramètre « %(name)s » attend une date (AAAA, AAAA-MM, AAAA-MM-JJ ou date et "
            "heure avec fuseau), éventuellement précédée de eq, gt, lt, ge ou le."
        )
        % {"name": name},
        f"Parameter '{name}': '{raw}' is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or an "
        "instant with its offset), optionally prefixed by eq, gt, lt, ge or le.",
    )


def parse_date(name: str, raw: str) -> DateRange:
    """The range a FHIR date value covers: a year, a month, a day (local time), or an
    instant to its precision."""
    match = _DATE.match(raw)
    if match is None:
        raise _bad_date(name, raw)
    prefix = match["prefix"] or "eq"
    if prefix not in SUPPORTED_PREFIXES:
        raise FhirError(
            400,
            "not-supported",
            _("Préfixe de date « %(prefix)s » non pris en charge (eq, gt, lt, ge, le).")
            % {"prefix": prefix},
            f"Date prefix '{prefix}' is not supported (eq, gt, lt, ge, le).",
        )
    value = raw[len(match["prefix"] or "") :]
    try:
        if match["time"]:
            start = datetime.datetime.fromisoformat(value)
            if timezone.is_naive(start):
                raise ValueError("a time needs its offset")
            if match["fraction"]:
                step = datetime.timedelta(microseconds=1)
            elif match["seconds"]:
                step = datetime.timedelta(seconds=1)
            else:
                step = datetime.timedelta(minutes=1)
            return DateRange(prefix, start, start + step)
        year, month, day = int(match["year"]), int(match["month"] or 1), int(match["day"] or 1)
        first = datetime.date(year, month, day)
        if match["day"]:
            after = first + datetime.timedelta(days=1)
        elif match["month"]:
            after = (first + datetime.timedelta(days=31)).replace(day=1)
        else:
            after = first.replace(year=year + 1)
        return DateRange(prefix, _local_midnight(first), _local_midnight(after))
    except (ValueError, OverflowError):
        raise _bad_date(name, raw) from None


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _local_day_after(moment: datetime.datetime) -> datetime.date:
    """The first local day that starts at or after `moment` (an exclusive end as a date)."""
    local = timezone.localtime(moment)
    if local.time() == datetime.time.min:
        return local.date()
    return local.date() + datetime.timedelta(days=1)


def date_condition(path: str, value: DateRange, *, is_date: bool = False) -> Q:
    """The rows whose `path` (a datetime, or a date when `is_date`) meets the parameter."""
    start, end = value.start, value.end
    if is_date:
        start, end = timezone.localtime(start).date(), _local_day_after(end)
    return {
        "eq": Q(**{f"{path}__gte": start, f"{path}__lt": end}),
        "ge": Q(**{f"{path}__gte": start}),
        "gt": Q(**{f"{path}__gte": end}),
        "le": Q(**{f"{path}__lt": end}),
        "lt": Q(**{f"{path}__lt": start}),
    }[value.prefix]


# --- Parameter kinds -------------------------------------------------------------------------


def token(documentation: str, to_q: Callable[[Token], Q]) -> Param:
    return Param("token", documentation, lambda value, _modifier: to_q(value))


def reference(documentation: str, to_q: Callable[[Reference], Q]) -> Param:
    return Param("reference", documentation, lambda value, _modifier: to_q(value))


def patient_reference(documentation: str) -> Param:
    return Param("reference", documentation, names_the_patient=True)


def ids() -> Param:
    return Param(
        "token",
        "The resource's id (comma-separated for several).",
        lambda value, _modifier: Q(pk=value),
    )


def date(documentation: str, path: str, *, is_date: bool = False, also: Q | None = None) -> Param:
    """A date parameter on `path`; `also` joins the condition to the same related row."""

    def to_q(value: DateRange, _modifier: str) -> Q:
        condition = date_condition(path, value, is_date=is_date)
        return condition & also if also is not None else condition

    return Param("date", documentation, to_q)


def _word_start(path: str, value: str) -> Q:
    """FHIR string matching: the value begins the text or one of its words ("lyon" finds
    "l'Est lyonnais"); case and accents ignored."""
    return Q(**{f"{path}__unaccent__iregex": rf"(^|[^[:alnum:]]){re.escape(value)}"})


def string(documentation: str, *paths: str) -> Param:
    """A string parameter over the fields `paths`; `:exact` and `:contains` modifiers."""

    def to_q(value: str, modifier: str) -> Q:
        conditions = Q()
        for path in paths:
            if modifier == "exact":
                conditions |= Q(**{path: value})
            elif modifier == "contains":
                conditions |= Q(**{f"{path}__unaccent__icontains": value})
            else:
                conditions |= _word_start(path, value)
        return conditions

    return Param("string", documentation, to_q, modifiers=("exact", "contains"))


# --- Parsing a request ------------------------------------------------------------------------


def _parsed(param: Param, name: str, raw: str) -> object:
    if param.type == "date":
        return parse_date(name, raw)
    if param.type == "reference":
        return parse_reference(name, raw)
    if name == "_id":
        if not raw.isdigit() or len(raw) > 18:
            return None  # an id that cannot exist here: matches nothing
        return int(raw)
    if param.type == "token":
        return parse_token(raw)
    return raw


def _count(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise invalid(
            _("« _count » doit être un entier positif (au plus %(max)d).") % {"max": MAX_COUNT},
            f"_count must be a positive integer (at most {MAX_COUNT}).",
        )
    return min(int(raw), MAX_COUNT)


def encode_cursor(key: tuple[int, ...]) -> str:
    return base64.urlsafe_b64encode(".".join(map(str, key)).encode()).decode().rstrip("=")


def _cursor(raw: str, length: int) -> tuple[int, ...]:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        key = tuple(int(part) for part in text.split("."))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ()
    if len(key) != length or any(part < 0 or part >= 10**18 for part in key):
        raise invalid(
            _("Curseur de pagination invalide : suivez le lien « next » tel quel."),
            "Invalid paging cursor: follow the 'next' link as it is.",
        )
    return key


def _unknown(name: str) -> FhirError:
    return FhirError(
        400,
        "not-supported",
        _("Paramètre de recherche « %(name)s » non pris en charge.") % {"name": name},
        f"Search parameter '{name}' is not supported on this resource type.",
    )


def parse_search(
    query: QueryDict, params: dict[str, Param], *, strict: bool, cursor_length: int = 1
) -> Search:
    """The search a query string asks for, against the resource type's `params`."""
    search = Search()
    for key, raws in query.lists():
        name, _colon, modifier = key.partition(":")
        if key == "_count":
            search.count = _count(raws[-1])
            continue
        if key == "_cursor":
            search.cursor = _cursor(raws[-1], cursor_length)
            continue
        if key in CONTROL_PARAMETERS:
            continue
        param = params.get(name)
        if param is None or (modifier and modifier not in param.modifiers):
            if strict:
                raise _unknown(key)
            continue
        for raw in raws:
            values = [_parsed(param, name, value) for value in _values(name, raw)]
            search.applied.append((key, raw))
            search.names.add(name)
            if param.names_the_patient:
                search.patient_id = _the_patient(name, values, search.patient_id)
                continue
            condition = Q()
            for value in values:
                condition |= NOTHING if value is None else param.to_q(value, modifier)
            search.conditions.append(condition)
    return search


def _the_patient(name: str, values: list, already: int | None) -> int:
    """The one patient a search is about (several would be several access checks)."""
    if len(values) != 1 or already is not None:
        raise FhirError(
            400,
            "not-supported",
            _("Un seul patient par recherche."),
            f"Parameter '{name}': one patient per search.",
        )
    [value] = values
    if value.type not in (None, "Patient"):
        raise invalid(
            _("Le paramètre « %(name)s » désigne un patient (Patient/…).") % {"name": name},
            f"Parameter '{name}' must reference a Patient.",
        )
    return value.id


def keyset_page(queryset: QuerySet, search: Search) -> tuple[list, tuple[int, ...] | None]:
    """One page of rows by increasing id, after the cursor; the next page's key if any."""
    if search.cursor is not None:
        queryset = queryset.filter(pk__gt=search.cursor[0])
    rows = list(queryset.order_by("pk")[: search.count + 1])
    if len(rows) > search.count:
        rows = rows[: search.count]
        return rows, (rows[-1].pk,)
    return rows, None
