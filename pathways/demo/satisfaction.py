"""The demo territory's satisfaction questionnaires (portal/questionnaires.py): patients'
and caregivers' answers after the inclusion in a pathway and at its end, professionals'
answers every quarter; enough at scale 1 for the evaluation report's "Satisfaction"
section to be published unmasked, few enough at a small scale to show the masking.

The respondents are anonymous here (no account: the demo population has none, and the
demo accounts keep their questionnaires to answer: the demo patient's pathway and the
professionals' quarterly reminder). No comment: free text has no use in a demo report.
"""

import datetime
import json

from django.apps import apps

from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import Context
from pathways.demo.population import PathwayPlan, Population
from pathways.models import Pathway

DAY = datetime.timedelta(days=1)
# As in the portal: "after inclusion" from two weeks on, "at the end" within three months.
INCLUSION_DELAY, END_WINDOW = 14, 90
# Who answers (the others never do): a patient, a caregiver, after inclusion / at the end.
PATIENT_ANSWERS = {"inclusion": 0.35, "end": 0.3}
CAREGIVER_ANSWERS = {"inclusion": 0.12, "end": 0.1}
# Professionals answering each quarter, at scale 1 (a territory has about 5,000).
PROFESSIONALS_PER_QUARTER = 600
QUARTERS = 8

# The questions (portal/questionnaires.py: CATALOGUE) and the weights of scores 1..5:
# mostly satisfied, less so about the time the platform saves.
ABOUT_THE_PATHWAY = ("informed", "listened", "coordination", "whom_to_call", "overall")
ABOUT_THE_PLATFORM = ("dac_coordination", "usefulness", "time_saved", "overall")
WEIGHTS = {
    "whom_to_call": (5, 10, 15, 35, 35),
    "time_saved": (10, 18, 30, 28, 14),
}
DEFAULT_WEIGHTS = (3, 7, 18, 42, 30)


def _scores(ctx: Context, questions: tuple[str, ...]) -> str:
    return json.dumps(
        {
            question: ctx.rng.choices(range(1, 6), WEIGHTS.get(question, DEFAULT_WEIGHTS))[0]
            for question in questions
        }
    )


def _answer_day(ctx: Context, first: datetime.date, last: datetime.date) -> datetime.date | None:
    """A day within the first month of [first, last] (last: at most yesterday), if any."""
    last = min(last, first + 30 * DAY, ctx.today - DAY)
    if last < first:
        return None
    return first + ctx.rng.randint(0, (last - first).days) * DAY


def _about_pathway(ctx: Context, pathway: PathwayPlan) -> list[tuple]:
    rows = []
    ended = pathway.closed_on
    moments = {}
    if pathway.status != Pathway.Status.PROPOSED:
        moments["inclusion"] = (
            pathway.enrolled_on + INCLUSION_DELAY * DAY,
            ended or ctx.today,
        )
    if pathway.status == Pathway.Status.COMPLETED and ended is not None:
        moments["end"] = (ended, ended + END_WINDOW * DAY)
    for moment, (first, last) in moments.items():
        for kind, rates in (("patient", PATIENT_ANSWERS), ("caregiver", CAREGIVER_ANSWERS)):
            if not ctx.chance(rates[moment]):
                continue
            day = _answer_day(ctx, first, last)
            if day is not None:
                rows.append((kind, moment, pathway.id, None, _scores(ctx, ABOUT_THE_PATHWAY), day))
    return rows


def build_satisfaction(ctx: Context, population: Population) -> None:
    response = apps.get_model("portal", "SatisfactionResponse")
    rows = [
        row
        for plan in population.patients
        if plan.patient_id != population.demo_patient_id
        for pathway in plan.pathways
        for row in _about_pathway(ctx, pathway)
    ]
    quarter = datetime.date(ctx.today.year, (ctx.today.month - 1) // 3 * 3 + 1, 1)
    for _past in range(QUARTERS):
        quarter = (quarter - DAY).replace(day=1)
        quarter = quarter.replace(month=(quarter.month - 1) // 3 * 3 + 1)
        for _answer in range(ctx.count(PROFESSIONALS_PER_QUARTER, 1)):
            day = quarter + ctx.rng.randint(0, 80) * DAY
            rows.append(
                ("professional", "quarterly", None, quarter, _scores(ctx, ABOUT_THE_PLATFORM), day)
            )
    first_id = next_id(response)
    copy_rows(
        response,
        [
            "id",
            "respondent_kind",
            "moment",
            "pathway",
            "quarter_start",
            "answers",
            "comment",
            "submitted_at",
        ],
        (
            (first_id + n, kind, moment, pathway, quarter, answers, "", ctx.working_time(day))
            for n, (kind, moment, pathway, quarter, answers, day) in enumerate(rows)
        ),
    )
