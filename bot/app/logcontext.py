"""The delivery id on every log line of the webhook app and its workers.

`delivery_context(id)` sets it for the code inside (a request, a job);
`DeliveryFilter` copies it onto each record as `record.delivery_id`;
`setup_logging()` puts the filter on the root handlers so every line, ours or a
library's, shows it (LOG_FORMAT prints it).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from bot import redaction

LOG_FORMAT_VARIABLE = "MODEL_REVIEW_LOG_FORMAT"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [delivery %(delivery_id)s] %(message)s"
NO_DELIVERY = "-"
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # ANSI CSI sequences: colours, cursor moves

_delivery: ContextVar[str] = ContextVar("model_review_delivery", default=NO_DELIVERY)


@contextmanager
def delivery_context(delivery_id: str) -> Iterator[None]:
    """Log lines inside the block carry `delivery_id`."""
    token = _delivery.set(delivery_id or NO_DELIVERY)
    try:
        yield
    finally:
        _delivery.reset(token)


class DeliveryFilter(logging.Filter):
    """Puts the current delivery id on each record as `record.delivery_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "delivery_id"):
            record.delivery_id = _delivery.get()
        return True


class OneLineFormatter(logging.Formatter):
    """Every record on one line: a line break inside a message (server text echoed in
    an error, a traceback) becomes a visible `\\n`, so nothing a PR or a server wrote
    can start a line of its own in the log, such as a GitHub Actions `::command::`.
    Terminal escape sequences (the colours Werkzeug and RQ add to their messages) are
    removed, so a log file or CI log reads as plain text."""

    def format(self, record: logging.LogRecord) -> str:
        text = _ESCAPES.sub("", super().format(record)).replace("\x1b", "")
        return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


class JsonFormatter(logging.Formatter):
    """`MODEL_REVIEW_LOG_FORMAT=json`: one JSON object per line (time, level, logger,
    delivery, message, and the traceback when there is one), for log pipelines. JSON
    escapes line breaks and control characters, so a record stays on its line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "delivery": getattr(record, "delivery_id", _delivery.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redaction.redact(json.dumps(entry))


def log_formatter(env: Mapping[str, str] | None = None) -> logging.Formatter:
    """JSON lines when MODEL_REVIEW_LOG_FORMAT is `json`, else LOG_FORMAT on one line."""
    chosen = (os.environ if env is None else env).get(LOG_FORMAT_VARIABLE, "").strip().lower()
    return JsonFormatter() if chosen == "json" else OneLineFormatter(LOG_FORMAT)


def setup_logging(*, reformat: bool = False) -> None:
    """Make every log line carry the delivery id and pass bot.redaction: the
    credentials of the environment are registered, and each root handler gets a
    DeliveryFilter and a RedactingFilter (a stderr handler is added when there is
    none, as under gunicorn). `reformat=True` also gives existing handlers
    LOG_FORMAT. Idempotent."""
    redaction.install(os.environ)
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler()
        stderr.setFormatter(log_formatter())
        root.addHandler(stderr)
    as_json = isinstance(log_formatter(), JsonFormatter)
    for each in root.handlers:
        if not any(isinstance(f, DeliveryFilter) for f in each.filters):
            each.addFilter(DeliveryFilter())
        if not any(isinstance(f, redaction.RedactingFilter) for f in each.filters):
            each.addFilter(redaction.RedactingFilter())
        if reformat or as_json:
            each.setFormatter(log_formatter())
    bot_logger = logging.getLogger("bot")
    if bot_logger.level == logging.NOTSET:
        bot_logger.setLevel(logging.INFO)
