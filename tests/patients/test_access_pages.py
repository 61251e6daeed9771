"""Break-the-glass and the record's access log, through HTTP."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from pathways.models import Alert
from patients.models import BreakGlassAccess, Patient
from tsn.models import AuditEvent

REASON = "Patient inconscient aux urgences, besoin de ses traitements."


def _post_break_glass(client, user, pk, reason=REASON):
    client.force_login(user)
    return client.post(reverse("pathways:break_glass", args=[pk]), {"reason": reason})


def test_outsider_breaks_the_glass_and_gets_time_limited_access(client, world):
    outsider = world.users["outsider"]
    assert not Patient.objects.visible_to(outsider).filter(pk=world.patient.pk).exists()
    response = _post_break_glass(client, outsider, world.patient.pk)
    assert response.status_code == 302
    assert response.url == reverse("patients:detail", args=[world.patient.pk])
    access = BreakGlassAccess.objects.get(user=outsider)
    assert access.reason == REASON
    assert access.expires_at - access.started_at == datetime.timedelta(hours=4)
    assert Patient.objects.visible_to(outsider).filter(pk=world.patient.pk).exists()


def test_break_the_glass_is_audited_and_alerts_the_referent(client, world):
    _post_break_glass(client, world.users["outsider"], world.patient.pk)
    audit = AuditEvent.objects.get(actor=world.users["outsider"], object_type="break_glass")
    assert (audit.patient_id, audit.break_glass_reason) == (world.patient.pk, REASON)
    alert = Alert.objects.get(kind=Alert.Kind.BREAK_GLASS, patient=world.patient)
    assert alert.assignee == world.users["coordinator_following"]
    assert alert.severity == Alert.Severity.URGENT
    assert REASON not in alert.message  # no health data in the alert text


def test_a_short_justification_is_refused(client, world):
    response = _post_break_glass(client, world.users["outsider"], world.patient.pk, "urgence")
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not BreakGlassAccess.objects.filter(user=world.users["outsider"]).exists()
    assert not Alert.objects.filter(kind=Alert.Kind.BREAK_GLASS).exists()


def test_break_the_glass_on_an_unknown_record_is_not_found(client, world):
    response = _post_break_glass(client, world.users["outsider"], 999_999_999)
    assert response.status_code == 404
    assert not BreakGlassAccess.objects.filter(user=world.users["outsider"]).exists()


@pytest.mark.parametrize("persona", ["ars_analyst", "administrator", "the_patient"])
def test_only_clinical_users_may_break_the_glass(client, world, persona):
    response = _post_break_glass(client, world.users[persona], world.patient.pk)
    assert response.status_code == 404
    assert not BreakGlassAccess.objects.filter(user=world.users[persona]).exists()


def test_access_through_break_the_glass_is_audited_with_its_reason(client, world):
    glass = world.users["break_glass_active"]
    client.force_login(glass)
    assert client.get(reverse("patients:detail", args=[world.patient.pk])).status_code == 200
    audit = AuditEvent.objects.filter(actor=glass).latest("id")
    assert audit.break_glass_reason == "Urgence de nuit, patient inconscient."


def test_the_access_log_shows_break_the_glass_to_the_referent_and_the_patient(client, world):
    _post_break_glass(client, world.users["outsider"], world.patient.pk)
    for persona in ("coordinator_following", "the_patient"):
        client.force_login(world.users[persona])
        response = client.get(reverse("patients:access_log", args=[world.patient.pk]))
        assert response.status_code == 200
        content = response.content.decode()
        assert REASON in content
        assert str(world.users["outsider"]) in content


def test_the_access_log_is_not_for_every_team_member(client, world):
    client.force_login(world.users["team_member"])
    response = client.get(reverse("patients:access_log", args=[world.patient.pk]))
    assert response.status_code == 403


def test_expired_break_the_glass_gives_nothing(client, world):
    access = BreakGlassAccess.objects.get(user=world.users["break_glass_expired"])
    assert access.expires_at < timezone.now()
    client.force_login(world.users["break_glass_expired"])
    response = client.get(reverse("patients:access_log", args=[world.patient.pk]))
    assert response.status_code == 404


def test_the_access_log_pages_older_traces_by_keyset(client, world, monkeypatch):
    from tsn import audit_search

    monkeypatch.setattr(audit_search, "PAGE_SIZE", 3)
    client.force_login(world.users["coordinator_following"])
    url = reverse("patients:access_log", args=[world.patient.pk])
    for _ in range(5):  # each opening is itself a trace
        client.get(url)
    first = client.get(url)
    older = client.get(url, {"before": first.context["next_cursor"]})
    newest = [e.pk for e in first.context["events"]]
    following = [e.pk for e in older.context["events"]]
    assert len(newest) == len(following) == 3
    assert newest + following == sorted(newest + following, reverse=True)
    # The second page starts right after the first: no trace skipped, none repeated.
    traces = AuditEvent.objects.filter(patient_id=world.patient.pk)
    assert not traces.filter(pk__lt=newest[-1], pk__gt=following[0]).exists()
