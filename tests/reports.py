"""Sample ReviewReports built from bot.domain dataclasses, for any test that needs one.

Rows and diffs are written out by hand (not computed by bot.review.diff) so a report means
the same thing whatever the comparison code does.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain import (
    TAG_NOTE,
    Assignment,
    Baseline,
    Candidate,
    Change,
    CheckItem,
    Direction,
    GateDecision,
    GateState,
    HostedImage,
    MetricCell,
    MetricRow,
    ModelVersionInfo,
    NotesSummary,
    ParamChange,
    ParamChangeKind,
    ParamDiff,
    RefKind,
    ReviewReport,
    RunRef,
    RunSnapshot,
    Threshold,
    Unresolved,
)
from bot.domain.modelchanges import (
    ChangeReport,
    CodeChange,
    Compat,
    DatasetChange,
    EnvironmentDiff,
    EvalData,
    EvalDataCheck,
    FieldChange,
    SignatureChange,
    SignatureDiff,
    SizeChange,
)

UI = "http://mlflow.example.com"
CANDIDATE_ID = "a1" * 16
SECOND_ID = "b2" * 16
PRODUCTION_ID = "c3" * 16

NOTE = """# Gradient boosting with class weights

Trained on the March snapshot with balanced class weights; recall on fraud
improves, precision drops a little.

## Details

- 400 trees, depth 6
- early stopping on `val_loss`
"""

PRODUCTION_VERSION = ModelVersionInfo(
    name="fraud-model", version="3", run_id=PRODUCTION_ID, aliases=("production",)
)
CANDIDATE_VERSION = ModelVersionInfo(name="fraud-model", version="4", run_id=CANDIDATE_ID)


def run(run_id: str, name: str, **kwargs: object) -> RunSnapshot:
    fields: dict[str, object] = {"experiment_id": "7", "experiment_name": "fraud", **kwargs}
    return RunSnapshot(run_id=run_id, name=name, **fields)  # type: ignore[arg-type]


def cell(value: float | None, baseline: float | None, change: Change) -> MetricCell:
    delta = value - baseline if value is not None and baseline is not None else None
    rel = delta / abs(baseline) if delta is not None and baseline else None
    return MetricCell(value=value, delta=delta, rel_delta=rel, change=change)


def row(
    key: str,
    direction: Direction,
    baseline: float | None,
    *cells: tuple[float | None, Change],
    threshold: Threshold | None = None,
) -> MetricRow:
    return MetricRow(
        key=key,
        direction=direction,
        threshold=threshold or Threshold(),
        baseline=baseline,
        cells=tuple(cell(value, baseline, change) for value, change in cells),
    )


HIGHER, LOWER = Direction.HIGHER, Direction.LOWER


def production() -> Baseline:
    prod = run(
        PRODUCTION_ID,
        "gbm-2026-02",
        params={"n_estimators": "300", "max_depth": "6", "learning_rate": "0.1", "seed": "1"},
        metrics={"val_loss": 0.21, "precision": 0.91, "recall": 0.72, "auc": 0.95},
    )
    return Baseline(
        prod, how="alias `production`", model_version=PRODUCTION_VERSION, model_name="fraud-model"
    )


def checklist(ok: bool = True) -> tuple[CheckItem, ...]:
    return (
        CheckItem("Git commit logged", True, "`1234abc`, part of this PR"),
        CheckItem("Dataset inputs logged", ok, "transactions-2026-03" if ok else "none logged"),
        CheckItem("Model logged with a signature", None, "could not tell"),
    )


def images() -> tuple[HostedImage, ...]:
    return (
        HostedImage(
            "metrics.png",
            "Metrics vs production",
            "bar chart of metric deltas",
            "https://images.example.com/metrics.png",
            True,
            "metrics",
        ),
        HostedImage(
            "curve-val_loss.png",
            "val_loss by step",
            "training curve of val_loss",
            "https://images.example.com/curve-val_loss.png",
            True,
            "curves",
        ),
        HostedImage(
            "confusion.png",
            "Confusion matrix",
            "confusion matrices side by side",
            "https://images.example.com/confusion.png",
            False,
            "artifacts",
        ),
    )


def one_candidate() -> ReviewReport:
    """One candidate vs production: a regression, a worse, an improvement, params, notes."""
    cand = run(
        CANDIDATE_ID,
        "gbm-balanced",
        params={
            "n_estimators": "400",
            "max_depth": "6",
            "learning_rate": "0.05",
            "class_weight": "balanced",
        },
        tags={TAG_NOTE: NOTE},
    )
    ref = RunRef(RefKind.RUN, raw=f"runs:/{CANDIDATE_ID}/model", run_id=CANDIDATE_ID)
    return ReviewReport(
        candidates=(Candidate(cand, refs=(ref,), model_version=CANDIDATE_VERSION),),
        baseline=production(),
        metric_rows=(
            row(
                "precision",
                HIGHER,
                0.91,
                (0.87, Change.REGRESSION),
                threshold=Threshold(0.02, relative=True),
            ),
            row("val_loss", LOWER, 0.21, (0.2112, Change.WORSE), threshold=Threshold(0.01)),
            row("recall", HIGHER, 0.72, (0.81, Change.BETTER)),
            row("auc", HIGHER, 0.95, (0.95, Change.SAME)),
            row("training_time_s", LOWER, None, (312.5, Change.NEW)),
        ),
        param_diffs=(
            ParamDiff(
                CANDIDATE_ID,
                (
                    ParamChange("class_weight", ParamChangeKind.ADDED, None, "balanced"),
                    ParamChange("learning_rate", ParamChangeKind.CHANGED, "0.1", "0.05"),
                    ParamChange("n_estimators", ParamChangeKind.CHANGED, "300", "400"),
                    ParamChange("seed", ParamChangeKind.REMOVED, "1", None),
                ),
                unchanged=1,
            ),
        ),
        notes=(
            NotesSummary(
                "Gradient boosting with class weights",
                "Trained on the March snapshot with balanced class weights; "
                "recall on fraud improves, precision drops a little.",
                NOTE,
            ),
        ),
        checklists=(checklist(),),
        ui_base=UI,
        images=images(),
    )


def two_candidates() -> ReviewReport:
    """Two candidates against production, the second without notes or a model version."""
    first = one_candidate()
    second = run(
        SECOND_ID,
        "gbm-deeper",
        params={"n_estimators": "300", "max_depth": "8", "learning_rate": "0.1", "seed": "1"},
    )
    return ReviewReport(
        candidates=(*first.candidates, Candidate(second)),
        baseline=first.baseline,
        metric_rows=(
            row(
                "precision",
                HIGHER,
                0.91,
                (0.87, Change.REGRESSION),
                (0.92, Change.BETTER),
                threshold=Threshold(0.02, relative=True),
            ),
            row(
                "val_loss",
                LOWER,
                0.21,
                (0.2112, Change.WORSE),
                (0.2, Change.BETTER),
                threshold=Threshold(0.01),
            ),
            row("recall", HIGHER, 0.72, (0.81, Change.BETTER), (None, Change.MISSING)),
        ),
        param_diffs=(
            first.param_diffs[0],
            ParamDiff(
                SECOND_ID,
                (ParamChange("max_depth", ParamChangeKind.CHANGED, "6", "8"),),
                unchanged=3,
            ),
        ),
        notes=(first.notes[0], None),
        checklists=(checklist(), checklist(ok=False)),
        ui_base=UI,
        images=first.images[:1],
    )


def no_production() -> ReviewReport:
    """No production model: the candidate's own metrics and params, ids instead of links."""
    cand = run(CANDIDATE_ID, "first-model", params={"C": "1.0", "penalty": "l2"})
    return ReviewReport(
        candidates=(Candidate(cand, from_commit=True),),
        baseline=Baseline(
            None,
            how="",
            model_name="fraud-model",
            reason="registered model `fraud-model` has no version with alias `production` yet",
        ),
        metric_rows=(
            row("accuracy", HIGHER, None, (0.88, Change.NEW)),
            row("log_loss", LOWER, None, (0.3141592, Change.NEW)),
        ),
        param_diffs=(ParamDiff(CANDIDATE_ID, (), 0),),
        notes=(None,),
        checklists=(checklist(ok=False),),
        ui_base=None,
    )


def unresolved_and_problems() -> ReviewReport:
    """Nothing resolved: unresolved references and problems met on the way."""
    refs = (
        Unresolved(
            RunRef(RefKind.RUN, raw=f"runs:/{'d4' * 16}/model", run_id="d4" * 16),
            "no run with this id on the tracking server",
        ),
        Unresolved(
            RunRef(
                RefKind.MODEL_ALIAS,
                raw="models:/churn@champion",
                model_name="churn",
                alias="champion",
            ),
            "registered model `churn` has no alias `champion`",
        ),
    )
    return ReviewReport(
        candidates=(),
        baseline=Baseline(None, how="", reason="no run is under review"),
        unresolved=refs,
        ui_base=UI,
        problems=(
            "MLflow at http://mlflow.example.com cannot be reached (check MLFLOW_TRACKING_URI)",
        ),
    )


def gate_pending() -> tuple[GateDecision, Assignment]:
    """Primary approved, secondary (a team) still to review."""
    gate = GateDecision(
        GateState.PENDING,
        "waiting for @acme/ml-reviewers (secondary)",
        approved_by=("alice",),
        waiting_for=("acme/ml-reviewers",),
    )
    return gate, Assignment(primary="alice", secondary="acme/ml-reviewers")


# --- hostile and huge input ----------------------------------------------------------

RTL = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
HOSTILE = (
    "x | y <img src=x onerror=alert(1)> </details> <script>alert(1)</script> @octocat "
    f"@acme/team #12 <!-- model-review --> {RTL}gnp.exe\u2066\u200b `code` *bold* [a](b)"
)
HOSTILE_NOTE = (
    "# </details>\n\n@octocat please look #12\n\n````\n</details>\n<!-- model-review -->\n"
    "<img src=x onerror=alert(1)>\n<script>alert(1)</script>\n"
)


def hostile(note_chars: int = 100_000) -> ReviewReport:
    """Every user-controlled string is hostile; the note is huge."""
    note = HOSTILE_NOTE + ("z" * 99 + "\n") * (note_chars // 100)
    version = ModelVersionInfo(name=HOSTILE, version=HOSTILE, run_id=CANDIDATE_ID)
    cand = run(
        CANDIDATE_ID,
        HOSTILE,
        experiment_name=HOSTILE,
        params={HOSTILE: HOSTILE, "ok": HOSTILE},
        tags={TAG_NOTE: note},
    )
    prod = run(PRODUCTION_ID, HOSTILE, params={HOSTILE: "1"})
    return ReviewReport(
        candidates=(Candidate(cand, model_version=version),),
        baseline=Baseline(prod, how=HOSTILE, model_version=version, model_name=HOSTILE),
        metric_rows=(row(HOSTILE, HIGHER, 1.0, (0.5, Change.REGRESSION)),),
        param_diffs=(
            ParamDiff(
                CANDIDATE_ID,
                (
                    ParamChange(HOSTILE, ParamChangeKind.CHANGED, HOSTILE, HOSTILE),
                    ParamChange("ok", ParamChangeKind.ADDED, None, HOSTILE),
                ),
                0,
            ),
        ),
        notes=(NotesSummary(HOSTILE, HOSTILE, note),),
        checklists=((CheckItem(HOSTILE, False, HOSTILE),),),
        unresolved=(Unresolved(RunRef(RefKind.RUN, raw=HOSTILE), HOSTILE),),
        ui_base=UI,
        images=(
            HostedImage("a.png", HOSTILE, HOSTILE, "https://images.example.com/a.png"),
            HostedImage("b.png", HOSTILE, HOSTILE, "javascript:alert(1)"),
            HostedImage("c.png", HOSTILE, HOSTILE, 'https://images.example.com/c.png" onerror="x'),
        ),
        problems=(HOSTILE,),
    )


def huge(
    *,
    candidates: int = 3,
    params: int = 3_000,
    metrics: int = 1_000,
    note_chars: int = 100_000,
    unresolved: int = 200,
    regressions: int = 3,
) -> ReviewReport:
    """A review far larger than a comment can hold; regressions are the LAST rows."""
    runs = tuple(
        run(
            f"{i:032x}",
            f"candidate-{i}",
            params={f"param_{k:05d}": f"value-{k}-{i}" for k in range(params)},
            tags={TAG_NOTE: "n" * note_chars},
        )
        for i in range(candidates)
    )
    rows = [
        row(f"metric_{k:04d}", HIGHER, 0.5, *((0.6, Change.BETTER),) * candidates)
        for k in range(metrics - regressions)
    ]
    rows += [
        row(f"regressed_{k}", HIGHER, 0.5, *((0.1, Change.REGRESSION),) * candidates)
        for k in range(regressions)
    ]
    return ReviewReport(
        candidates=tuple(Candidate(r) for r in runs),
        baseline=production(),
        metric_rows=tuple(rows),
        param_diffs=tuple(
            ParamDiff(
                r.run_id,
                tuple(
                    ParamChange(k, ParamChangeKind.CHANGED, "old", v)
                    for k, v in sorted(r.params.items())
                ),
                0,
            )
            for r in runs
        ),
        notes=tuple(NotesSummary("Heading", "p" * 500, "n" * note_chars) for _ in runs),
        checklists=tuple(checklist() for _ in runs),
        unresolved=tuple(
            Unresolved(RunRef(RefKind.RUN, raw=f"runs:/{k:032x}/model"), "no run with this id")
            for k in range(unresolved)
        ),
        ui_base=UI,
        images=images() * 20,
        problems=tuple(f"problem {k}" for k in range(50)),
    )


def changes() -> ChangeReport:
    """Something changed in every section: different evaluation data, a retyped and a
    removed column, a breaking signature change, packages, size and code."""
    return ChangeReport(
        eval_data=EvalDataCheck(
            EvalData.DIFFERENT,
            "candidate on `holdout-2026-11` (9f8e7d6c), production on `holdout-2026-05` (1a2b3c4d)",
        ),
        datasets=(
            DatasetChange(
                "training",
                "transactions",
                (
                    FieldChange("digest", "1a2b3c4d", "9f8e7d6c"),
                    FieldChange("rows", "120000", "150000"),
                ),
                (
                    FieldChange("merchant_id", "string", None),
                    FieldChange("amount", "long", "double"),
                ),
            ),
        ),
        signature=SignatureDiff(
            (
                SignatureChange("input", "merchant_id", "removed", Compat.BREAKING),
                SignatureChange("input", "hour", "new optional", Compat.COMPATIBLE),
            ),
            "breaking: input `merchant_id` removed (+1 more change)",
        ),
        signature_known=True,
        environment=EnvironmentDiff(
            FieldChange("python", "3.11.7", "3.12.1"),
            (
                FieldChange("lightgbm", None, "==4.5.0"),
                FieldChange("scikit-learn", "==1.5.2", "==1.9.1"),
            ),
        ),
        size=SizeChange(3_889_178, 9_120_455),
        code=CodeChange(
            "3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39",
            "9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a",
            "https://github.com/acme/fraud/compare/3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"
            "...9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a",
        ),
        skipped=("production: model m-0c1d has no `python_env.yaml` or `conda.yaml`",),
    )


def with_changes() -> ReviewReport:
    report = one_candidate()
    return replace(report, changes=(changes(),))
