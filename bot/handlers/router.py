"""Events and the router: which GitHub deliveries the bot acts on, and how.

Pure: a webhook delivery or an Actions event file becomes an `Event`; `route` says
what to do with it, or why nothing. Both entry points (action, webhook) share it.

A comment edited or deleted re-runs the review when it held a reference before
(`changes.body.from`, or the deleted body) or holds one now: otherwise a green gate
would stand on runs nobody links any more, or miss a run linked since.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.review.refs import find_refs
from bot.review.reviewers import Command, CommandKind, parse_command

REVIEW_ACTIONS = frozenset({"opened", "reopened", "synchronize", "edited", "ready_for_review"})
REVIEW_EVENT_ACTIONS = frozenset({"submitted", "dismissed", "edited"})
CHANGED_COMMENT_ACTIONS = frozenset({"edited", "deleted"})
WRITE_ACCESS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
HANDLED_EVENTS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "issue_comment"}
)


class Action(Enum):
    REVIEW = "review"  # full review of the PR
    COMMAND = "command"  # a /model-review command from a collaborator
    CLOSED = "closed"  # the PR was closed or merged
    IGNORE = "ignore"


@dataclass(frozen=True)
class Event:
    """A GitHub event as either entry point received it."""

    name: str  # X-GitHub-Event / GITHUB_EVENT_NAME
    payload: Mapping[str, Any]
    delivery_id: str = ""

    @property
    def action(self) -> str:
        return str(self.payload.get("action") or "")

    @property
    def repo(self) -> str:
        return str((self.payload.get("repository") or {}).get("full_name") or "")

    @property
    def installation_id(self) -> int | None:
        installation = self.payload.get("installation") or {}
        value = installation.get("id")
        return int(value) if value is not None else None

    @property
    def sender(self) -> str:
        return str((self.payload.get("sender") or {}).get("login") or "")

    @property
    def pr_number(self) -> int | None:
        pull = self.payload.get("pull_request")
        if isinstance(pull, Mapping) and pull.get("number") is not None:
            return int(pull["number"])
        issue = self.payload.get("issue")
        if isinstance(issue, Mapping) and issue.get("pull_request") and issue.get("number"):
            return int(issue["number"])
        return None

    @property
    def head_sha(self) -> str | None:
        pull = self.payload.get("pull_request") or {}
        sha = (pull.get("head") or {}).get("sha")
        return str(sha) if sha else None


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # one line, for the log
    command: Command | None = None


def route(event: Event) -> Decision:
    """What to do with an event; guard clauses first, each with its reason."""
    if event.name not in HANDLED_EVENTS:
        return Decision(Action.IGNORE, f"event `{event.name}` is not one model-review handles")
    if event.pr_number is None:
        return Decision(Action.IGNORE, f"`{event.name}` is not about a pull request")
    if event.name in ("pull_request", "pull_request_target"):
        return _route_pull_request(event)
    if event.name == "pull_request_review":
        if event.action in REVIEW_EVENT_ACTIONS:
            return Decision(Action.REVIEW, f"review {event.action}: re-evaluating the gate")
        return Decision(Action.IGNORE, f"pull_request_review `{event.action}` changes nothing")
    return _route_comment(event)


def _route_pull_request(event: Event) -> Decision:
    if event.action in REVIEW_ACTIONS:
        return Decision(Action.REVIEW, f"pull request {event.action}")
    if event.action == "closed":
        return Decision(Action.CLOSED, "pull request closed")
    return Decision(Action.IGNORE, f"pull_request `{event.action}` changes nothing")


def _route_comment(event: Event) -> Decision:
    comment = event.payload.get("comment") or {}
    user = comment.get("user") or {}
    if event.action in CHANGED_COMMENT_ACTIONS:
        return _route_changed_comment(event, comment, user)
    if event.action != "created":
        return Decision(Action.IGNORE, f"issue_comment `{event.action}` changes nothing")
    if user.get("type") == "Bot":
        return Decision(Action.IGNORE, "comments by bots are not commands")
    command = parse_command(str(comment.get("body") or ""))
    if command is None:
        return Decision(Action.IGNORE, "the comment holds no /model-review command")
    association = str(comment.get("author_association") or "NONE")
    if association not in WRITE_ACCESS and not _authors_refresh(event, command):
        return Decision(
            Action.IGNORE,
            f"@{user.get('login')} ({association}) may not run model-review commands: "
            "only owners, members and collaborators can (and the PR's author `refresh`)",
        )
    if command.kind is CommandKind.INVALID:
        return Decision(Action.COMMAND, f"invalid command: {command.problem}", command)
    return Decision(Action.COMMAND, f"command `{command.raw}` by @{user.get('login')}", command)


def _route_changed_comment(
    event: Event, comment: Mapping[str, Any], user: Mapping[str, Any]
) -> Decision:
    """An edited or deleted comment: a review when it held or holds a reference.
    Bots' comments (the bot's own, edited on every review) never count."""
    if user.get("type") == "Bot":
        return Decision(Action.IGNORE, f"a comment by a bot was {event.action}")
    changes = event.payload.get("changes") or {}
    before = (changes.get("body") or {}).get("from") if isinstance(changes, Mapping) else None
    texts = [str(comment.get("body") or ""), str(before or "")]
    if not find_refs(texts):
        return Decision(
            Action.IGNORE, f"the {event.action} comment held no MLflow reference, and holds none"
        )
    return Decision(Action.REVIEW, f"a comment with an MLflow reference was {event.action}")


def _authors_refresh(event: Event, command: Command) -> bool:
    """The PR's author may ask for a re-run (`refresh`): it changes nothing the review
    depends on. The README's workflow lets the author's comments start a job too."""
    if command.kind is not CommandKind.REFRESH:
        return False
    author = ((event.payload.get("issue") or {}).get("user") or {}).get("login")
    commenter = ((event.payload.get("comment") or {}).get("user") or {}).get("login")
    return bool(author) and str(author).casefold() == str(commenter or "").casefold()
