"""bot.app.logcontext: the delivery id on every log line."""

from __future__ import annotations

import io
import logging

from bot.app.logcontext import (
    LOG_FORMAT,
    DeliveryFilter,
    current_delivery,
    delivery_context,
    setup_logging,
)


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
            assert current_delivery() == "72d3162e-cc78-11e3"
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
