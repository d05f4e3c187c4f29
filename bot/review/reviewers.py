"""Who must review a model: assigning the primary and secondary reviewers, and the
commands people write in PR comments to refresh the review or hand a slot over.

Pool entries are GitHub logins or team slugs written `org/team`. A team fills one
slot: the gate (bot.review.gate) counts an approval from a verified active member of
the team with write access who does not hold the other slot (bot.handlers.trust).

Commands (one per comment, on a line of its own, not quoted):

    /model-review refresh                      re-run the review now
    /model-review reassign primary @login      hand the primary slot to @login
    /model-review reassign secondary @login    hand the secondary slot to @login

A slot with a pool can only be handed to someone in that pool; a slot without a
pool to anyone. Never to the PR author, never to whoever holds the other slot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from bot.config.schema import ReviewersConfig
from bot.constants import bare_login, login_key
from bot.domain import Assignment
from bot.errors import ModelReviewError
from bot.review.refs import visible_text

COMMAND_PREFIX = "/model-review"
COMMAND_HELP = (
    "`/model-review refresh`, `/model-review reassign primary @login` "
    "or `/model-review reassign secondary @login`"
)

_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_ENTRY = re.compile(rf"@?({_LOGIN}(?:/[A-Za-z0-9][A-Za-z0-9_.-]{{0,99}})?)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_INDENTED_CODE = re.compile(r"^(?: {4}|\t)")


class Slot(Enum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class CommandKind(Enum):
    REFRESH = "refresh"
    REASSIGN = "reassign"
    INVALID = "invalid"  # started with /model-review but did not parse: reply with help


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    raw: str  # the command line as written
    slot: Slot | None = None  # REASSIGN only
    login: str | None = None  # REASSIGN only: login or org/team, without "@"
    problem: str | None = None  # INVALID only: what is wrong, for the reply
    by: str = ""  # who wrote it (the router fills it in; write access is checked later)


# --- names ------------------------------------------------------------------


def is_team(entry: str) -> bool:
    return "/" in entry


_norm = bare_login


_key = login_key


def split_users_teams(logins: Sequence[str]) -> tuple[list[str], list[str]]:
    """(users, team slugs) for the review-request API, which wants a team's slug
    without its organisation. Empty entries are dropped, order is kept."""
    users: list[str] = []
    teams: list[str] = []
    for entry in logins:
        name = _norm(entry)
        if not name:
            continue
        if is_team(name):
            teams.append(name.split("/", 1)[1])
        else:
            users.append(name)
    return users, teams


def team_stand_in(
    team: str,
    listed: Sequence[tuple[str, Sequence[str]]],
    pr_number: int,
    excluded: Sequence[str],
) -> str | None:
    """The member of `team` ("org/team") to request in the team's place when the token
    cannot request a team's review: the next listed member (`reviewers.teams`) in a
    rotation by PR number who is not excluded (the author, the other slot); None when
    the config lists no such member."""
    members = next((_dedupe(m) for t, m in listed if _key(t) == _key(_norm(team))), [])
    return _pick(members, pr_number, {_key(e) for e in excluded}) if members else None


# --- assignment -------------------------------------------------------------


def _dedupe(pool: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for entry in pool:
        name = _norm(entry)
        if name and _key(name) not in seen:
            seen.add(_key(name))
            out.append(name)
    return out


def _pick(pool: Sequence[str], pr_number: int, excluded: set[str]) -> str | None:
    """pool[(n + k) % len] for the first k that is not excluded: a fair rotation."""
    for k in range(len(pool)):
        entry = pool[(pr_number + k) % len(pool)]
        if _key(entry) not in excluded:
            return entry
    return None


def _kept(previous: str | None, pool: Sequence[str], excluded: set[str]) -> str | None:
    """The previous holder of a slot, if still allowed to hold it."""
    if previous is None or _key(previous) in excluded:
        return None
    if not pool:
        return _norm(previous)
    return next((entry for entry in pool if _key(entry) == _key(previous)), None)


def assign(  # noqa: PLR0917 (the agreed signature)
    primary_pool: Sequence[str],
    secondary_pool: Sequence[str],
    author: str,
    pr_number: int,
    previous: Assignment | None,
    requested: Sequence[str],
) -> Assignment:
    """The primary and secondary reviewers of a PR.

    A previous holder keeps a slot while still in its pool (assignments are stable
    across events). An empty slot takes the next pool member in a rotation by PR
    number, never the author, never the other slot's holder. A slot whose pool is
    empty keeps its previous holder (GitHub drops people from the requested list
    once they review, so the bot remembers) or takes the next reviewer requested on
    the PR; None when there is nobody. A team ("org/team") counts as one reviewer:
    a verified member's approval satisfies it (see bot.review.gate).
    """
    pools = (_dedupe(primary_pool), _dedupe(secondary_pool))
    before = (previous.primary, previous.secondary) if previous else (None, None)
    excluded = {_key(author)}
    chosen: list[str | None] = [None, None]
    for slot in (0, 1):
        chosen[slot] = _kept(before[slot], pools[slot], excluded)
        if chosen[slot] is not None:
            excluded.add(_key(chosen[slot] or ""))
    waiting = _dedupe(requested)
    for slot in (0, 1):
        if chosen[slot] is None:
            if pools[slot]:
                chosen[slot] = _pick(pools[slot], pr_number, excluded)
            else:
                chosen[slot] = next((r for r in waiting if _key(r) not in excluded), None)
            if chosen[slot] is not None:
                excluded.add(_key(chosen[slot] or ""))
    return Assignment(primary=chosen[0], secondary=chosen[1])


# --- commands ---------------------------------------------------------------


def _command_lines(body: str) -> list[str]:
    """Lines that start with the prefix in the text a reader sees: not inside HTML
    comments, code (fenced or indented four spaces), quotes (`> ...`) or `<details>`
    blocks (collapsed: a reviewer may never open them)."""
    lines: list[str] = []
    fenced = False
    details = 0
    for line in visible_text(body).splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        lowered = line.lower()
        opened = details
        details = max(0, details + lowered.count("<details") - lowered.count("</details"))
        text = line.strip()
        if fenced or opened or details or _INDENTED_CODE.match(line):
            continue
        if not text.lower().startswith(COMMAND_PREFIX):
            continue
        rest = text[len(COMMAND_PREFIX) :]
        if not rest or rest[0].isspace():
            lines.append(text)
    return lines


def _invalid(raw: str, problem: str) -> Command:
    return Command(CommandKind.INVALID, raw=raw, problem=f"{problem}; use {COMMAND_HELP}")


def _parse_line(line: str) -> Command:
    words = line.split()[1:]
    verb = words[0].lower() if words else ""
    if verb == "refresh" and len(words) == 1:
        return Command(CommandKind.REFRESH, raw=line)
    if verb != "reassign":
        return _invalid(line, f"`{line}` is not a model-review command")
    if len(words) != 3 or words[1].lower() not in ("primary", "secondary"):
        return _invalid(line, f"`{line}` needs a slot and a login")
    match = _ENTRY.fullmatch(words[2])
    if match is None:
        return _invalid(line, f"`{words[2]}` is not a GitHub login or org/team")
    slot = Slot(words[1].lower())
    return Command(CommandKind.REASSIGN, raw=line, slot=slot, login=match.group(1))


def parse_command(body: str) -> Command | None:
    """The first model-review command in a comment; None when there is none.

    A line that starts with `/model-review` but does not parse gives an INVALID
    command whose `problem` says what to write instead. Commands inside code fences
    or quotes (`> ...`) are ignored, so quoting someone's command does not repeat it.
    """
    lines = _command_lines(body)
    return _parse_line(lines[0]) if lines else None


def apply_reassign(
    assignment: Assignment, cmd: Command, pools: ReviewersConfig, author: str
) -> Assignment:
    """The assignment after a `reassign` command; ModelReviewError when not allowed."""
    if cmd.kind is not CommandKind.REASSIGN or cmd.slot is None or not cmd.login:
        raise ModelReviewError("this comment is not a reassign command", hint=f"use {COMMAND_HELP}")
    login = _norm(cmd.login)
    primary = cmd.slot is Slot.PRIMARY
    pool = _dedupe(pools.primary if primary else pools.secondary)
    other = assignment.secondary if primary else assignment.primary
    name = cmd.slot.value
    if _key(login) == _key(author):
        raise ModelReviewError(
            f"@{login} opened this pull request and cannot review it",
            hint=f"pick someone else for the {name} reviewer",
        )
    if other is not None and _key(login) == _key(other):
        raise ModelReviewError(
            f"@{login} is already the {'secondary' if primary else 'primary'} reviewer",
            hint=f"pick someone else for the {name} reviewer",
        )
    if pool:
        found = next((entry for entry in pool if _key(entry) == _key(login)), None)
        if found is None:
            raise ModelReviewError(
                f"@{login} is not in the {name} reviewer pool",
                hint=f"choose one of {', '.join('@' + e for e in pool)} "
                f"(reviewers.{name} in .github/model-review.yml)",
            )
        login = found
    return replace(assignment, **{name: login})
