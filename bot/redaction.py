"""One redaction for every text the bot writes: comment, status description, check
output, job summary, step outputs, workflow commands, HTTP answers and log lines.

`redact(text)` removes
- the credential values this process holds, registered by the entry points with
  `install(env)`: MLflow's token, username and password, `user:password` and its
  base64 (basic auth), GitHub tokens, the webhook secret, the App's private key, and
  any other variable whose name says it is a secret (`*_TOKEN`, `*_SECRET`,
  `*_PASSWORD`, `*_PRIVATE_KEY`, `*_API_KEY`) — each as written, URL-encoded,
  JSON-escaped and in base64;
- whatever follows an `Authorization:`-looking header name, or `Bearer` / `Basic`,
  in an echo of a request (a server or proxy repeating the header in an error);
- credentials written into a URL (`https://user:token@host` -> `https://***@host`).

Values shorter than MIN_SECRET characters are not registered: redacting them would
blank ordinary words, and they are too short to be a credential worth the name.
`install` also puts a log record factory in place, so every record of the process,
ours or a library's, is redacted when it is made, before any handler sees it.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

HIDDEN = "***"
MIN_SECRET = 4
SECRET_NAMES = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "GITHUB_TOKEN",
    "INPUT_GITHUB-TOKEN",
    "MODEL_REVIEW_ORG_TOKEN",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_APP_PRIVATE_KEY",
    "MLFLOW_WEBHOOK_SECRET",
    "MODEL_REVIEW_MLFLOW_WEBHOOK_SECRET",
)
_SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_PASSWORD", "_PRIVATE_KEY", "_API_KEY", "-TOKEN")
_HEADER = re.compile(
    r"(?i)(?P<name>\b(?:proxy-)?authorization|\bx-api-key)"
    r"(?P<sep>[\"']?\s{0,8}[:=]\s{0,8}[\"']?)"
    r"(?:(?P<scheme>bearer|basic|token)\s{1,8})?[^\s\"',;}]+"
)
# `Bearer <token>` / `Basic <base64>` without the header's name: a token-like word of 8
# or more characters with a digit or base64's `+/=` in it (so "basic preprocessing" stays)
_SCHEME = re.compile(
    r"(?i)\b(?P<scheme>bearer|basic)(?P<sep>\s{1,8})"
    r"(?=[A-Za-z._~-]{0,512}[0-9+/=])[A-Za-z0-9._~+/=-]{8,}"
)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://)[^\s/@:]{0,256}:[^\s/@]{0,256}@")


def forms(value: str) -> set[str]:
    """A credential as it may be echoed: as is, URL-encoded, JSON-escaped, base64."""
    found = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
    raw = value.encode("utf-8")
    found |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    found |= {f.rstrip("=") for f in list(found)}
    return {f for f in found if len(f) >= MIN_SECRET}


def secrets_of(env: Mapping[str, str]) -> set[str]:
    """The credential values in an environment, in every form `forms` knows, with
    basic auth's `user:password` and its base64 (the Authorization header's value)."""
    values = [
        str(env.get(name) or "")
        for name in env
        if name in SECRET_NAMES or name.upper().endswith(_SECRET_SUFFIXES)
    ]
    user = env.get("MLFLOW_TRACKING_USERNAME") or ""
    password = env.get("MLFLOW_TRACKING_PASSWORD") or ""
    if user or password:
        values.append(f"{user}:{password}")
    values += _key_lines(env.get("GITHUB_APP_PRIVATE_KEY") or "")
    found: set[str] = set()
    for value in values:
        if len(value.strip()) >= MIN_SECRET:
            found |= forms(value.strip())
    return found


def _key_lines(pem: str) -> list[str]:
    """The body lines of a PEM key: a log may show one line of it."""
    return [line.strip() for line in pem.splitlines() if len(line.strip()) >= 16]


class _Registry:
    """The process's registered credentials and the one pattern that finds them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: frozenset[str] = frozenset()
        self.pattern: re.Pattern[str] | None = None
        self.factory_installed = False

    def add(self, values: set[str]) -> None:
        with self.lock:
            self.values = self.values | frozenset(values)
            ordered = sorted(self.values, key=len, reverse=True)  # the longest form first
            self.pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def clear(self) -> None:
        with self.lock:
            self.values, self.pattern = frozenset(), None


_REGISTRY = _Registry()


def install(env: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> None:
    """Register the credentials of `env` (and `extra` values) for `redact`, and make
    every log record of the process pass `redact`. Adds to what is registered."""
    new = secrets_of(env or {}) | {f for value in extra if value for f in forms(value)}
    _REGISTRY.add(new)
    _install_record_factory()


def registered() -> frozenset[str]:
    return _REGISTRY.values


def reset() -> None:
    """Forget every registered value (tests: one test's credentials are not the next's)."""
    _REGISTRY.clear()


def redact(text: str) -> str:
    """`text` without the registered credentials, header echoes or URL credentials."""
    if not text:
        return text
    pattern = _REGISTRY.pattern
    if pattern is not None:
        text = pattern.sub(HIDDEN, text)
    text = _HEADER.sub(_header, text)
    text = _SCHEME.sub(lambda m: f"{m['scheme']}{m['sep']}{HIDDEN}", text)
    return _URL_CREDENTIALS.sub(rf"\1{HIDDEN}@", text)


def _header(match: re.Match[str]) -> str:
    scheme = f"{match['scheme']} " if match["scheme"] else ""
    return f"{match['name']}{match['sep']}{scheme}{HIDDEN}"


# --- logging ----------------------------------------------------------------------------


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, exception and stack text redacted (formatted now,
    so no handler or formatter can format the raw arguments later)."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: keep the template, drop the arguments
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """For handlers: every record passes `redact` (records made before `install`
    included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _install_record_factory() -> None:
    with _REGISTRY.lock:
        if _REGISTRY.factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _REGISTRY.factory_installed = True
