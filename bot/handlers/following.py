"""When production moves, open reviews follow: which pull requests an MLflow registry
event concerns, and how their comment says why the approvals went stale.

- `registry_event` reads a webhook delivery of MLflow (`{entity, action, timestamp,
  data}`) into a `RegistryEvent`, or None for events the bot does not follow.
- `follows` tells whether an open PR must be reviewed again: an alias event for the
  repository's `baseline.alias` concerns every PR whose recorded basis names that
  registered model (the state keeps it as a digest); any alias or version event
  concerns the PRs that link the model by an alias (`models:/m@challenger`) naming
  it (alias events) or naming that version (version and tag events).
- The review job carries a `Trigger` (bot.handlers.moved) that words the stale
  approvals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config.schema import CONFIG_PATH, Config
from bot.domain import PullRequest, RefKind
from bot.handlers.reviewdue import config_at
from bot.handlers.state import BotState, decode_state, find_bot_comment
from bot.ports import GitHubPort
from bot.review.basis import BASELINE, SEP, model_digest
from bot.review.refs import find_refs

REGISTRY_JOB = "mlflow_registry"  # the job of one registry delivery

ALIAS = "model_version_alias"
FOLLOWED = frozenset(
    {
        (ALIAS, "created"),
        (ALIAS, "deleted"),
        ("model_version", "created"),
        ("model_version_tag", "set"),
        ("model_version_tag", "deleted"),
    }
)

# (registered model, alias) -> the version it names now (None: none)
AliasLookup = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class Follows:
    """Why a PR must be reviewed again ("" : it need not); `production`: because the
    production alias of the model its review compared with moved."""

    reason: str = ""
    production: bool = False

    def __bool__(self) -> bool:
        return bool(self.reason)


class BadEvent(ValueError):
    """A followed event whose data lacks what it must carry."""


@dataclass(frozen=True)
class RegistryEvent:
    entity: str
    action: str
    name: str  # the registered model
    alias: str | None = None  # alias events
    version: str | None = None  # the version (none for a deleted alias)
    at: str = ""  # ISO 8601 UTC, when MLflow sent it

    @property
    def about_alias(self) -> bool:
        return self.entity == ALIAS

    def describe(self) -> str:
        target = f"@{self.alias}" if self.alias else f"/{self.version}"
        return f"{self.entity}.{self.action} {self.name}{target}"


def _text(data: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str | int) or not str(value).strip():
        raise BadEvent(f"the event's data has no `{key}`")
    return str(value)


def registry_event(payload: Mapping[str, Any]) -> RegistryEvent | None:
    """The event in a delivery's JSON; None when the bot does not follow it;
    BadEvent when it is followed but malformed."""
    kind = (payload.get("entity"), payload.get("action"))
    if kind not in FOLLOWED:
        return None
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise BadEvent("the event has no `data` object")
    about_alias = kind[0] == ALIAS
    return RegistryEvent(
        entity=str(kind[0]),
        action=str(kind[1]),
        name=str(_text(data, "name", True)),
        alias=_text(data, "alias", True) if about_alias else None,
        version=_text(data, "version", not about_alias),
        at=_when(payload),
    )


def _when(payload: Mapping[str, Any]) -> str:
    sent = str(payload.get("sent_at") or "")
    stamp = payload.get("timestamp")
    try:
        if isinstance(stamp, str) and stamp:
            moment = datetime.fromisoformat(stamp)
        else:
            moment = datetime.fromtimestamp(int(sent), UTC)
    except (ValueError, OverflowError):
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- which pull requests follow --------------------------------------------------------


def linked_aliases(texts: Sequence[str], name: str) -> set[str]:
    """The aliases of registered model `name` that `texts` link (`models:/name@alias`)."""
    return {
        ref.alias
        for ref in find_refs(texts)
        if ref.kind is RefKind.MODEL_ALIAS and ref.model_name == name and ref.alias
    }


def names_model(state: BotState | None, name: str) -> bool:
    """Whether the review in `state` compared with a version of registered model `name`."""
    basis = state.basis if state is not None else None
    baseline = (basis or {}).get(BASELINE, "")
    return baseline.endswith(f"{SEP}{model_digest(name)}")


def follows(
    github: GitHubPort,
    pull: PullRequest,
    event: RegistryEvent,
    configs: MutableMapping[str, Config],
    lookup: AliasLookup,
    *,
    config_path: str = CONFIG_PATH,
) -> Follows:
    """Why `pull` must be reviewed again after `event`.
    Costs the PR's comments (1 request per 100) and, for an alias event on a PR
    about that model, the config at its base commit (once per base commit)."""
    comments = github.comments(pull.number)
    mine = find_bot_comment(comments, github.bot_login())
    state = decode_state(mine.body) if mine else None
    if event.about_alias and names_model(state, event.name):
        config = config_at(github, pull.base_sha, configs, config_path)
        if event.alias == config.baseline.alias:
            return Follows(f"its review compared with `{event.alias}` of that model", True)
    texts = [pull.title, pull.body, *(c.body for c in comments if c is not mine)]
    linked = linked_aliases(texts, event.name)
    if event.about_alias and event.alias in linked:
        return Follows(f"it links the model by the alias `{event.alias}`")
    for alias in sorted(linked) if not event.about_alias else ():
        if lookup(event.name, alias) == event.version:
            return Follows(f"it links that version by the alias `{alias}`")
    return Follows()
