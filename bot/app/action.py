"""`model-review action`: the GitHub Actions entry point.

The only module that reads the Actions environment. It builds the real adapters,
routes the event, runs the handler and reports back through the job summary
($GITHUB_STEP_SUMMARY), the step outputs ($GITHUB_OUTPUT) and workflow commands
(`::notice::`, `::error::`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from bot import redaction
from bot.app.scheduled import SCHEDULED_EVENTS
from bot.app.wiring import GitHubFactory, github_for, images_for, make_runs, utc_now
from bot.config.schema import CONFIG_PATH
from bot.constants import ACTIONS_BOT_LOGIN, DEFAULT_API_URL
from bot.errors import ModelReviewError, UsageError
from bot.handlers.context import Deps, Outcome
from bot.handlers.router import Action, Event, decide

log = logging.getLogger(__name__)

NO_TOKEN_HINT = "pass `github-token` to the action (default: ${{ github.token }})"
# events whose GITHUB_TOKEN is read-only when the PR comes from a fork
FORK_READ_ONLY_EVENTS = frozenset({"pull_request", "pull_request_review"})


def run_action(env: Mapping[str, str] | None = None, *, github: GitHubFactory | None = None) -> int:
    """Handle the event of this workflow run; 0 on success or nothing to do.
    `github` builds the GitHub adapter (default: bot.app.wiring.github_for(env))."""
    env = os.environ if env is None else env
    redaction.install(os.environ)  # MLflow's client reads its credentials from there
    redaction.install(env)
    try:
        event = read_event(env)
    except UsageError as exc:
        _command("error", str(exc))
        return exc.exit_code
    if event.name in SCHEDULED_EVENTS:  # production may have moved: re-check open PRs
        return _scheduled(env, event, github)
    decision = decide(event)
    if decision.action is Action.IGNORE:
        _command("notice", f"model-review: {decision.reason}")
        _outputs(env, {"gate": "skipped", "comment-url": "", "regressions": "0"})
        return 0
    try:
        deps = build_deps(env, event, github)
        from bot.handlers.dispatch import handle

        outcome = handle(event, decision, deps)
    except ModelReviewError as exc:
        _command("error", f"model-review: {exc}")
        _summary(env, f"### model-review failed\n\n{exc}\n")
        return 1
    report(env, outcome)
    return 0


def _scheduled(env: Mapping[str, str], event: Event, github: GitHubFactory | None) -> int:
    """The scheduled check (bot.app.scheduled): 1 when a review failed closed or the
    run stopped at a bound."""
    from bot.app.scheduled import recheck

    try:
        deps = build_deps(env, event, github)
        report, failed = recheck(deps, env.get("GITHUB_REPOSITORY") or event.repo, env)
    except ModelReviewError as exc:
        _command("error", f"model-review: {exc}")
        _summary(env, f"### model-review failed\n\n{exc}\n")
        return 1
    lines = [f"- {line}" for line in report.queued] or ["- no open pull request needed a review"]
    _command("notice", f"model-review: {report.summary()}")
    _summary(env, "### model-review: scheduled check\n\n" + "\n".join(lines) + "\n")
    _outputs(env, {"gate": "skipped", "comment-url": "", "regressions": "0"})
    for line in failed:
        _command("error", f"model-review: {line}")
    return 1 if failed or report.stopped else 0


def read_event(env: Mapping[str, str]) -> Event:
    name = env.get("GITHUB_EVENT_NAME", "")
    path = env.get("GITHUB_EVENT_PATH", "")
    if not name or not path:
        raise UsageError(
            "GITHUB_EVENT_NAME / GITHUB_EVENT_PATH are not set",
            hint="`model-review action` runs inside GitHub Actions; "
            "use `model-review render` locally",
        )
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the event file {path}: {exc}") from None
    return Event(name=name, payload=payload)


def build_deps(env: Mapping[str, str], event: Event, github: GitHubFactory | None = None) -> Deps:
    token = env.get("GITHUB_TOKEN") or env.get("INPUT_GITHUB-TOKEN")
    if not token:
        raise UsageError("GITHUB_TOKEN is not set", hint=NO_TOKEN_HINT)
    repo = env.get("GITHUB_REPOSITORY") or event.repo
    port = (github or github_for(env))(
        repo,
        token,
        env.get("GITHUB_API_URL") or DEFAULT_API_URL,
        env.get("MODEL_REVIEW_BOT_LOGIN") or ACTIONS_BOT_LOGIN,
        env.get("GITHUB_SERVER_URL") or None,
    )
    tracking_uri = env.get("MLFLOW_TRACKING_URI", "")
    return Deps(
        github=port,
        runs=lambda config: make_runs(tracking_uri, config),
        images=images_for(port),
        now=utc_now,
        config_path=env.get("MODEL_REVIEW_CONFIG") or CONFIG_PATH,
        forks_read_only=event.name in FORK_READ_ONLY_EVENTS,
        secrets=bool(tracking_uri),
    )


def report(env: Mapping[str, str], outcome: Outcome) -> None:
    gate = outcome.gate
    if outcome.notice:
        _command("notice", f"model-review: {outcome.notice}")
    for line in outcome.writes:
        log.info("wrote: %s", line)
    _summary(env, outcome.markdown or f"model-review: {outcome.notice}\n")
    _outputs(
        env,
        {
            "gate": gate.state.value if gate else "skipped",
            "description": gate.description if gate else outcome.notice,
            "comment-url": outcome.comment_url or "",
            "regressions": str(outcome.regressions),
        },
    )


def _summary(env: Mapping[str, str], markdown: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(redaction.redact(markdown)[: 1024 * 1024 - 1] + "\n")


def _outputs(env: Mapping[str, str], values: MutableMapping[str, str] | dict[str, Any]) -> None:
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            handle.write(f"{key}={' '.join(redaction.redact(str(value)).splitlines())}\n")


def _command(kind: str, message: str) -> None:
    """A workflow command; GitHub needs %, CR and LF escaped in the message."""
    escaped = redaction.redact(message).replace("%", "%25")
    escaped = escaped.replace("\r", "%0D").replace("\n", "%0A")
    print(f"::{kind}::{escaped}", flush=True)
