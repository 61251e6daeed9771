"""Structured logs (structlog) and the patient-data filter that every log line goes through.

One processor chain for both kinds of log call: structlog loggers
(`structlog.get_logger(__name__)`) hand their event dict to the standard library, and
`ProcessorFormatter`, the formatter of the `console` handler (settings.LOGGING), runs the
same processors over the records of `logging.getLogger(...)` calls (ours, Django's,
Celery's, the libraries'). Lines are key=value (logfmt) in development, one JSON object a
line when `LOG_FORMAT=json`.

Logs leave the platform (log collectors, support tickets, hosting provider), so they
must never identify a patient: see `redact_patient_data`, the one place that decides what
is masked, and `mask_exception`, which keeps a traceback's frames but not its message.
"""

import logging
import logging.config
import re
import sys
import traceback
from collections.abc import Mapping
from typing import Any

import structlog
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from structlog.typing import EventDict, Processor, WrappedLogger

MASK = "[masqué]"

# Keys whose values are patient data, whatever the value looks like (compared lowercased,
# "-" read as "_", with a leading "patient_", "caregiver_" or "contact_" ignored: so
# `patient_name`, `caregiver_phone` are masked too). Identifiers (`patient_id`, `pk`,
# `alert_id`...) are not in it: a database id means nothing outside the platform.
SENSITIVE_KEYS = frozenset(
    {
        # Identity
        "name",
        "names",
        "full_name",
        "last_name",
        "first_name",
        "first_names",
        "birth_last_name",
        "used_last_name",
        "used_first_name",
        "family_name",
        "given_name",
        "birth_date",
        "date_of_birth",
        "birthdate",
        "dob",
        "birth_place",
        "birth_place_insee",
        "sex",
        # National identifiers
        "nir",
        "ins",
        "ins_nir",
        "social_security_number",
        # Contact
        "address",
        "email",
        "mail",
        "phone",
        "mobile",
        "telephone",
        # Free text about a patient: notes, messages, care plans, referrals, documents
        "text",
        "note",
        "notes",
        "body",
        "message",
        "content",
        "comment",
        "title",
        "reason",
        "question",
        "answer",
        "goal",
        "goals",
        "outcome",
        "description",
        "filename",
        "file_name",
        "original_name",
        # Raw inputs: HL7 messages, request bodies, search terms, import rows
        "raw",
        "hl7",
        "payload",
        "data",
        "row",
        "query",
        "q",
        "search",
    }
)
_KEY_PREFIXES = ("patient_", "caregiver_", "contact_")
# The LogRecord and its origin, that ProcessorFormatter drops before rendering.
_STRUCTLOG_META = frozenset({"_record", "_from_structlog"})

# A NIR (INS): 13 characters (Corsica's 2A/2B in the département) and a 2-digit key,
# written with or without spaces. Masked whether its key is valid or not: a mistyped NIR
# still identifies someone. `_nir_shaped` checks the exact shape of a candidate.
_NIR_CANDIDATE = re.compile(r"(?<![\w])(?:[0-9ABab][ \u00a0]?){14}[0-9](?![\w])")
_NIR_SHAPE = re.compile(r"^[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{8}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A French phone number: 0X XX XX XX XX or +33 X XX XX XX XX, with or without separators.
_PHONE = re.compile(r"(?<![\w+])(?:\+33[ .]?|0)[1-9](?:[ .-]?[0-9]{2}){4}(?![\w])")
# The query string of an address (searches by name, birth date or NIR, list filters): the
# path stays, the rest is masked, e.g. in Django's request lines.
_QUERY_STRING = re.compile(r"(/[^\s?\"'<>]*)\?[^\s\"'<>]+")


def _nir_shaped(match: re.Match) -> str:
    compact = re.sub(r"[ \u00a0]", "", match.group()).upper()
    return MASK if _NIR_SHAPE.match(compact) else match.group()


def mask_text(text: str) -> str:
    """The text with its NIRs, e-mail addresses, phone numbers and query strings masked."""
    text = _NIR_CANDIDATE.sub(_nir_shaped, text)
    text = _EMAIL.sub(MASK, text)
    text = _PHONE.sub(MASK, text)
    return _QUERY_STRING.sub(rf"\1?{MASK}", text)


def is_sensitive_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    key = key.lower().replace("-", "_")
    for prefix in _KEY_PREFIXES:
        if key.startswith(prefix) and key != prefix:
            key = key.removeprefix(prefix)
            break
    return key in SENSITIVE_KEYS


def _exception_label(error: BaseException) -> str:
    name = type(error).__qualname__
    module = type(error).__module__
    return name if module == "builtins" else f"{module}.{name}"


def _safe(value: object) -> object:
    """A value as it may be logged: a database object as its model and id (its `str()`
    is often a name), an exception as its type (its message often quotes input)."""
    if isinstance(value, Model):
        return f"{type(value).__name__}#{value.pk}"
    if isinstance(value, BaseException):
        return f"{_exception_label(value)}({MASK})"
    return value


def _redact(value: object) -> object:
    value = _safe(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: MASK if is_sensitive_key(key) else _redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(item) for item in value]
    return mask_text(str(value))


def redact_patient_data(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Mask what could identify a patient, in every log line (structlog processor).

    Removed:
    - the value under any key naming patient data (`SENSITIVE_KEYS`: names, birth date,
      NIR/INS, address, e-mail, phone, free text such as notes, messages, titles,
      reasons, HL7 messages, search terms), at any depth, whatever its type;
    - in every text (the message, the other values): NIRs (15 characters, with or
      without spaces, valid key or not), e-mail addresses, French phone numbers, and the
      query string of addresses (searches by name or NIR travel in query strings);
    - database objects are shown as `Model#id` (a patient's `str()` is their name),
      exceptions passed as values as their type only.

    Kept: database ids (meaningless outside the platform), numbers, the level, the
    logger, the time. Why: logs are read outside the care team (operators, the hosting
    provider, support tickets) and kept longer than the need to know lasts; patient data
    has no business there (DESIGN.md §5, the RGPD's data minimisation). Free text cannot
    be scanned for names, so code logs ids and counts, never text: this filter is the
    safety net, not the licence.
    """
    for key, value in list(event_dict.items()):
        if key in _STRUCTLOG_META:
            continue
        event_dict[key] = MASK if is_sensitive_key(key) else _redact(value)
    return event_dict


def format_exception_masked(error: BaseException) -> str:
    """A traceback (frames and exception types, the chain included) without the exception
    messages: they often quote input (`invalid literal for int(): 'DUPONT'`, a database
    error's `Key (nir)=(...)`)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for index, each in enumerate(reversed(chain)):
        if index:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(each.__traceback__))
        parts.append(f"{_exception_label(each)}: {MASK}\n")
    return "".join(parts).rstrip("\n")


def _exception_from(exc_info: object) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):
        return exc_info[1] if len(exc_info) == 3 else None
    if exc_info:
        return sys.exc_info()[1]
    return None


def _message_texts(error: BaseException) -> set[str]:
    texts = set()
    for render in (str, repr):
        try:
            texts.add(render(error))
        except Exception:  # noqa: S112 - a broken __str__ must not stop the log line
            continue
    return {text for text in texts if len(text) > 3}


def mask_exception(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Render `exc_info` as `exception`, a traceback without exception messages (see
    `format_exception_masked`); the message itself is masked in the event too (Celery's
    "Task ... raised unexpected: ValueError('...')", `logger.exception("failed: %s", e)`)."""
    error = _exception_from(event_dict.pop("exc_info", None))
    if error is None:
        return event_dict
    event_dict["exception"] = format_exception_masked(error)
    event = event_dict.get("event")
    if isinstance(event, str):
        for text in sorted(_message_texts(error), key=len, reverse=True):
            event = event.replace(text, MASK)
        event_dict["event"] = event
    return event_dict


def format_positional_args(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    """`logger.info("... %s", value)`: the message formatted like the standard library
    does, each argument first made safe (`Patient#12` for a patient, not their name). A
    message that does not format is kept with its arguments dropped."""
    record = event_dict.get("_record")
    event = event_dict.get("event")
    if record is not None and not event_dict.get("_from_structlog"):
        event = record.msg  # the standard library's: `logger.error(patient)` happens
    event = _safe(event)
    args = event_dict.pop("positional_args", None)
    if args:
        if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Mapping):
            args = args[0]
        safe_args: object = (
            {key: _safe(value) for key, value in args.items()}
            if isinstance(args, Mapping)
            else tuple(_safe(value) for value in args)
        )
        try:
            event = str(event) % safe_args
        except (TypeError, ValueError, KeyError):
            event = f"{event} [arguments non formatés]"
    event_dict["event"] = event
    return event_dict


# What both kinds of log call go through: who and when, the message, then the filters.
_DESCRIBE: list[Processor] = [
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    format_positional_args,
]
_FILTER: list[Processor] = [mask_exception, redact_patient_data]


def _render_console(logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
    """key=value, the traceback (if any) on the lines below."""
    exception = event_dict.pop("exception", None)
    line = _LOGFMT(logger, method, event_dict)
    return f"{line}\n{exception}" if exception else line


_LOGFMT = structlog.processors.LogfmtRenderer(
    key_order=["timestamp", "level", "logger", "event"], drop_missing=True
)
FORMATS = {
    "console": _render_console,
    "json": structlog.processors.JSONRenderer(ensure_ascii=False),
}


def formatter(renderer: str = "console") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the console handler (settings.LOGGING), for every record."""
    if renderer not in FORMATS:
        raise ImproperlyConfigured(
            f"LOG_FORMAT must be one of {', '.join(sorted(FORMATS))}, got {renderer!r}"
        )
    return structlog.stdlib.ProcessorFormatter(
        # Records of `logging.getLogger(...)` calls; their `extra` attributes are not
        # rendered (Django's carries the request, Celery's the task's arguments).
        foreign_pre_chain=_DESCRIBE,
        pass_foreign_args=True,
        use_get_message=False,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_FILTER,
            FORMATS[renderer],
        ],
    )


def configure(logging_settings: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: the standard library's dictConfig, then structlog."""
    logging.config.dictConfig(logging_settings)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            *_DESCRIBE,
            # Filtered before the record is made, so that every handler (pytest's caplog
            # included) gets the masked event dict.
            *_FILTER,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
