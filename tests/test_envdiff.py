"""The environment diff (bot.review.envdiff): Python version and packages."""

from __future__ import annotations

from bot.domain import ModelFiles
from bot.domain.modelchanges import FieldChange
from bot.review.envdiff import environment_diff, requirements

CONDA = """channels: [conda-forge]
dependencies:
- python=3.10.4
- pip<=24
- pip:
  - mlflow==2.9.0
  - scikit-learn==1.3.0
name: mlflow-env
"""


def test_requirements_parse_names_and_specs() -> None:
    text = "# pinned\nMLflow==3.1\nscikit_learn>=1.5 ; python_version>'3.8'\n-r other.txt\nrich\n"
    assert requirements(text) == {"mlflow": "==3.1", "scikit-learn": ">=1.5", "rich": ""}


def test_packages_added_removed_changed_and_python() -> None:
    prod = ModelFiles(
        "m-1", requirements="mlflow==3.1\nnumpy==1.26\nscipy==1.11\n", python_env="python: 3.11.7\n"
    )
    cand = ModelFiles(
        "m-2",
        requirements="mlflow==3.1\nnumpy==2.1\nlightgbm==4.5\n",
        python_env="python: 3.12.1\n",
    )
    diff = environment_diff(prod, cand)
    assert diff is not None
    assert diff.python == FieldChange("python", "3.11.7", "3.12.1")
    assert diff.packages == (
        FieldChange("scipy", "==1.11", None),
        FieldChange("lightgbm", None, "==4.5"),
        FieldChange("numpy", "==1.26", "==2.1"),
    )


def test_conda_yaml_alone_gives_python_and_pip_packages() -> None:
    prod = ModelFiles("m-1", conda=CONDA)
    cand = ModelFiles(
        "m-2", requirements="mlflow==2.9.0\nscikit-learn==1.4.0\n", python_env="python: 3.10.4"
    )
    diff = environment_diff(prod, cand)
    assert diff is not None and diff.python is None
    assert diff.packages == (FieldChange("scikit-learn", "==1.3.0", "==1.4.0"),)


def test_unknown_or_unchanged_environments_give_no_diff() -> None:
    same = ModelFiles("m-1", requirements="mlflow==3.1\n", python_env="python: 3.11\n")
    assert environment_diff(same, same) is None
    assert environment_diff(ModelFiles("m-0"), same) is None
