"""structlog setup for the cloud hub: JSON lines outside a terminal, pretty in one, and no card
number in any line (the same masking as the store server's logs)."""

from __future__ import annotations

import logging
import sys

import structlog

from edge.contracts.pan import MaskCardNumbersFilter, mask_card_numbers_processor


def configure_logging(level: str = "INFO") -> None:
    json_output = not sys.stderr.isatty()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_card_numbers_processor,  # last before rendering: tracebacks quote input too
            structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s %(message)s",
                        force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskCardNumbersFilter())
