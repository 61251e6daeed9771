"""The log chain and its patient-data filter (tsn/logging.py): what is masked, what passes."""

import io
import json
import logging
from contextlib import contextmanager

import pytest
import structlog
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import valid_nir
from tsn.logging import MASK, formatter, mask_text

NIR = valid_nir("1840775123456")
NIR_SPACED = f"{NIR[0]} {NIR[1:3]} {NIR[3:5]} {NIR[5:7]} {NIR[7:10]} {NIR[10:13]} {NIR[13:]}"
CORSICAN_NIR = valid_nir("280052A004012")


@contextmanager
def rendered(renderer: str = "console"):
    """What the `tsn.test` loggers (structlog's and the standard library's) print, through
    the formatter of settings.LOGGING."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(renderer))
    logger = logging.getLogger("tsn.test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def stdlib_line(message: str, *args, **kwargs) -> str:
    with rendered() as stream:
        logging.getLogger("tsn.test").info(message, *args, **kwargs)
    return stream.getvalue()


def structlog_line(event: str, *args, **values) -> str:
    with rendered() as stream:
        structlog.get_logger("tsn.test").info(event, *args, **values)
    return stream.getvalue()


def event_of(line: str) -> str:
    """The value of `event=` in a console line (quoted when it holds spaces)."""
    value = line.split(" event=", 1)[1].split("\n", 1)[0]
    if value.startswith('"'):
        return value[1:].split('"', 1)[0]
    return value.split(" ", 1)[0]


# --- NIR / INS -------------------------------------------------------------------------------


@pytest.mark.parametrize("nir", [NIR, NIR_SPACED, CORSICAN_NIR, NIR[:13] + "00"])
def test_a_nir_in_the_message_is_masked_spaced_corsican_or_with_a_wrong_key(nir):
    line = stdlib_line(f"patient {nir} not found")
    assert nir not in line
    assert event_of(line) == f"patient {MASK} not found"


def test_a_nir_in_the_arguments_is_masked():
    line = stdlib_line("lookup by INS %s from %s", NIR, "CH Lyon Sud")
    assert NIR not in line
    assert event_of(line) == f"lookup by INS {MASK} from CH Lyon Sud"


def test_a_nir_under_a_key_named_nir_or_in_any_value_is_masked():
    line = structlog_line(
        "identity_checked", nir=NIR, identity={"ins": "x", "status": "qualified"}, note=NIR_SPACED
    )
    assert NIR not in line and NIR[:5] not in line
    assert f"nir={MASK}" in line
    assert f"note={MASK}" in line
    assert "'ins': '[masqué]', 'status': 'qualified'" in line


def test_structlog_positional_arguments_are_masked_too():
    line = structlog_line("lookup by INS %s", NIR)
    assert NIR not in line
    assert event_of(line) == f"lookup by INS {MASK}"


# --- Keys that name patient data ---------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["patient_name", "birth_date", "email", "phone", "address", "text", "body", "first_names",
     "caregiver_phone", "Patient-Email", "title", "reason", "raw"],
)  # fmt: skip
def test_values_under_patient_data_keys_are_masked_whatever_their_type(key):
    line = structlog_line("record_changed", **{key: "Zqxv 1931-02-27"}, patient_id=12)
    assert "Zqxv" not in line and "1931" not in line
    assert f"{key}={MASK}" in line
    assert "patient_id=12" in line  # database ids stay


def test_a_database_object_is_shown_as_its_model_and_id_never_its_name(world):
    patient = world.patient
    line = stdlib_line("alert raised for %s", patient)
    line += structlog_line(patient)
    line += structlog_line("alert_raised", who=patient)
    assert patient.birth_last_name not in line
    assert line.count(f"Patient#{patient.pk}") == 3


def test_e_mails_phones_and_query_strings_are_masked_in_any_text():
    line = stdlib_line(
        "GET /patients/?q=DUPONT+Marie&statut=qualifie by marie.dupont@exemple.fr, "
        "call 06 12 34 56 78 or +33478000000"
    )
    for secret in ("DUPONT", "statut", "marie.dupont", "06 12", "478000000"):
        assert secret not in line
    assert "GET /patients/?[masqué]" in line


# --- What passes unchanged ---------------------------------------------------------------------


def test_a_harmless_line_passes_unchanged():
    harmless = (
        "Evaluation report 42 failed at 2026-03-02 10:15 (HL7 20260302101500, RPPS "
        "10003456789, SIRET 73282932000074, FINESS 690780416, 3 alerts)"
    )
    assert event_of(stdlib_line(harmless)) == harmless
    assert event_of(stdlib_line("Evaluation report %s failed", 42)) == "Evaluation report 42 failed"
    line = structlog_line("notification_sent", notification_id=12, patient_id=7, status="sent")
    assert line.split(" level=", 1)[1] == (
        "info logger=tsn.test event=notification_sent notification_id=12 patient_id=7 status=sent\n"
    )
    assert mask_text("/patients/12/fil/") == "/patients/12/fil/"


# --- Exceptions --------------------------------------------------------------------------------


SECRET = "Zqxvnom"


def _fail(value: str) -> None:
    raise ValueError(f"no patient named {value}")


def test_an_exception_keeps_its_frames_and_type_but_not_its_message():
    with rendered() as stream:
        try:
            try:
                _fail(SECRET)
            except ValueError as error:
                raise RuntimeError(f"import failed: {error}") from error
        except RuntimeError as error:
            logging.getLogger("tsn.test").exception("import of row %s failed: %s", 7, error)
            structlog.get_logger("tsn.test").exception("import_failed", row=7)
    text = stream.getvalue()
    assert SECRET not in text
    assert f"import of row 7 failed: RuntimeError({MASK})" in text
    assert text.count("Traceback (most recent call last):") == 4  # two lines, two causes
    assert text.count(f"ValueError: {MASK}") == 2
    assert text.count(f"RuntimeError: {MASK}") == 2
    assert 'in _fail\n    raise ValueError(f"no patient named {value}")' in text


def test_a_celery_task_failure_line_does_not_quote_the_exception():
    """Celery logs "Task ... raised unexpected: ValueError('...')" from its context dict."""
    try:
        _fail(SECRET)
    except ValueError as error:
        record = logging.LogRecord(
            "tsn.test", logging.ERROR, __file__, 1,
            "Task %(name)s[%(id)s] %(description)s: %(exc)s",
            ({"name": "pathways.tasks.x", "id": "abc", "description": "raised unexpected",
                "exc": repr(error)},),
            (type(error), error, error.__traceback__),
        )  # fmt: skip
        record.data = {"exc": repr(error), "args": repr((SECRET,))}  # Celery's extra
    line = formatter("console").format(record)
    assert SECRET not in line
    assert event_of(line) == f"Task pathways.tasks.x[abc] raised unexpected: {MASK}"


# --- Formats, configuration --------------------------------------------------------------------


def test_json_lines_carry_the_same_masked_fields():
    with rendered("json") as stream:
        structlog.get_logger("tsn.test").warning("hl7_message_rejected", nir=NIR, message_id=3)
        logging.getLogger("tsn.test").error("INS %s refused", NIR)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "hl7_message_rejected"
    assert (first["nir"], first["message_id"], first["level"]) == (MASK, 3, "warning")
    assert (second["event"], second["logger"]) == (f"INS {MASK} refused", "tsn.test")
    assert first["timestamp"].endswith("Z")


def test_an_unknown_log_format_stops_start_up():
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        formatter("xml")


def test_the_console_handler_renders_through_the_chain():
    console = logging.getHandlerByName("console")
    assert isinstance(console.formatter, structlog.stdlib.ProcessorFormatter)
    assert logging.getLogger().handlers.count(console) == 1
    # Django's own handlers (its console, mail_admins) are gone: one line per record.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.server").propagate is True


def test_caplog_still_sees_both_kinds_of_record_filtered(caplog):
    with caplog.at_level(logging.INFO, logger="tsn.test"):
        logging.getLogger("tsn.test").warning("broker unreachable: %s", "task")
        structlog.get_logger("tsn.test").info("notification_sent", notification_id=3, nir=NIR)
    stdlib, structured = caplog.records
    assert stdlib.getMessage() == "broker unreachable: task"
    assert structured.msg["event"] == "notification_sent"
    assert (structured.msg["notification_id"], structured.msg["nir"]) == (3, MASK)
