"""Logging to a rotating file in the data dir, with any API key masked on the way out."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Callable
from pathlib import Path

from .redact import scrub

LOG_FILE = "bridge.log"


class RedactKey(logging.Filter):
    """Last line of defence: the key is never logged on purpose, and never by accident."""

    def __init__(self, secrets: Callable[[], list[str | None]]):
        super().__init__()
        self.secrets = secrets  # asked each time: the key may change while the bridge runs

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [s for s in self.secrets() if s]
        if secrets:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            masked = scrub(text, secrets)  # in any case, encoding or cut short
            if masked != text:
                record.msg, record.args, record.exc_info, record.exc_text = masked, None, None, None
        return True


def setup_logging(
    home: Path, secrets: Callable[[], list[str | None]], level: int = logging.INFO
) -> logging.Handler:
    """Attach a rotating file handler to the `bridge` logger; returns it so callers can detach."""
    log_dir = home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_dir / LOG_FILE, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactKey(secrets))
    for name in ("bridge", "waitress"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(min(logger.level or level, level))
    return handler


def teardown_logging(handler: logging.Handler) -> None:
    for name in ("bridge", "waitress"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()
