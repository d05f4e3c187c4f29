"""bot.app.logcontext: the delivery id on every log line."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.app.logcontext import (
    LOG_FORMAT,
    DeliveryFilter,
    delivery_context,
    setup_logging,
)
from tests.mlflow_server import free_port

WAIT = 120.0  # a bound for the server on a busy machine; never a timing assertion


def test_log_lines_carry_the_delivery_id_of_their_context() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(DeliveryFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger("bot.test_jobs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with delivery_context("72d3162e-cc78-11e3"):
            logger.info("inside")
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = out.getvalue().splitlines()
    assert "[delivery 72d3162e-cc78-11e3] inside" in inside
    assert "[delivery -] outside" in outside


def test_setup_logging_puts_the_filter_on_every_root_handler_once() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        setup_logging()
        setup_logging()
        assert sum(isinstance(f, DeliveryFilter) for f in handler.filters) == 1
        assert logging.getLogger("bot").getEffectiveLevel() <= logging.INFO
    finally:
        root.removeHandler(handler)


def test_a_line_break_in_a_message_cannot_start_a_log_line_of_its_own() -> None:
    import logging

    from bot.app.logcontext import OneLineFormatter

    record = logging.LogRecord(
        "bot", logging.WARNING, __file__, 1, "model %s not found", ("x\r\n::error::pwned",), None
    )
    line = OneLineFormatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "\r" not in line
    assert line == "WARNING model x\\n::error::pwned not found"


def test_serve_writes_no_colour_codes_to_a_log_file(tmp_path: Path, app_key: str) -> None:
    """Werkzeug colours its request lines (a 404 yellow, a 401 red) even when stderr
    is a file; the formatter removes the escape codes."""
    port = free_port()
    env = {
        **os.environ,
        "GITHUB_APP_ID": "1",
        "GITHUB_APP_PRIVATE_KEY": app_key,
        "GITHUB_WEBHOOK_SECRET": "s",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
    }
    log_file = tmp_path / "serve.log"
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port)]
    with log_file.open("wb") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=sink, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base)
            assert requests.get(f"{base}/nowhere", timeout=WAIT).status_code == 404
            assert requests.post(f"{base}/webhook", data=b"{}", timeout=WAIT).status_code == 401
        finally:
            server.terminate()
            server.wait(timeout=WAIT)
    text = log_file.read_text()
    assert '"GET /nowhere HTTP/1.1" 404' in text and '"POST /webhook HTTP/1.1" 401' in text
    assert "\x1b" not in text


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=WAIT)
            return
        except requests.ConnectionError:  # not listening yet (a slow answer is waited for)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
