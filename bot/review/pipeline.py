"""The review pipeline: PR text in, a ReviewReport out (no GitHub involved).

references (pure) -> candidates + baseline (RunsPort) -> diffs, notes, checklist
(pure) -> plots (pure bytes) -> hosted images (ImagePort) -> ReviewReport
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from bot.config.schema import Config
from bot.domain import Baseline, Candidate, ReviewReport, RunRef, RunSnapshot, counted_rows
from bot.errors import ModelReviewError
from bot.ports import ImagePort, RunsPort
from bot.review.checklist import reproducibility
from bot.review.configcheck import NameCheck, bars_not_logged, check_names
from bot.review.diff import Paired, metric_rows, param_diffs
from bot.review.evidence import collect
from bot.review.history import model_history
from bot.review.notes import summarize_notes
from bot.review.refs import MAX_REFS, MAX_SCAN_CHARS, MAX_TEXT_CHARS, RefScan, scan_refs
from bot.review.resolve import find_baseline, resolve_candidates, without_production
from bot.review.roles import eval_set_hint
from bot.review.whatchanged import (
    ModelFacts,
    change_report,
    read_models,
    reviewed,
    with_changes,
)

log = logging.getLogger(__name__)

TOO_MANY_REFS = (
    "this PR names more than {n} MLflow references: {n} are reviewed (links and URIs "
    "before bare ids) and {dropped} more {were} ignored; the gate waits until the PR "
    "names at most {n}"
)
TEXT_CUT = (
    "{texts} of this PR {were} too long to read whole (more than {chars:,} characters, or "
    "past {total:,} in all): references in the rest were not looked for; the gate waits "
    "until the text is shorter"
)
LEFT_OUT = (
    "{n} more training run{s} of this PR's commits {were} not reviewed (at most {cap}, "
    "`compare.max_candidates`; runs with a model first, then the newest): link the run "
    "meant in the PR description, e.g. `runs:/<run id>/model`"
)
ARTIFACTS_NOT_READ = (
    "artifacts stored outside the tracking server are not read: no artifact images or "
    "model files of {runs}. Serve them through the tracking server "
    "(`mlflow server --serve-artifacts`) to include them"
)


@dataclass(frozen=True)
class ReviewRequest:
    """What to review: PR text (title, body, comments) and/or explicit references."""

    texts: Sequence[str] = ()
    refs: Sequence[RunRef] = ()  # explicit, e.g. `render --run`
    commits: Sequence[str] | None = None  # the PR's commits (None: unknown)
    repo_url: str | None = None  # the repository's web address (for compare links)
    problems: Sequence[str] = field(default_factory=tuple)
    pr_url: str | None = None  # the PR's own record is not an "earlier review"


def collect_refs(request: ReviewRequest) -> tuple[list[RunRef], RefScan]:
    """Explicit references first, then those in the text; one per target. Also the
    scan, which says what the caps of bot.review.refs left out."""
    seen: set[tuple[str, ...]] = set()
    out: list[RunRef] = []
    scan = scan_refs(request.texts)
    for ref in [*request.refs, *scan.refs]:
        if ref.key not in seen:
            seen.add(ref.key)
            out.append(ref)
    return out, scan


def cap_problems(scan: RefScan) -> list[str]:
    """What the comment says when the reference caps left something out."""
    problems = []
    if scan.dropped:
        were = "was" if scan.dropped == 1 else "were"
        problems.append(TOO_MANY_REFS.format(n=MAX_REFS, dropped=scan.dropped, were=were))
    if scan.truncated:
        texts = "1 text" if scan.truncated == 1 else f"{scan.truncated} texts"
        problems.append(
            TEXT_CUT.format(
                texts=texts,
                were="was" if scan.truncated == 1 else "were",
                chars=MAX_TEXT_CHARS,
                total=MAX_SCAN_CHARS,
            )
        )
    return problems


def build_review(
    request: ReviewRequest,
    runs: RunsPort,
    config: Config,
    images: ImagePort | None = None,
) -> ReviewReport:
    """Resolve, compare and (with an image port) draw the review of a PR."""
    refs, scan = collect_refs(request)
    log.info("references: %s", ", ".join(r.raw for r in refs) or "none")
    problems = [*request.problems, *cap_problems(scan)]
    with timed("looking up the runs"):
        resolution = resolve_candidates(refs, runs, config, request.commits)
    candidates = resolution.candidates
    log.info(
        "candidates: %s; unresolved: %d",
        ", ".join(c.run.run_id for c in candidates) or "none",
        len(resolution.unresolved),
    )
    baseline = None
    if candidates:
        with timed("looking up production"):
            baseline = find_baseline(candidates, runs, config.baseline, allow=config.mlflow)
            candidates, baseline = without_production(candidates, baseline, request.pr_url)
        log.info("production: %s", baseline.run.run_id if baseline.run else baseline.reason)
    with timed("reading repeated measures"):
        evidence = collect(candidates, baseline, runs, config.uncertainty)
    with timed("reading the models' files"):
        models = read_models(candidates, baseline, runs, config.sections) if baseline else {}
    with timed("comparing"):
        report = compare(
            evidence.candidates,
            evidence.baseline,
            config,
            request.commits,
            evidence.paired,
            models=models,
            repo_url=request.repo_url,
        )
    with timed("reading the model's history"):
        history, trouble = model_history(candidates, report.baseline, runs, config, request.pr_url)
    if trouble:
        problems.append(trouble)
    if resolution.left_out:
        n = resolution.left_out
        problems.append(
            LEFT_OUT.format(
                n=n,
                s="s" if n > 1 else "",
                were="were" if n > 1 else "was",
                cap=config.compare.max_candidates,
            )
        )
    problems += artifacts_not_read(
        [*(c.run for c in candidates), baseline.run if baseline else None]
    )
    report = replace(
        report,
        history=history,
        uncertainty_notes=evidence.notes,
        unresolved=resolution.unresolved,
        ui_base=(config.mlflow.ui_url or runs.ui_base() or None),
        problems=tuple(problems),
        capped=scan.dropped + scan.truncated,
    )
    if images is not None and candidates:
        with timed("drawing and storing the plots"):
            report = with_images(report, runs, config, images)
    return report


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Log how long a step took (shown by `model-review -v`)."""
    started = time.perf_counter()
    log.info("%s…", step)
    yield
    log.info("%s: %.2f s", step, time.perf_counter() - started)


def artifacts_not_read(runs: Sequence[RunSnapshot | None]) -> list[str]:
    """The notice for runs whose artifacts were skipped (they live on another host)."""
    names = [f"`{r.display_name}`" for r in runs if r is not None and r.artifacts_elsewhere]
    return [ARTIFACTS_NOT_READ.format(runs=", ".join(names))] if names else []


def compare(
    candidates: Sequence[Candidate],
    baseline: Baseline | None,
    config: Config,
    commits: Sequence[str] | None,
    paired: Paired | None = None,
    *,
    models: Mapping[str, ModelFacts] | None = None,
    repo_url: str | None = None,
) -> ReviewReport:
    """The pure part: diffs, notes, what changed and checklists of resolved candidates."""
    if baseline is None:
        baseline = Baseline(None, how="", reason="no run is under review")
    base_run = baseline.run
    runs = [c.run for c in candidates]
    changes = tuple(
        replace(
            change_report(c.run, base_run, models or {}, config, repo_url),
            model=(found.label if (found := reviewed(c)) else ""),
        )
        for c in candidates
    )
    rows = metric_rows(runs, base_run, config.metrics, paired)
    names = check_names(config, [*runs, base_run]) if runs else NameCheck()
    return ReviewReport(
        candidates=tuple(candidates),
        baseline=baseline,
        metric_rows=rows,
        param_diffs=param_diffs(runs, base_run, config.params),
        notes=tuple(summarize_notes(r.notes) for r in runs),
        checklists=tuple(
            with_changes(reproducibility(c.run, commits, reviewed(c)), ch)
            for c, ch in zip(candidates, changes, strict=True)
        ),
        changes=changes,
        min_change=config.metrics.min_change,
        misnamed=names.misnamed,
        unmatched_names=names.unmatched,
        bars_not_logged=bars_not_logged(config, rows, runs),
        roles_hint=eval_set_hint(config.metrics, [r.key for r in counted_rows(rows)]),
    )


def with_images(
    report: ReviewReport, runs: RunsPort, config: Config, images: ImagePort
) -> ReviewReport:
    """Draw the plots and host them; a failure here costs the pictures, not the review."""
    from bot.plots.gather import draw_plots

    try:
        pictures = draw_plots(report, runs, config.plots)
        hosted = images.publish(pictures, report.candidates[0].run.run_id) if pictures else []
    except ModelReviewError as exc:
        log.warning("plots skipped: %s", exc)
        return replace(report, problems=(*report.problems, f"plots could not be made: {exc}"))
    return replace(report, images=tuple(hosted))
