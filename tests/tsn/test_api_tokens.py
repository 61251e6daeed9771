"""Personal API tokens: the page where a user creates and revokes theirs, the command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tsn.models import ApiToken


def test_a_user_creates_a_token_and_sees_its_key_once(client, make_user):
    user = make_user()
    client.force_login(user)
    response = client.post(reverse("api_tokens"), {"name": "Logiciel du cabinet"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    key = response.context["key"]
    assert key.startswith("tsnp_") and key in response.content.decode()
    assert token.user == user and token.name == "Logiciel du cabinet"
    assert token.key_hash == ApiToken.hash(key) and key not in token.key_hash
    assert response["Cache-Control"].startswith("max-age=0")
    listed = client.get(reverse("api_tokens")).content.decode()
    assert token.hint in listed and key not in listed
    assert ApiToken.authenticate(key) == token


def test_a_token_needs_a_name(client, make_user):
    client.force_login(make_user())
    response = client.post(reverse("api_tokens"), {"name": ""})
    assert response.context["key"] is None
    assert not ApiToken.objects.exists()


def test_a_user_revokes_their_token_and_only_theirs(client, make_user):
    owner, other = make_user(), make_user()
    token, key = ApiToken.issue(user=owner, name="Script")
    client.force_login(other)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert ApiToken.authenticate(key) is not None
    client.force_login(owner)
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert ApiToken.authenticate(key) is None


def test_the_command_issues_a_personal_token(make_user):
    user = make_user(email="medecin@test.tsn.test")
    out = io.StringIO()
    call_command("issue_api_token", "MEDECIN@test.tsn.test", name="Cabinet", stdout=out)
    key = out.getvalue().splitlines()[0]
    assert ApiToken.authenticate(key).user == user


@pytest.mark.parametrize(
    ("args", "options"),
    [(["nobody@test.tsn.test"], {}), ([], {}), (["x@test.tsn.test"], {"organization": "1"})],
)
def test_the_command_refuses_an_unknown_user_or_an_ambiguous_request(db, args, options):
    with pytest.raises(CommandError):
        call_command("issue_api_token", *args, stdout=io.StringIO(), **options)
    assert not ApiToken.objects.exists()
