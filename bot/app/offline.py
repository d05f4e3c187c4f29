"""`model-review render`: the whole review offline, to stdout or to files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.config.schema import Config, load_config
from bot.domain import RefKind, RunRef
from bot.errors import ConfigError, UsageError
from bot.review.pipeline import ReviewRequest, build_review
from bot.review.refs import find_refs

NO_TRACKING_URI = "no MLflow tracking URI"
NO_TRACKING_HINT = "pass --tracking-uri URI or set MLFLOW_TRACKING_URI"
NOTHING_TO_REVIEW = "nothing to review"
NOTHING_HINT = "pass --run REF, --text/--text-file with a link to a run, or --commit SHA"


def run_render(args: argparse.Namespace) -> int:
    """Entry point of `model-review render`: exit 0 rendered, 1 MLflow failed, 2 bad usage."""
    tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking_uri:
        raise UsageError(NO_TRACKING_URI, hint=NO_TRACKING_HINT)
    texts = [_read_text(args)] if (args.text or args.text_file) else []
    refs = [parse_run_option(raw) for raw in args.run]
    if not texts and not refs and not args.commit:
        raise UsageError(NOTHING_TO_REVIEW, hint=NOTHING_HINT)
    config = _read_config(args.config)
    request = ReviewRequest(texts=texts, refs=refs, commits=args.commit or None)
    markdown, html = review_to_text(request, tracking_uri, config, args.out)
    if args.out:
        out = Path(args.out)
        (out / "comment.md").write_text(markdown, encoding="utf-8")
        (out / "preview.html").write_text(html, encoding="utf-8")
        print(out / "comment.md")
    else:
        sys.stdout.write(markdown)
    return 0


def review_to_text(
    request: ReviewRequest, tracking_uri: str, config: Config, out_dir: str | None
) -> tuple[str, str]:
    """Review against a real tracking server and render markdown and HTML."""
    from bot.app.images import LocalImages
    from bot.render.comment import render_comment, render_html
    from bot.tracking.client import MlflowRuns
    from bot.tracking.data import configure_client_env

    configure_client_env(os.environ)
    runs = MlflowRuns(tracking_uri, ui_url=config.mlflow.ui_url)
    images = None
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        images = LocalImages(Path(out_dir))
    report = build_review(request, runs, config, images)
    return render_comment(report), render_html(report)


def parse_run_option(raw: str) -> RunRef:
    """A `--run` value: any reference form; a bare id given here is meant, not guessed."""
    found = find_refs([raw])
    if not found:
        raise UsageError(
            f"--run {raw!r} is not an MLflow reference",
            hint="use a run id, runs:/<id>/path, models:/<name>/<version>, "
            "models:/<name>@<alias> or an MLflow UI link",
        )
    ref = found[0]
    if ref.kind is RefKind.BARE_RUN_ID:
        return RunRef(RefKind.RUN, raw=ref.raw, run_id=ref.run_id)
    return ref


def _read_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if args.text_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.text_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --text-file {args.text_file}: {exc.strerror}") from None


def _read_config(path: str | None) -> Config:
    if path is None:
        return Config()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", source=path) from None
    return load_config(text, source=path)
