"""Events and the router: which GitHub deliveries the bot acts on, and how.

Pure: a webhook delivery or an Actions event file becomes an `Event`; `route` says
what to do with it, or why nothing, without reading any comment's text: the App
answers a delivery with `route` alone, so a hostile comment body costs the web
process nothing. A PR comment routes to COMMENT, and `read_comment` (in the job, or
at once in the Action; `decide` does both) reads its text:

- a `/model-review` command, in visible text (bot.review.reviewers), becomes
  COMMAND, carrying who wrote it; people whose `author_association` rules out write
  access are refused here (the PR's author may `refresh`), everyone else's write
  access is verified on GitHub before the command is applied (the PR handler);
- a comment created, edited or deleted by the PR's author or a possible writer that
  holds a reference, or held one before (`changes.body.from`, the deleted body),
  re-runs the review: otherwise a green gate would stand on runs nobody links any
  more, or miss a run linked since. Whose references count is decided in the review
  (bot.handlers.trust).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from bot.constants import login_key
from bot.review.refs import find_refs
from bot.review.reviewers import Command, CommandKind, parse_command

REVIEW_ACTIONS = frozenset({"opened", "reopened", "synchronize", "edited", "ready_for_review"})
REVIEW_EVENT_ACTIONS = frozenset({"submitted", "dismissed", "edited"})
WRITE_ACCESS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
COMMENT_ACTIONS = frozenset({"created", "edited", "deleted"})
NOTHING_TO_DO = "the comment holds no /model-review command and no MLflow reference"
HANDLED_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_target",
        "pull_request_review",
        "issue_comment",
        "member",
        "membership",
        "merge_group",
        "check_run",
        "check_suite",
    }
)
# access changes that can make an approval stop counting (the App re-decides the PRs)
ACCESS_ACTIONS = {"member": frozenset({"removed", "edited"}), "membership": frozenset({"removed"})}


class Action(Enum):
    REVIEW = "review"  # full review of the PR
    COMMAND = "command"  # a /model-review command from a collaborator
    COMMENT = "comment"  # a PR comment: `read_comment` reads it in the job
    CLOSED = "closed"  # the PR was closed or merged
    ACCESS = "access"  # someone's access changed: re-decide the open PRs they approved
    MERGE_GROUP = "merge_group"  # a merge queue asks for the checks of a group's commit
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
        check = self.payload.get("check_run") or self.payload.get("check_suite") or {}
        pulls = check.get("pull_requests") if isinstance(check, Mapping) else None
        if isinstance(pulls, list) and pulls and isinstance(pulls[0], Mapping):
            number = pulls[0].get("number")
            return int(number) if number is not None else None
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
    if event.name == "merge_group":
        if event.action == "checks_requested":
            return Decision(Action.MERGE_GROUP, "merge group: checking every PR in it")
        return Decision(Action.IGNORE, f"merge_group `{event.action}` needs nothing")
    if event.name not in HANDLED_EVENTS:
        return Decision(Action.IGNORE, f"event `{event.name}` is not one model-review handles")
    if event.name in ACCESS_ACTIONS:
        return _route_access(event)
    if event.pr_number is None:
        return Decision(Action.IGNORE, f"`{event.name}` is not about a pull request")
    if event.name in ("pull_request", "pull_request_target"):
        return _route_pull_request(event)
    if event.name in ("check_run", "check_suite"):
        if event.action == "rerequested":  # "Re-run" on the App's own check
            return Decision(Action.REVIEW, f"{event.name} re-run requested")
        return Decision(Action.IGNORE, f"{event.name} `{event.action}` changes nothing")
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


def _route_access(event: Event) -> Decision:
    """`member` removed or edited (a repository collaborator), `membership` removed (a
    team member): the open PRs where that person's approval counts are re-decided."""
    if event.action not in ACCESS_ACTIONS[event.name]:
        return Decision(Action.IGNORE, f"{event.name} `{event.action}` takes no access away")
    login = access_login(event)
    if not login:
        return Decision(Action.IGNORE, f"{event.name} `{event.action}` names nobody")
    return Decision(Action.ACCESS, f"@{login}'s access changed ({event.name} {event.action})")


def access_login(event: Event) -> str:
    """Whose access a `member` or `membership` event changed."""
    member = event.payload.get("member") or {}
    return str(member.get("login") or "") if isinstance(member, Mapping) else ""


def _route_comment(event: Event) -> Decision:
    """Which comments may matter, from the payload's metadata only."""
    user = (event.payload.get("comment") or {}).get("user") or {}
    if event.action not in COMMENT_ACTIONS:
        return Decision(Action.IGNORE, f"issue_comment `{event.action}` changes nothing")
    if user.get("type") == "Bot":
        return Decision(Action.IGNORE, f"a comment by a bot was {event.action}")
    return Decision(Action.COMMENT, f"a comment was {event.action}: read in the job")


def decide(event: Event) -> Decision:
    """`route`, then `read_comment` for a comment: where reading its text is fine."""
    decision = route(event)
    return read_comment(event) if decision.action is Action.COMMENT else decision


def read_comment(event: Event) -> Decision:
    """What a PR comment asks for, from its text (see the module's docstring)."""
    comment = event.payload.get("comment") or {}
    user = comment.get("user") or {}
    login = str(user.get("login") or "")
    association = str(comment.get("author_association") or "NONE")
    trusted = association in WRITE_ACCESS or _by_author(event)
    command = parse_command(str(comment.get("body") or "")) if event.action == "created" else None
    if command is not None:
        command = replace(command, by=login)
        if association not in WRITE_ACCESS and not _authors_refresh(event, command):
            return Decision(
                Action.IGNORE,
                f"@{login} ({association}) may not run model-review commands: only people "
                "with write access can (and the PR's author `refresh`)",
            )
        if command.kind is CommandKind.INVALID:
            return Decision(Action.COMMAND, f"invalid command: {command.problem}", command)
        return Decision(Action.COMMAND, f"command `{command.raw}` by @{login}", command)
    if not trusted:
        return Decision(Action.IGNORE, f"@{login} ({association}) does not choose what is reviewed")
    changes = event.payload.get("changes") or {}
    before = (changes.get("body") or {}).get("from") if isinstance(changes, Mapping) else None
    if not find_refs([str(comment.get("body") or ""), str(before or "")]):
        return Decision(Action.IGNORE, NOTHING_TO_DO)
    return Decision(Action.REVIEW, f"a comment with an MLflow reference was {event.action}")


def _by_author(event: Event) -> bool:
    author = ((event.payload.get("issue") or {}).get("user") or {}).get("login")
    commenter = ((event.payload.get("comment") or {}).get("user") or {}).get("login")
    return bool(author) and login_key(str(author)) == login_key(str(commenter or ""))


def _authors_refresh(event: Event, command: Command) -> bool:
    """The PR's author may ask for a re-run (`refresh`): it changes nothing the review
    depends on. The README's workflow lets the author's comments start a job too."""
    return command.kind is CommandKind.REFRESH and _by_author(event)
