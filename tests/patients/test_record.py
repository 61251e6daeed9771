"""The patient file and its timeline (patients/views/record.py), through HTTP."""

import datetime
import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import Alert, Pathway, PathwayTemplate, Step, StepTemplate
from patients.models import Patient, SeenMark, TimelineEvent
from professionals.models import Organization, PractitionerRole
from tests.conftest import valid_nir
from tsn.models import AuditEvent

NOW = timezone.now()
EVENT = re.compile(r'data-testid="event"')
LOAD_MORE = re.compile(r'data-testid="load-more" href="([^"]+)" hx-get="([^"]+)"')

SEES = {"team_member", "read_only_member", "coordinator_following", "break_glass_active"}
DOES_NOT_SEE = {"outsider", "ars_analyst", "ended_member", "objected_professional"}
WRITES = {"team_member", "coordinator_following"}


def _events(patient: Patient, count: int, *, authors=(), organizations=(), **fields):
    """`count` events, one hour apart, the newest an hour ago; authors and organisations vary."""
    events = [
        TimelineEvent(
            patient=patient,
            occurred_at=NOW - datetime.timedelta(hours=n + 1),
            kind=fields.get("kind", TimelineEvent.Kind.NOTE),
            title=f"Événement {n}",
            body=f"Contenu {n}",
            author=authors[n % len(authors)] if authors else None,
            organization=organizations[n % len(organizations)] if organizations else None,
        )
        for n in range(count)
    ]
    return TimelineEvent.objects.bulk_create(events)


def _titles(page: str) -> list[str]:
    return re.findall(r'<p class="fw-semibold mb-1">(.*?)</p>', page)


def _urls(world) -> dict[str, tuple[str, str]]:
    patient = world.patient
    event = _events(patient, 1)[0]
    cursor = f"{NOW.isoformat()},{event.pk + 1}"
    return {
        "detail": ("get", reverse("patients:detail", args=[patient.pk])),
        "timeline": (
            "get",
            reverse("patients:timeline", args=[patient.pk]) + "?" + urlencode({"before": cursor}),
        ),
        "post_event": ("post", reverse("patients:post_event", args=[patient.pk])),
        "event_in_error": (
            "post",
            reverse("patients:event_in_error", args=[patient.pk, event.pk]),
        ),
        "event_in_error_form": (
            "get",
            reverse("patients:event_in_error", args=[patient.pk, event.pk]),
        ),
    }


def _call(client, method: str, url: str):
    if method == "post":
        return client.post(
            url,
            {"kind": "note", "title": "Appel", "occurred_at": "2026-01-01T10:00", "reason": "x"},
        )
    return client.get(url)


# --- Who may do what ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", sorted(DOES_NOT_SEE))
@pytest.mark.parametrize(
    "route", ["detail", "timeline", "post_event", "event_in_error", "event_in_error_form"]
)
def test_who_may_not_see_gets_404_everywhere_and_one_denied_audit(client, world, persona, route):
    method, url = _urls(world)[route]
    client.force_login(world.users[persona])
    before = AuditEvent.objects.count()
    assert _call(client, method, url).status_code == 404
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.latest("id").outcome == AuditEvent.Outcome.DENIED
    assert not TimelineEvent.objects.filter(title="Appel").exists()


@pytest.mark.parametrize("persona", sorted(SEES))
@pytest.mark.parametrize("route", ["detail", "timeline"])
def test_who_sees_reads_with_one_audit_event(client, world, persona, route):
    method, url = _urls(world)[route]
    client.force_login(world.users[persona])
    before = AuditEvent.objects.count()
    response = _call(client, method, url)
    assert response.status_code == 200
    assert AuditEvent.objects.count() == before + 1
    audit = AuditEvent.objects.latest("id")
    assert (audit.action, audit.outcome, audit.patient_id) == ("read", "allowed", world.patient.pk)
    assert bool(audit.break_glass_reason) is (persona == "break_glass_active")


@pytest.mark.parametrize("persona", sorted(SEES))
@pytest.mark.parametrize("route", ["post_event", "event_in_error", "event_in_error_form"])
def test_only_writers_post(client, world, persona, route):
    method, url = _urls(world)[route]
    client.force_login(world.users[persona])
    response = _call(client, method, url)
    if persona in WRITES:
        assert response.status_code == (302 if method == "post" else 200)
    else:
        assert response.status_code == 403
        assert AuditEvent.objects.latest("id").outcome == AuditEvent.Outcome.DENIED


def test_the_forms_are_shown_to_writers_only(client, world):
    _events(world.patient, 1)
    url = reverse("patients:detail", args=[world.patient.pk])
    client.force_login(world.users["team_member"])
    page = client.get(url).content.decode()
    assert reverse("patients:post_event", args=[world.patient.pk]) in page
    assert "Signaler une saisie erronée" in page
    client.force_login(world.users["read_only_member"])
    page = client.get(url).content.decode()
    assert reverse("patients:post_event", args=[world.patient.pk]) not in page
    assert "Signaler une saisie erronée" not in page


# --- The identity band --------------------------------------------------------------------


def test_band_shows_identity_team_and_follow_up(client, world):
    patient = world.patient
    Alert.objects.create(patient=patient, kind="step_overdue", message="x", dedupe_key="a")
    Alert.objects.create(
        patient=patient, kind="step_overdue", message="y", dedupe_key="b", status="resolved"
    )
    patient.consents.create(kind="information_given")
    client.force_login(world.users["team_member"])
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    page = response.content.decode()
    assert patient.birth_last_name in page
    assert str(patient.gp) in page
    assert "Insuffisance cardiaque" in page  # the active pathway
    assert str(world.users["coordinator_following"].professional) in page  # its referent
    assert 'data-testid="open-alerts">1<' in page
    assert "Roux" in page  # a caregiver
    assert "Patient informé du partage" in page
    assert "Opposition au partage" not in page
    assert reverse("patients:liaison", args=[patient.pk]) in page
    assert reverse("patients:care_team", args=[patient.pk]) in page


def test_ins_is_shown_only_when_the_identity_is_qualified(client, world):
    patient = world.patient
    nir = valid_nir()
    Patient.objects.filter(pk=patient.pk).update(nir=nir, identity_status="retrieved")
    client.force_login(world.users["team_member"])
    url = reverse("patients:detail", args=[patient.pk])
    assert nir not in client.get(url).content.decode()
    Patient.objects.filter(pk=patient.pk).update(identity_status="qualified")
    assert f'data-testid="ins">{nir}<' in client.get(url).content.decode()


# --- The timeline -------------------------------------------------------------------------


def test_timeline_is_newest_first_grouped_by_day_and_escaped(client, world):
    patient = world.patient
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=NOW - datetime.timedelta(days=2),
        kind="note",
        title="Ancien",
        body="<script>alert(1)</script>\nligne deux",
    )
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=NOW - datetime.timedelta(minutes=5),
        kind="consultation",
        title="Récent",
    )
    client.force_login(world.users["team_member"])
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert page.index("Récent") < page.index("Ancien")
    assert page.count('class="h6 tsn-timeline-day"') == 2
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>ligne deux" in page
    assert "#kind-consultation" in page


def test_keyset_pages_follow_each_other_without_gap_or_overlap(client, world):
    events = _events(world.patient, 120)
    client.force_login(world.users["team_member"])
    page = client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    seen = re.findall(r'id="evenement-(\d+)"', page)
    for _ in range(2):
        link, hx_get = LOAD_MORE.search(page).groups()
        assert "before=" in hx_get and "offset" not in hx_get
        assert link.startswith(reverse("patients:detail", args=[world.patient.pk]))
        fragment = client.get(hx_get.replace("&amp;", "&"), HTTP_HX_REQUEST="true")
        assert fragment.status_code == 200
        page = fragment.content.decode()
        assert "<html" not in page
        seen += re.findall(r'id="evenement-(\d+)"', page)
    assert [int(pk) for pk in seen] == [event.pk for event in events]
    assert not LOAD_MORE.search(page)


def test_load_more_works_without_javascript(client, world):
    events = _events(world.patient, 55)
    client.force_login(world.users["team_member"])
    page = client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    link = LOAD_MORE.search(page).group(1).replace("&amp;", "&")
    second = client.get(link).content.decode()
    assert "<html" in second
    assert re.findall(r'id="evenement-(\d+)"', second) == [str(e.pk) for e in events[50:]]


def test_a_malformed_cursor_is_a_bad_request(client, world):
    client.force_login(world.users["team_member"])
    url = reverse("patients:timeline", args=[world.patient.pk])
    assert client.get(url, {"before": "yesterday,1"}).status_code == 400
    assert client.get(url, {"before": "2026-01-01T00:00:00,1"}).status_code == 400  # naive


def test_filters_by_kind_organisation_and_period_are_kept_in_the_url(client, world, organization):
    patient = world.patient
    other = Organization.objects.create(kind=Organization.Kind.HOSPITAL, name="CHU Nord")
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=NOW - datetime.timedelta(days=1),
        kind="consultation",
        title="Consultation au cabinet",
        organization=organization,
    )
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=NOW - datetime.timedelta(days=20),
        kind="consultation",
        title="Consultation ancienne",
        organization=organization,
    )
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=NOW - datetime.timedelta(days=1),
        kind="hospital_admission",
        title="Admission",
        organization=other,
    )
    _events(patient, 60, organizations=[organization], kind="consultation")
    client.force_login(world.users["team_member"])
    url = reverse("patients:detail", args=[patient.pk])

    page = client.get(url, {"kind": "hospital_admission"}).content.decode()
    assert _titles(page) == ["Admission"]
    page = client.get(url, {"organization": other.pk}).content.decode()
    assert _titles(page) == ["Admission"]
    assert f'<option value="{other.pk}" selected>CHU Nord</option>' in page
    start = (timezone.localdate() - datetime.timedelta(days=21)).isoformat()
    end = (timezone.localdate() - datetime.timedelta(days=19)).isoformat()
    page = client.get(url, {"start": start, "end": end}).content.decode()
    assert _titles(page) == ["Consultation ancienne"]
    page = client.get(url, {"kind": "consultation"}).content.decode()
    hx_get = LOAD_MORE.search(page).group(2)
    assert "kind=consultation" in hx_get
    fragment = client.get(hx_get.replace("&amp;", "&")).content.decode()
    assert "Consultation ancienne" in _titles(fragment)
    assert "Admission" not in _titles(fragment)


def test_new_since_last_visit(client, world):
    patient = world.patient
    user = world.users["team_member"]
    old = TimelineEvent.objects.create(
        patient=patient,
        occurred_at=NOW - datetime.timedelta(days=1),
        kind="note",
        title="Déjà vu",
        recorded_at=NOW - datetime.timedelta(days=1),
    )
    last_visit = timezone.now() - datetime.timedelta(seconds=10)
    SeenMark.objects.create(user=user, patient=patient, part="timeline", seen_at=last_visit)
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=NOW - datetime.timedelta(days=3),
        kind="note",
        title="Reçu tard",
        recorded_at=last_visit + datetime.timedelta(seconds=1),
    )
    client.force_login(user)
    url = reverse("patients:detail", args=[patient.pk])
    page = client.get(url).content.decode()
    assert page.count(">Nouveau</span>") == 1
    assert f'id="evenement-{old.pk}"' in page
    assert "Votre dernière visite" in page
    assert SeenMark.objects.get(user=user, patient=patient, part="timeline").seen_at > last_visit
    assert client.get(url).content.decode().count(">Nouveau</span>") == 0


# --- Writing ------------------------------------------------------------------------------


def test_posting_a_note_records_author_organisation_and_an_audited_creation(
    client, world, organization
):
    gp = world.users["team_member"]
    PractitionerRole.objects.create(professional=gp.professional, organization=organization)
    client.force_login(gp)
    response = client.post(
        reverse("patients:post_event", args=[world.patient.pk]),
        {
            "kind": "consultation",
            "title": "Bilan",
            "body": "RAS",
            "occurred_at": "2026-01-05T09:30",
        },
    )
    assert response.status_code == 302
    event = TimelineEvent.objects.get(title="Bilan")
    assert (event.author, event.organization, event.source) == (
        gp.professional,
        organization,
        "manual",
    )
    assert event.occurred_at == datetime.datetime(
        2026, 1, 5, 9, 30, tzinfo=timezone.get_current_timezone()
    )
    audits = AuditEvent.objects.filter(patient_id=world.patient.pk).order_by("id")
    # The write check, then the creation of the event.
    assert [(a.action, a.object_type) for a in audits.reverse()[:2]] == [
        ("create", "timeline_event"),
        ("update", "timeline_event"),
    ]


def test_an_invalid_note_shows_the_form_again(client, world):
    client.force_login(world.users["team_member"])
    response = client.post(
        reverse("patients:post_event", args=[world.patient.pk]),
        {"kind": "hospital_admission", "title": "", "occurred_at": "2099-01-01T00:00"},
    )
    assert response.status_code == 400
    assert response.context["event_form"].errors.keys() == {"kind", "title", "occurred_at"}
    assert not TimelineEvent.objects.filter(patient=world.patient).exists()


def test_marking_in_error_strikes_the_event_through_and_shows_the_correction(client, world):
    event = _events(world.patient, 1)[0]
    client.force_login(world.users["coordinator_following"])
    url = reverse("patients:event_in_error", args=[world.patient.pk, event.pk])
    assert client.post(url, {"reason": "Mauvais patient"}).status_code == 302
    correction = TimelineEvent.objects.get(corrects=event)
    assert correction.kind == "entered_in_error" and correction.body == "Mauvais patient"
    page = client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    assert f'<del data-testid="corrected">{event.title}</del>' in page
    assert "Mauvais patient" in page
    assert f"Correction de « {event.title} »" in page
    # Twice is refused, and a correction is not corrected.
    client.post(url, {"reason": "Encore"})
    other = reverse("patients:event_in_error", args=[world.patient.pk, correction.pk])
    client.post(other, {"reason": "Encore"})
    assert TimelineEvent.objects.filter(kind="entered_in_error").count() == 1


def test_an_event_of_another_patient_cannot_be_marked_through_this_record(client, world):
    event = _events(world.other_patient, 1)[0]
    client.force_login(world.users["team_member"])
    url = reverse("patients:event_in_error", args=[world.patient.pk, event.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404
    assert not TimelineEvent.objects.filter(corrects=event).exists()


# --- Query counts -------------------------------------------------------------------------


@pytest.fixture
def authors(make_professional):
    organizations = [
        Organization.objects.create(kind=Organization.Kind.GP_PRACTICE, name=f"Cabinet {n}")
        for n in range(3)
    ]
    return [make_professional() for _ in range(4)], organizations


def _queries(client, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def test_the_first_page_costs_the_same_queries_for_5_or_60_events(
    client, world, authors, django_assert_num_queries
):
    professionals, organizations = authors
    events = _events(world.patient, 5, authors=professionals, organizations=organizations)
    client.force_login(world.users["team_member"])
    url = reverse("patients:detail", args=[world.patient.pk])
    client.get(url)  # the first visit creates the SeenMark row
    five = _queries(client, url)
    assert five <= 16
    _events(world.patient, 55, authors=professionals, organizations=organizations)
    TimelineEvent.objects.create(
        patient=world.patient,
        occurred_at=NOW,
        kind="entered_in_error",
        title="Erreur",
        corrects=events[0],
    )
    with django_assert_num_queries(five):
        response = client.get(url)
    assert len(EVENT.findall(response.content.decode())) == 50


def test_page_3_costs_the_same_queries_as_page_1(client, world, authors, django_assert_num_queries):
    professionals, organizations = authors
    events = _events(world.patient, 160, authors=professionals, organizations=organizations)
    client.force_login(world.users["team_member"])
    url = reverse("patients:timeline", args=[world.patient.pk])
    first = _queries(client, url, {"before": f"{NOW.isoformat()},0"})
    cursor = f"{events[99].occurred_at.isoformat()},{events[99].pk}"
    with django_assert_num_queries(first):
        response = client.get(url, {"before": cursor})
    assert len(EVENT.findall(response.content.decode())) == 50


def test_a_kept_record_shows_the_timeline_of_the_duplicate_merged_into_it(
    client, world, make_patient
):
    duplicate = make_patient()
    TimelineEvent.objects.create(
        patient=duplicate, occurred_at=NOW, kind="note", title="Note du doublon"
    )
    TimelineEvent.objects.create(
        patient=world.patient, occurred_at=NOW, kind="note", title="Note du dossier"
    )
    client.force_login(world.users["team_member"])
    url = reverse("patients:detail", args=[world.patient.pk])
    assert "Note du doublon" not in client.get(url).content.decode()

    duplicate.merged_into = world.patient
    duplicate.save(update_fields=["merged_into"])
    content = client.get(url).content.decode()
    assert "Note du doublon" in content and "Note du dossier" in content


def test_a_merged_record_points_to_the_kept_one(client, world, make_patient):
    kept = make_patient()
    world.patient.merged_into = kept
    world.patient.save(update_fields=["merged_into"])
    client.force_login(world.users["team_member"])
    response = client.get(reverse("patients:detail", args=[world.patient.pk]))
    assert response.status_code == 200
    assert reverse("patients:detail", args=[kept.pk]) in response.content.decode()


def test_the_correction_link_of_each_event_is_its_reversed_url(client, world):
    events = [
        TimelineEvent.objects.create(
            patient=world.patient, occurred_at=NOW, kind="note", title=f"Note {i}"
        )
        for i in range(3)
    ]
    client.force_login(world.users["team_member"])
    content = client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    for event in events:
        url = reverse("patients:event_in_error", args=[world.patient.pk, event.pk])
        assert f'href="{url}"' in content


def test_filter_by_pathway_lists_the_patients_pathways_and_keeps_only_their_events(client, world):
    patient = world.patient
    template = PathwayTemplate.objects.create(code="fragile", name="Personne âgée fragile")
    earlier = Pathway.objects.create(
        patient=patient,
        template=template,
        status=Pathway.Status.COMPLETED,
        enrolled_on=datetime.date(2025, 1, 6),
        ended_on=datetime.date(2025, 6, 30),
    )
    current = Pathway.objects.create(patient=patient, template=template, status="active")
    for title, pathway in (("Inclusion", earlier), ("Étape réalisée", current), ("Note", None)):
        TimelineEvent.objects.create(
            patient=patient,
            occurred_at=NOW - datetime.timedelta(days=1),
            kind="note",
            title=title,
            pathway=pathway,
        )
    client.force_login(world.users["team_member"])
    url = reverse("patients:detail", args=[patient.pk])

    page = client.get(url).content.decode()
    assert f'<option value="{earlier.pk}">' in page
    assert f'<option value="{current.pk}">' in page
    page = client.get(url, {"pathway": earlier.pk}).content.decode()
    assert _titles(page) == ["Inclusion"]
    assert f'<option value="{earlier.pk}" selected>' in page
    page = client.get(url, {"pathway": current.pk}).content.decode()
    assert _titles(page) == ["Étape réalisée"]


def test_the_band_counts_the_overdue_steps_of_active_pathways(client, world):
    pathway = world.patient.pathways.get()
    for order, due in enumerate((-3, -1, 5), start=1):
        template = StepTemplate.objects.create(
            template=pathway.template,
            order=order,
            name=f"Étape {order}",
            responsible_profession="nurse",
            deadline_days=1,
        )
        Step.objects.create(
            pathway=pathway,
            template_step=template,
            due_on=timezone.localdate() + datetime.timedelta(days=due),
        )
    client.force_login(world.users["team_member"])

    page = client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()

    assert re.search(r'data-testid="overdue-steps">\s*2 étapes en retard', page)
