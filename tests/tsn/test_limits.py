"""The request-size limit: an oversized body is refused before it is read."""

import io

import pytest
from django.urls import reverse

from patients.models import Document
from tsn.models import ApiToken


@pytest.fixture
def small_limit(settings):
    settings.TSN_MAX_REQUEST_BYTES = 2 * 1024 * 1024
    return settings.TSN_MAX_REQUEST_BYTES


def _upload(size: int) -> io.BytesIO:
    upload = io.BytesIO(b"%PDF-1.4\n" + b"0" * size)
    upload.name = "gros.pdf"
    return upload


def test_an_oversized_upload_is_a_413_and_nothing_is_stored(
    client, world, small_limit, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(world.users["team_member"])
    url = reverse("patients:document_upload", args=[world.patient.pk])
    response = client.post(url, {"file": _upload(small_limit)}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 413
    assert "at most 2 MB" in response.content.decode()
    assert not Document.objects.exists()
    assert client.post(url, {"file": _upload(1000)}).status_code == 302
    assert Document.objects.count() == 1


def test_the_api_answers_an_oversized_body_in_json_in_both_languages(client, world, small_limit):
    key = ApiToken.issue(user=world.users["team_member"], name="t")[1]
    response = client.post(
        reverse("api:timeline", args=[world.patient.pk]),
        b"{" + b" " * small_limit + b"}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 413
    [error] = response.json()["errors"]
    assert error["code"] == "too_large"
    assert "2 Mo" in error["message_fr"] and "2 MB" in error["message_en"]
