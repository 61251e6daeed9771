"""The issue's "done when", end to end: the directory rebuilt from the national sample files
(communes, then FINESS, then RPPS, through the commands), a service added to the catalogue
by an administrator, then a coordinator finds the nurse near the patient's home despite a
typo, adds her to the care team, and refers the patient to the service from the
orientation tool's result."""

import html
import io
import re
from pathlib import Path

from django.core.management import call_command
from django.urls import reverse

from pathways.models import Referral
from professionals.models import Organization, SupportService
from tsn.models import Commune, Territory

DATA = Path(__file__).resolve().parent.parent / "data" / "directory"
FILES = (
    ("import_communes", DATA / "communes-france-2025.csv"),
    ("import_finess", DATA / "etalab-cs1100507-stock-20261101-0336.csv"),
    ("import_rpps", DATA / "PS_LibreAcces_Personne_activite_202611010000.txt"),
)
SSIAD_VENISSIEUX = "690000039"
ENTRY = re.compile(r'<h3 class="h6 mb-1">\s*<a href="[^"]+">([^<]+)</a>')
REFER_FORM = re.compile(
    r'<form method="post" action="([^"]+)"[^>]*data-testid="refer">(.*?)</form>', re.S
)


def test_a_coordinator_finds_a_nurse_and_refers_the_patient_from_the_imported_directory(
    client, world
):
    Territory.objects.create(
        name="Rhône", ars_region="Auvergne-Rhône-Alpes", departement_codes=["69"]
    )
    for command, path in FILES:
        call_command(command, str(path), "--no-progress", stdout=io.StringIO())
    villeurbanne = Commune.objects.get(insee_code="69266")
    patient = world.patient
    patient.commune = villeurbanne
    patient.save()

    # The administrator puts the SSIAD of the FINESS file in the catalogue.
    ssiad = Organization.objects.get(finess=SSIAD_VENISSIEUX)
    client.force_login(world.users["administrator"])
    response = client.post(
        reverse("admin:professionals_supportservice_add"),
        {
            "organization": ssiad.pk,
            "name": "SSIAD ADMR de Vénissieux",
            "category": SupportService.Category.HOME_NURSING,
            "description": "",
            "eligibility": "Personnes de 60 ans et plus.",
            "communes": [villeurbanne.pk],
            "capacity": 40,
            "waiting_days": 10,
            "response_days": 3,
            "members": [],
            "on_duty": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    service = SupportService.objects.get(organization=ssiad)

    # The coordinator goes from the care team to the directory, near the patient's home.
    client.force_login(world.users["coordinator_following"])
    care_team = client.get(reverse("patients:care_team", args=[patient.pk])).content.decode()
    directory_url = f"{reverse('professionals:directory')}?patient={patient.pk}"
    assert directory_url in html.unescape(care_team)
    page = client.get(
        reverse("professionals:directory"),
        {"patient": patient.pk, "q": "dupon senechal", "profession": "nurse", "rayon": 5},
    ).content.decode()
    assert [name.strip() for name in ENTRY.findall(page)] == ["DUPONT-SÉNÉCHAL Marie-Noëlle"]
    assert "mn.dupont-senechal@infirmier.mssante.fr" in page
    assert "12 bis rue de la République" in html.unescape(page)
    assert "0478857412" in page

    role = re.search(r'name="member-role" value="(\w+)"', page)[1]
    professional = re.search(r'name="member-professional" value="(\d+)"', page)[1]
    response = client.post(
        reverse("patients:care_team_add", args=[patient.pk]),
        {"member-professional": professional, "member-role": role},
    )
    assert response.status_code == 302
    member = patient.care_team.get(professional_id=professional)
    assert (member.professional.rpps, member.role) == ("10000000058", "nurse")

    # The orientation tool, from the patient's file: the service, and the referral in one click.
    page = client.get(
        reverse("pathways:patient_orientation", args=[patient.pk]), {"besoin": "home_nursing"}
    ).content.decode()
    action, form = REFER_FORM.search(page).groups()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    fields["reason"] = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S)[1])
    assert fields["service"] == str(service.pk)
    response = client.post(html.unescape(action), fields)

    assert response.status_code == 302
    referral = patient.referrals.get(service=service)
    assert referral.status == Referral.Status.SENT
    assert referral.sent_by == world.users["coordinator_following"].professional
