"""The evaluation's indicators, as the ARS reads them: five families, each indicator with
its written definition, its value for the period and the previous one, and the trend.

The figures come from the aggregate SQL of `pathways/evaluation/queries.py` (a few
grouped rows per statement); here they are masked (`tsn/disclosure.py`: a count of one
to four people, a share or a statistic that would reveal one, never leaves this module)
and formatted. Nothing here reads a name, an INS or a free text.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.apps import apps
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from pathways.evaluation import charts
from pathways.evaluation.queries import STATEMENTS, EvaluationQuery, run
from pathways.models import Alert, Pathway, PathwayTemplate
from patients.models import Patient
from tsn.disclosure import mask_share, mask_small_count, mask_statistic, suppress_table

Published = int | float | str | None  # a masked count is the string "< 5"; None: not available


class Unit:
    COUNT = "count"
    SHARE = "share"
    DAYS = "days"
    HOURS = "hours"
    MEAN = "mean"


MINUS = "\u2212"  # the typographic minus sign


def _number(value: float, decimals: int) -> str:
    # Rounded here: number_format cuts the digits off (2/3 would read "66 %").
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    return formats.number_format(rounded, decimals, use_l10n=True, force_grouping=True)


def display(value: Published, unit: str) -> str:
    """A published value as the report prints it ("1 234", "42 %", "3,5 j", "< 5", "—")."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == Unit.SHARE:
        return f"{_number(value * 100, 0)} %"
    if unit == Unit.DAYS:
        return gettext("%(days)s j") % {"days": _number(value, 1)}
    if unit == Unit.HOURS:
        return gettext("%(hours)s h") % {"hours": _number(value, 1)}
    if unit == Unit.MEAN:
        return _number(value, 1)
    return _number(value, 0)


def trend(current: Published, previous: Published, unit: str) -> str:
    """The change from the previous period: relative for counts and durations, in points
    for shares; nothing when either value is masked or missing."""
    if not isinstance(current, int | float) or not isinstance(previous, int | float):
        return ""
    if unit == Unit.SHARE:
        points = round((current - previous) * 100)
        return gettext("stable") if points == 0 else _arrow(points, f"{abs(points)} pts")
    if previous == 0:
        return ""
    change = round((current - previous) / previous * 100)
    return gettext("stable") if change == 0 else _arrow(change, f"{abs(change)} %")


def _arrow(change: int, amount: str) -> str:
    """ "↗ +12 %" or "↘ -8 %" (a typographic minus): the arrow first, so no spreadsheet
    reads a formula."""
    return f"↗ +{amount}" if change > 0 else f"↘ {MINUS}{amount}"


@dataclass(frozen=True)
class Indicator:
    code: str
    title: str | Promise
    definition: str | Promise
    unit: str
    current: Published
    previous: Published

    @property
    def current_text(self) -> str:
        return display(self.current, self.unit)

    @property
    def previous_text(self) -> str:
        return display(self.previous, self.unit)

    @property
    def trend(self) -> str:
        return trend(self.current, self.previous, self.unit)


@dataclass(frozen=True)
class Row:
    label: str | Promise
    current: Published
    previous: Published


@dataclass(frozen=True)
class Breakdown:
    """A count or a statistic per category (per pathway, per origin...), both periods."""

    code: str
    title: str | Promise
    definition: str | Promise
    unit: str
    rows: list[Row]
    # In the PDF (False: too long to print, in the CSV only, e.g. per commune).
    printed: bool = True

    def chart(self, current_label: str, previous_label: str) -> charts.BarChart:
        return charts.bar_chart(
            str(self.title),
            [
                charts.Bar(
                    str(row.label),
                    row.current,
                    display(row.current, self.unit),
                    previous=row.previous,
                    previous_display=display(row.previous, self.unit),
                )
                for row in self.rows
            ],
            current_label=current_label,
            previous_label=previous_label,
            format_axis=_percent_axis if self.unit == Unit.SHARE else charts.axis_number,
        )


def _percent_axis(number) -> str:
    """A share's axis label as its bars read ("80 %"), not as a fraction ("0,8")."""
    return display(float(number), Unit.SHARE)


@dataclass(frozen=True)
class Family:
    code: str
    title: str | Promise
    indicators: list[Indicator] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    query: EvaluationQuery
    scope: str
    computed_at: datetime.datetime
    families: list[Family]

    @property
    def indicators(self) -> list[Indicator]:
        return [indicator for family in self.families for indicator in family.indicators]

    @property
    def breakdowns(self) -> list[Breakdown]:
        return [breakdown for family in self.families for breakdown in family.breakdowns]


def scope_label(query: EvaluationQuery) -> str:
    if query.template:
        name = (
            PathwayTemplate.objects.filter(code=query.template)
            .order_by("-is_current", "-version")
            .values_list("name", flat=True)
            .first()
        )
        return gettext("Parcours « %(name)s »") % {"name": name or query.template}
    if query.sector:
        return gettext("Secteur « %(sector)s »") % {"sector": query.sector}
    return gettext("Territoire entier")


def compute_evaluation(
    query: EvaluationQuery, *, progress: Callable[[int], None] = lambda percent: None
) -> Evaluation:
    """Every indicator of the query's period and scope, masked; `progress` is told the
    share of the statements run so far (0 to 100)."""
    now = timezone.now()
    params = query.params(now)
    rows: dict[str, list[dict]] = {}
    for done, (name, statement) in enumerate(STATEMENTS.items(), start=1):
        rows[name] = run(statement, params)
        progress(round(done * 100 / len(STATEMENTS)))
    return Evaluation(
        query=query,
        scope=scope_label(query),
        computed_at=now,
        families=[
            _activity(rows),
            _process(rows),
            _coordination(rows),
            _outcomes(rows),
            _quality(rows),
            _satisfaction(rows),
        ],
    )


# --- From rows to published figures -----------------------------------------------------


def _by_period(rows: Iterable[dict]) -> dict[int, dict]:
    """{1: the reported period's row, 0: the previous one's} (an absent row: {})."""
    found = {row["cur"]: row for row in rows}
    return {1: found.get(1, {}), 0: found.get(0, {})}


def _count(code, title, definition, periods: dict[int, dict], column: str) -> Indicator:
    return Indicator(
        code,
        title,
        definition,
        Unit.COUNT,
        mask_small_count(periods[1].get(column) or 0),
        mask_small_count(periods[0].get(column) or 0),
    )


def _share(code, title, definition, periods, numerator: str, denominator: str) -> Indicator:
    def share(row: dict) -> Published:
        return mask_share(row.get(numerator) or 0, row.get(denominator) or 0)

    return Indicator(code, title, definition, Unit.SHARE, share(periods[1]), share(periods[0]))


def _statistic(code, title, definition, unit, periods, count: str, value: str) -> Indicator:
    def statistic(row: dict) -> Published:
        measured = row.get(value)
        return mask_statistic(row.get(count) or 0, None if measured is None else float(measured))

    return Indicator(code, title, definition, unit, statistic(periods[1]), statistic(periods[0]))


def _counts_breakdown(
    code, title, definition, counts: dict[int, dict[str, int]], labels: dict[str, str], **kwargs
) -> Breakdown:
    """Counts per category for both periods, each period's column masked as a table whose
    total is published (complementary suppression: no masked cell by subtraction)."""
    keys = sorted(set(counts[1]) | set(counts[0]), key=lambda key: str(labels.get(key, key)))
    masked = {
        cur: suppress_table([[counts[cur].get(key, 0) for key in keys]]).cells[0] if keys else []
        for cur in (1, 0)
    }
    rows = [
        Row(labels.get(key, key), masked[1][index], masked[0][index])
        for index, key in enumerate(keys)
    ]
    return Breakdown(code, title, definition, Unit.COUNT, rows, **kwargs)


def _grouped(rows: list[dict], *columns: str) -> dict[int, dict]:
    """The rows of one grouping set of a GROUPING SETS statement: those where exactly
    `columns` are grouped, as {cur: {key: n}} (key: the value, or the tuple of values)."""
    names = ("code", "origin", "sector", "insee_code", "commune", "age_band", "sex")
    wanted = sum(1 << (len(names) - 1 - names.index(column)) for column in columns)
    everything = (1 << len(names)) - 1
    found: dict[int, dict] = {1: {}, 0: {}}
    for row in rows:
        if everything - row["grouping"] == wanted:
            key = row[columns[0]] if len(columns) == 1 else tuple(row[c] for c in columns)
            # (No column: the grand total, under the key ().)
            found[row["cur"]][key] = row["n"]
    return found


def _activity(rows: dict[str, list[dict]]) -> Family:
    followed = _by_period(rows["followed"])
    inclusions = rows["inclusions"]
    totals = _grouped(inclusions)
    actors = _by_period(rows["active_professionals"])
    templates = _template_names()
    communes = {
        (row["insee_code"], row["commune"]): f"{row['commune']} ({row['insee_code']})"
        for row in inclusions
        if row["insee_code"]
    }
    return Family(
        "activity",
        _("Activité"),
        indicators=[
            _count(
                "active_file",
                _("File active"),
                _(
                    "Patients ayant au moins un parcours suivi pendant la période : inclus "
                    "avant sa fin, non terminé avant son début, et plus seulement proposé "
                    "(information du patient recueillie)."
                ),
                followed,
                "patients",
            ),
            Indicator(
                "inclusions",
                _("Nouvelles inclusions"),
                _("Parcours dont la date d'inclusion tombe dans la période (hors proposés)."),
                Unit.COUNT,
                mask_small_count(totals[1].get((), 0)),
                mask_small_count(totals[0].get((), 0)),
            ),
            _count(
                "active_professionals",
                _("Professionnels actifs"),
                _(
                    "Professionnels ayant écrit au moins une entrée dans le fil d'un patient "
                    "suivi pendant la période."
                ),
                actors,
                "professionals",
            ),
            _count(
                "active_organizations",
                _("Structures actives"),
                _(
                    "Établissements et structures auxquels sont rattachées les entrées du fil "
                    "des patients suivis pendant la période."
                ),
                actors,
                "organizations",
            ),
        ],
        breakdowns=[
            _counts_breakdown(
                "inclusions_by_pathway",
                _("Inclusions par parcours"),
                _("Nouvelles inclusions, par modèle de parcours (toutes versions)."),
                _grouped(inclusions, "code"),
                templates,
            ),
            _counts_breakdown(
                "inclusions_by_origin",
                _("Inclusions par origine de la demande"),
                _("Nouvelles inclusions, selon qui a demandé l'inclusion."),
                _grouped(inclusions, "origin"),
                dict(Pathway.Origin.choices),
            ),
            _counts_breakdown(
                "inclusions_by_sector",
                _("Inclusions par secteur"),
                _("Nouvelles inclusions, par secteur de la commune de résidence du patient."),
                _grouped(inclusions, "sector"),
                {"": gettext("Secteur non renseigné")},
            ),
            _age_sex_breakdown(_grouped(inclusions, "age_band", "sex")),
            _counts_breakdown(
                "inclusions_by_commune",
                _("Inclusions par commune"),
                _("Nouvelles inclusions, par commune de résidence du patient."),
                _grouped(inclusions, "insee_code", "commune"),
                {(None, None): gettext("Commune non renseignée"), **communes},
                printed=False,
            ),
        ],
    )


AGE_BANDS = ("0-59", "60-74", "75-84", "85+")


def _age_sex_breakdown(counts: dict[int, dict[tuple, int]]) -> Breakdown:
    """Age band x sex, each period masked as a two-way table (rows and columns totals
    published), printed as one row per cell."""
    # A sex nobody has in either period (often "undetermined") is left out: an empty
    # column reveals nothing and helps no reader.
    sexes = [
        (value, label)
        for value, label in Patient.Sex.choices
        if any(sex == value and n for cur in (1, 0) for (_band, sex), n in counts[cur].items())
    ]
    masked = {}
    for cur in (1, 0):
        table = [[counts[cur].get((band, sex), 0) for sex, _label in sexes] for band in AGE_BANDS]
        masked[cur] = suppress_table(table).cells
    rows = [
        Row(
            pgettext("age band", "%(band)s ans · %(sex)s") % {"band": band, "sex": label},
            masked[1][b][s],
            masked[0][b][s],
        )
        for b, band in enumerate(AGE_BANDS)
        for s, (_sex, label) in enumerate(sexes)
    ]
    return Breakdown(
        "inclusions_by_age_sex",
        _("Inclusions par âge et sexe"),
        _("Nouvelles inclusions, par tranche d'âge à l'inclusion et par sexe."),
        Unit.COUNT,
        rows,
    )


def _process(rows: dict[str, list[dict]]) -> Family:
    steps = _by_period(rows["steps_due"])
    referrals = _by_period(rows["referrals"])
    care_plans = {
        measure: _by_period(row for row in rows["care_plans"] if row["measure"] == measure)
        for measure in ("validation", "review")
    }
    hospital = _by_period(rows["hospital"])
    return Family(
        "process",
        _("Processus"),
        indicators=[
            _share(
                "steps_on_time",
                _("Étapes réalisées dans les délais"),
                _(
                    "Parmi les étapes dont l'échéance tombe dans la période (hors étapes "
                    "déclarées non faites), part réalisées au plus tard à l'échéance."
                ),
                steps,
                "on_time",
                "due",
            ),
            _statistic(
                "referral_first_answer_median",
                _("Délai de première réponse des services d'appui (médiane)"),
                _(
                    "Demandes d'appui envoyées pendant la période pour les patients suivis : "
                    "temps entre l'envoi et la première réponse du service (accusé de "
                    "réception, acceptation ou refus)."
                ),
                Unit.DAYS,
                referrals,
                "answered",
                "first_median",
            ),
            _statistic(
                "referral_first_answer_p90",
                _("Délai de première réponse des services d'appui (90e percentile)"),
                _("Même mesure : neuf demandes sur dix ont reçu une réponse dans ce délai."),
                Unit.DAYS,
                referrals,
                "answered",
                "first_p90",
            ),
            _share(
                "referrals_within_clock",
                _("Demandes d'appui traitées dans le délai du service"),
                _(
                    "Demandes envoyées pendant la période dont le délai de réponse du service "
                    "est échu ou qui ont reçu une réponse : part acceptées ou refusées dans ce "
                    "délai."
                ),
                referrals,
                "within_clock",
                "clock_over",
            ),
            _statistic(
                "care_plan_validation_median",
                _("Délai de l'inclusion au PPCS validé (médiane)"),
                _(
                    "Parcours inclus pendant la période : jours entre l'inclusion et la première "
                    "validation du PPCS par le médecin traitant (parcours sans PPCS validé "
                    "exclus)."
                ),
                Unit.DAYS,
                care_plans["validation"],
                "done",
                "median",
            ),
            _share(
                "care_plans_reviewed_on_time",
                _("PPCS révisés à temps"),
                _(
                    "PPCS dont la date de révision prévue tombe dans la période (et est passée) : "
                    "part pour lesquels une nouvelle version a été enregistrée au plus tard à "
                    "cette date."
                ),
                care_plans["review"],
                "done",
                "n",
            ),
            _share(
                "discharge_contact_7_days",
                _("Contact du médecin traitant ou d'un infirmier dans les 7 jours après la sortie"),
                _(
                    "Sorties d'hospitalisation des patients suivis pendant la période : part "
                    "suivies, dans les 7 jours, d'une consultation ou d'une visite à domicile "
                    "du médecin traitant ou d'un infirmier."
                ),
                hospital,
                "contact_7_days",
                "discharges",
            ),
        ],
        breakdowns=_step_delays(rows["step_delays"], _template_names()),
    )


def _template_names() -> dict[str, str]:
    """Each pathway template's name (that of its current version), by code."""
    return dict(
        PathwayTemplate.objects.order_by("code", "-is_current", "-version")
        .distinct("code")
        .values_list("code", "name")
    )


def _step_delays(rows: list[dict], templates: dict[str, str]) -> list[Breakdown]:
    """The median and the 90th percentile of the delay from enrolment to each step of
    each pathway (days); the percentile in the CSV only (the PDF would double in length)."""
    found = {(row["cur"], row["code"], row["name"]): row for row in rows}
    steps = sorted(
        {(row["code"], row["name"], row["step_order"]) for row in rows},
        key=lambda step: (str(templates.get(step[0], step[0])), step[2], step[1]),
    )

    def delay(statistic: str, cur: int, code: str, name: str) -> Published:
        row = found.get((cur, code, name))
        return mask_statistic(row["n"], row[statistic]) if row else None

    def rows_of(statistic: str) -> list[Row]:
        return [
            Row(
                f"{templates.get(code, code)} — {name}",
                delay(statistic, 1, code, name),
                delay(statistic, 0, code, name),
            )
            for code, name, _order in steps
        ]

    return [
        Breakdown(
            "step_delays",
            _("Délai médian de réalisation des étapes"),
            _(
                "Étapes réalisées pendant la période : jours entre l'inclusion et la "
                "réalisation, médiane par étape de chaque parcours."
            ),
            Unit.DAYS,
            rows_of("median"),
        ),
        Breakdown(
            "step_delays_p90",
            _("Délai de réalisation des étapes (90e percentile)"),
            _(
                "Même mesure : neuf étapes sur dix de chaque parcours ont été réalisées dans "
                "ce délai après l'inclusion."
            ),
            Unit.DAYS,
            rows_of("p90"),
            printed=False,
        ),
    ]


def _coordination(rows: dict[str, list[dict]]) -> Family:
    alerts = rows["alerts"]
    total = _by_period(row for row in alerts if row["grouping"] == 1)
    by_kind = {1: {}, 0: {}}
    for row in alerts:
        if row["grouping"] == 0:
            by_kind[row["cur"]][row["kind"]] = row["raised"]
    followed = _by_period(rows["followed"])
    return Family(
        "coordination",
        _("Coordination"),
        indicators=[
            _count(
                "alerts",
                _("Alertes de coordination émises"),
                _("Alertes levées pendant la période pour les patients suivis pendant celle-ci."),
                total,
                "raised",
            ),
            _statistic(
                "alert_acknowledgement_median",
                _("Délai de prise en compte des alertes (médiane)"),
                _(
                    "Alertes émises pendant la période : heures entre l'alerte et sa prise en "
                    "compte."
                ),
                Unit.HOURS,
                total,
                "acknowledged",
                "ack_median_hours",
            ),
            _count(
                "escalations",
                _("Alertes escaladées"),
                _(
                    "Alertes émises pendant la période qui, faute de prise en compte à temps, "
                    "ont été transmises au coordinateur référent ou d'astreinte."
                ),
                total,
                "escalated",
            ),
            _count(
                "messages",
                _("Messages échangés"),
                _(
                    "Messages du cahier de liaison écrits pendant la période sur les patients "
                    "suivis pendant celle-ci."
                ),
                _by_period(rows["messages"]),
                "messages",
            ),
            _statistic(
                "professionals_per_patient",
                _("Professionnels par patient (moyenne)"),
                _(
                    "Patients suivis : nombre moyen de membres de l'équipe de soins à la fin "
                    "de la période."
                ),
                Unit.MEAN,
                followed,
                "patients",
                "team_mean",
            ),
        ],
        breakdowns=[
            _counts_breakdown(
                "alerts_by_kind",
                _("Alertes par nature"),
                _("Alertes levées pendant la période pour les patients suivis, par nature."),
                by_kind,
                dict(Alert.Kind.choices),
            )
        ],
    )


def _outcomes(rows: dict[str, list[dict]]) -> Family:
    hospital = _by_period(rows["hospital"])

    def mean_stay(row: dict) -> Published:
        stays = row.get("stays") or 0
        return mask_statistic(stays, row["hospital_days"] / stays if stays else None)

    return Family(
        "outcomes",
        _("Résultats"),
        indicators=[
            _share(
                "readmissions_30_days",
                _("Réhospitalisations à 30 jours"),
                _(
                    "Sorties d'hospitalisation des patients suivis pendant la période : part "
                    "suivies d'une nouvelle admission dans les 30 jours. Le flux ADT ne dit pas "
                    "si une admission était programmée : toutes sont comptées (majorant des "
                    "réhospitalisations non programmées)."
                ),
                hospital,
                "readmitted",
                "discharges",
            ),
            _count(
                "emergencies_not_admitted",
                _("Passages aux urgences sans hospitalisation"),
                _(
                    "Passages aux urgences des patients suivis pendant la période, non suivis "
                    "d'une admission dans les 24 heures."
                ),
                hospital,
                "emergencies_not_admitted",
            ),
            Indicator(
                "hospital_days",
                _("Journées d'hospitalisation"),
                _(
                    "Somme des durées des séjours terminés pendant la période (de la dernière "
                    "admission à la sortie), patients suivis."
                ),
                Unit.COUNT,
                mask_statistic(hospital[1].get("stays") or 0, hospital[1].get("hospital_days")),
                mask_statistic(hospital[0].get("stays") or 0, hospital[0].get("hospital_days")),
            ),
            Indicator(
                "mean_stay",
                _("Durée moyenne de séjour"),
                _("Journées d'hospitalisation divisées par le nombre de séjours terminés."),
                Unit.DAYS,
                mean_stay(hospital[1]),
                mean_stay(hospital[0]),
            ),
        ],
    )


def _quality(rows: dict[str, list[dict]]) -> Family:
    followed = _by_period(rows["followed"])
    # Identity, GP and referent are read as they are today: no earlier state to compare.
    current_only = {1: followed[1], 0: {}}
    return Family(
        "quality",
        _("Qualité des dossiers"),
        indicators=[
            _share(
                "qualified_identities",
                _("Identités INS qualifiées"),
                _(
                    "Patients de la file active dont l'identité est qualifiée (INS récupérée "
                    "et identité vérifiée), à la date du rapport."
                ),
                current_only,
                "qualified",
                "patients",
            ),
            _share(
                "files_with_gp",
                _("Dossiers avec un médecin traitant"),
                _("Patients de la file active ayant un médecin traitant, à la date du rapport."),
                current_only,
                "with_gp",
                "patients",
            ),
            Indicator(
                "files_without_referent",
                _("Dossiers sans coordinateur référent"),
                _(
                    "Patients de la file active dont aucun parcours suivi n'a de coordinateur "
                    "référent, à la date du rapport."
                ),
                Unit.COUNT,
                mask_small_count(followed[1].get("without_referent") or 0),
                None,
            ),
        ],
    )


RECEIVED_TITLES = {
    "patient": _("Questionnaires de satisfaction reçus des patients"),
    "caregiver": _("Questionnaires de satisfaction reçus des aidants"),
    "professional": _("Questionnaires de satisfaction reçus des professionnels"),
}


def _satisfaction(rows: dict[str, list[dict]]) -> Family:
    """The satisfaction questionnaires (portal/questionnaires.py): questionnaires received
    per kind of respondent; per kind and question, the answers, the mean score and the
    share of 4 or 5, each masked like any count, statistic or share."""
    # The portal sits above pathways: its model is named, not imported.
    response = apps.get_model("portal", "SatisfactionResponse")
    kinds = dict(response.RespondentKind.choices)
    questions = dict(response.Question.choices)
    found: dict[tuple, dict] = {}
    for row in rows["satisfaction"]:
        found[(row["cur"], row["kind"], row["question"] if row["grouping"] == 0 else None)] = row
    # In the order of the choices: patients, caregivers, professionals; "overall" last.
    kind_order = {kind: index for index, kind in enumerate(kinds)}
    question_order = {question: index for index, question in enumerate(questions)}
    pairs = sorted(
        {(kind, question) for _cur, kind, question in found if question is not None},
        key=lambda pair: (
            kind_order.get(pair[0], len(kinds)),
            question_order.get(pair[1], len(questions)),
            pair,
        ),
    )

    def per_question(published: Callable[[dict], Published]) -> list[Row]:
        def value(cur: int, kind: str, question: str) -> Published:
            row = found.get((cur, kind, question))
            return published(row) if row else None

        return [
            Row(
                f"{kinds.get(kind, kind)} — {questions.get(question, question)}",
                value(1, kind, question),
                value(0, kind, question),
            )
            for kind, question in pairs
        ]

    def received(cur: int, kind: str) -> Published:
        row = found.get((cur, kind, None)) or {}
        return mask_small_count(row.get("responses") or 0)

    return Family(
        "satisfaction",
        _("Satisfaction"),
        indicators=[
            Indicator(
                f"satisfaction_responses_{kind}",
                RECEIVED_TITLES.get(kind, kinds[kind]),
                _(
                    "Questionnaires de satisfaction remplis pendant la période (patients et "
                    "aidants : après l'inclusion et en fin de parcours ; professionnels : une "
                    "fois par trimestre, comptés pour le territoire entier seulement)."
                ),
                Unit.COUNT,
                received(1, kind),
                received(0, kind),
            )
            for kind in kinds
        ],
        breakdowns=[
            Breakdown(
                "satisfaction_answers",
                _("Réponses par question"),
                _("Réponses données à chaque question, par type de répondant."),
                Unit.COUNT,
                per_question(lambda row: mask_small_count(row["n"])),
            ),
            Breakdown(
                "satisfaction_mean",
                _("Score moyen par question (de 1 à 5)"),
                _(
                    "Moyenne des réponses à chaque question, de 1 (pas du tout d'accord) à 5 "
                    "(tout à fait d'accord), par type de répondant."
                ),
                Unit.MEAN,
                per_question(lambda row: mask_statistic(row["n"], float(row["mean"]))),
            ),
            Breakdown(
                "satisfaction_agree",
                _("Part de réponses favorables (4 ou 5)"),
                _("Part des réponses à chaque question qui sont 4 ou 5, par type de répondant."),
                Unit.SHARE,
                per_question(lambda row: mask_share(row["satisfied"], row["n"])),
            ),
        ],
    )
