"""Who counts: whose reviews can hold a reviewer slot, and whose comments choose what
is reviewed. The rule table is in docs/security.md.

- Reviews: never a bot, never the PR author, never someone without write access to
  the repository (write, maintain or admin, read from GitHub: `author_association`
  alone is not enough, a MEMBER may only read). A team slot is held by an active
  member of the team (child teams included, pending invitations not), as GitHub
  says or as `reviewers.teams` lists it. When membership cannot be verified the
  slot stays pending, and the comment says how to enable verification.
- References: the PR's title and body (the author's), comments by the author, and
  comments by people with write access. Other comments are ignored, and the review
  says so without repeating them.

`People` asks GitHub once per distinct user (permission) and once per distinct
team and user (membership) within one event, and only about people whose answer
matters: reviewers with a current approval or change request, and commenters whose
comment holds a reference and whose `author_association` allows write access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.constants import bare_login, login_key
from bot.domain import Assignment, Comment, PullRequest, Review, Standing
from bot.ports import GitHubPort
from bot.review.gate import COUNTING, is_bot, latest_reviews
from bot.review.refs import MAX_SCAN_CHARS, scan_refs
from bot.review.reviewers import Command, CommandKind, is_team

ENABLE_TEAMS = (
    "give model-review a token that can read the organisation's teams (Action: the "
    "`org-token` input, a token with Members: read or `read:org`; App: the organisation "
    "permission Members: read), or list the team's members under `reviewers.teams` in "
    ".github/model-review.yml"
)
IGNORED_REFS = (
    "{n} with MLflow references {was} ignored: only the PR's author and people with write "
    "access to this repository choose what is reviewed"
)
NOT_A_WRITER = (
    "`{raw}` was not applied: model-review commands need write access to this "
    "repository, and {who} has none (the PR's author may `refresh`)"
)
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
# author_association values that rule out write access without asking GitHub
NO_ACCESS = frozenset({"NONE", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN"})


@dataclass(frozen=True)
class Texts:
    """The PR text whose references count, and how many comments were left out."""

    texts: tuple[str, ...]
    ignored: int = 0
    scanned: int = 0  # characters of comments examined to choose (bounded, linear)

    @property
    def problem(self) -> str | None:
        if not self.ignored:
            return None
        n = "1 comment" if self.ignored == 1 else f"{self.ignored} comments"
        return IGNORED_REFS.format(n=n, was="was" if self.ignored == 1 else "were")


class People:
    """GitHub's answers about people for one event, each asked at most once."""

    def __init__(self, github: GitHubPort) -> None:
        self._github = github
        self._listed: dict[str, set[str]] = {}  # reviewers.teams: org/team -> members
        self._permissions: dict[str, str] = {}
        self._memberships: dict[tuple[str, str], bool | None] = {}

    @property
    def requests(self) -> int:
        """The GitHub requests made so far (a team listed in the config costs none)."""
        asked = [k for k in self._memberships if k[0] not in self._listed]
        return len(self._permissions) + len(asked)

    def can_write(self, login: str) -> bool:
        key = login_key(login)
        if key not in self._permissions:
            self._permissions[key] = self._github.permission(bare_login(login))
        return self._permissions[key] in WRITE_PERMISSIONS

    def is_member(self, team: str, login: str) -> bool | None:
        key = (login_key(team), login_key(login))
        if key not in self._memberships:
            listed = self._listed.get(key[0])
            if listed is not None:
                self._memberships[key] = key[1] in listed
            else:
                self._memberships[key] = self._github.team_membership(team, login)
        return self._memberships[key]

    def standing(
        self,
        reviews: Sequence[Review],
        assignment: Assignment,
        author: str,
        listed: Sequence[tuple[str, Sequence[str]]] = (),
    ) -> Standing:
        """What the gate needs to know about the people whose reviews could count;
        `listed`: teams whose members the config lists (`reviewers.teams`), read from
        there instead of GitHub."""
        self._listed = {
            login_key(team): {login_key(m) for m in members} for team, members in listed
        }
        latest = latest_reviews(reviews, author)
        voting = [r for r in latest.values() if r.state in COUNTING and not is_bot(r)]
        writers = frozenset(login_key(r.user) for r in voting if self.can_write(r.user))
        users = {
            login_key(h) for h in (assignment.primary, assignment.secondary) if h and not is_team(h)
        }
        members: dict[str, frozenset[str]] = {}
        unverified: dict[str, str] = {}
        for team in map(bare_login, _teams(assignment)):
            found, unknown = _members(self, team, [r.user for r in voting], writers - users)
            members[login_key(team)] = found
            if unknown:
                unverified[login_key(team)] = ENABLE_TEAMS
        return Standing(writers, members, unverified)

    def texts(self, pr: PullRequest, comments: Sequence[Comment], bot_login: str) -> Texts:
        """The title, the body and the comments whose references count.

        Each comment is scanned once, at most MAX_TEXT_CHARS of it. Comments by people
        who cannot write (by `author_association`) are scanned only to count the
        ignored ones, up to MAX_SCAN_CHARS in all; those by possible writers have a
        budget of their own, so the first cannot spend the second. A possible
        writer's comment left unread by its budget is kept when they can write (the
        review then says the text was cut)."""
        kept = [pr.title, pr.body]
        ignored = 0
        spent = {True: 0, False: 0}  # by "possible writer"
        for comment in comments:
            if login_key(comment.author) == login_key(bot_login) or _is_bot(comment):
                continue
            if login_key(comment.author) == login_key(pr.author):
                kept.append(comment.body)
                continue
            writer = comment.association.upper() not in NO_ACCESS
            scan = scan_refs([comment.body], MAX_SCAN_CHARS - spent[writer])
            spent[writer] += scan.work
            if writer and (scan.refs or scan.truncated) and self.can_write(comment.author):
                kept.append(comment.body)
            elif scan.refs:
                ignored += 1
        return Texts(tuple(kept), ignored, sum(spent.values()))


def _is_bot(comment: Comment) -> bool:
    return comment.bot or comment.author.lower().endswith("[bot]")


def verified_command(
    command: Command | None, people: People, author: str
) -> tuple[Command | None, str | None]:
    """The command if its writer may run it (write access, as GitHub says; the PR's
    author may `refresh`), else None and why, for the comment. Asked once per person,
    like approvals; a command whose writer is unknown is refused."""
    if command is None:
        return None, None
    if (
        command.kind is CommandKind.REFRESH
        and command.by
        and login_key(command.by) == login_key(author)
    ):
        return command, None
    if command.by and people.can_write(command.by):
        return command, None
    who = f"@{command.by}" if command.by else "its writer"
    return None, NOT_A_WRITER.format(raw=command.raw, who=who)


def _teams(assignment: Assignment) -> list[str]:
    return [h for h in (assignment.primary, assignment.secondary) if h and is_team(h)]


def _members(
    people: People, team: str, logins: Sequence[str], eligible: frozenset[str]
) -> tuple[frozenset[str], bool]:
    """(verified active members among `logins` that are `eligible`, whether some
    answer was unknown). The first unknown answer stops the lookups: the token cannot
    read the team, asking about the others would cost requests and say nothing."""
    found = set()
    for login in logins:
        if login_key(login) not in eligible:
            continue
        answer = people.is_member(team, login)
        if answer is None:
            return frozenset(), True
        if answer:
            found.add(login_key(login))
    return frozenset(found), False
