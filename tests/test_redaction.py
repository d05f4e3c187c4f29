"""bot.redaction: the one redaction every output passes (issue #22, finding 1).

The property test builds MLflow error bodies that embed the process's credentials
in every form an echo may take (as is, `Bearer <token>`, `Basic <base64>`,
`user:password`, URL-encoded, JSON-escaped, inside a URL) among random text, and
follows each through every way out: the TrackingError the adapter raises, the
comment and the status (Publisher), the job summary and step outputs (the Action's
report) and the log (caplog).
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import redaction
from bot.app.action import report
from bot.app.settings import Settings
from bot.domain import GateDecision, GateState, PullRequest
from bot.handlers.context import Outcome
from bot.handlers.publish import Publisher
from bot.redaction import HIDDEN, forms, install, redact
from bot.render.comment import render_error
from bot.render.markdown import WORD_JOINER
from bot.tracking.errors import DETAIL_CHARS, error_for
from tests.fakes import FakeGitHub

TOKEN = "dapi-3f9a1c77e0b24d5e"
USER, PASSWORD = "svc-review", "Pa55:w/rd+=%x"
GITHUB = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
ENV = {
    "MLFLOW_TRACKING_TOKEN": TOKEN,
    "MLFLOW_TRACKING_USERNAME": USER,
    "MLFLOW_TRACKING_PASSWORD": PASSWORD,
    "GITHUB_TOKEN": GITHUB,
    "GITHUB_WEBHOOK_SECRET": "hook-secret-42",
    "MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
}
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
SECRETS = [TOKEN, USER, PASSWORD, f"{USER}:{PASSWORD}", BASIC, GITHUB, "hook-secret-42"]
ECHOES = [
    TOKEN,
    f"Bearer {TOKEN}",
    f"Authorization: Bearer {TOKEN}",
    f'"Authorization": "Basic {BASIC}"',
    f"Basic {BASIC}",
    f"{USER}:{PASSWORD}",
    quote(PASSWORD, safe=""),
    json.dumps(PASSWORD)[1:-1],
    f"https://{USER}:{quote(PASSWORD, safe='')}@mlflow.internal/api",
    f"token {GITHUB}",
    base64.b64encode(TOKEN.encode()).decode(),
]


class MlflowError(Exception):
    """MLflow's RestException as the adapter reads it: code, status, message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.error_code, self.message, self._status = code, f"{code}: {message}", status

    def get_http_status_code(self) -> int:
        return self._status


def _plain(text: str) -> str:
    """What a reader sees: markdown escapes and invisible joiners removed."""
    return text.replace(WORD_JOINER, "").replace("\\", "")


def _leaks(*texts: str) -> list[str]:
    seen = [_plain(t) for t in texts] + list(texts)
    return [s for s in SECRETS for t in seen for f in forms(s) if f in t]


def _pr() -> PullRequest:
    return PullRequest(7, "t", "b", "dave", "1" * 40, "2" * 40, "h", "main", "acme/m")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.text(max_size=60),
    echo=st.lists(st.sampled_from(ECHOES), min_size=1, max_size=3),
    after=st.text(max_size=400),
    status=st.sampled_from([400, 500, 501, 503]),
)
def test_credentials_in_any_error_body_reach_no_output(
    before: str,
    echo: list[str],
    after: str,
    *,
    status: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    install(ENV)
    body = before + " ".join(echo) + after
    error = error_for(MlflowError("INTERNAL_ERROR", status, body), "searching runs", "mlflow")
    message = str(error)
    assert "INTERNAL_ERROR" in message and len(message) < DETAIL_CHARS + 200
    github = FakeGitHub()
    publisher = Publisher(github, _pr(), None)
    publisher.comment(render_error(body))  # the raw body, had a path skipped the adapter
    publisher.status(GateDecision(GateState.ERROR, f"could not check: {body}"), "model-review")
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"), "GITHUB_OUTPUT": str(tmp_path / "o")}
    gate = GateDecision(GateState.ERROR, body)
    report(env, Outcome(gate=gate, markdown=body, notice=body))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("bot.test").error("failed: %s", body)
        logging.getLogger("urllib3.test").debug("header %r", {"Authorization": echo[0]})
    written = [c.body for c in github.comment_list] + [s[2] for s in github.statuses]
    files = [(tmp_path / name).read_text() for name in ("s.md", "o")]
    assert _leaks(message, *written, *files, caplog.text) == []
    caplog.clear()


def test_each_form_is_redacted() -> None:
    install(ENV)
    for echo in ECHOES:
        assert _leaks(redact(f"x {echo} y")) == [], echo
    assert redact(f"Authorization: Bearer {TOKEN}") == f"Authorization: Bearer {HIDDEN}"


def test_ordinary_words_stay() -> None:
    install(ENV)
    text = "Basic preprocessing; the authorization step; bearer of news; admin access"
    assert redact(text) == text


def test_short_values_are_not_registered() -> None:
    install({"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": "pw"})
    assert redact("bob reviewed it") == "bob reviewed it"
    assert "bob:pw" not in redact("bob:pw").replace(HIDDEN, "")


def test_log_records_made_anywhere_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install(ENV)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("mlflow.anything").warning("token=%s", TOKEN)
        try:
            raise RuntimeError(f"boom {PASSWORD}")
        except RuntimeError:
            logging.getLogger("bot.x").exception("failed")
    assert TOKEN not in caplog.text and PASSWORD not in caplog.text
    assert HIDDEN in caplog.text


def test_the_apps_secrets_are_registered(app_key: str) -> None:
    settings = Settings(1, app_key, "wh-secret-9f", "http://m", queue_url="redis://:qpw-77@r:6379")
    install(extra=settings.secrets())
    line = app_key.splitlines()[3]
    text = redact(f"wh-secret-9f {line} redis://:qpw-77@r:6379")
    assert "wh-secret-9f" not in text and line not in text and "qpw-77" not in text


def test_reset_forgets() -> None:
    install(ENV)
    assert TOKEN in redaction.registered()
    redaction.reset()
    assert redact(TOKEN) == TOKEN
