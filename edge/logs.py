"""structlog setup: JSON lines outside a terminal (journald, files), pretty in a terminal."""

from __future__ import annotations

import logging
import sys

import structlog

from edge.contracts.log_redaction import redact_secrets
from edge.contracts.pan import MaskCardNumbersFilter, mask_card_numbers_processor


class _CurrentStderr:
    """Writes to whatever sys.stderr is *now*: test runners and daemons swap it after start-up."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(fmt: str = "auto", level: str = "INFO") -> None:
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer = structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            redact_secrets,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_card_numbers_processor,  # last before rendering: tracebacks quote input too
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),
        cache_logger_on_first_use=True,
    )
    # Route the standard library's loggers (uvicorn, alembic, nats) through the same stream.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s %(message)s",
                        force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskCardNumbersFilter())
