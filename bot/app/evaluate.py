"""`model-review evaluate`: score the candidate and production on the same rows and log
the paired predictions to the candidate run, so every review can tell a real difference
from noise (bot.review.predictions reads them back).

Runs in the team's own environment (the models' packages installed), before the review.
Everything local (the tracking URI, the data file, the config) is checked before MLflow
is asked anything; the models are loaded before any row is read; the table is logged
only when every row was scored, so a failure leaves the run as it was.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.app import evalset
from bot.config.schema import Config
from bot.domain import Baseline, Candidate, RefKind
from bot.errors import (
    EXIT_NO_LABEL,
    EXIT_NO_OVERLAP,
    EXIT_REQUIREMENTS,
    EXIT_ROWS,
    EXIT_UNLOADABLE,
    EvaluationError,
    UsageError,
)
from bot.ports import RunsPort
from bot.review import predictions, tables

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000
ONE_CANDIDATE = "evaluate takes one candidate; the text names {n}"
NO_CANDIDATE = "no candidate: {why}"
CANDIDATE_HINT = "pass --candidate models:/NAME/VERSION or runs:/RUN_ID/PATH"
NO_MODEL = "run `{run}` has no logged model to load"
NO_PRODUCTION = "no production model to compare with: {why}"
NO_COLUMN = "{option} {name}: the data has no column `{name}` (it has: {have})"
NO_OVERLAP = "no column of the data is an input of the {role} model (it takes: {wants})"
MISSING_INPUTS = "the data lacks the {role} model's inputs: {missing}"
NO_LABEL = "{count:,} rows have no label in `{target}` (the first is data row {first:,})"
NOT_NUMERIC = "labels must be numbers: `{target}` holds {value!r} (data row {row:,})"
REPEATED = "{count:,} rows repeat an id of column `{id}`: rows cannot be paired"
NO_ROWS = "the evaluation data has no rows"
MISMATCH = "warning: the {role} model was logged with {packages}; its scores may differ"
DONE = (
    "paired predictions of {rows:,} rows logged to run {run} ({path}): candidate {cand} "
    "against production {prod}"
)


@dataclass(frozen=True)
class Pair:
    candidate: Candidate
    candidate_uri: str
    baseline: Baseline
    production_uri: str
    production: str  # NAME/VERSION, as the table and tag name it


def run_evaluate(args: argparse.Namespace) -> int:
    from bot.app.offline import NO_TRACKING_HINT, NO_TRACKING_URI, read_config
    from bot.tracking.client import MlflowRuns
    from bot.tracking.data import check_local_store, configure_client_env

    source = "--tracking-uri" if args.tracking_uri else "MLFLOW_TRACKING_URI"
    tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking_uri:
        raise UsageError(NO_TRACKING_URI, hint=NO_TRACKING_HINT)
    check_local_store(tracking_uri, source)
    data = evalset.check_file(args.data) if args.data else None
    config = read_config(args.config)
    configure_client_env(os.environ)
    runs = MlflowRuns(tracking_uri, ui_url=config.mlflow.ui_url, source=source)
    pair = resolve_pair(args, runs, config)
    with tempfile.TemporaryDirectory(prefix="model-review-") as tmp:
        path = data or _fetch_logged(runs, pair.candidate, Path(tmp))
        return _evaluate(args, runs, pair, path, tracking_uri)


def _evaluate(
    args: argparse.Namespace, runs: RunsPort, pair: Pair, path: Path, tracking_uri: str
) -> int:
    from bot.tracking import scoring

    cand = scoring.load(pair.candidate_uri, "candidate", tracking_uri)
    prod = scoring.load(pair.production_uri, "production", tracking_uri)
    for model in (cand, prod):
        if model.mismatches:
            packages = ", ".join(str(m) for m in model.mismatches)
            print(MISMATCH.format(role=model.role, packages=packages), file=sys.stderr)
    table, rows = score_rows(path, args.target, args.id, (cand, prod), pair.production)
    run_id = pair.candidate.run.run_id
    runs.log_artifact_bytes(run_id, predictions.PATH, table)
    tags = {
        predictions.TAG_PRODUCTION: pair.production,
        predictions.TAG_DIGEST: evalset.digest(path),
        predictions.TAG_ROWS: str(rows),
    }
    runs.set_run_tags(run_id, tags)
    shown = predictions.shown_version(pair.production)
    print(
        DONE.format(
            rows=rows, run=run_id, path=predictions.PATH, cand=pair.candidate_uri, prod=shown
        )
    )
    mismatched = cand.mismatches or prod.mismatches
    return EXIT_REQUIREMENTS if mismatched and not args.ignore_requirements else 0


# --- which models -------------------------------------------------------------------------


def resolve_pair(args: argparse.Namespace, runs: RunsPort, config: Config) -> Pair:
    """The candidate (from --candidate or the text) and the baseline the review would use."""
    from bot.app.offline import parse_run_option, read_text
    from bot.review.pipeline import ReviewRequest, collect_refs
    from bot.review.resolve import find_baseline, resolve_candidates

    if args.candidate:
        refs = [parse_run_option(args.candidate)]
    else:
        refs, _ = collect_refs(ReviewRequest(texts=[read_text(args)]))
    resolution = resolve_candidates(refs, runs, config)
    if resolution.unresolved and not resolution.candidates:
        why = resolution.unresolved[0].reason
        raise EvaluationError(NO_CANDIDATE.format(why=why), EXIT_UNLOADABLE, CANDIDATE_HINT)
    if len(resolution.candidates) != 1:
        n = len(resolution.candidates)
        raise UsageError(ONE_CANDIDATE.format(n=n) if n else NOTHING, hint=CANDIDATE_HINT)
    candidate = resolution.candidates[0]
    baseline = find_baseline([candidate], runs, config.baseline, allow=config.mlflow)
    label = predictions.version_label(baseline)
    if baseline.run is None or label is None:
        why = baseline.reason or "none was found"
        raise EvaluationError(NO_PRODUCTION.format(why=why), EXIT_UNLOADABLE)
    uri = args.candidate if _loadable(args.candidate) else _model_uri(candidate)
    prod_uri = _model_uri(Candidate(baseline.run, model_version=baseline.model_version))
    return Pair(candidate, uri, baseline, prod_uri, label)


NOTHING = "no candidate: the text names no MLflow run or model"


def _loadable(raw: str | None) -> bool:
    return bool(raw) and str(raw).startswith(("models:/", "runs:/"))


def _model_uri(candidate: Candidate) -> str:
    mv = candidate.model_version
    if mv is not None:
        return f"models:/{mv.name}/{mv.version}"
    for ref in candidate.refs:
        if ref.kind is RefKind.RUN and ref.raw.startswith("runs:/"):
            return ref.raw
    models = candidate.run.logged_models
    if len(models) == 1:
        return f"models:/{models[0].model_id}"
    raise EvaluationError(
        NO_MODEL.format(run=candidate.run.display_name), EXIT_UNLOADABLE, CANDIDATE_HINT
    )


def _fetch_logged(runs: RunsPort, candidate: Candidate, folder: Path) -> Path:
    found = evalset.logged_source(candidate.run)
    if found.path is not None:
        return found.path
    assert found.run_id is not None and found.artifact is not None
    target = folder / Path(found.artifact).name
    target.write_bytes(runs.download_artifact(found.run_id, found.artifact))
    return target


# --- scoring --------------------------------------------------------------------------------


def _inputs(model: Any, features: list[str]) -> list[str]:
    if model.inputs is None:
        return features
    missing = [c for c in model.inputs if c not in features]
    if len(missing) == len(model.inputs):
        wants = ", ".join(f"`{c}`" for c in model.inputs)
        raise EvaluationError(NO_OVERLAP.format(role=model.role, wants=wants), EXIT_NO_OVERLAP)
    if missing:
        shown = ", ".join(f"`{c}`" for c in missing)
        raise EvaluationError(
            MISSING_INPUTS.format(role=model.role, missing=shown), EXIT_NO_OVERLAP
        )
    return list(model.inputs)


def _labels(values: Any, target: str, start: int) -> Any:
    import pandas as pd

    missing = values.isna().to_numpy()
    if missing.any():
        first = start + int(np.argmax(missing)) + 1
        count = int(missing.sum())
        raise EvaluationError(
            NO_LABEL.format(count=count, target=target, first=first), EXIT_NO_LABEL
        )
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(numbers)
    if bad.any():
        at = int(np.argmax(bad))
        raise UsageError(
            NOT_NUMERIC.format(target=target, value=values.iloc[at], row=start + at + 1)
        )
    return numbers


def score_rows(
    path: Path, target: str, id_column: str | None, models: tuple[Any, Any], production: str
) -> tuple[bytes, int]:
    """The paired predictions table (CSV bytes) over every row, and the row count."""
    have = evalset.columns(path)
    for option, name in (("--target", target), ("--id", id_column)):
        if name is not None and name not in have:
            shown = ", ".join(f"`{c}`" for c in have[:20])
            raise UsageError(NO_COLUMN.format(option=option, name=name, have=shown))
    features = [c for c in have if c not in (target, id_column)]
    cand_cols, prod_cols = (_inputs(m, features) for m in models)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(predictions.COLUMNS)
    keys, start = [], 0
    for frame in evalset.batches(path, BATCH_ROWS):
        labels = _labels(frame[target], target, start)
        count = len(frame)
        if id_column is not None:
            ids = frame[id_column].astype(str).tolist()
            keys.append(tables.hash_keys(ids))
        else:
            ids = [str(i) for i in range(start, start + count)]
        cand = models[0].score(frame[cand_cols])
        prod = models[1].score(frame[prod_cols])
        columns = (ids, labels.tolist(), cand.tolist(), prod.tolist())
        writer.writerows(zip(*columns, itertools.repeat(production), strict=False))
        start += count
    if start == 0:
        raise UsageError(NO_ROWS)
    if keys:
        every = np.concatenate(keys)
        repeats = len(every) - len(np.unique(every))
        if repeats:
            raise EvaluationError(REPEATED.format(count=repeats, id=id_column), EXIT_ROWS)
    return out.getvalue().encode(), start
