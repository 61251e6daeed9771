"""The liaison notebook, through HTTP: access, posting, mentions, read marks, paging."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.models import CareTeamMember, LiaisonMessage, SeenMark
from patients.services import post_liaison_message
from professionals.models import Professional
from tsn.models import AuditEvent

READERS = ["team_member", "read_only_member", "coordinator_following", "the_patient"]
HIDDEN_FROM = [
    "outsider",
    "ended_member",
    "objected_professional",
    "ars_analyst",
    "another_patient",
    "administrator",
]


def url(patient) -> str:
    return reverse("patients:liaison", kwargs={"pk": patient.pk})


@pytest.mark.parametrize("persona", READERS)
def test_the_care_team_and_the_patient_read_the_notebook(client, world, persona):
    client.force_login(world.users[persona])
    response = client.get(url(world.patient))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(
        actor=world.users[persona], patient_id=world.patient.pk, object_type="liaison"
    ).exists()


@pytest.mark.parametrize("persona", HIDDEN_FROM)
def test_others_get_404_reading_and_writing(client, world, persona):
    client.force_login(world.users[persona])
    assert client.get(url(world.patient)).status_code == 404
    assert client.post(url(world.patient), {"body": "Bonjour"}).status_code == 404
    assert not LiaisonMessage.objects.exists()


@pytest.mark.parametrize("persona", ["read_only_member", "the_patient"])
def test_readers_may_not_post(client, world, persona):
    client.force_login(world.users[persona])
    assert client.post(url(world.patient), {"body": "Bonjour"}).status_code == 403
    assert not LiaisonMessage.objects.exists()


def test_a_member_posts_a_message_mentioning_a_colleague(client, world):
    gp = world.users["team_member"]
    nurse = world.users["read_only_member"]
    client.force_login(gp)
    response = client.post(
        url(world.patient), {"body": "Pansement à refaire", "mentions": [nurse.pk]}
    )
    assert response.status_code == 302
    message = LiaisonMessage.objects.get()
    assert (message.author, message.body) == (gp, "Pansement à refaire")
    assert list(message.mentions.all()) == [nurse]
    assert AuditEvent.objects.filter(
        actor=gp, object_type="liaison", action=AuditEvent.Action.UPDATE
    ).exists()


def test_only_the_active_care_team_the_patient_and_caregivers_may_be_mentioned(client, world):
    client.force_login(world.users["team_member"])
    for stranger in ("outsider", "ended_member", "another_patient", "expired_caregiver"):
        response = client.post(
            url(world.patient), {"body": "Bonjour", "mentions": [world.users[stranger].pk]}
        )
        assert response.status_code == 400
    assert not LiaisonMessage.objects.exists()


def test_unread_messages_and_mentions_until_the_page_is_opened(client, world):
    gp = world.users["team_member"]
    nurse = world.users["read_only_member"]
    post_liaison_message(author=gp, patient=world.patient, body="Pour info", mentions=[])
    post_liaison_message(author=gp, patient=world.patient, body="À voir", mentions=[nurse])
    client.force_login(nurse)
    content = client.get(url(world.patient)).content.decode()
    assert content.count("non lu</span>") == 2
    assert "mentionné·e dans 1 message non lu" in content
    read = SeenMark.objects.get(user=nurse, patient=world.patient, part=SeenMark.Part.LIAISON)
    assert read.seen_at >= LiaisonMessage.objects.latest("sent_at").sent_at

    content = client.get(url(world.patient)).content.decode()
    assert "non lu</span>" not in content
    assert "message non lu" not in content


def test_the_author_has_read_their_own_message(world):
    gp = world.users["team_member"]
    post_liaison_message(author=gp, patient=world.patient, body="Note", mentions=[])
    assert SeenMark.objects.filter(user=gp, patient=world.patient, part="liaison").exists()


def test_fifty_most_recent_newest_last_with_a_link_to_older(client, world):
    gp = world.users["team_member"]
    start = timezone.now() - datetime.timedelta(days=1)
    LiaisonMessage.objects.bulk_create(
        LiaisonMessage(
            patient=world.patient,
            author=gp,
            body=f"message {n:02d}",
            sent_at=start + datetime.timedelta(minutes=n),
        )
        for n in range(60)
    )
    client.force_login(gp)
    response = client.get(url(world.patient))
    content = response.content.decode()
    assert "message 09" not in content
    assert content.index("message 10") < content.index("message 59")
    assert response.context["older"]

    older = client.get(url(world.patient), {"avant": response.context["older"]})
    older_content = older.content.decode()
    assert "message 00" in older_content and "message 09" in older_content
    assert "message 10" not in older_content
    assert not older.context["older"]


def test_a_malformed_cursor_shows_the_latest_messages(client, world):
    client.force_login(world.users["team_member"])
    response = client.get(url(world.patient), {"avant": "hier~x"})
    assert response.status_code == 200
    assert response.context["is_older_page"] is False


def test_queries_do_not_grow_with_messages(client, world, make_professional):
    gp = world.users["team_member"]
    client.force_login(gp)

    def add_messages(count: int) -> None:
        for _n in range(count):
            colleague = make_professional(Professional.Profession.NURSE)
            CareTeamMember.objects.create(
                patient=world.patient, professional=colleague, role=CareTeamMember.Role.NURSE
            )
            post_liaison_message(
                author=colleague.user, patient=world.patient, body="x", mentions=[gp]
            )

    add_messages(2)
    client.get(url(world.patient))  # the first visit creates the read mark
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(world.patient)).status_code == 200
    add_messages(8)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url(world.patient)).status_code == 200
    assert len(many) == len(few)


def test_an_unread_mention_shows_on_the_home_page_until_the_notebook_is_read(client, world):
    gp, nurse = world.users["team_member"], world.users["read_only_member"]
    post_liaison_message(author=gp, patient=world.patient, body="Pour info", mentions=[nurse])
    post_liaison_message(author=gp, patient=world.patient, body="Relance", mentions=[nurse])
    client.force_login(nurse)
    home = client.get(reverse("home"))
    mentions = home.context["mentions"]
    assert [(p.pk, p.unread_mentions) for p in mentions] == [(world.patient.pk, 2)]
    assert reverse("patients:liaison", args=[world.patient.pk]) in home.content.decode()
    assert AuditEvent.objects.filter(actor=nurse, object_type="mention_list").exists()

    client.get(url(world.patient))
    assert client.get(reverse("home")).context["mentions"] == []


def test_a_mention_on_a_record_one_no_longer_sees_is_not_shown(client, world):
    gp, nurse = world.users["team_member"], world.users["read_only_member"]
    post_liaison_message(author=gp, patient=world.patient, body="Pour info", mentions=[nurse])
    world.patient.care_team.filter(professional=nurse.professional).update(end=timezone.localdate())
    client.force_login(nurse)
    assert client.get(reverse("home")).context["mentions"] == []
