"""What a review is of, as short digests: the runs under review and the production
model they were compared with. Pure.

An approval is of these: when the fingerprint of the runs changes, approvals given
before go stale (bot.review.decision), and reconcile asks for a review again when
the fingerprint or the baseline differs from the one the state remembers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace

from bot.domain import Candidate, ReviewReport
from bot.review.basis import basis_of


def fingerprint(run_ids_and_versions: Sequence[str]) -> str:
    """Identity of the set of runs (and model versions) under review.

    Order and repeats do not matter; 16 hex characters of a sha256.
    """
    canonical = json.dumps(sorted(set(run_ids_and_versions)))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def run_fingerprint(report: ReviewReport) -> str:
    """Identity of what is under review: the runs, their versions, params and metrics.
    An approval given before this last changed is stale."""
    parts = []
    for candidate in report.candidates:
        run = candidate.run
        version = candidate.model_version.version if candidate.model_version else ""
        content = json.dumps(
            [dict(run.params), dict(run.metrics), run.status], sort_keys=True, default=str
        )
        digest = hashlib.sha256(content.encode()).hexdigest()[:12]
        parts.append(f"{run.run_id}:{version}:{digest}")
    return fingerprint(parts)


def model_fingerprint(report: ReviewReport, candidates: Sequence[Candidate]) -> str:
    """Identity of one model's part of the review (several models under review): its
    runs, and what its approvals are of besides (baseline, registered versions)."""
    part = replace(report, candidates=tuple(candidates))
    return fingerprint([run_fingerprint(part), *sorted(basis_of(part).values())])


def baseline_key(report: ReviewReport) -> str:
    """Which production model the review compared with: "run id:version" ("" : none)."""
    base = report.baseline
    if base.run is None:
        return ""
    version = base.model_version.version if base.model_version else ""
    return f"{base.run.run_id}:{version}"
