"""The hot operations that exist today, each with its floor.

Pages go through the Django test client with a signed-in demo account: the whole
middleware stack, the session, the authentication and the audit are in the measure.
Add an operation here with every issue that adds a hot path.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pathways.benchmark.harness import Operation
from pathways.models import Pathway, Step
from pathways.services import scan
from pathways.services.alert import ALERT_COLUMNS
from patients.models import CareTeamMember, Patient
from professionals.models import Professional
from tsn.keyset import cursor_after
from tsn.models import User
from tsn.periods import in_effect_on

DEMO_USERS = {
    "gp": "medecin@demo.tsn.test",
    "coordinator": "coordination@demo.tsn.test",
    "ars": "ars@demo.tsn.test",
    "patient": "patient@demo.tsn.test",
}


def signed_in_clients() -> dict[str, Client]:
    clients = {}
    for key, email in DEMO_USERS.items():
        client = Client()
        client.force_login(User.objects.get(email=email))
        clients[key] = client
    return clients


def _get(client: Client, url: str):
    def call():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return response

    return call


def _get_query(client: Client, url: str, params: dict[str, str]):
    def call():
        response = client.get(url, params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return response

    return call


def _get_htmx(client: Client, url: str, params: dict[str, str]):
    def call():
        response = client.get(url, params, headers={"HX-Request": "true"})
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return response

    return call


# The deep timeline page starts after this many newest events (page 21 of 50).
DEEP_EVENTS = 1000


def gp_busiest_patient(gp) -> tuple[Patient, int]:
    """The demo GP's care-team patient with the most timeline events."""
    patient = (
        Patient.objects.filter(
            in_effect_on(timezone.localdate(), "care_team__"), care_team__professional=gp
        )
        .annotate(event_count=Count("timeline", distinct=True))
        .order_by("-event_count", "pk")
        .first()
    )
    return patient, patient.event_count


def timeline_cursor(patient: Patient, newer: int) -> str:
    """The `before` cursor of the `newer`-th newest event of the patient's timeline."""
    event = patient.timeline.order_by("-occurred_at", "-id")[newer - 1 : newer].get()
    return cursor_after(event.occurred_at, event.pk)


def _timeline_operations(clients: dict[str, Client], gp) -> list[Operation]:
    patient, events = gp_busiest_patient(gp)
    # A small territory's busiest timeline may be shorter: go as deep as it allows.
    deep = max(min(DEEP_EVENTS, events - 50), 1)
    cursor = {"before": timeline_cursor(patient, deep)}
    return [
        Operation(
            name="timeline.first_page",
            size=f"{events:,} events, 50 shown",
            run=_get(clients["gp"], reverse("patients:detail", args=[patient.pk])),
            floor=_get(clients["gp"], reverse("floor_timeline_first_page", args=[patient.pk])),
        ),
        Operation(
            name="timeline.deep_page",
            size=f"{events:,} events, 50 after the {deep:,}th",
            run=_get_htmx(clients["gp"], reverse("patients:timeline", args=[patient.pk]), cursor),
            floor=_get_htmx(
                clients["gp"], reverse("floor_timeline_deep_page", args=[patient.pk]), cursor
            ),
        ),
        # The same pages through the REST API (JSON, the GP's session), beside the same floors.
        Operation(
            name="api.timeline.first_page",
            size=f"{events:,} events, 50 shown",
            run=_get(clients["gp"], reverse("api:timeline", args=[patient.pk])),
            floor=_get(clients["gp"], reverse("floor_timeline_first_page", args=[patient.pk])),
        ),
        Operation(
            name="api.timeline.deep_page",
            size=f"{events:,} events, 50 after the {deep:,}th",
            run=_get_query(clients["gp"], reverse("api:timeline", args=[patient.pk]), cursor),
            floor=_get_htmx(
                clients["gp"], reverse("floor_timeline_deep_page", args=[patient.pk]), cursor
            ),
        ),
    ]


class _Rollback(Exception):
    pass


def _rolled_back(call):
    """Run `call` in a transaction that is then rolled back: each timed run does the
    same work on the same data (a scan would otherwise find nothing new the second time)."""

    def run():
        try:
            with transaction.atomic():
                call()
                raise _Rollback
        except _Rollback:
            pass

    return run


def scan_floor() -> int:
    """The overdue-step scan's own SELECT (with its dedupe test), raw: what it must read."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM ({scan.STEP_OVERDUE}) AS c ({ALERT_COLUMNS}) "  # noqa: S608 - constants only  # nosec B608
            "WHERE NOT EXISTS (SELECT 1 FROM pathways_alert a WHERE a.dedupe_key = c.dedupe_key)",
            {
                "message": "{step}",
                "now": now,
                "today": timezone.localdate(now),
                "tz": settings.TIME_ZONE,
            },
        )
        return cursor.fetchone()[0]


def _scan_operation() -> Operation:
    active = Pathway.objects.filter(status=Pathway.Status.ACTIVE).count()
    open_steps = Step.objects.filter(
        status__in=Step.OPEN_STATUSES, pathway__status=Pathway.Status.ACTIVE
    ).count()
    return Operation(
        name="scan.overdue_steps",
        size=f"{active:,} active pathways, {open_steps:,} open steps",
        run=_rolled_back(scan.scan_overdue_steps),
        floor=_rolled_back(scan_floor),
    )


def _directory_operation(clients: dict[str, Client]) -> Operation:
    """A coordinator looks for a professional with a typo in the name: the territory's
    most frequent surname with its third letter dropped ("Mrtin" for "Martin")."""
    surname = (
        Professional.objects.filter(last_name__regex=r"^[A-Za-z]{5,}$")
        .values("last_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "last_name")
        .values_list("last_name", flat=True)
        .first()
    )
    typed = {"q": surname[:2] + surname[3:]}
    return Operation(
        name="directory.search",
        size=f"{Professional.objects.count():,} professionals, {typed['q']!r}",
        run=_get_query(clients["coordinator"], reverse("professionals:directory"), typed),
        floor=_get_query(clients["coordinator"], reverse("floor_directory_search"), typed),
    )


def operations(clients: dict[str, Client]) -> list[Operation]:
    gp = User.objects.get(email=DEMO_USERS["gp"]).professional
    coordinator = User.objects.get(email=DEMO_USERS["coordinator"]).professional
    gp_team = CareTeamMember.objects.filter(professional=gp).count()
    caseload = Pathway.objects.filter(referent=coordinator).aggregate(
        pathways=Count("id"), patients=Count("patient", distinct=True)
    )
    steps = Step.objects.filter(pathway__referent=coordinator).count()
    home = reverse("home")
    # Patients land on their portal's home (the "/" answers them with a redirect).
    patient_home = reverse(
        "portal:home", kwargs={"pk": Patient.objects.get(user__email=DEMO_USERS["patient"]).pk}
    )
    return [
        Operation(
            name="home.gp",
            size=f"{gp_team:,} care-team memberships",
            run=_get(clients["gp"], home),
            floor=_get(clients["gp"], reverse("floor_professional_home")),
        ),
        Operation(
            name="home.coordinator",
            size=f"{caseload['patients']:,}-patient caseload, {steps:,} steps",
            run=_get(clients["coordinator"], home),
            floor=_get(clients["coordinator"], reverse("floor_coordinator_home")),
        ),
        Operation(
            name="home.ars",
            size=f"{Pathway.objects.count():,} pathways",
            run=_get(clients["ars"], home),
            floor=_get(clients["ars"], reverse("floor_ars_home")),
        ),
        Operation(
            name="home.patient",
            size="1 record (audited read)",
            run=_get(clients["patient"], patient_home),
            floor=_get(clients["patient"], reverse("floor_patient_home")),
        ),
        *_timeline_operations(clients, gp),
        Operation(
            name="worklist",
            size=f"{caseload['patients']:,}-patient caseload, {steps:,} steps",
            run=_get(clients["coordinator"], reverse("pathways:worklist")),
            floor=_get(clients["coordinator"], reverse("floor_worklist")),
        ),
        Operation(
            name="caseload",
            size=f"{caseload['pathways']:,} pathways, 50 shown",
            run=_get(clients["coordinator"], reverse("pathways:caseload")),
            floor=_get(clients["coordinator"], reverse("floor_caseload")),
        ),
        _directory_operation(clients),
        _scan_operation(),
    ]
