"""structlog, configured once for every program of the project.

Readable key=value lines on a terminal, one JSON object per line otherwise (or when asked), so
the same events serve a coordinator at a console and a log collector in production.

Every line is one event with fields, whoever wrote it: structlog loggers, stdlib loggers (the
Temporal SDK, asyncpg), and the SDK's `workflow.logger` and `activity.logger`, whose context
(workflow id, run id, activity, attempt) becomes fields of the event instead of a dict
appended to its message. Secrets (passwords in URLs, private keys, values registered with
`add_secret`) are masked in every line, whatever field they would have landed in.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import structlog
from temporalio import activity, workflow

from settings import Settings

_configured = False

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}

# What the SDK's adapters put into `extra`, and the field names they become. The activity's
# and the workflow's run id both become `run_id`, so one query finds a run's every line.
_WORKFLOW_FIELDS = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_type": "workflow_type",
    "attempt": "attempt",
    "namespace": "namespace",
    "task_queue": "task_queue",
    "update_id": "update_id",
    "update_name": "update_name",
}
_ACTIVITY_FIELDS = {
    "activity_type": "activity",
    "activity_id": "activity_id",
    "attempt": "attempt",
    "workflow_id": "workflow_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
    "namespace": "namespace",
    "task_queue": "task_queue",
}

# --- secrets ---------------------------------------------------------------------------------

MASK = "***"
# user:password@ in any URL; the password goes, the user stays (it helps and is not secret).
_URL_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):[^@\s/]+@")
# A PEM private key, with real newlines or as the escaped "\n" of a bytes repr.
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----", re.DOTALL
)
# Query parameters of a database URL that carry secrets (libpq's sslpassword included).
_SECRET_QUERY = re.compile(r"(?P<name>(?:ssl)?password)=[^&\s]+", re.IGNORECASE)
# Short values would mask unrelated text everywhere; they are still caught by the patterns.
_MIN_SECRET_LENGTH = 4
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Mask `value` wherever it would appear in a log line from now on (a token, a key)."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _secrets.add(value)


def _secrets_of(settings: Settings) -> None:
    if settings.database_url:
        try:
            password = urlsplit(settings.database_url).password
        except ValueError:
            password = None
        add_secret(password)


def mask(text: str) -> str:
    """`text` with every known secret and every secret-looking part replaced by ***."""
    text = _PEM_PRIVATE_KEY.sub("<private key>", text)
    text = _URL_PASSWORD.sub(rf"\g<scheme>:{MASK}@", text)
    text = _SECRET_QUERY.sub(rf"\g<name>={MASK}", text)
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _masked(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return mask(value)
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {key: _masked(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(item, depth + 1) for item in value]
    if isinstance(value, bytes | bytearray):
        return mask(repr(value))
    return value


def _mask_secrets(
    _: Any, __: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    return {key: _masked(value) for key, value in event_dict.items()}


# --- Temporal context as fields --------------------------------------------------------------


def _lift(event_dict: structlog.types.EventDict, details: Any, names: Mapping[str, str]) -> None:
    if isinstance(details, Mapping):
        for source, target in names.items():
            if source in details and details[source] is not None:
                event_dict.setdefault(target, details[source])


def _record_extras(
    _: Any, __: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A stdlib record's `extra=` as fields; the SDK's context dicts flattened into them."""
    record: logging.LogRecord | None = event_dict.get("_record")
    if record is None:
        return event_dict
    for name, value in vars(record).items():
        if name in _STANDARD_RECORD_ATTRIBUTES or name.startswith("_"):
            continue
        if name == "temporal_workflow":
            _lift(event_dict, value, _WORKFLOW_FIELDS)
        elif name == "temporal_activity":
            _lift(event_dict, value, _ACTIVITY_FIELDS)
        elif name == "temporal_log":
            # A line of the SDK's core (Rust), forwarded: its structured fields.
            fields = getattr(value, "fields", None)
            if isinstance(fields, Mapping):
                for key, item in fields.items():
                    event_dict.setdefault(str(key), item)
        else:
            event_dict.setdefault(name, value)
    return event_dict


def _activity_context(
    _: Any, __: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A structlog logger used inside an activity gets the same fields as `activity.logger`."""
    if "activity" not in event_dict and activity.in_activity():
        info = activity.info()
        _lift(
            event_dict,
            {
                "activity_type": info.activity_type,
                "activity_id": info.activity_id,
                "attempt": info.attempt,
                "workflow_id": info.workflow_id,
                "workflow_run_id": info.workflow_run_id,
                "workflow_type": info.workflow_type,
                "namespace": info.namespace,
                "task_queue": info.task_queue,
            },
            _ACTIVITY_FIELDS,
        )
    return event_dict


def context_as_fields() -> None:
    """Tell the SDK's loggers to put their context into the record (where `_record_extras`
    finds it) and no longer into the message. `workflow.logger` stays silent during replay
    (its default), so a replayed history logs nothing twice."""
    workflow.logger.workflow_info_on_message = False
    workflow.logger.workflow_info_on_extra = True
    activity.logger.activity_info_on_message = False
    activity.logger.activity_info_on_extra = True


# --- configuration ---------------------------------------------------------------------------


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Route stdlib logging (Temporal SDK, asyncpg) and structlog through one renderer."""
    global _configured
    out = stream if stream is not None else sys.stderr
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not getattr(out, "isatty", lambda: False)()
    )
    level = getattr(logging, settings.log_level.upper())
    _secrets_of(settings)
    context_as_fields()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _activity_context,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=getattr(out, "isatty", lambda: False)())
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, _record_extras],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # Tracebacks become text before masking, so a secret in one is masked too.
                structlog.processors.format_exc_info,
                _mask_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str, **bound: Any) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**bound) if bound else logger
