"""Collect the evidence for intervals: repeated measures of every run (bot.review.repeats),
with `uncertainty.eval_table` a paired comparison per candidate (bot.review.bootstrap),
and, by default, the paired predictions `model-review evaluate` logged to a candidate
(bot.review.predictions).

Costs: at most one related-run search per run, one history request per `step_samples`
metric key, one artifact download per run for the evaluation table. A table that cannot
be read or compared costs the bootstrap, never the review: the reason becomes a note.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.config.uncertainty import UncertaintyConfig
from bot.domain import Baseline, Candidate, Estimate, RunSnapshot
from bot.errors import ModelReviewError
from bot.ports import RunsPort
from bot.review import bootstrap, predictions, tables
from bot.review.repeats import gather

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evidence:
    candidates: tuple[Candidate, ...]
    baseline: Baseline | None
    paired: Mapping[str, Mapping[str, Estimate]]  # run id -> metric -> bootstrap
    notes: tuple[str, ...]


TOO_LARGE = "the evaluation table `{path}` of run `{run}` is {mb:,} MB, above the {cap} MB cap"


def _table(runs: RunsPort, run: RunSnapshot, path: str) -> bytes | str:
    """The table's bytes, or why there is none (user-facing). A table listed larger
    than the cap is refused before it is downloaded."""
    listed = next((a for a in run.artifacts if a.path == path), None)
    if listed is None and "/" not in path:
        return f"run `{run.display_name}` has no evaluation table `{path}`"
    if listed is not None and (listed.size or 0) > tables.MAX_TABLE_BYTES:
        mb = -(-(listed.size or 0) >> 20)
        return TOO_LARGE.format(
            path=path, run=run.display_name, mb=mb, cap=tables.MAX_TABLE_BYTES >> 20
        )
    try:
        return runs.download_artifact(run.run_id, path)
    except ModelReviewError as exc:
        log.info("no evaluation table for %s: %s", run.run_id, exc)
        return f"run `{run.display_name}` has no readable evaluation table `{path}`"


def _bootstraps(
    runs: RunsPort, candidates: Sequence[RunSnapshot], base: RunSnapshot, config: UncertaintyConfig
) -> tuple[dict[str, Mapping[str, Estimate]], list[str]]:
    table = config.eval_table
    assert table is not None
    notes: list[str] = []
    base_bytes = _table(runs, base, table.path)
    if isinstance(base_bytes, str):
        return {}, [f"No bootstrap: {base_bytes}"]
    out: dict[str, Mapping[str, Estimate]] = {}
    for cand in candidates:
        cand_bytes = _table(runs, cand, table.path)
        if isinstance(cand_bytes, str):
            notes.append(f"No bootstrap: {cand_bytes}")
            continue
        result = bootstrap.compare_tables(cand_bytes, base_bytes, table)
        out[cand.run_id] = result.estimates
        notes += [f"`{cand.display_name}`: {note}" for note in result.notes]
    return out, notes


def collect(
    candidates: Sequence[Candidate],
    baseline: Baseline | None,
    runs: RunsPort,
    config: UncertaintyConfig,
) -> Evidence:
    """The candidates and production with their samples, and the bootstraps."""
    base = baseline.run if baseline else None
    targets = [c.run for c in candidates] + ([base] if base else [])
    roles = ["candidate"] * len(candidates) + (["production"] if base else [])
    found = gather(runs, targets, roles, config)
    filled = [replace(c, run=r) for c, r in zip(candidates, found.runs, strict=False)]
    new_base = replace(baseline, run=found.runs[-1]) if baseline and base else baseline
    paired: dict[str, Mapping[str, Estimate]] = {}
    notes = list(found.notes)
    if config.eval_table is not None and base is not None:
        paired, more = _bootstraps(runs, [c.run for c in filled], found.runs[-1], config)
        notes += more
    if new_base is not None and new_base.run is not None:
        from_tables, more = _predictions(runs, [c.run for c in filled], new_base, config)
        paired = {**paired, **from_tables}
        notes += more
    return Evidence(tuple(filled), new_base, paired, tuple(notes))


def _predictions(
    runs: RunsPort, candidates: Sequence[RunSnapshot], baseline: Baseline, config: UncertaintyConfig
) -> tuple[dict[str, Mapping[str, Estimate]], list[str]]:
    """From the paired predictions `model-review evaluate` logged (they win over
    `eval_table` for a candidate that has both)."""
    out: dict[str, Mapping[str, Estimate]] = {}
    notes: list[str] = []
    for cand in candidates:
        if predictions.has_table(cand):
            estimates, note = predictions.compare_run(runs, cand, baseline, config.eval_table)
            if estimates:
                out[cand.run_id] = estimates
            notes.append(note)
    return out, notes
