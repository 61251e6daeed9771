"""The coordinator's worklist: open alerts and due or overdue steps of their caseload, most
severe first, then by due date; and the caseload list with its data-quality figures.

A coordinator's caseload is the pathways they are the referent of and that are not closed.
Items are read with one SQL statement (a UNION of alerts and steps, sorted and cut in the
database, `worklist_sql`); the access policy is then applied to the patients of the rows
shown.
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import gettext

from pathways.models import Alert, CarePlan, Pathway, Step
from patients.access import visible_patients
from patients.models import Patient
from professionals.models import Professional
from tsn.models import User

# Steps due within this many days are on the worklist before they are late.
DUE_SOON_DAYS = 7
# A step this many days late is as urgent as an urgent alert.
VERY_LATE_DAYS = 30
WORKLIST_SIZE = 100


@dataclass(frozen=True)
class WorklistFilters:
    kind: str = ""  # "alert", "step" or "" for both
    severity: int | None = None
    template: str = ""  # a template code
    overdue_only: bool = False


@dataclass(frozen=True, slots=True)
class WorkItem:
    """What the worklist shows of one alert or step, computed once per page (the template
    only prints: a page has 100 rows)."""

    kind: str
    pk: int
    severity: int
    due: datetime.date
    status: str
    title: str
    patient_id: int
    patient_name: str
    pathway_id: int | None
    step_id: int | None
    overdue: bool
    is_alert: bool
    kind_label: str
    severity_label: str
    severity_class: str
    status_label: str
    due_label: str
    patient_url: str
    open_url: str


class _Display:
    """Labels translated and URLs reversed once per page, not once per row."""

    SEVERITY_CLASSES = {
        Alert.Severity.URGENT: "text-bg-danger",
        Alert.Severity.WARNING: "text-bg-warning",
        Alert.Severity.INFO: "text-bg-info",
    }
    # Stand-ins reversed once, then replaced by each row's ids.
    _PATIENT, _PATHWAY, _STEP = 900000001, 900000002, 900000003

    def __init__(self) -> None:
        self.kinds = {"alert": gettext("Alerte"), "step": gettext("Étape")}
        self.severities = {value: str(label) for value, label in Alert.Severity.choices}
        self.statuses = {
            ("alert", Alert.Status.OPEN): gettext("Ouverte"),
            ("alert", Alert.Status.ACKNOWLEDGED): gettext("Prise en compte"),
            ("step", Step.Status.PLANNED): gettext("Prévue"),
            ("step", Step.Status.SCHEDULED): gettext("Programmée"),
        }
        self.short_date = get_format("SHORT_DATE_FORMAT")
        self.patient_url = reverse("patients:detail", args=[self._PATIENT])
        self.pathway_url = reverse(
            "pathways:pathway_detail", kwargs={"pk": self._PATIENT, "pathway_pk": self._PATHWAY}
        )
        self.step_url = reverse(
            "pathways:step",
            kwargs={"pk": self._PATIENT, "pathway_pk": self._PATHWAY, "step_pk": self._STEP},
        )

    def date(self, value: datetime.date) -> str:
        return dateformat.format(value, self.short_date)

    def url(self, template: str, patient_id: int, pathway_id: int = 0, step_id: int = 0) -> str:
        return (
            template.replace(str(self._PATIENT), str(patient_id))
            .replace(str(self._PATHWAY), str(pathway_id))
            .replace(str(self._STEP), str(step_id))
        )


# The worklist as one SQL statement: the alerts assigned to the user, the alerts about the
# patients of their caseload (two index scans: an OR of the two would read every alert) and
# the open steps of their active pathways due soon, as a UNION (an alert both assigned and
# about the caseload is listed once), sorted and cut in the database. Written in SQL: the
# ORM spent longer building and compiling this statement than PostgreSQL running it.
# Columns, in order: kind, id, severity, due, status, title, patient_id, the patient's four
# name fields, pathway_id, step_id.
_CASELOAD_SQL = """
    SELECT id, patient_id, status, template_id FROM pathways_pathway
     WHERE referent_id = %(professional)s AND NOT status = ANY(%(closed)s)"""
_ALERTS_SQL = """
    SELECT 'alert' AS kind, a.id, a.severity,
           (coalesce(a.due_at, a.created_at) AT TIME ZONE %(tz)s)::date AS due,
           a.status, a.message AS title, a.patient_id, pt.used_last_name, pt.birth_last_name,
           pt.used_first_name, pt.first_names, a.pathway_id, a.step_id
      FROM pathways_alert a JOIN patients_patient pt ON pt.id = a.patient_id
     WHERE a.status <> %(resolved)s AND {whose}{template}"""
_ALERTS_OF_TEMPLATE = """
       AND EXISTS (SELECT FROM pathways_pathway pw
                     JOIN pathways_pathwaytemplate t ON t.id = pw.template_id
                    WHERE pw.id = a.pathway_id AND t.code = %(template)s)"""
_STEPS_SQL = """
    SELECT 'step' AS kind, s.id,
           CASE WHEN s.due_on < %(very_late)s THEN %(urgent)s
                WHEN s.due_on < %(today)s THEN %(warning)s ELSE %(info)s END AS severity,
           s.due_on AS due, s.status, st.name AS title, pw.patient_id, pt.used_last_name,
           pt.birth_last_name, pt.used_first_name, pt.first_names, s.pathway_id,
           s.id AS step_id
      FROM pathways_step s
      JOIN caseload pw ON pw.id = s.pathway_id AND pw.status = %(active)s
      JOIN pathways_steptemplate st ON st.id = s.template_step_id
      JOIN patients_patient pt ON pt.id = pw.patient_id
     WHERE s.status = ANY(%(open_steps)s) AND s.due_on <= %(soon)s{template}"""
_STEPS_OF_TEMPLATE = """
       AND pw.template_id IN (SELECT id FROM pathways_pathwaytemplate WHERE code = %(template)s)"""


def worklist_sql(filters: WorklistFilters) -> str:
    """The worklist's statement for these filters (its parameters: `worklist_params`)."""
    parts = []
    if filters.kind in ("", "alert"):
        template = _ALERTS_OF_TEMPLATE if filters.template else ""
        parts += [
            _ALERTS_SQL.format(whose="a.assignee_id = %(user)s", template=template),
            _ALERTS_SQL.format(
                whose="a.patient_id IN (SELECT patient_id FROM caseload)", template=template
            ),
        ]
    if filters.kind in ("", "step"):
        parts.append(_STEPS_SQL.format(template=_STEPS_OF_TEMPLATE if filters.template else ""))
    conditions = ["TRUE"]
    if filters.severity:
        conditions.append("severity = %(severity)s")
    if filters.overdue_only:
        conditions.append("due < %(today)s")
    # Our own fragments only; every value is a parameter.
    return (
        f"WITH caseload AS ({_CASELOAD_SQL}) "  # noqa: S608 - our fragments  # nosec B608
        f"SELECT * FROM ({' UNION '.join(parts)}) items WHERE {' AND '.join(conditions)} "
        "ORDER BY severity DESC, due, kind, id LIMIT %(limit)s"
    )


def worklist_params(
    user: User, professional: Professional, filters: WorklistFilters, today: datetime.date
) -> dict[str, object]:
    return {
        "user": user.pk,
        "professional": professional.pk,
        "closed": list(Pathway.CLOSED_STATUSES),
        "active": Pathway.Status.ACTIVE,
        "resolved": Alert.Status.RESOLVED,
        "open_steps": list(Step.OPEN_STATUSES),
        "tz": timezone.get_current_timezone_name(),
        "today": today,
        "soon": today + datetime.timedelta(days=DUE_SOON_DAYS),
        "very_late": today - datetime.timedelta(days=VERY_LATE_DAYS),
        "urgent": Alert.Severity.URGENT,
        "warning": Alert.Severity.WARNING,
        "info": Alert.Severity.INFO,
        "template": filters.template,
        "severity": filters.severity,
        "limit": WORKLIST_SIZE + 1,
    }


def worklist(
    user: User, filters: WorklistFilters, today: datetime.date
) -> tuple[list[WorkItem], bool]:
    """The items, most severe first then by due date, and whether more were left out."""
    if filters.kind not in ("", "alert", "step"):
        return [], False
    with connection.cursor() as cursor:
        cursor.execute(
            worklist_sql(filters), worklist_params(user, user.professional, filters, today)
        )
        rows = cursor.fetchall()
    more = len(rows) > WORKLIST_SIZE
    rows = rows[:WORKLIST_SIZE]
    # The policy decides, for the patients of the rows shown (an objection, for one).
    allowed = visible_ids(user, {row[6] for row in rows})
    display = _Display()
    items = [_item(row, today, display) for row in rows if row[6] in allowed]
    return items, more


def visible_ids(user: User, patient_ids: set[int]) -> set[int]:
    """Which of these patients the user may see: the policy, asked about them alone."""
    patients = Patient.objects.filter(pk__any=list(patient_ids))
    return set(visible_patients(patients, user, only=patient_ids).values_list("pk", flat=True))


def _item(row: tuple, today: datetime.date, display: _Display) -> WorkItem:
    kind, pk, severity, due, status, title, patient_id = row[:7]
    used_last, birth_last, used_first, first_names, pathway_id, step_id = row[7:]
    if step_id and pathway_id:
        open_url = display.url(display.step_url, patient_id, pathway_id, step_id)
    elif pathway_id:
        open_url = display.url(display.pathway_url, patient_id, pathway_id)
    else:
        open_url = display.url(display.patient_url, patient_id)
    return WorkItem(
        kind=kind,
        pk=pk,
        severity=severity,
        due=due,
        status=status,
        title=title,
        patient_id=patient_id,
        patient_name=f"{used_last or birth_last} {used_first or first_names.split(' ')[0]}",
        pathway_id=pathway_id,
        step_id=step_id,
        overdue=due < today,
        is_alert=kind == "alert",
        kind_label=display.kinds[kind],
        severity_label=display.severities.get(severity, ""),
        severity_class=display.SEVERITY_CLASSES.get(severity, "text-bg-info"),
        status_label=display.statuses.get((kind, status), status),
        due_label=display.date(due),
        patient_url=display.url(display.patient_url, patient_id),
        open_url=open_url,
    )


_NAMES = ("used_last_name", "birth_last_name", "used_first_name", "first_names")

# --- The caseload list and its data quality -------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    """What the caseload list shows of one pathway, computed once per page."""

    pk: int
    patient_name: str
    patient_url: str
    pathway_name: str
    pathway_url: str
    status_label: str
    enrolled_label: str
    referent: str
    commune: str
    overdue_steps: int


# The columns a caseload row is built from, in CaseloadRow's order of use (plain rows, not
# model instances: the page reads 50 pathways with their patient, template and referent).
CASELOAD_COLUMNS = (
    "pk", "patient_id", "status", "enrolled_on", "template__name",
    *(f"patient__{name}" for name in _NAMES), "patient__commune__name",
    "referent__first_name", "referent__last_name", "overdue_steps",
)  # fmt: skip


def caseload_rows(rows: list[tuple]) -> list[CaseloadRow]:
    """Display rows from `CASELOAD_COLUMNS` tuples (see `with_overdue_counts`)."""
    display = _Display()
    statuses = {value: str(label) for value, label in Pathway.Status.choices}
    page = []
    for (
        pk, patient_id, status, enrolled_on, template_name,
        used_last, birth_last, used_first, first_names, commune,
        referent_first, referent_last, overdue_steps,
    ) in rows:  # fmt: skip
        page.append(
            CaseloadRow(
                pk=pk,
                patient_name=f"{used_last or birth_last} {used_first or first_names.split(' ')[0]}",
                patient_url=display.url(display.patient_url, patient_id),
                pathway_name=template_name,
                pathway_url=display.url(display.pathway_url, patient_id, pk),
                status_label=statuses.get(status, status),
                enrolled_label=display.date(enrolled_on),
                referent=f"{referent_first} {referent_last}" if referent_last else "—",
                commune=commune or "—",
                overdue_steps=overdue_steps,
            )
        )
    return page


@dataclass(frozen=True)
class CaseloadFilters:
    template: str = ""
    status: str = ""  # a pathway status; "" = every open one
    overdue_only: bool = False
    commune: str = ""  # a commune's name (accents and case ignored) or INSEE code
    referent: str = "me"  # "me", "all", "none", or a professional id
    quality: str = ""  # one of QUALITY_FILTERS


def _quality_filters(today: datetime.date) -> dict[str, Q]:
    """The files a data-quality figure counts, as conditions on pathways."""
    review_overdue = Exists(
        CarePlan.objects.filter(patient=OuterRef("patient"), next_review_on__lt=today)
    )
    return {
        "ins": ~Q(patient__identity_status=Patient.IdentityStatus.QUALIFIED),
        "gp": Q(patient__gp__isnull=True),
        "review": Q(review_overdue),
        "referent": Q(referent__isnull=True),
    }


QUALITY_FILTERS = ("ins", "gp", "review", "referent")


def services_of(professional: Professional) -> QuerySet:
    return professional.support_services.values("pk")


def caseload_pathways(
    professional: Professional, filters: CaseloadFilters, today: datetime.date
) -> QuerySet[Pathway]:
    """The pathways of the professional's services matching the filters."""
    pathways = Pathway.objects.filter(support_service__in=services_of(professional))
    pathways = (
        pathways.filter(status=filters.status)
        if filters.status
        else pathways.exclude(status__in=Pathway.CLOSED_STATUSES)
    )
    if filters.template:
        pathways = pathways.filter(template__code=filters.template)
    if filters.commune:
        pathways = pathways.filter(
            Q(patient__commune__insee_code=filters.commune)
            | Q(patient__commune__name__unaccent__iexact=filters.commune)
        )
    if filters.referent == "me":
        pathways = pathways.filter(referent=professional)
    elif filters.referent == "none":
        pathways = pathways.filter(referent__isnull=True)
    elif filters.referent.isdigit():
        pathways = pathways.filter(referent_id=int(filters.referent))
    if filters.overdue_only:
        pathways = pathways.filter(
            Exists(
                Step.objects.filter(
                    pathway=OuterRef("pk"), status__in=Step.OPEN_STATUSES, due_on__lt=today
                )
            )
        )
    if filters.quality in QUALITY_FILTERS:
        pathways = pathways.filter(_quality_filters(today)[filters.quality])
    return pathways


def with_overdue_counts(pathways: QuerySet[Pathway], today: datetime.date) -> QuerySet[Pathway]:
    """Each pathway's count of overdue steps, as a correlated subquery: computed for the
    rows of the page only, after the LIMIT."""
    overdue = (
        Step.objects.filter(pathway=OuterRef("pk"), status__in=Step.OPEN_STATUSES, due_on__lt=today)
        .order_by()
        .values("pathway")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return pathways.annotate(overdue_steps=Coalesce(Subquery(overdue), 0))


@dataclass(frozen=True)
class QualityFigure:
    key: str
    count: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.count / self.total) if self.total else 0


def data_quality(professional: Professional, today: datetime.date) -> list[QualityFigure]:
    """How many open files of the professional's services lack each quality mark (one
    query)."""
    pathways = Pathway.objects.filter(support_service__in=services_of(professional)).exclude(
        status__in=Pathway.CLOSED_STATUSES
    )
    conditions = _quality_filters(today)
    counts = pathways.aggregate(
        total=Count("pk"),
        **{key: Count("pk", filter=conditions[key]) for key in QUALITY_FILTERS},
    )
    return [QualityFigure(key, counts[key], counts["total"]) for key in QUALITY_FILTERS]
