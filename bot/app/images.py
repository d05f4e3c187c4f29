"""Image hosting behind the ImagePort (config `plots.host`).

- `branch`: commit the PNGs to a dedicated branch at content-addressed paths and link
  them as `…/blob/<sha>/<path>?raw=true`, which renders for anyone who can read the
  repository, private ones included. URLs already in the bot's previous comment are
  reused, so an unchanged review makes no request at all.
- `mlflow`: log the PNGs as artifacts of the candidate run and link them through the
  MLflow server (for teams whose MLflow is reachable by the reviewers).
- `none`: no images.
- local files for `model-review render --out DIR`, linked relatively.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
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
_BLOB = re.compile(r"/blob/([0-9a-f]{40})/(" + FOLDER + r"/[0-9a-zA-Z._-]+\.png)\?raw=true")


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
    )


def known_urls(previous_body: str | None, blob_url_prefix: str) -> dict[str, str]:
    """path -> URL of the images the bot's previous comment already links."""
    if not previous_body:
        return {}
    found: dict[str, str] = {}
    for match in _BLOB.finditer(previous_body):
        sha, path = match.groups()
        url = f"{blob_url_prefix}/blob/{sha}/{path}?raw=true"
        if url in previous_body:
            found[path] = url
    return found


class BranchImages:
    """Commits the PNGs to `branch` of the repository and links their blobs."""

    def __init__(
        self, github: GitHubPort, branch: str, pr: PullRequest, previous_body: str | None = None
    ) -> None:
        self.github = github
        self.branch = branch
        self.pr = pr
        self.previous_body = previous_body

    def publish(self, images: Sequence[PlotImage], run_id: str | None = None) -> list[HostedImage]:
        paths = {content_path(image): image for image in images}
        prefix = self.github.blob_url("0" * 40, "x").split("/blob/")[0]
        known = known_urls(self.previous_body, prefix)
        if paths and all(path in known for path in paths):
            return [hosted(image, known[path]) for path, image in paths.items()]
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
    previous_body: str | None,
    *,
    default: ImageHost = ImageHost.BRANCH,
) -> ImagePort | None:
    """The ImagePort chosen by `plots.host` (None: no images)."""
    host = config.plots.host or default
    if host is ImageHost.NONE:
        return None
    if host is ImageHost.MLFLOW:
        return MlflowImages(runs, config.mlflow.ui_url)
    return BranchImages(github, config.plots.branch, pr, previous_body)
