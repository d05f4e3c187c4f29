"""Does an open pull request need a review it has not had? (`model-review reconcile`)

A review can be lost without trace: a worker or the web process died with the job,
Redis was flushed, GitHub never sent the delivery. What is left to see is the PR on
GitHub, so the check reads it with few requests:

- the head commit has no `model-review` status (1 request) although the PR links a
  run in its title or body (no request: the PR list holds them) or changes a
  `require_review_for` path (1 request per 100 files, only with such paths): due;
- it has a status and the bot's comment (1 request per 100 comments) holds a state
  whose fingerprint of the runs, or whose production baseline, is not what MLflow
  says now (the PR with its commits: 1 request per 100 commits, then MLflow): due;
  a linked run deleted since (it no longer resolves) counts as changed.
  The fingerprint, not `updated_at`, which moves on every label.
- the state says the last review failed for a transient reason (GitHub or MLflow was
  down, bot.handlers.failed): due once MLflow answers the review's reads again (GitHub
  answered this check already); while it does not, not yet.

The config is read from the PR's base commit, once per base commit (the caller's
cache). Nothing is written here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

from bot.config.schema import CONFIG_PATH, Config, load_config
from bot.domain import PullRequest
from bot.errors import ConfigError, ModelReviewError
from bot.handlers.state import decode_state, find_bot_comment, transient_failure
from bot.handlers.trust import People
from bot.ports import GitHubPort, RunsPort
from bot.review.decision import outdated
from bot.review.pipeline import ReviewRequest, build_review
from bot.review.refs import find_refs

RETRY_DUE = "the last review failed while a dependency was down, and MLflow answers again"


@dataclass(frozen=True)
class ReviewDue:
    """Why a PR needs a review now ("" : it does not)."""

    reason: str = ""

    def __bool__(self) -> bool:
        return bool(self.reason)


def review_due(
    github: GitHubPort,
    pull: PullRequest,
    runs: Callable[[Config], RunsPort],
    configs: MutableMapping[str, Config],
    config_path: str = CONFIG_PATH,
) -> ReviewDue:
    """Whether `pull` (as the open-PR list gives it) needs a review now."""
    config = config_at(github, pull.base_sha, configs, config_path)
    if pull.draft and not config.gate.review_drafts:
        return ReviewDue()
    if github.current_status(pull.head_sha, config.gate.context) is None:
        return _unreviewed(github, pull, config)
    return _changed(github, pull, config, runs)


def config_at(
    github: GitHubPort, base_sha: str, configs: MutableMapping[str, Config], path: str
) -> Config:
    """The config at `base_sha`, read once per commit into `configs`; a broken one
    reads as the defaults (the review itself reports it)."""
    if base_sha not in configs:
        try:
            configs[base_sha] = load_config(github.file_at(path, base_sha), source=path)
        except ConfigError:
            configs[base_sha] = Config()  # the review itself reports the broken config
    return configs[base_sha]


def _unreviewed(github: GitHubPort, pull: PullRequest, config: Config) -> ReviewDue:
    if find_refs([pull.title, pull.body]):
        return ReviewDue("no status on the head commit, and the PR links MLflow runs")
    globs = config.require_review_for
    if globs:
        files = github.changed_files(pull.number)
        if any(fnmatch.fnmatchcase(f, g) for f in files for g in globs):
            return ReviewDue("no status on the head commit, and the PR changes model paths")
    return ReviewDue()


def _changed(
    github: GitHubPort, pull: PullRequest, config: Config, runs: Callable[[Config], RunsPort]
) -> ReviewDue:
    login = github.bot_login()
    comments = github.comments(pull.number)
    mine = find_bot_comment(comments, login)
    state = decode_state(mine.body) if mine else None
    failed = transient_failure(state)
    if state is None or not (state.fingerprint or failed):
        return ReviewDue()
    full = github.pull_request(pull.number, with_files=False)
    texts = People(github).texts(full, comments, login).texts  # trusted people's only
    request = ReviewRequest(texts=list(texts), commits=full.commits)
    try:
        report = build_review(request, runs(config), config)
    except ModelReviewError:
        if failed:
            return ReviewDue()  # still down: the next run looks again
        raise
    if failed:
        return ReviewDue(f"{RETRY_DUE}: {failed}")
    if not report.candidates and not report.unresolved:
        return ReviewDue()  # the PR names no run any more: its own event reviewed that
    # a run deleted or refused since (unresolved now) changes the fingerprint too
    return ReviewDue(outdated(report, state.fingerprint, state.compared_with) or "")
