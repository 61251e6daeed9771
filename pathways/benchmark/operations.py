"""The hot operations that exist today, each with its floor.

Pages go through the Django test client with a signed-in demo account: the whole
middleware stack, the session, the authentication and the audit are in the measure.
Add an operation here with every issue that adds a hot path.
"""

from django.db.models import Count
from django.test import Client
from django.urls import reverse

from pathways.benchmark.harness import Operation
from pathways.models import Pathway, Step
from patients.models import CareTeamMember
from tsn.models import User

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


def operations(clients: dict[str, Client]) -> list[Operation]:
    gp = User.objects.get(email=DEMO_USERS["gp"]).professional
    coordinator = User.objects.get(email=DEMO_USERS["coordinator"]).professional
    gp_team = CareTeamMember.objects.filter(professional=gp).count()
    caseload = Pathway.objects.filter(referent=coordinator).aggregate(
        pathways=Count("id"), patients=Count("patient", distinct=True)
    )
    steps = Step.objects.filter(pathway__referent=coordinator).count()
    home = reverse("home")
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
            run=_get(clients["patient"], home),
            floor=_get(clients["patient"], reverse("floor_patient_home")),
        ),
    ]
