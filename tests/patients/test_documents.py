"""Documents of the patient file (patients/views/documents.py): checked by content, audited."""

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patients.models import Document, TimelineEvent
from tsn.models import AuditEvent

TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


TINY_PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    + _png_chunk(b"IEND", b"")
)
TINY_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _upload(client, world, name: str, content: bytes, content_type: str = "application/pdf"):
    return client.post(
        reverse("patients:document_upload", args=[world.patient.pk]),
        {"file": SimpleUploadedFile(name, content, content_type=content_type), "title": ""},
    )


@pytest.fixture
def writer(client, world):
    client.force_login(world.users["team_member"])
    return client


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("compte-rendu.pdf", TINY_PDF, "application/pdf"),
        ("photo.png", TINY_PNG, "image/png"),
        ("photo.jpeg", TINY_JPEG, "image/jpeg"),
    ],
)
def test_pdf_png_and_jpeg_are_accepted_stored_under_a_random_name(
    writer, world, settings, name, content, content_type
):
    response = _upload(writer, world, name, content, content_type="application/octet-stream")
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.content_type == content_type
    assert document.original_name == name
    assert document.size == len(content)
    stored = document.file.name.rsplit("/", 1)[-1]
    assert stored != name and len(stored.split(".")[0]) == 32
    assert stored.endswith(Document.ALLOWED_TYPES[content_type])
    assert (settings.MEDIA_ROOT / document.file.name).read_bytes() == content
    assert document.event.kind == TimelineEvent.Kind.DOCUMENT
    assert document.event.title == name
    assert document.uploaded_by == world.users["team_member"]
    audits = AuditEvent.objects.filter(action="create").values_list("object_type", flat=True)
    assert sorted(audits) == ["document", "timeline_event"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        (
            "dessin.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        ("image.pdf", b'<?xml version="1.0"?><svg><script>alert(1)</script></svg>'),
        ("vide.pdf", b""),
    ],
)
def test_anything_else_is_refused_whatever_its_name(writer, world, name, content):
    response = _upload(writer, world, name, content, content_type="image/png")
    assert response.status_code == 400
    assert not Document.objects.exists()
    assert not TimelineEvent.objects.filter(kind="document").exists()


def test_an_oversized_file_is_refused(writer, world, settings, tmp_path):
    settings.TSN_DOCUMENT_MAX_BYTES = 1000
    response = _upload(writer, world, "gros.pdf", TINY_PDF + b"0" * 1000)
    assert response.status_code == 400
    assert "taille maximale" in response.content.decode()
    assert not Document.objects.exists()
    assert not list(tmp_path.rglob("*.pdf"))


def test_the_original_name_is_stored_safely(writer, world):
    assert _upload(writer, world, "../../etc/passwd.pdf", TINY_PDF).status_code == 302
    document = Document.objects.get()
    assert document.original_name == "passwd.pdf"
    assert ".." not in document.file.name and "passwd" not in document.file.name


def test_the_document_is_listed_in_the_timeline_and_downloaded_as_an_attachment(writer, world):
    _upload(writer, world, "bilan.pdf", TINY_PDF)
    document = Document.objects.get()
    url = reverse("patients:document_download", args=[world.patient.pk, document.pk])
    page = writer.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    assert url in page
    before = AuditEvent.objects.count()
    response = writer.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="bilan.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.count() == before + 1
    audit = AuditEvent.objects.latest("id")
    assert (audit.action, audit.object_type, audit.object_id) == (
        "read",
        "document",
        str(document.pk),
    )


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("read_only_member", 200),
        ("coordinator_following", 200),
        ("break_glass_active", 200),
        ("outsider", 404),
        ("ars_analyst", 404),
        ("ended_member", 404),
        ("objected_professional", 404),
    ],
)
def test_who_may_download(client, writer, world, persona, status):
    _upload(writer, world, "bilan.pdf", TINY_PDF)
    document = Document.objects.get()
    client.force_login(world.users[persona])
    before = AuditEvent.objects.count()
    url = reverse("patients:document_download", args=[world.patient.pk, document.pk])
    assert client.get(url).status_code == status
    assert AuditEvent.objects.count() == before + 1


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("read_only_member", 403),
        ("break_glass_active", 403),
        ("outsider", 404),
        ("ars_analyst", 404),
    ],
)
def test_who_may_not_upload(client, world, persona, status):
    client.force_login(world.users[persona])
    before = AuditEvent.objects.count()
    assert _upload(client, world, "bilan.pdf", TINY_PDF).status_code == status
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.latest("id").outcome == AuditEvent.Outcome.DENIED
    assert not Document.objects.exists()


def test_another_patients_document_is_not_served_through_this_record(
    client, world, make_professional
):
    # The GP of the other patient uploads there; the GP of this patient asks for it here.
    other_gp = make_professional()
    world.other_patient.care_team.create(professional=other_gp, role="gp")
    client.force_login(other_gp.user)
    client.post(
        reverse("patients:document_upload", args=[world.other_patient.pk]),
        {"file": SimpleUploadedFile("autre.pdf", TINY_PDF)},
    )
    document = Document.objects.get(patient=world.other_patient)
    client.force_login(world.users["team_member"])
    url = reverse("patients:document_download", args=[world.patient.pk, document.pk])
    assert client.get(url).status_code == 404
