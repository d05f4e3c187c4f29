"""Image hosting: content-addressed branch commits, MLflow artifacts, local files."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app.images import (
    BranchImages,
    LocalImages,
    MlflowImages,
    content_path,
    image_host,
)
from bot.config.schema import Config, ImageHost, PlotsConfig
from bot.domain import PlotImage, PullRequest
from bot.errors import GitHubError, ModelReviewError
from tests.fakes import FakeGitHub, FakeRuns

PR = PullRequest(
    number=7,
    title="t",
    body="",
    author="dave",
    head_sha="1" * 40,
    base_sha="2" * 40,
    head_ref="h",
    base_ref="main",
    repo="owner/repo",
)


def picture(name: str, data: bytes, primary: bool = True) -> PlotImage:
    return PlotImage(
        name=name, title=name, alt=f"alt {name}", png=b"\x89PNG" + data, primary=primary
    )


def test_paths_are_content_addressed() -> None:
    same = content_path(picture("metrics.png", b"a"))
    assert same == content_path(picture("metrics.png", b"a"))
    assert same != content_path(picture("metrics.png", b"b"))
    assert same.startswith("model-review/metrics-") and same.endswith(".png")
    assert "/" not in content_path(picture("../../etc/passwd", b"x")).removeprefix("model-review/")


def test_branch_hosting_commits_once_and_links_blobs_at_the_commit() -> None:
    github = FakeGitHub()
    images = [picture("metrics.png", b"m"), picture("curve.png", b"c", primary=False)]
    hosted = BranchImages(github, "model-review-assets", PR).publish(images)
    assert len(github.branch_commits) == 1
    assert github.branch_commits[0][0] == "model-review-assets"
    assert all(h.url.endswith("?raw=true") and "/blob/" in h.url for h in hosted)
    assert [h.primary for h in hosted] == [True, False]

    again = BranchImages(github, "model-review-assets", PR).publish(images)
    assert [h.url for h in again] == [h.url for h in hosted]
    assert len(github.branch_commits) == 1  # same pictures: no new commit


def test_images_the_bot_published_are_reused_by_content_without_any_request() -> None:
    github = FakeGitHub()
    images = [picture("metrics.png", b"m")]
    first = BranchImages(github, "assets", PR).publish(images)
    assert first[0].sha256 == hashlib.sha256(images[0].png).hexdigest()
    github.read_only = True  # any write would now fail
    again = BranchImages(github, "assets", PR, published=first).publish(images)
    assert again == first


def test_a_published_image_of_other_content_or_without_a_digest_is_not_reused() -> None:
    github = FakeGitHub()
    old = BranchImages(github, "assets", PR).publish([picture("metrics.png", b"old")])
    new = BranchImages(github, "assets", PR, published=old).publish(
        [picture("metrics.png", b"new")]
    )
    assert new[0].url != old[0].url and len(github.branch_commits) == 2
    elsewhere = old[0].url.replace("/blob/", "/blob/" + "e" * 40 + "/x/")
    unknown = [replace(old[0], url=elsewhere, sha256="")]  # a version 2 state: no digest
    again = BranchImages(github, "assets", PR, published=unknown).publish(
        [picture("metrics.png", b"old")]
    )
    assert again[0].url != elsewhere  # linked at a commit of the bot's, never `elsewhere`
    assert again[0].url == github.blob_url(
        f"{2:040x}", content_path(picture("metrics.png", b"old"))
    )


def test_a_refused_branch_commit_is_a_clear_error() -> None:
    github = FakeGitHub(read_only=True)
    with pytest.raises(ModelReviewError, match="contents: write"):
        BranchImages(github, "assets", PR).publish([picture("m.png", b"m")])
    assert isinstance(GitHubError("x"), ModelReviewError)


def test_mlflow_hosting_logs_artifacts_and_links_the_server() -> None:
    runs = FakeRuns()
    hosted = MlflowImages(runs).publish([picture("metrics.png", b"m")], run_id="c" * 32)
    (path,) = [p for (rid, p) in runs.files if rid == "c" * 32]
    assert hosted[0].url == (f"http://mlflow.test/get-artifact?path={path}&run_uuid={'c' * 32}")
    no_server = FakeRuns(base_url=None)
    with pytest.raises(ModelReviewError, match=r"mlflow\.ui_url"):
        MlflowImages(no_server).publish([picture("m.png", b"m")], run_id="c" * 32)


def test_local_files_are_linked_relatively(tmp_path: Path) -> None:
    hosted = LocalImages(tmp_path / "out").publish([picture("metrics.png", b"m")])
    assert hosted[0].url == "metrics.png"
    assert (tmp_path / "out" / "metrics.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        (None, BranchImages),
        (ImageHost.BRANCH, BranchImages),
        (ImageHost.MLFLOW, MlflowImages),
        (ImageHost.NONE, type(None)),
    ],
)
def test_the_config_chooses_the_host(host: ImageHost | None, kind: type) -> None:
    config = Config(plots=PlotsConfig(host=host))
    assert isinstance(image_host(config, PR, FakeGitHub(), FakeRuns()), kind)


def test_a_ruleset_that_refuses_the_assets_branch_costs_the_plots_with_a_one_line_note() -> None:
    """A ruleset over every branch refuses the bot's push (GitHub's 422 "Repository rule
    violations found"): the review goes on without hosted images and says how to fix it."""
    from bot.githost.client import GitHubRepo
    from tests.github_sim import GitHubSim

    sim = GitHubSim()
    sim.git.ruled.add("model-review-assets")
    with sim.mocked():
        github = GitHubRepo(sim.repo, "ghs_test", throttle=False)
        with pytest.raises(ModelReviewError) as refused:
            BranchImages(github, "model-review-assets", PR).publish([picture("m.png", b"m")])
    note = str(refused.value)
    assert note == (
        "a repository rule refuses pushes to branch `model-review-assets`, so the plots are "
        "not shown: exempt the branch from the ruleset (or add model-review to its bypass "
        "list), or set `plots.host: mlflow` (or `none`)"
    )
    assert "\n" not in note and sim.git.refs == {}
    assert sim.writes == [] and [c for c in sim.calls if c[1] == "git/refs"]
