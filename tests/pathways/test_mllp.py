"""The MLLP listener (pathways/mllp.py, manage.py listen_mllp) over a real TCP socket.

The server applies messages on its own thread and database connection: the tests commit
their data (transactional database) so that it sees them."""

import datetime
import io
import socket
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pathways.mllp import MllpServer
from pathways.models import InboundMessage
from patients.models import Patient, TimelineEvent
from professionals.models import Organization
from tests.conftest import valid_nir
from tsn.identifiers import with_luhn_key

DATA = Path(__file__).resolve().parent.parent / "data" / "hl7"
START, END = b"\x0b", b"\x1c\r"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hospital() -> Organization:
    return Organization.objects.create(
        kind=Organization.Kind.HOSPITAL,
        name="Centre hospitalier de Villefranche",
        finess=with_luhn_key("69078041"),
    )


@pytest.fixture
def dupont(make_patient) -> Patient:
    return make_patient(
        birth_last_name="DUPONT",
        first_names="Marie Louise",
        birth_date=datetime.date(1945, 5, 8),
        birth_place_insee="69123",
        nir=valid_nir("2450569123045"),
        identity_status=Patient.IdentityStatus.QUALIFIED,
    )


@pytest.fixture
def server(hospital):
    running = MllpServer(organization=hospital, host="127.0.0.1", port=0).start()
    yield running
    running.stop()


def exchange(connection: socket.socket, frame: bytes) -> list[str]:
    """Send one frame, read one framed ACK; its segments."""
    connection.sendall(frame)
    received = b""
    while not received.endswith(END):
        chunk = connection.recv(4096)
        assert chunk, "the server closed the connection"
        received += chunk
    assert received.startswith(START)
    return [line for line in received[1:-2].decode("utf-8").split("\r") if line]


def msa(segments: list[str]) -> list[str]:
    return next(segment for segment in segments if segment.startswith("MSA|")).split("|")


def test_messages_over_mllp_are_applied_and_acknowledged(server, hospital, dupont):
    admission = (DATA / "a01_admission.hl7").read_bytes()
    discharge = (DATA / "a03_discharge.hl7").read_bytes()

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        first = exchange(connection, START + admission + END)
        bad_frame = exchange(connection, b"not an MLLP block" + END)
        malformed = exchange(connection, START + b"PID|1||123" + END)
        second = exchange(connection, START + discharge + END)
        repeat = exchange(connection, START + admission + END)

    assert msa(first)[1:3] == ["AA", "CHV-0001"]
    # A bad frame is refused and the connection goes on.
    assert msa(bad_frame)[1] == "AR"
    assert any(segment.startswith("ERR|") for segment in bad_frame)
    assert msa(malformed)[1] == "AR"
    assert msa(second)[1:3] == ["AA", "CHV-0003"]
    assert msa(repeat)[1:3] == ["AA", "CHV-0001"]
    kinds = set(
        TimelineEvent.objects.filter(patient=dupont, source="hl7").values_list("kind", flat=True)
    )
    assert kinds == {TimelineEvent.Kind.HOSPITAL_ADMISSION, TimelineEvent.Kind.HOSPITAL_DISCHARGE}
    assert InboundMessage.objects.get(control_id="CHV-0001").duplicates == 1
    assert set(InboundMessage.objects.values_list("organization", "status")) == {
        (hospital.pk, InboundMessage.Status.PROCESSED),
        (hospital.pk, InboundMessage.Status.REJECTED),
    }


def test_a_sender_that_disconnects_does_not_stop_the_server(server, dupont):
    admission = (DATA / "a01_admission.hl7").read_bytes()

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(START + admission[:50])  # cut off mid-frame
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        answer = exchange(connection, START + admission + END)

    assert msa(answer)[1:3] == ["AA", "CHV-0001"]
    assert InboundMessage.objects.get().patient == dupont


def test_listen_mllp_needs_a_known_organisation():
    with pytest.raises(CommandError):
        call_command("listen_mllp", organization="690000000", port=0, stdout=io.StringIO())


def test_a_port_already_taken_is_a_clear_error(server, hospital):
    with pytest.raises(CommandError, match="Écoute impossible"):
        call_command(
            "listen_mllp", organization=hospital.finess, port=server.port, stdout=io.StringIO()
        )
