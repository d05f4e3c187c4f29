"""What every handler starts from: the ports (Deps), the result (Outcome), and the
steps that load a pull request's conversation (`Conversation`: its comments, the bot's own
comment and state, and the texts that may name runs), then its config, then the
publisher (`Reviewing` holds the three for one review).

Both handlers (bot.handlers.pull_request, bot.handlers.closed) load a PR the same
way, so the rules about which comment is the bot's and whose text counts live here,
once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.config.schema import CONFIG_PATH, Config, load_config
from bot.domain import Comment, GateDecision, HostedImage, PullRequest
from bot.handlers.moved import Trigger
from bot.handlers.publish import Publisher
from bot.handlers.state import BotState, decode_state, find_bot_comment
from bot.handlers.trust import People
from bot.ports import GitHubPort, ImagePort, RunsPort


@dataclass
class Deps:
    """What a handler needs; the entry points build the real ones, tests pass fakes."""

    github: GitHubPort
    runs: Callable[[Config], RunsPort]
    # (config, PR, MLflow, the images the bot published before: its state) -> where
    # plots go (None: nowhere)
    images: Callable[[Config, PullRequest, RunsPort, Sequence[HostedImage]], ImagePort | None]
    now: Callable[[], str]
    config_path: str = CONFIG_PATH
    # Actions' `pull_request` token is read-only on PRs from forks: review, write nothing
    forks_read_only: bool = False
    # the entry point may own a check run (the App; the Action's would be forgeable)
    checks: bool = False
    # False: the Action has no MLflow address (a Dependabot PR gets no secrets)
    secrets: bool = True
    # waits between retries of MLflow writes (the review's record, bot.handlers.record)
    pause: Callable[[float], None] = time.sleep
    # who noticed that production moved (a registry webhook, the scheduled check):
    # words the stale approvals, decides nothing (bot.handlers.moved)
    trigger: Trigger | None = None


@dataclass
class Outcome:
    """What happened, for the action's outputs, the job summary and the logs."""

    gate: GateDecision | None = None
    comment_url: str | None = None
    regressions: int = 0
    markdown: str = ""
    notice: str = ""
    writes: list[str] = field(default_factory=list)
    transient: bool = False  # failed closed because a dependency was down: worth a retry


@dataclass(frozen=True)
class Conversation:
    """A pull request's conversation as the bot sees it."""

    pr: PullRequest
    comments: list[Comment]
    mine: Comment | None  # the bot's own comment
    previous: BotState | None  # the state block in it
    texts: list[str]  # where references to runs are looked for (bot.handlers.trust)
    people: People  # who may do what, asked once per person within this event
    ignored: str | None = None  # says that untrusted comments' references were ignored


def load_conversation(deps: Deps, pr: PullRequest) -> Conversation:
    """The PR's comments (every page), the bot's comment and state, and whose texts
    name the runs."""
    gh = deps.github
    comments = gh.comments(pr.number)
    bot_login = gh.bot_login()
    mine = find_bot_comment(comments, bot_login)
    previous = decode_state(mine.body) if mine else None
    people = People(gh)
    chosen = people.texts(pr, comments, bot_login)  # the author's and writers' only
    texts = list(chosen.texts)
    return Conversation(pr, comments, mine, previous, texts, people, chosen.problem)


def publisher_for(deps: Deps, thread: Conversation) -> Publisher:
    """What writes the results to the PR (a dry run on a fork PR whose token is
    read-only)."""
    pr = thread.pr
    dry = deps.forks_read_only and pr.from_fork
    return Publisher(deps.github, pr, thread.mine, thread.comments, dry_run=dry, checks=deps.checks)


@dataclass(frozen=True)
class Reviewing:
    """One review of a pull request: its thread, its config (read before anything is
    published), where the results go, the ports, and what the comment must say besides."""

    thread: Conversation
    config: Config
    publisher: Publisher
    deps: Deps
    problems: tuple[str, ...] = ()  # for the comment: references ignored, a command refused


def load_pr_config(deps: Deps, pr: PullRequest) -> Config:
    """The config from the PR's BASE commit (a PR cannot lower its own bar);
    ConfigError when it is invalid."""
    return load_config(deps.github.file_at(deps.config_path, pr.base_sha), source=deps.config_path)
