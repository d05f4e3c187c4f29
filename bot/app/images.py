"""Image hosting behind the ImagePort (config `plots.host`).

- `branch`: commit the PNGs to a dedicated branch at content-addressed paths and link
  them as `…/blob/<sha>/<path>?raw=true`, which renders for anyone who can read the
  repository, private ones included. Images the bot itself published before (its
  state's plot cache, with the sha256 of each PNG) are reused when every picture is
  the same, so an unchanged review makes no request at all. A URL found in a
  comment is never reused: text from MLflow (a dataset name) could plant one.
- `mlflow`: log the PNGs as artifacts of the candidate run and link them through the
  MLflow server (for teams whose MLflow is reachable by the reviewers).
- `none`: no images.
- local files for `model-review render --out DIR`, linked relatively.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from bot.config.schema import Config, ImageHost
from bot.constants import BOT_FOLDER
from bot.domain import HostedImage, PlotImage, PullRequest
from bot.errors import GitHubError, ModelReviewError
from bot.ports import GitHubPort, ImagePort, RunsPort

FOLDER = BOT_FOLDER  # inside the assets branch, and inside an MLflow run
RULESET_REFUSED = (
    "a repository rule refuses pushes to branch `{branch}`, so the plots are not shown: "
    "exempt the branch from the ruleset (or add model-review to its bypass list), or "
    "set `plots.host: mlflow` (or `none`)"
)
RULE_VIOLATION = "rule violation"  # in GitHub's 422 for a ref a ruleset protects


def content_path(image: PlotImage) -> str:
    """A content-addressed path: the same picture always gets the same path."""
    digest = hashlib.sha256(image.png).hexdigest()[:20]
    stem = re.sub(r"[^0-9A-Za-z_-]+", "-", image.name.rsplit(".", 1)[0]).strip("-")[:60]
    return f"{FOLDER}/{stem or 'plot'}-{digest}.png"


def hosted(image: PlotImage, url: str) -> HostedImage:
    return HostedImage(
        name=image.name,
        title=image.title,
        alt=image.alt,
        url=url,
        primary=image.primary,
        group=image.group,
        sha256=hashlib.sha256(image.png).hexdigest(),
    )


class BranchImages:
    """Commits the PNGs to `branch` of the repository and links their blobs;
    `published`: the images the bot published before (its state), reused by content."""

    def __init__(
        self,
        github: GitHubPort,
        branch: str,
        pr: PullRequest,
        published: Sequence[HostedImage] = (),
    ) -> None:
        self.github = github
        self.branch = branch
        self.pr = pr
        self.known = {image.sha256: image.url for image in published if image.sha256}

    def publish(self, images: Sequence[PlotImage], run_id: str | None = None) -> list[HostedImage]:
        paths = {content_path(image): image for image in images}
        mine = [hosted(image, "") for image in paths.values()]
        if mine and all(h.sha256 in self.known for h in mine):
            return [replace(h, url=self.known[h.sha256]) for h in mine]
        files = {path: image.png for path, image in paths.items()}
        message = f"model-review: plots for #{self.pr.number}"
        try:
            sha = self.github.commit_files(self.branch, files, message)
        except GitHubError as exc:
            if exc.status == 422 and RULE_VIOLATION in exc.message.casefold():
                raise ModelReviewError(RULESET_REFUSED.format(branch=self.branch)) from None
            raise ModelReviewError(
                f"could not commit the plots to branch `{self.branch}`: {exc.message}",
                hint="grant `contents: write`, or set `plots.host: none` in the config",
            ) from None
        return [hosted(image, self.github.blob_url(sha, path)) for path, image in paths.items()]


class MlflowImages:
    """Logs the PNGs as artifacts of the candidate run; links the server's artifact URL."""

    def __init__(self, runs: RunsPort, ui_url: str | None = None) -> None:
        self.runs = runs
        self.ui_url = ui_url

    def publish(self, images: Sequence[PlotImage], run_id: str | None = None) -> list[HostedImage]:
        base = (self.ui_url or self.runs.ui_base() or "").rstrip("/")
        if not run_id or not base:
            raise ModelReviewError(
                "`plots.host: mlflow` needs an MLflow server with an http(s) address",
                hint="set `mlflow.ui_url`, or use `plots.host: branch`",
            )
        out = []
        for image in images:
            path = content_path(image)
            self.runs.log_artifact_bytes(run_id, path, image.png)
            url = f"{base}/get-artifact?path={quote(path)}&run_uuid={quote(run_id)}"
            out.append(hosted(image, url))
        return out


class LocalImages:
    """Writes the PNGs into a folder and links them relatively (offline render)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def publish(self, images: Sequence[PlotImage], run_id: str | None = None) -> list[HostedImage]:
        self.folder.mkdir(parents=True, exist_ok=True)
        out = []
        for image in images:
            (self.folder / image.name).write_bytes(image.png)
            out.append(hosted(image, image.name))
        return out


def image_host(
    config: Config,
    pr: PullRequest,
    github: GitHubPort,
    runs: RunsPort,
    published: Sequence[HostedImage] = (),
    *,
    default: ImageHost = ImageHost.BRANCH,
) -> ImagePort | None:
    """The ImagePort chosen by `plots.host` (None: no images)."""
    host = config.plots.host or default
    if host is ImageHost.NONE:
        return None
    if host is ImageHost.MLFLOW:
        return MlflowImages(runs, config.mlflow.ui_url)
    return BranchImages(github, config.plots.branch, pr, published)
