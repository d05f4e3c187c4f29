"""Does every metric the config names exist? A bar on a metric no run logs is a bar
the team believes enforced that is not.

- An exact name in `metrics.rules`, `plots.curves` or `uncertainty.step_samples` that
  no reviewed run (candidates and production) logs is reported with a did-you-mean;
  `render` exits 3 for it.
- A glob there, or any entry of `metrics.roles`, that matches nothing is mentioned
  once, not failed: globs are written for runs to come.
- A `min`/`max`/`mlflow` bar on a metric a candidate lacks holds the gate
  (bot.review.decision): `bars_not_logged` names those metrics.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase

from bot.config.schema import Config, MetricRule
from bot.domain import MetricRow, RunSnapshot
from bot.review.bars import NOT_LOGGED

GLOB_CHARS = frozenset("*?[")
HINT_CUTOFF = 0.8  # difflib similarity for a did-you-mean (`rocauc` ~ `roc_auc`: 0.92)
NOT_LOGGED_NAME = "{what} `{name}`: no run logs it{hint}"
DID_YOU_MEAN = " — did you mean `{match}`?"
NO_MATCH = "{where} `{pattern}` matches no metric of the reviewed runs"


@dataclass(frozen=True)
class NameCheck:
    misnamed: tuple[str, ...] = ()  # exact names no run logs (user-facing, did-you-mean)
    unmatched: tuple[str, ...] = ()  # globs that match nothing (mentioned, not failed)


def is_glob(pattern: str) -> bool:
    return any(c in GLOB_CHARS for c in pattern)


def has_bars(rule: MetricRule) -> bool:
    return rule.min is not None or rule.max is not None or rule.mlflow is not None


def _hint(name: str, known: Sequence[str]) -> str:
    lowered = {k.lower(): k for k in known}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=HINT_CUTOFF)
    return DID_YOU_MEAN.format(match=lowered[match[0]]) if match else ""


def _named(config: Config) -> list[tuple[str, str]]:
    """(what, name or glob) for every metric name the config uses."""
    named = [("bar" if has_bars(r) else "rule", r.pattern) for r in config.metrics.rules]
    named += [("plots.curves names", c) for c in config.plots.curves]
    named += [("uncertainty.step_samples names", s) for s in config.uncertainty.step_samples]
    return named


def logged_keys(runs: Iterable[RunSnapshot | None]) -> list[str]:
    return sorted({k for r in runs if r is not None for k in (*r.metrics, *r.samples)})


def check_names(config: Config, runs: Sequence[RunSnapshot | None]) -> NameCheck:
    """What the config names that the reviewed runs do not log."""
    known = logged_keys(runs)
    if not known:
        return NameCheck()  # nothing logged at all: the verdict already says so
    misnamed: list[str] = []
    unmatched: list[str] = []
    for what, name in _named(config):
        if is_glob(name):
            if not any(fnmatchcase(k, name) for k in known):
                unmatched.append(NO_MATCH.format(where=f"{what} glob", pattern=name))
        elif name not in known:
            misnamed.append(NOT_LOGGED_NAME.format(what=what, name=name, hint=_hint(name, known)))
    roles = config.metrics.roles
    for field in fields(roles):
        for pattern in getattr(roles, field.name):
            if not any(fnmatchcase(k, pattern) for k in known):
                where = f"metrics.roles.{field.name}"
                unmatched.append(NO_MATCH.format(where=where, pattern=pattern))
    return NameCheck(tuple(dict.fromkeys(misnamed)), tuple(dict.fromkeys(unmatched)))


def bars_not_logged(
    config: Config, rows: Sequence[MetricRow], candidates: Sequence[RunSnapshot]
) -> tuple[str, ...]:
    """The metrics with a `min`/`max`/`mlflow` bar that a candidate does not log."""
    absent = [r.key for r in rows if any(NOT_LOGGED in c.missed for c in r.cells)]
    for rule in config.metrics.rules:
        exact = not is_glob(rule.pattern)
        if exact and has_bars(rule) and any(rule.pattern not in c.metrics for c in candidates):
            absent.append(rule.pattern)
    return tuple(dict.fromkeys(absent))
