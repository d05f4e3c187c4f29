"""What an approval is of, besides the runs: the production baseline the candidates
replace and the model versions registered on them.

An approval is a judgement of "this candidate instead of that production model".
When production moves to another version (another PR merged, a rollback, a hand
edit), when a version is registered on an approved run or the approved version is
deleted, the judgement no longer covers what would merge: the approvals go stale
and the comment says why. `basis_of` describes these parts in a few words each;
the state (bot.handlers.state) keeps the description between events and
`change_reason` tells what moved.

The descriptions hold run ids and version numbers only: a model name is text from
MLflow, and the state block must not carry it (it is a digest there), so the
reason reads "v3 of the production model".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from bot.domain import Candidate, ModelVersionInfo, ReviewReport

BASELINE = "baseline"
VERSIONS = "versions "  # + run id
RUNS_CHANGED = "the runs under review changed"
NONE = "none"


SEP = " | "  # between the words a reason shows and the digest of the model names


def model_digest(name: str) -> str:
    """How the state names a registered model: 8 hex characters of its name's sha256."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def _name(info: ModelVersionInfo) -> str:
    return model_digest(info.name)


def _version(info: ModelVersionInfo) -> str:
    return f"v{info.version}"


def _shown(value: str | None) -> str:
    return (value or NONE).split(SEP, 1)[0]


def _baseline(report: ReviewReport) -> str:
    base = report.baseline
    if base.run is None:
        return NONE
    version = base.model_version
    if version is None:
        return f"run `{base.run.run_id}`"
    return f"{_version(version)} (run `{base.run.run_id}`){SEP}{_name(version)}"


def _versions(candidate: Candidate) -> str:
    infos = list(candidate.run.model_versions)
    if candidate.model_version is not None:
        infos.append(candidate.model_version)
    if not infos:
        return NONE
    numbers = sorted({v.version for v in infos}, key=lambda n: (len(n), n))
    names = ",".join(sorted({f"{_name(v)}:{v.version}" for v in infos}))
    digest = hashlib.sha256(names.encode("utf-8")).hexdigest()[:8]
    return ", ".join(f"v{n}" for n in numbers) + SEP + digest


def basis_of(report: ReviewReport) -> dict[str, str]:
    """The production baseline and each candidate's registered versions, as text."""
    parts = {BASELINE: _baseline(report)} if report.candidates else {}
    for candidate in report.candidates:
        parts[VERSIONS + candidate.run.run_id] = _versions(candidate)
    return parts


def change_reason(
    runs_changed: bool, before: Mapping[str, str], after: Mapping[str, str]
) -> str | None:
    """Why approvals given before now are stale (user-facing); None: nothing changed.
    A candidate that joined or left the review is a change of the runs."""
    if runs_changed or set(before) != set(after):
        return RUNS_CHANGED
    reasons = []
    if before.get(BASELINE) != after.get(BASELINE):
        reasons.append(
            f"the production baseline changed from {before.get(BASELINE)} to {after.get(BASELINE)}"
        )
    for key in sorted(k for k in after if k.startswith(VERSIONS)):
        if before[key] != after[key]:
            run = key.removeprefix(VERSIONS)
            reasons.append(
                f"the model versions registered on run `{run}` changed from "
                f"{_shown(before[key])} to {_shown(after[key])}"
            )
    return "; ".join(reasons) or None
