"""Publishing as desired state: write to GitHub only what differs from what is there.

One sticky comment (edited in place, duplicates of the bot's own removed), review
requests for newly assigned reviewers only, and a commit status only when its state
or description changes. In dry-run mode (read-only tokens) nothing is written and
the intended writes are listed instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

from bot.config.schema import GateSurface
from bot.constants import bare_login, login_key
from bot.domain import Assignment, CheckRun, Comment, GateDecision, PullRequest
from bot.errors import GitHubError
from bot.handlers.state import duplicate_bot_comments, strip_state
from bot.ports import GitHubPort
from bot.redaction import redact
from bot.review.decision import check_conclusion
from bot.review.reviewers import is_team, team_stand_in

log = logging.getLogger(__name__)

READ_ONLY = (
    "the GitHub token cannot write to this repository (a pull request from a fork gets a "
    "read-only token): the review is in the job summary. A maintainer can comment "
    "`/model-review refresh` to post it, or run model-review as a GitHub App"
)
TEAM_MENTIONED = (
    "the token cannot request a team's review (GITHUB_TOKEN has no organisation "
    "permissions): @{team} is mentioned in the comment instead{member}"
)
TEAM_MEMBER = ", and {member} (listed under `reviewers.teams`) was requested"
TEAM_NOBODY = "; list the team's members under `reviewers.teams` to request one of them"
REVIEWING = "Reviewing the linked MLflow runs"
REVIEWING_SUMMARY = "model-review is reviewing this commit; the verdict follows here."
TEAM_REFUSED = "GitHub refused the review request for @{team}: {error}"


class _HasWrites(Protocol):
    writes: list[str]
    notice: str


_Outcome = TypeVar("_Outcome", bound=_HasWrites)
_T = TypeVar("_T")


class Publisher:
    def __init__(
        self,
        github: GitHubPort,
        pr: PullRequest,
        mine: Comment | None,
        comments: Sequence[Comment] = (),
        *,
        dry_run: bool = False,
        checks: bool = False,
    ) -> None:
        self.github = github
        self.pr = pr
        self.mine = mine
        self.comments = comments
        self.dry_run = dry_run
        self.writes: list[str] = []
        self.notes: list[str] = []  # what the review could not do, for the notice
        self.comment_url: str | None = mine.url if mine else None
        self.checks = checks  # this entry point may own a check run (the App)
        self.to_status, self.to_check = True, checks  # the App's default: both
        self._check: CheckRun | None = None

    def use_surface(self, surface: GateSurface | None) -> None:
        """Where the gate goes (`gate.surface`); without `checks` (the Action) the
        status only, whatever the config says."""
        chosen = surface or GateSurface.BOTH
        self.to_check = self.checks and chosen is not GateSurface.STATUS
        self.to_status = not self.to_check or chosen is not GateSurface.CHECK

    def begin(self, context: str) -> None:
        """The check run says `in_progress` while the review runs (1 read, 1 write
        unless it says so already)."""
        if not self.to_check:
            return
        self._check = self.github.check_run(self.pr.head_sha, context)
        if self._check is not None and self._check.status == "in_progress":
            return
        url = self.comment_url or self.pr.html_url or None
        run = CheckRun(0, "in_progress", None, REVIEWING, REVIEWING_SUMMARY, url)
        self._write_check(context, run)

    def comment(self, body: str) -> str | None:
        """Create or update the bot's comment; no request when the body is unchanged.
        The body passes bot.redaction first, like every text the bot writes."""
        body = redact(body)
        if self.mine is not None and self.mine.body.strip() == body.strip():
            self._remove_duplicates()  # two runs raced: both comments may be current
            return self.mine.url
        existing = self.mine
        if existing is None:
            written = self._do(
                "comment created", lambda: self.github.create_comment(self.pr.number, body)
            )
        else:
            written = self._do(
                "comment updated", lambda: self.github.update_comment(existing.comment_id, body)
            )
        if written is None:
            return self.comment_url
        self.mine = written
        self.comment_url = written.url
        self._remove_duplicates()
        return self.comment_url

    def _remove_duplicates(self) -> None:
        keep = self.mine.comment_id if self.mine else None
        login = self.github.bot_login()
        for extra in duplicate_bot_comments([*self.comments], login):
            if extra.comment_id != keep:
                delete = functools.partial(self.github.delete_comment, extra.comment_id)
                try:
                    self._do(f"duplicate comment {extra.comment_id} removed", delete)
                except GitHubError as exc:
                    if exc.status != 404:  # 404: a concurrent run removed it already
                        raise

    def unrequestable_teams(self, assignments: Sequence[Assignment]) -> tuple[str, ...]:
        """The teams holding a slot that the token cannot request (to mention instead)."""
        if self.github.can_request_teams():
            return ()
        held = (h for a in assignments for h in (a.primary, a.secondary) if h)
        return tuple(dict.fromkeys(bare_login(h) for h in held if is_team(h)))

    def request_reviewers(
        self,
        assignment: Assignment,
        previous: Assignment | None,
        listed: Sequence[tuple[str, Sequence[str]]] = (),
    ) -> None:
        """Request the assigned reviewers not yet requested by the bot or anyone else.

        Users and teams go in separate requests: GitHub refuses both together when it
        refuses the team. A token that cannot request teams (the Action's) requests a
        member of the team listed under `reviewers.teams` (`listed`) instead, and the
        team is mentioned in the comment (its reviewer line)."""
        already = {login_key(r) for r in self.pr.requested_reviewers}
        if previous is not None:
            already |= {login_key(r) for r in (previous.primary, previous.secondary) if r}
        wanted = [
            r
            for r in (assignment.primary, assignment.secondary)
            if r and login_key(r) not in already
        ]
        teams = [w for w in wanted if is_team(w)]
        users = [w for w in wanted if not is_team(w)]
        if teams and not self.github.can_request_teams():
            held = [self.pr.author, *(h for h in (assignment.primary, assignment.secondary) if h)]
            for team in teams:
                member = team_stand_in(team, listed, self.pr.number, [*held, *users])
                if member is not None and login_key(member) not in already:
                    users.append(member)
                    held.append(member)
                found = TEAM_MEMBER.format(member=f"@{member}") if member else TEAM_NOBODY
                self.notes.append(TEAM_MENTIONED.format(team=team, member=found))
            teams = []
        if users:
            self._do(
                f"review requested from {', '.join(users)}",
                lambda: self.github.request_reviewers(self.pr.number, users, []),
            )
        for team in teams:
            self._request_team(team)

    def _request_team(self, team: str) -> None:
        """One team's review request; a refusal is a note, never a failed review."""
        try:
            self._do(
                f"review requested from team {team}",
                lambda: self.github.request_reviewers(self.pr.number, [], [team]),
            )
        except GitHubError as exc:
            if exc.status not in (403, 404, 422) or exc.rate_limited:
                raise
            log.warning("review request for team %s refused: %s", team, exc)
            self.notes.append(TEAM_REFUSED.format(team=team, error=exc))

    def status(self, decision: GateDecision, context: str) -> None:
        """Publish the gate: the commit status and/or the check run (`use_surface`),
        unless it already says the same (the description redacted, see bot.redaction)."""
        decision = replace(decision, description=redact(decision.description))
        if self.to_status:
            self._status(decision, context)
        if self.to_check:
            self._check_run(decision, context)

    def _check_run(self, decision: GateDecision, context: str) -> None:
        """Complete the check run with the verdict, in place; no write when it
        already says the same. Its summary is the comment, its details link the comment."""
        if self._check is None:
            self._check = self.github.check_run(self.pr.head_sha, context)
        summary = strip_state(self.mine.body) if self.mine else decision.description
        url = self.comment_url or self.pr.html_url or None
        conclusion = check_conclusion(decision.state)
        run = CheckRun(0, "completed", conclusion, decision.description, summary, url)
        if not run.same(self._check):
            self._write_check(context, run)

    def _write_check(self, context: str, run: CheckRun) -> None:
        if self._check is not None:
            run = replace(run, check_id=self._check.check_id)
        what = f"check {run.conclusion or run.status}: {run.title}"
        written = self._do(
            what, lambda: self.github.write_check_run(self.pr.head_sha, context, run)
        )
        if written is not None:
            self._check = written

    def _status(self, decision: GateDecision, context: str) -> None:
        """Set the commit status on the head commit unless it already says the same."""
        current = self.github.current_status(self.pr.head_sha, context)
        if current == (decision.state, decision.description):
            return
        self._do(
            f"status {decision.state.value}: {decision.description}",
            lambda: self.github.set_status(
                self.pr.head_sha, decision.state, decision.description, context, self.comment_url
            ),
        )

    def _do(self, what: str, call: Callable[[], _T]) -> _T | None:
        """One write, unless read-only; a 403 on the first write means the token is
        read-only (a fork PR on Actions): stop writing, keep reviewing."""
        if not self.dry_run:
            try:
                result = call()
            except GitHubError as exc:
                if exc.status != 403 or exc.rate_limited or self.writes:
                    raise
                log.warning("GitHub refused the first write (403): read-only from now on")
                self.dry_run = True
            else:
                self.writes.append(what)
                return result
        self.writes.append(f"(read-only) would write: {what}")
        return None

    def finish(self, outcome: _Outcome) -> _Outcome:
        outcome.writes = self.writes
        if self.notes:
            outcome.notice = " ".join([outcome.notice, *(f"{n}." for n in self.notes)]).strip()
        if self.dry_run:
            outcome.notice = f"{READ_ONLY}. {outcome.notice}".strip()
        return outcome
