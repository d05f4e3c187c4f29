"""Logged models loaded to score rows in this environment (`model-review evaluate`).

`mlflow.pyfunc.load_model` loads the model; a scikit-learn classifier with two classes
scores with `predict_proba` (the probability of its second class), anything else with
pyfunc's `predict` (one number per row). Each model gets the columns of its own
signature. The model's logged requirements are compared with what is installed here:
the packages that differ are reported, never silently ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.errors import EXIT_ROWS, EXIT_UNLOADABLE, EvaluationError

log = logging.getLogger(__name__)

UNLOADABLE = "the {role} model {uri} could not be loaded: {why}"
UNLOADABLE_HINT = (
    "check the URI, that the model's files are on the tracking server, and that its "
    "flavor's packages are installed here"
)
WRONG_COUNT = "the {role} model returned {got:,} predictions for {rows:,} rows"
NOT_NUMERIC = "the {role} model's predictions are not numbers ({kind})"
PINNED = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Mismatch:
    """A package pinned in the model's requirements that differs here."""

    name: str
    logged: str
    running: str | None  # None: not installed

    def __str__(self) -> str:
        here = self.running or "not installed"
        return f"{self.name} {self.logged} (here: {here})"


@dataclass(frozen=True)
class LoadedModel:
    uri: str
    role: str  # "candidate" or "production"
    inputs: tuple[str, ...] | None  # the signature's input columns; None: no signature
    scores: str  # what the score is, user-facing
    predict: Callable[[Any], Any]
    mismatches: tuple[Mismatch, ...] = ()

    def score(self, frame: Any) -> Array:
        """One number per row of `frame` (a pandas DataFrame of this model's inputs)."""
        out = np.asarray(self.predict(frame))
        if out.ndim == 2 and out.shape[1] >= 1:
            out = out[:, -1]
        if out.ndim != 1 or len(out) != len(frame):
            got = len(out) if out.ndim >= 1 else 1
            raise EvaluationError(
                WRONG_COUNT.format(role=self.role, got=got, rows=len(frame)), EXIT_ROWS
            )
        try:
            return out.astype(float)
        except (TypeError, ValueError):
            raise EvaluationError(
                NOT_NUMERIC.format(role=self.role, kind=out.dtype), EXIT_ROWS
            ) from None


def load(uri: str, role: str, tracking_uri: str) -> LoadedModel:
    """Load the model at `uri` (models:/..., runs:/...) through the tracking server."""
    import mlflow
    import mlflow.pyfunc

    mlflow.set_tracking_uri(tracking_uri)
    try:
        model = mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # MLflow raises many kinds here, all meaning "not loadable"
        why = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise EvaluationError(
            UNLOADABLE.format(role=role, uri=uri, why=why), EXIT_UNLOADABLE, UNLOADABLE_HINT
        ) from None
    predict, scores = _predictor(model)
    return LoadedModel(uri, role, _inputs(model), scores, predict, _mismatches(uri))


def _inputs(model: Any) -> tuple[str, ...] | None:
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return None
    return tuple(str(name) for name in schema.input_names())


def _predictor(model: Any) -> tuple[Callable[[Any], Any], str]:
    raw = None
    if "sklearn" in (model.metadata.flavors or {}):
        try:
            raw = model.get_raw_model()
        except Exception:  # a wrapper without the raw model: pyfunc's predict then
            raw = None
    classes = list(getattr(raw, "classes_", []))
    if raw is not None and hasattr(raw, "predict_proba") and len(classes) == 2:
        return (lambda frame: raw.predict_proba(frame)[:, 1]), f"P(class {classes[1]})"
    return model.predict, "prediction"


def _mismatches(uri: str) -> tuple[Mismatch, ...]:
    import mlflow.pyfunc

    quiet = logging.getLogger("mlflow.pyfunc")
    level, quiet.level = quiet.level, logging.WARNING  # not its "to install, run ..." line
    try:
        path = mlflow.pyfunc.get_model_dependencies(uri, format="pip")
        text = Path(path).read_text(encoding="utf-8")
    except Exception as exc:  # no requirements logged: nothing to compare
        log.info("no requirements for %s: %s", uri, exc)
        return ()
    finally:
        quiet.level = level
    return differing(text)


def differing(requirements: str) -> tuple[Mismatch, ...]:
    """The `name==version` lines of a requirements.txt that this environment differs from."""
    found = []
    for line in requirements.splitlines():
        match = PINNED.match(line)
        if not match:
            continue
        name, logged = match.group(1), match.group(2)
        try:
            running: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            running = None
        if running != logged:
            found.append(Mismatch(name, logged, running))
    return tuple(found)
