"""structlog, configured once for every program of the project.

Readable key=value lines on a terminal, one JSON object per line otherwise (or when asked), so
the same events serve a coordinator at a console and a log collector in production.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from settings import Settings

_configured = False


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Route stdlib logging (Temporal SDK, asyncpg) and structlog through one renderer."""
    global _configured
    out = stream if stream is not None else sys.stderr
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not getattr(out, "isatty", lambda: False)()
    )
    level = getattr(logging, settings.log_level.upper())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=getattr(out, "isatty", lambda: False)())
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info if use_json else _identity,
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


def _identity(_: Any, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    return event_dict


def get_logger(name: str, **bound: Any) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**bound) if bound else logger
