"""Sessions: a new key at login, ended after 30 minutes idle or 12 hours in all, ended on the
server at logout; their owner sees them and ends the others; disabling an account ends
them all."""

import datetime

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from tsn.models import User

pytestmark = pytest.mark.usefixtures("fresh_cache")

LOGIN_AT = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def gp(make_user):
    return make_user(User.Role.PROFESSIONAL, email="gp@exemple.fr")


def log_in(client: Client, user: User, user_agent: str = "Firefox") -> None:
    client.post(
        reverse("account_login"),
        {"login": user.email, "password": settings.TSN_DEMO_PASSWORD},
        headers={"user-agent": user_agent},
    )
    assert client.session["_auth_user_id"] == str(user.pk)


def signed_in(client: Client) -> bool:
    response = client.get(reverse("api_tokens"))
    return response.status_code == 200


def test_login_gives_the_session_a_new_key(client, gp):
    anonymous = client.session
    anonymous["language_chosen"] = "fr"
    anonymous.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = anonymous.session_key
    before = anonymous.session_key

    log_in(client, gp)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()


def test_an_idle_session_ends_after_30_minutes(client, gp):
    with freeze_time(LOGIN_AT) as clock:
        log_in(client, gp)
        clock.tick(datetime.timedelta(minutes=29))
        assert signed_in(client)
        clock.tick(datetime.timedelta(minutes=30, seconds=30))
        response = client.get(reverse("api_tokens"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
        assert "_auth_user_id" not in client.session
        login_page = client.get(response.url)
        assert "sans activité" in login_page.content.decode()


def test_activity_keeps_a_session_until_12_hours_after_login(client, gp):
    with freeze_time(LOGIN_AT) as clock:
        log_in(client, gp)
        for _ in range(35):  # 11 h 40 of work, a page every 20 minutes
            clock.tick(datetime.timedelta(minutes=20))
            assert signed_in(client)
        clock.tick(datetime.timedelta(minutes=21))
        assert not signed_in(client)
        assert "_auth_user_id" not in client.session


def test_an_expired_htmx_request_redirects_the_whole_page(client, gp):
    with freeze_time(LOGIN_AT) as clock:
        log_in(client, gp)
        clock.tick(datetime.timedelta(minutes=31))
        response = client.get(reverse("home"), headers={"HX-Request": "true"})
        assert response.headers["HX-Redirect"] == reverse("account_login")


def test_logout_ends_the_session_on_the_server(client, gp):
    log_in(client, gp)
    key = client.session.session_key
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=key).exists()
    # The old cookie, replayed, opens nothing.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert not signed_in(replay)


def test_a_user_sees_their_sessions_and_ends_the_others(gp):
    office, laptop = Client(), Client()
    log_in(office, gp, "Firefox au cabinet")
    log_in(laptop, gp, "Chrome à domicile")

    page = office.get(reverse("usersessions_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Firefox au cabinet" in html
    assert "Chrome à domicile" in html

    office.post(reverse("usersessions_list"))
    assert signed_in(office)
    assert not signed_in(laptop)
    assert list(UserSession.objects.filter(user=gp).values_list("user_agent", flat=True)) == [
        "Firefox au cabinet"
    ]


def test_the_session_list_shows_the_last_activity(gp):
    with freeze_time(LOGIN_AT) as clock:
        browser = Client()
        log_in(browser, gp)
        clock.tick(datetime.timedelta(minutes=10))
        browser.get(reverse("home"))
    session = UserSession.objects.get(user=gp)
    assert session.last_seen_at == LOGIN_AT + datetime.timedelta(minutes=10)


def test_disabling_an_account_ends_all_its_sessions(gp, make_user):
    office, laptop = Client(), Client()
    log_in(office, gp)
    log_in(laptop, gp)
    colleague = make_user(User.Role.PROFESSIONAL)
    elsewhere = Client()
    log_in(elsewhere, colleague)

    gp.is_active = False
    gp.save()
    assert not UserSession.objects.filter(user=gp).exists()
    assert not signed_in(office)
    assert not signed_in(laptop)
    assert signed_in(elsewhere)
    # Ended on the server: the rows are gone, not only refused by the login check.
    assert Session.objects.count() == 1
