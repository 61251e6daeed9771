"""The benchmark harness: its arithmetic, and floors that fetch what the pages show."""

import datetime
import re

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from pathways.benchmark.database import database_name
from pathways.benchmark.harness import Operation, Result, Timing, measure, render_table
from pathways.benchmark.operations import gp_busiest_patient, scan_floor, timeline_cursor
from pathways.demo import seed_demo
from pathways.demo.accounts import delete_demo_accounts
from pathways.demo.bulk import truncate_app_tables
from pathways.models import Pathway, Step, StepTemplate
from pathways.services.scan import scan_overdue_steps
from patients.models import Patient
from patients.services import post_liaison_message
from tsn.disclosure import mask_small_count
from tsn.models import User


def _result(operation_p95: float, floor_p95: float, target: float = 3.0) -> Result:
    return Result(
        name="page",
        size="50 rows",
        operation=Timing(p50_ms=1.0, p95_ms=operation_p95, queries=4),
        floor=Timing(p50_ms=1.0, p95_ms=floor_p95, queries=1),
        target_ratio=target,
    )


def test_ratio_compares_p95_and_flags_a_missed_target():
    assert _result(6.0, 2.0).ratio == 3.0
    assert _result(6.0, 2.0).met
    assert not _result(6.2, 2.0).met
    table = render_table([_result(6.0, 2.0), _result(9.0, 2.0)])
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["operation", "data"]
    assert "MISSED" not in lines[2]
    assert "4.50" in lines[3] and "MISSED" in lines[3]


@pytest.mark.django_db
def test_measure_counts_the_queries_of_one_call_and_times_every_call():
    calls = []

    def two_queries():
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute("SELECT 2")

    def one_query():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    result = measure(Operation("op", "-", two_queries, one_query), repeat=7, warmup=2)
    assert len(calls) == 2 + 1 + 7
    assert (result.operation.queries, result.floor.queries) == (2, 1)
    assert 0 < result.operation.p50_ms <= result.operation.p95_ms


def test_one_bench_database_per_scale(settings, monkeypatch):
    monkeypatch.setitem(settings.DATABASES["default"], "NAME", "tsn")
    assert database_name(1) == "tsn_bench_1"
    assert database_name(0.01) == "tsn_bench_0_01"


@pytest.fixture(scope="module")
def territory(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed_demo(scale=0.002, seed=3, today=datetime.date(2026, 6, 15))
    yield
    with django_db_blocker.unblock(), transaction.atomic():
        truncate_app_tables()
        delete_demo_accounts()


def _both(client, email: str, floor: str, page_url: str = ""):
    client.force_login(User.objects.get(email=email))
    page = client.get(page_url or reverse("home"))
    rows = client.get(reverse(floor)).json()["rows"]
    assert page.status_code == 200
    return page.context, rows[0]


@pytest.mark.urls("pathways.benchmark.urls")
@pytest.mark.django_db
@pytest.mark.usefixtures("territory")
class TestFloorsFetchWhatThePagesShow:
    def test_gp(self, client):
        gp = User.objects.get(email="medecin@demo.tsn.test")
        nurse = User.objects.get(email="infirmiere@demo.tsn.test")
        shared = Patient.objects.visible_to(gp).filter(pk__in=Patient.objects.visible_to(nurse))
        post_liaison_message(author=nurse, patient=shared.first(), body="Avis ?", mentions=[gp])
        page, row = _both(client, gp.email, "floor_professional_home")
        mentions, *_, care_team, gp_count, open_steps, overdue = row[5:]
        assert care_team > 0
        assert mentions == [[p.pk, p.unread_mentions] for p in page["mentions"]] != []
        assert (care_team, gp_count) == (page["care_team_patients"], page["gp_patients"])
        assert (open_steps, overdue) == (page["steps"].open, page["steps"].overdue)

    def test_coordinator(self, client):
        page, row = _both(client, "coordination@demo.tsn.test", "floor_coordinator_home")
        by_status, open_alerts, overdue, services, mentions = row
        caseload = page["caseload"]
        assert by_status and services
        assert mentions is None and page["mentions"] == []
        assert caseload.active_pathways == by_status.get(Pathway.Status.ACTIVE, 0)
        assert (caseload.open_alerts, caseload.overdue_steps) == (open_alerts, overdue)

    def test_ars(self, client):
        page, row = _both(client, "ars@demo.tsn.test", "floor_ars_home")
        followed, by_template, by_status = row
        indicators = page["indicators"]
        assert indicators.patients_followed == mask_small_count(followed)
        assert sorted(i.value for i in indicators.pathways_by_template) == sorted(
            mask_small_count(entry["count"]) for entry in by_template
        )
        assert [i.value for i in indicators.pathways_by_status] == [
            mask_small_count(by_status.get(status, 0)) for status in Pathway.Status.values
        ]

    def test_patient(self, client):
        patient = Patient.objects.get(user__email="patient@demo.tsn.test")
        portal_home = reverse("portal:home", kwargs={"pk": patient.pk})
        page, row = _both(client, "patient@demo.tsn.test", "floor_patient_home", portal_home)
        _, _, _, gp_name, team, pathways = row
        assert gp_name == page["patient"].gp.last_name
        assert sorted(m["role"] if isinstance(m, dict) else m[2] for m in team) == sorted(
            member.role for member in page["team"]
        )
        assert len(pathways) == len(page["pathways"]) > 0


@pytest.mark.urls("pathways.benchmark.urls")
@pytest.mark.django_db
@pytest.mark.usefixtures("territory")
def test_timeline_floors_fetch_the_events_the_pages_show(client):
    gp = User.objects.get(email="medecin@demo.tsn.test")
    client.force_login(gp)
    patient, events = gp_busiest_patient(gp.professional)
    assert events > 50
    event_ids = re.compile(r'id="evenement-(\d+)"')

    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    floor = client.get(reverse("floor_timeline_first_page", args=[patient.pk])).json()["rows"]
    assert [int(pk) for pk in event_ids.findall(page)] == [row[0] for row in floor]
    assert len(floor) == 50

    cursor = {"before": timeline_cursor(patient, events - 50)}
    page = client.get(reverse("patients:timeline", args=[patient.pk]), cursor).content.decode()
    floor = client.get(reverse("floor_timeline_deep_page", args=[patient.pk]), cursor).json()
    assert [int(pk) for pk in event_ids.findall(page)] == [row[0] for row in floor["rows"]]
    assert len(floor["rows"]) == 50


@pytest.mark.urls("pathways.benchmark.urls")
@pytest.mark.django_db
@pytest.mark.usefixtures("territory")
def test_worklist_and_caseload_floors_fetch_the_rows_the_pages_show(client):
    client.force_login(User.objects.get(email="coordination@demo.tsn.test"))

    page = client.get(reverse("pathways:worklist"))
    floor = client.get(reverse("floor_worklist")).json()["rows"]
    assert [(i.kind, i.pk) for i in page.context["items"]] == [(r[0], r[1]) for r in floor]
    assert len(floor) > 0

    page = client.get(reverse("pathways:caseload"))
    floor = client.get(reverse("floor_caseload")).json()["rows"]
    assert [p.pk for p in page.context["pathways"]] == [r[0] for r in floor][:50]
    assert [p.overdue_steps for p in page.context["pathways"]] == [r[9] for r in floor][:50]
    assert page.context["total"] == sum(floor[0][10].values())


def test_the_scan_floor_reads_the_rows_the_scan_raises(world):
    already_late = scan_floor()  # (other tests' demo territory may be in the database)
    pathway = world.patient.pathways.get()
    for order in range(1, 4):
        Step.objects.create(
            pathway=pathway,
            template_step=StepTemplate.objects.create(
                template=pathway.template,
                order=order,
                name=f"Étape {order}",
                responsible_profession="nurse",
                deadline_days=1,
            ),
            due_on=timezone.localdate() - datetime.timedelta(days=order),
        )
    assert scan_floor() == already_late + 3
    assert scan_overdue_steps() == already_late + 3
    assert scan_floor() == 0
