from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import (
    TAG_DOCKER_IMAGE,
    TAG_GIT_COMMIT,
    TAG_NOTE,
    TAG_SOURCE_NAME,
    TAG_SOURCE_TYPE,
    ArtifactInfo,
    CheckItem,
    DatasetInfo,
    LoggedModelInfo,
    RunSnapshot,
)
from bot.review.checklist import (
    LABEL_DATASETS,
    LABEL_ENVIRONMENT,
    LABEL_FINISHED,
    LABEL_GIT,
    LABEL_NOTES,
    LABEL_SIGNATURE,
    LABEL_SOURCE,
    LABELS,
    check_datasets,
    check_environment,
    check_finished,
    check_git,
    check_notes,
    check_signature,
    check_source,
    reproducibility,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


def snap(**kwargs: object) -> RunSnapshot:
    return replace(RunSnapshot(run_id="r" * 32, experiment_id="1"), **kwargs)


def tagged(**tags: str) -> RunSnapshot:
    return snap(tags=tags)


def files(*paths: str) -> tuple[ArtifactInfo, ...]:
    return tuple(ArtifactInfo(path=p, is_dir=False) for p in paths)


def complete_run() -> RunSnapshot:
    return snap(
        status="FINISHED",
        start_time=1_000,
        end_time=1_000 + 252_000,
        tags={
            TAG_GIT_COMMIT: SHA,
            TAG_SOURCE_NAME: "train.py",
            TAG_SOURCE_TYPE: "LOCAL",
            TAG_NOTE: "# v4\n\nRetrained.",
        },
        artifacts=files("requirements.txt"),
        datasets=(DatasetInfo("transactions", context="training"),),
        logged_models=(LoggedModelInfo("m-1", name="model", has_signature=True),),
    )


def test_labels_and_order() -> None:
    items = reproducibility(complete_run(), [OTHER, SHA])
    assert tuple(i.label for i in items) == LABELS
    assert LABELS == (
        "Git commit logged",
        "Source / entry point recorded",
        "Environment captured",
        "Dataset inputs logged",
        "Model logged with a signature",
        "Run finished",
        "Notes written",
    )
    assert all(i.ok is True for i in items)


def test_empty_run_fails_every_item_and_says_what_to_do() -> None:
    items = reproducibility(snap(status="FAILED"), [SHA])
    assert [i.ok for i in items] == [False] * 7
    details = {i.label: i.detail for i in items}
    assert "git checkout" in details[LABEL_GIT]
    assert "mlflow.log_input" in details[LABEL_DATASETS]
    assert details[LABEL_SIGNATURE] == "no model logged"
    assert details[LABEL_FINISHED].startswith("FAILED")


# --- git -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logged", "pr_commits", "ok", "detail"),
    [
        (SHA, [OTHER, SHA], True, "0123456, part of this PR"),
        (SHA.upper(), [SHA], True, "0123456, part of this PR"),
        (SHA[:7], [SHA], True, "0123456, part of this PR"),
        (SHA[:12], [OTHER, SHA], True, "0123456, part of this PR"),
        (SHA[:6], [SHA], False, "012345, not in this PR: retrain from the PR's code"),
        (SHA, [OTHER], False, "0123456, not in this PR: retrain from the PR's code"),
        (SHA, [], False, "0123456, not in this PR: retrain from the PR's code"),
        (SHA, None, True, "0123456, not checked against the PR"),
    ],
)
def test_git_commit(logged: str, pr_commits: list[str] | None, ok: bool, detail: str) -> None:
    assert check_git(tagged(**{TAG_GIT_COMMIT: logged}), pr_commits) == CheckItem(
        LABEL_GIT, ok, detail
    )


def test_git_commit_missing_even_offline() -> None:
    item = check_git(snap(), None)
    assert item.ok is False
    assert item.detail == "no git commit tag: run training from a git checkout"


# --- source ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "ok", "detail"),
    [
        ({TAG_SOURCE_NAME: "train.py"}, True, "train.py"),
        ({TAG_SOURCE_NAME: "train.py", TAG_SOURCE_TYPE: "LOCAL"}, True, "train.py (local)"),
        (
            {
                TAG_SOURCE_NAME: "https://github.com/acme/fraud",
                TAG_SOURCE_TYPE: "PROJECT",
                "mlflow.project.entryPoint": "train",
            },
            True,
            "https://github.com/acme/fraud (project), entry point train",
        ),
        ({TAG_SOURCE_TYPE: "LOCAL"}, False, "no source recorded: log the run from a script"),
        ({}, False, "no source recorded: log the run from a script"),
    ],
)
def test_source(tags: dict[str, str], ok: bool, detail: str) -> None:
    assert check_source(tagged(**tags)) == CheckItem(LABEL_SOURCE, ok, detail)


# --- environment -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "ok", "detail"),
    [
        (snap(artifacts=files("requirements.txt")), True, "requirements.txt"),
        (
            snap(artifacts=files("model/MLmodel", "model/conda.yaml", "model/python_env.yaml")),
            True,
            "model/conda.yaml, model/python_env.yaml",
        ),
        (
            snap(artifacts=files("a/conda.yaml", "b/conda.yaml", "c/conda.yaml", "d/conda.yaml")),
            True,
            "a/conda.yaml, b/conda.yaml, c/conda.yaml +1 more",
        ),
        (tagged(**{TAG_DOCKER_IMAGE: "acme/train:1.2"}), True, "docker image acme/train:1.2"),
        (
            snap(logged_models=(LoggedModelInfo("m-9", flavors=("sklearn", "python_function")),)),
            True,
            "logged model environment: m-9 (sklearn, python_function); "
            "MLflow saves the environment with the model",
        ),
        (
            snap(logged_models=(LoggedModelInfo("m-9"),)),
            None,
            "could not tell: a model is logged but its flavors are unknown",
        ),
    ],
)
def test_environment(run: RunSnapshot, ok: bool | None, detail: str) -> None:
    assert check_environment(run) == CheckItem(LABEL_ENVIRONMENT, ok, detail)


def test_environment_missing() -> None:
    item = check_environment(snap(artifacts=files("plot.png", "requirements.txt.bak")))
    assert item.ok is False
    assert "requirements.txt, conda.yaml, python_env.yaml or docker image" in item.detail


# --- datasets ------------------------------------------------------------------------


def test_datasets_listed_with_context_and_capped() -> None:
    datasets = tuple(
        DatasetInfo(name, context=context)
        for name, context in [("train", "training"), ("eval", "eval"), ("holdout", None),
                              ("extra1", None), ("extra2", None)]
    )  # fmt: skip
    item = check_datasets(snap(datasets=datasets))
    assert item == CheckItem(LABEL_DATASETS, True, "train (training), eval (eval), holdout +2 more")
    assert check_datasets(snap(datasets=datasets[:1])).detail == "train (training)"


# --- signature --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "ok", "detail"),
    [
        (snap(logged_models=(LoggedModelInfo("m-1", "clf", has_signature=True),)),
         True, "clf (m-1)"),
        (snap(logged_models=(LoggedModelInfo("m-1", has_signature=False),
                             LoggedModelInfo("m-2", has_signature=True))),
         True, "m-2"),
        (snap(logged_models=(LoggedModelInfo("m-1", has_signature=None),)),
         None, "could not tell for m-1"),
        (snap(logged_models=(LoggedModelInfo("m-1", "clf", has_signature=False),)),
         False, "clf (m-1) has no signature: pass signature= or input_example= to log_model"),
        (snap(logged_models=(LoggedModelInfo("m-1", has_signature=False),
                             LoggedModelInfo("m-2", has_signature=False))),
         False, "m-1, m-2 have no signature: pass signature= or input_example= to log_model"),
        (snap(artifacts=files("model/MLmodel", "model/model.pkl")),
         None, "could not tell: model files in model"),
        (snap(artifacts=files("MLmodel")), None, "could not tell: model files in ."),
        (snap(artifacts=(ArtifactInfo("model", is_dir=True),)), False, "no model logged"),
    ],
)  # fmt: skip
def test_signature(run: RunSnapshot, ok: bool | None, detail: str) -> None:
    assert check_signature(run) == CheckItem(LABEL_SIGNATURE, ok, detail)


# --- status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "start", "end", "ok", "detail"),
    [
        ("FINISHED", None, None, True, "finished"),
        ("FINISHED", 0, 42_000, True, "finished in 42s"),
        ("FINISHED", 0, 252_500, True, "finished in 4m 12s"),
        ("FINISHED", 0, 7_380_000, True, "finished in 2h 3m"),
        ("FINISHED", 10, 5, True, "finished"),
        ("finished", None, None, True, "finished"),
        ("RUNNING", 0, None, False, "RUNNING: still running: review it once it has finished"),
        ("FAILED", 0, 10, False, "FAILED: the run failed: check its logs and retrain"),
        ("KILLED", 0, 10, False, "KILLED: the run was killed before it finished"),
        ("SCHEDULED", None, None, False, "SCHEDULED: scheduled, not started yet"),
        ("PAUSED", None, None, False, "status is PAUSED"),
        ("", None, None, False, "status is unknown"),
    ],
)
def test_finished(status: str, start: int | None, end: int | None, ok: bool, detail: str) -> None:
    run = snap(status=status, start_time=start, end_time=end)
    assert check_finished(run) == CheckItem(LABEL_FINISHED, ok, detail)


# --- notes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "ok", "detail"),
    [
        ("# v4\n\nRetrained on March data.", True, "5 words"),
        ("ok", True, "1 word"),
        (
            "```\n---\n```",
            False,
            "no notes: describe the change in the run's description in MLflow",
        ),
        ("   \n", False, "no notes: describe the change in the run's description in MLflow"),
        (None, False, "no notes: describe the change in the run's description in MLflow"),
    ],
)
def test_notes(note: str | None, ok: bool, detail: str) -> None:
    run = tagged(**{TAG_NOTE: note}) if note is not None else snap()
    assert check_notes(run) == CheckItem(LABEL_NOTES, ok, detail)
