"""The typed parts of the bot's state besides the reviewers and the fingerprint, and
their JSON in the state block (bot.handlers.state):

- `models`: each model's reviewer slots when several models are reviewed apart
  (bot.review.permodel), by label;
- `plots`: the plot cache (bot.handlers.plotcache): a key of what the plots show and
  the images the bot itself published for it, each with the sha256 of its PNG;
- `recorded`: the runs holding this PR's record in MLflow (bot.handlers.record);
- `compared_with`: the production run compared with, "RUN:VERSION" (reconcile);
- `failure`: why the last review failed closed, and whether it was transient (a
  dependency down: the App retries and reconcile reviews the PR again once it answers,
  bot.handlers.failed); gone once a review completes.

A part read back with the wrong shape is dropped (the rest of the state stays): a
hand edit never reaches a handler. Version 1 and 2 blocks kept these parts as text
in a free-form `extra` map; `from_extra` reads them from there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import HostedImage
from bot.review.permodel import SlotMemory

RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
COMPARED_WITH = re.compile(r"([A-Za-z0-9_-]{1,64}:[0-9]{0,10})?")
DIGEST = re.compile(r"[0-9a-f]{64}")
_TEXT_FIELDS = ("name", "title", "alt", "url", "group")
FAILURE_MAX = 300  # characters of `Failure.why`
_FAILURE_KINDS = {"transient": True, "permanent": False}  # version 2's text form


@dataclass(frozen=True)
class PlotCache:
    """The images the bot published for the plots of `key` (bot.handlers.plotcache)."""

    key: str
    images: tuple[HostedImage, ...] = ()


@dataclass(frozen=True)
class Failure:
    """Why the last review failed closed; `transient`: a dependency was down."""

    transient: bool
    why: str

    @classmethod
    def of(cls, transient: bool, why: str) -> Failure:
        """One line, bounded (the state block stays small)."""
        text = " ".join(why.split())
        return cls(transient, text if len(text) <= FAILURE_MAX else text[: FAILURE_MAX - 1] + "…")


@dataclass(frozen=True)
class Parts:
    """The typed parts, as BotState holds them."""

    models: Mapping[str, SlotMemory]
    plots: PlotCache | None
    recorded: tuple[str, ...]
    compared_with: str | None
    failure: Failure | None = None


# --- to JSON ------------------------------------------------------------------------


def _image(image: HostedImage) -> dict[str, Any]:
    return {
        "name": image.name,
        "title": image.title,
        "alt": image.alt,
        "url": image.url,
        "primary": image.primary,
        "group": image.group,
        "sha256": image.sha256,
    }


def to_json(parts: Parts) -> dict[str, Any]:
    """The parts as the version 3 payload holds them."""
    models = {
        k: [m.primary, m.secondary, m.fingerprint, m.changed_at] for k, m in parts.models.items()
    }
    plots = parts.plots
    return {
        "models": models,
        "plots": None
        if plots is None
        else {"key": plots.key, "images": [_image(i) for i in plots.images]},
        "recorded": list(parts.recorded),
        "compared_with": parts.compared_with,
        "failure": None
        if parts.failure is None
        else {"transient": parts.failure.transient, "why": parts.failure.why},
    }


# --- from JSON ----------------------------------------------------------------------


def _models(raw: object) -> dict[str, SlotMemory]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, SlotMemory] = {}
    for label, item in raw.items():
        if (
            isinstance(item, list)
            and len(item) == 4
            and all(v is None or isinstance(v, str) for v in item)
        ):
            out[str(label)] = SlotMemory(item[0], item[1], item[2] or "", item[3] or "")
    return out


def _hosted(raw: object) -> HostedImage | None:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(f), str) for f in _TEXT_FIELDS):
        return None
    digest = raw.get("sha256", "")
    if not isinstance(raw.get("primary"), bool) or not isinstance(digest, str):
        return None
    if digest and not DIGEST.fullmatch(digest):
        return None
    fields = {f: raw[f] for f in _TEXT_FIELDS}
    return HostedImage(**fields, primary=raw["primary"], sha256=digest)


def _plots(raw: object) -> PlotCache | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
        return None
    items = raw.get("images")
    if not isinstance(items, list):
        return None
    images = [_hosted(item) for item in items]
    if any(image is None for image in images):
        return None
    return PlotCache(raw["key"], tuple(i for i in images if i is not None))


def _recorded(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(
        isinstance(i, str) and RUN_ID.fullmatch(i) for i in raw
    ):
        return ()
    return tuple(raw)


def _compared_with(raw: object) -> str | None:
    return raw if isinstance(raw, str) and COMPARED_WITH.fullmatch(raw) else None


def _failure(raw: object) -> Failure | None:
    if not isinstance(raw, dict) or set(raw) != {"transient", "why"}:
        return None
    transient, why = raw["transient"], raw["why"]
    if not isinstance(transient, bool) or not isinstance(why, str) or len(why) > FAILURE_MAX:
        return None
    return Failure(transient, why)


def _failure_text(text: str | None) -> Failure | None:
    kind, sep, why = (text or "").partition(": ")
    if kind not in _FAILURE_KINDS or not sep or len(text or "") > FAILURE_MAX:
        return None
    return Failure(_FAILURE_KINDS[kind], why)


def from_json(payload: Mapping[str, Any]) -> Parts:
    """The parts of a version 3 payload (each dropped when its shape is wrong)."""
    return Parts(
        models=_models(payload.get("models")),
        plots=_plots(payload.get("plots")),
        recorded=_recorded(payload.get("recorded")),
        compared_with=_compared_with(payload.get("compared_with")),
        failure=_failure(payload.get("failure")),
    )


def _loads(text: str | None) -> object:
    try:
        return json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None


def from_extra(extra: Mapping[str, str]) -> Parts:
    """The parts of a version 1 or 2 block, kept then as text in `extra` under the
    keys "models" (JSON), "plots" (JSON), "recorded" (comma-separated run ids) and
    "baseline" (RUN:VERSION), and "failure" ("transient: why" or "permanent: why")."""
    recorded = [i for i in extra.get("recorded", "").split(",") if i]
    return Parts(
        models=_models(_loads(extra.get("models"))),
        plots=_plots(_loads(extra.get("plots"))),
        recorded=_recorded(recorded),
        compared_with=_compared_with(extra.get("baseline")),
        failure=_failure_text(extra.get("failure")),
    )
