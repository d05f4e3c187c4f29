"""Vocabulary of "what changed besides the metrics" (issue #15): the comparability of
the evaluation data, and the data, signature, environment, size and code changes of a
candidate against production. Built by the pure modules in bot.review, shown by
bot.render. Plain values only (no other bot module is imported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EvalData(Enum):
    """Were candidate and production measured on the same evaluation data?"""

    SAME = "same"
    DIFFERENT = "different"  # both name their data and it differs
    ONE_SIDED = "one_sided"  # only one side names its evaluation data
    UNKNOWN = "unknown"  # neither side names it (only the checklist says so)


@dataclass(frozen=True)
class EvalDataCheck:
    state: EvalData
    detail: str = ""  # user-facing, e.g. "candidate: `holdout` (ab12cd3), production: ..."
    metrics: tuple[str, ...] = ()  # per-metric check: the metrics measured on other data


@dataclass(frozen=True)
class FieldChange:
    """One changed value, production first: `before`/`after` None = not recorded."""

    name: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class DatasetChange:
    """One dataset context (training, evaluation, ...) of candidate vs production."""

    context: str
    name: str  # the candidate's dataset name (production's when the candidate has none)
    fields: tuple[FieldChange, ...]  # name, digest, source, rows that differ
    columns: tuple[FieldChange, ...] = ()  # schema: added (before None), removed, retyped
    same_rows: bool = False  # only feature columns differ (bot.review.datadiff.same_rows)


class Compat(Enum):
    BREAKING = "breaking"
    COMPATIBLE = "compatible"


@dataclass(frozen=True)
class SignatureChange:
    part: str  # "input", "output" or "param"
    name: str  # column or tensor name (tensors without a name: "#<position>")
    what: str  # user-facing, e.g. "removed", "type double → long", "shape [-1, 30] → [-1, 29]"
    compat: Compat


@dataclass(frozen=True)
class SignatureDiff:
    changes: tuple[SignatureChange, ...]
    summary: str  # one line: "breaking: input `amount` removed"

    @property
    def breaking(self) -> bool:
        return any(c.compat is Compat.BREAKING for c in self.changes)


@dataclass(frozen=True)
class EnvironmentDiff:
    python: FieldChange | None  # None: the Python version did not change (or is unknown)
    packages: tuple[FieldChange, ...]  # added (before None), removed (after None), changed


@dataclass(frozen=True)
class SizeChange:
    before: int
    after: int

    @property
    def relative(self) -> float | None:
        return (self.after - self.before) / self.before if self.before else None


@dataclass(frozen=True)
class CodeChange:
    before: str | None  # production's commit
    after: str | None  # the candidate's commit
    url: str | None = None  # GitHub's compare view, when both commits are in this repository


@dataclass(frozen=True)
class ChangeReport:
    """Everything that changed besides metrics, for one candidate."""

    eval_data: EvalDataCheck
    datasets: tuple[DatasetChange, ...] = ()
    signature: SignatureDiff | None = None  # None: unchanged, or not known on both sides
    signature_known: bool = False  # both sides' signatures were read
    environment: EnvironmentDiff | None = None
    size: SizeChange | None = None
    code: CodeChange | None = None
    skipped: tuple[str, ...] = ()  # files not read, and why (user-facing lines)
    model: str = ""  # which logged model was reviewed, when the run logs several (a bot message)
