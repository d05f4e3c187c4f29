"""Find the repeated measures behind a run's metrics (through the RunsPort).

1. Child runs: runs with the tag `mlflow.parentRunId` = the run (one search a run),
   when they repeat one recipe (the same params but for seed / fold labels): the
   trials of a hyperparameter search are not repeats.
2. Sibling repeats (`uncertainty.vary`): runs of the same experiment with the same git
   commit and the same params except those listed. That one search by commit also
   returns the children that carry the commit, so a run costs at most ONE search.
3. Per-fold steps (`uncertainty.step_samples`): a metric logged once per fold as steps
   0..k-1; one history request per metric key, for every run at once.

The samples land in `RunSnapshot.samples`; a repeat is labelled by the params that
name it (`vary`, else seed / random_state / fold) so both sides can be paired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from bot.config.uncertainty import DEFAULT_LABELS, UncertaintyConfig
from bot.domain import TAG_GIT_COMMIT, TAG_PARENT_RUN, RunSnapshot, Samples
from bot.ports import RunsPort
from bot.review.stats import MIN_SAMPLES

MAX_REPEATS = 200  # runs read per search
HISTORY_POINTS = 2500  # per run and metric key: folds are few, this is the server's cap
CHILDREN = "child runs"
REPEATS = "repeats"
STEPS = "steps"
MAX_APART = 3  # metrics named in the line of children kept apart
SPREAD_SDS = 3.0  # a run's own value this far from its children's mean is not one of them
APART = (
    "`{run}`: {what}: {shown}. Not used as repeats: the run's own values lie outside "
    "their spread, so they measure something else (e.g. each fold's own validation "
    "data); the run's own values are compared"
)


@dataclass(frozen=True)
class Gathered:
    runs: tuple[RunSnapshot, ...]  # the targets, `samples` filled
    notes: tuple[str, ...]  # user-facing: where the samples came from
    searches: int = 0  # related-run searches made
    histories: int = 0  # history requests made


def _label(run: RunSnapshot, keys: Sequence[str]) -> str:
    return ",".join(f"{k}={run.params[k]}" for k in keys if k in run.params)


def _from_repeats(
    repeats: Sequence[RunSnapshot], keys: Sequence[str], source: str
) -> dict[str, Samples]:
    out: dict[str, Samples] = {}
    metric_keys = sorted({k for r in repeats for k in r.metrics})
    for key in metric_keys:
        having = [r for r in repeats if key in r.metrics]
        labels = tuple(_label(r, keys) for r in having)
        values = tuple(r.metrics[key] for r in having)
        out[key] = Samples(values, labels if all(labels) else (), source)
    return out


def _same_recipe(a: RunSnapshot, b: RunSnapshot, vary: Iterable[str]) -> bool:
    skip = set(vary)
    keys = (set(a.params) | set(b.params)) - skip
    return all(a.params.get(k) == b.params.get(k) for k in keys)


def _finished(found: Sequence[RunSnapshot]) -> list[RunSnapshot]:
    return [r for r in found if r.status == "FINISHED"]


def _one_recipe(children: Sequence[RunSnapshot], labels: Sequence[str]) -> list[RunSnapshot]:
    """The children when they are repeats of one recipe (params equal except the labels);
    [] when they differ (e.g. the trials of a hyperparameter search)."""
    first = children[0] if children else None
    if first is None or all(_same_recipe(first, c, labels) for c in children):
        return list(children)
    return []


def _repeats(
    runs: RunsPort, run: RunSnapshot, config: UncertaintyConfig
) -> tuple[list[RunSnapshot], str, int]:
    """(the repeats, what they are, searches made): at most one search."""
    if config.vary and run.git_commit:
        found = _finished(
            runs.related_runs(run.experiment_id, TAG_GIT_COMMIT, run.git_commit, MAX_REPEATS)
        )
        children = _one_recipe(
            [r for r in found if r.tags.get(TAG_PARENT_RUN) == run.run_id], config.vary
        )
        if children and config.children:
            return children, CHILDREN, 1
        parent = run.tags.get(TAG_PARENT_RUN)
        siblings = [
            r
            for r in found
            if r.tags.get(TAG_PARENT_RUN) == parent and _same_recipe(r, run, config.vary)
        ]
        return siblings, REPEATS, 1
    if config.children:
        found = runs.related_runs(run.experiment_id, TAG_PARENT_RUN, run.run_id, MAX_REPEATS)
        return _one_recipe(_finished(found), config.vary or DEFAULT_LABELS), CHILDREN, 1
    return [], "", 0


def _step_samples(
    runs: RunsPort, targets: Sequence[RunSnapshot], globs: Sequence[str]
) -> tuple[dict[str, dict[str, Samples]], int]:
    """run id -> key -> the values per step; one history request per metric key."""
    keys = sorted({k for r in targets for k in r.metrics if any(fnmatchcase(k, g) for g in globs)})
    out: dict[str, dict[str, Samples]] = {}
    ids = [r.run_id for r in targets]
    for key in keys:
        for run_id, points in runs.metric_histories(ids, key, HISTORY_POINTS).items():
            by_step = dict(sorted(points))  # the last value logged at each step
            if len(by_step) >= MIN_SAMPLES:
                labels = tuple(f"step {s}" for s in by_step)
                out.setdefault(run_id, {})[key] = Samples(tuple(by_step.values()), labels, STEPS)
    return out, len(keys)


def _apart(run: RunSnapshot, samples: dict[str, Samples]) -> tuple[dict[str, Samples], list[str]]:
    """Child runs are repeats of a metric only when they measure what the run's own
    value measures: the run has none, or its value lies within the children's spread
    (`_within`).
    Otherwise (folds scored on their own validation folds, trials) the run's own value
    stays and the children are kept apart: (the samples kept, the keys kept apart)."""
    kept: dict[str, Samples] = {}
    apart: list[str] = []
    for key, found in samples.items():
        own = run.metrics.get(key)
        inside = own is None or _within(own, found.values)
        if found.source != CHILDREN or inside:
            kept[key] = found
        else:
            apart.append(key)
    return kept, apart


def _within(own: float, values: Sequence[float]) -> bool:
    """The run's own value lies within the children's spread: their range, or
    SPREAD_SDS standard deviations of their mean (where one more repeat would land)."""
    if min(values) <= own <= max(values):
        return True
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)) ** 0.5
    return bool(abs(own - mean) <= SPREAD_SDS * sd)


def _apart_note(run: RunSnapshot, samples: dict[str, Samples], keys: Sequence[str]) -> str:
    """The children as their own line ("5-fold CV: 1.103 ± 0.022") and why they were
    not used as repeats."""
    first = samples[keys[0]]
    folds = any("fold=" in label for label in first.labels)
    what = f"{len(first.values)}-fold CV" if folds else f"{len(first.values)} child runs"
    shown = ", ".join(f"`{k}` {_spread(samples[k].values)}" for k in keys[:MAX_APART])
    more = f" +{len(keys) - MAX_APART} more" if len(keys) > MAX_APART else ""
    return APART.format(run=run.display_name, what=what, shown=shown + more)


def _spread(values: Sequence[float]) -> str:
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)) ** 0.5
    return f"{mean:.4g} ± {sd:.2g}"


def _note(run: RunSnapshot, role: str, samples: dict[str, Samples]) -> str | None:
    sized = [(s.source, len(s.values)) for s in samples.values() if len(s.values) >= MIN_SAMPLES]
    if not sized:
        return None
    sources = sorted({src for src, _ in sized})
    most = max(n for _, n in sized)
    return f"{role} `{run.display_name}`: up to {most} values per metric from {', '.join(sources)}"


def gather(
    runs: RunsPort, targets: Sequence[RunSnapshot], roles: Sequence[str], config: UncertaintyConfig
) -> Gathered:
    """The targets (candidates, then production) with their samples filled in."""
    searches = 0
    filled: list[RunSnapshot] = []
    apart_notes: list[str] = []
    for run in targets:
        repeats, source, cost = _repeats(runs, run, config)
        searches += cost
        labels = config.vary or DEFAULT_LABELS
        found = _from_repeats(repeats, labels, source) if len(repeats) >= MIN_SAMPLES else {}
        kept, apart = _apart(run, found)
        if apart:
            apart_notes.append(_apart_note(run, found, apart))
        filled.append(replace(run, samples=kept))
    steps, histories = _step_samples(runs, filled, config.step_samples)
    filled = [replace(r, samples={**r.samples, **steps.get(r.run_id, {})}) for r in filled]
    notes = [_note(r, role, dict(r.samples)) for r, role in zip(filled, roles, strict=True)]
    shown = (*(n for n in notes if n), *apart_notes)
    return Gathered(tuple(filled), shown, searches, histories)
