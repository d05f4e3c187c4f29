"""The same review written the straightforward way, to measure the bot against.

What a first version of the bot would do with the two clients used the obvious way:
PyGithub objects with their defaults (30 items a page, a request per `get_*`), and
MlflowClient with one `get_run` per run, one `get_experiment` per run, and the full
history of every metric of every run (one call each, the client's own paging),
drawn in full. Images are committed to the assets branch on every run.

It reuses the bot's pure steps (reference finder, config parser, diffs, gate,
rendering) so that it produces the same comment: the difference measured is only how
it talks to MLflow and GitHub and how much it draws.
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.app.images import content_path, hosted
from bot.config.schema import CONFIG_PATH, load_config
from bot.constants import MARKER
from bot.domain import (
    ArtifactInfo,
    Assignment,
    Baseline,
    Candidate,
    Review,
    ReviewState,
    RunSnapshot,
)
from bot.plots import artifacts as artifact_plots
from bot.plots import charts as plots
from bot.plots.deltas import metric_changes
from bot.render.comment import render_comment
from bot.review.gate import decide
from bot.review.pipeline import compare
from bot.review.refs import find_refs
from bot.tracking import data as td

BOT = "github-actions[bot]"
BRANCH = "model-review-assets"


@dataclass
class Inputs:
    repo: str
    number: int
    github_url: str
    token: str
    tracking_uri: str


def review(inputs: Inputs, *, throttle: bool = False) -> str:
    """Review the PR, write the comment, status and review requests; the comment URL."""
    from github import Auth, Github
    from mlflow.tracking import MlflowClient

    pacing: dict[str, Any] = {} if throttle else {
        "seconds_between_requests": None, "seconds_between_writes": None,
    }  # fmt: skip
    gh = Github(auth=Auth.Token(inputs.token), base_url=inputs.github_url, **pacing)
    repo = gh.get_repo(inputs.repo)
    pr = repo.get_pull(inputs.number)
    config_file = repo.get_contents(CONFIG_PATH, ref=pr.base.sha)
    assert not isinstance(config_file, list)
    config = load_config(config_file.decoded_content.decode())
    comments = list(pr.get_issue_comments())
    commits = [c.sha for c in pr.get_commits()]
    texts = [pr.title, pr.body or "", *(c.body for c in comments if c.user.login != BOT)]

    client = MlflowClient(tracking_uri=inputs.tracking_uri)
    run_ids = [r.run_id for r in find_refs(texts) if r.run_id]
    candidates = [Candidate(run=_snapshot(client, run_id)) for run_id in run_ids]
    versions = client.search_model_versions(f"run_id = '{run_ids[0]}'")
    production = client.get_model_version_by_alias(versions[0].name, "production")
    base = _snapshot(client, production.run_id)
    baseline = Baseline(base, how="alias `production`", model_name=production.name)
    report = compare(candidates, baseline, config, commits)

    pictures = _plots(client, report, base, config.plots.curves, config.plots.max_curves)
    images = _commit_images(repo, pictures, inputs.number)
    report = replace(report, images=tuple(images), ui_base=inputs.tracking_uri)

    reviews = list(pr.get_reviews())
    assignment = Assignment(config.reviewers.primary[0], config.reviewers.secondary[0])
    gate_reviews = [
        Review(r.user.login, ReviewState.parse(r.state), "", r.commit_id, r.id) for r in reviews
    ]
    decision = decide(gate_reviews, assignment, pr.user.login, None, pr.head.sha, False)
    body = render_comment(report, gate=decision, assignment=assignment)
    mine = next((c for c in comments if c.user.login == BOT and MARKER in c.body), None)
    if mine is None:
        url = pr.as_issue().create_comment(body).html_url
    else:
        mine.edit(body)
        url = mine.html_url
    pr.create_review_request(reviewers=[assignment.primary, assignment.secondary])
    repo.get_commit(pr.head.sha).create_status(
        decision.state.value, target_url=url, description=decision.description[:140],
        context=config.gate.context,
    )  # fmt: skip
    return str(url)


def _snapshot(client: Any, run_id: str) -> RunSnapshot:
    """One get_run, one get_experiment, one listing, one version search per run."""
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    artifacts = tuple(
        ArtifactInfo(f.path, bool(f.is_dir), f.file_size) for f in client.list_artifacts(run_id)
    )
    versions = tuple(
        td.model_version(v) for v in client.search_model_versions(f"run_id = '{run_id}'")
    )
    return td.snapshot(run, experiment.name, artifacts, (), versions)


def _plots(
    client: Any,
    report: Any,
    base: RunSnapshot,
    curves: tuple[str, ...],
    max_curves: int,
) -> list[Any]:
    """Every metric's full history, then the same pictures as the bot, drawn in full."""
    runs = [c.run for c in report.candidates] + [base]
    histories: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for run in runs:
        for key in run.metrics:
            points = [(m.step, m.value) for m in client.get_metric_history(run.run_id, key)]
            histories.setdefault(key, {})[run.run_id] = points
    labels = {r.run_id: "candidate" for r in runs[:-1]} | {base.run_id: "production"}
    keys = plots.choose_curves(runs, list(curves), max_curves)
    longest = max((len(p) for h in histories.values() for p in h.values()), default=1)
    images = metric_changes(report.metric_rows, ["candidate"] * (len(runs) - 1))
    images += plots.training_curves(
        {k: histories[k] for k in keys}, labels, base.run_id, max_points=longest
    )
    candidate = runs[0]
    with tempfile.TemporaryDirectory() as tmp:
        for title, cand, prod in artifact_plots.artifact_pairs(
            [a.path for a in candidate.artifacts], [a.path for a in base.artifacts], ["*.png"]
        ):
            left = _download(client, base.run_id, prod, tmp) if prod else None
            right = _download(client, candidate.run_id, cand, tmp) if cand else None
            pair = artifact_plots.side_by_side(title, left, right, "production", "candidate")
            if pair is not None:
                images.append(pair)
    return images


def _download(client: Any, run_id: str, path: str, tmp: str) -> bytes:
    return Path(client.download_artifacts(run_id, path, tmp)).read_bytes()


def _commit_images(repo: Any, pictures: list[Any], number: int) -> list[Any]:
    """Every picture committed again: a blob each, a tree, a commit, the branch moved."""
    from github import GithubException, InputGitTreeElement

    try:
        ref = repo.get_git_ref(f"heads/{BRANCH}")
        parents = [repo.get_git_commit(ref.object.sha)]
    except GithubException:
        ref, parents = None, []
    elements = []
    for picture in pictures:
        blob = repo.create_git_blob(base64.b64encode(picture.png).decode(), "base64")
        elements.append(InputGitTreeElement(content_path(picture), "100644", "blob", sha=blob.sha))
    if parents:
        tree = repo.create_git_tree(elements, parents[0].tree)
    else:
        tree = repo.create_git_tree(elements)
    commit = repo.create_git_commit(f"model-review: plots for #{number}", tree, parents)
    if ref is None:
        repo.create_git_ref(f"refs/heads/{BRANCH}", commit.sha)
    else:
        ref.edit(commit.sha)
    server = repo.html_url.rsplit("/", 2)[0]
    return [
        hosted(p, f"{server}/{repo.full_name}/blob/{commit.sha}/{content_path(p)}?raw=true")
        for p in pictures
    ]
