"""Logging to a rotating file in the log folder, with secrets and card data redacted."""

from __future__ import annotations

import logging
import logging.handlers
import os
from typing import TYPE_CHECKING

from pos_app.platform.redaction import redact

if TYPE_CHECKING:
    import io
    from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    """Renders each record once and scrubs it, so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every log file it opens, the first and each after a rollover, is owner-only."""

    def _open(self) -> io.TextIOWrapper:
        # Create it owner-only first; the handler then opens it as usual.
        os.close(os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(self.baseFilename, 0o600)  # also one an older version left 0644
        return super()._open()


def configure_logging(log_file: Path, level: int = logging.INFO) -> logging.Handler:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = PrivateRotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
