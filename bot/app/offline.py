"""`model-review render`: the whole review offline, to stdout or to files.

Everything that can be checked locally (the tracking URI, the output folder, the
text and config files, the references and commits) is checked before MLflow is asked
anything, so a typo costs no network round trip and never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config.schema import Config, load_config
from bot.constants import iso_seconds
from bot.domain import GateDecision, PullRequest, RefKind, ReviewReport, RunRef
from bot.errors import ConfigError, UsageError
from bot.redaction import redact
from bot.review.pipeline import ReviewRequest, build_review
from bot.review.refs import find_refs

log = logging.getLogger(__name__)

NO_TRACKING_URI = "no MLflow tracking URI"
NO_TRACKING_HINT = "pass --tracking-uri URI or set MLFLOW_TRACKING_URI"
NOTHING_TO_REVIEW = "nothing to review"
NOTHING_HINT = "pass --run REF, --text/--text-file with a link to a run, or --commit SHA"
EXIT_UNRESOLVED = 3  # rendered, but a reference or a metric the config names was not found
COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")
SHORT_SHA = "--commit {sha!r} is too short to find its runs: give at least 7 hex digits"
NOT_A_SHA = "--commit {sha!r} is not a commit SHA"
SHA_HINT = "copy it from `git log` (a full SHA, or its first 7 or more hex digits)"
UNRESOLVED_LINE = "model-review render: not resolved: {raw}: {reason}"
OUT_NOT_MADE = "--out {raw}: cannot create the folder: {why}"
WRITTEN = "Review written to {comment}\nOpen the preview:  {preview}"  # as `demo` says
LOCAL_CONFIG_HINT = "fix {path} and re-run"
GATE_LINE = "model-review render: the gate `{context}` before any review: {state} — {description}"
OFFLINE_PR = PullRequest(0, "", "", "", "", "", "", "", "")  # render has no pull request


def run_render(args: argparse.Namespace) -> int:
    """Entry point of `model-review render`: exit 0 rendered, 1 MLflow failed, 2 bad
    usage, 3 rendered but a reference was not resolved or the config names a metric
    no reviewed run logs."""
    source = "--tracking-uri" if args.tracking_uri else "MLFLOW_TRACKING_URI"
    tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking_uri:
        raise UsageError(NO_TRACKING_URI, hint=NO_TRACKING_HINT)
    from bot.tracking.data import check_local_store

    check_local_store(tracking_uri, source)
    out = check_out_dir(args.out) if args.out else None
    texts = [read_text(args)] if (args.text or args.text_file) else []
    refs = [parse_run_option(raw) for raw in args.run]
    commits = [parse_commit(sha) for sha in args.commit]
    if not texts and not refs and not commits:
        raise UsageError(NOTHING_TO_REVIEW, hint=NOTHING_HINT)
    config = read_config(args.config)
    request = ReviewRequest(texts=texts, refs=refs, commits=commits or None)
    report = review(request, tracking_uri, config, out, source=source)
    markdown, html = render_both(report)
    if out is not None:
        write_review(out, markdown, html)
        print(WRITTEN.format(comment=out / "comment.md", preview=out / "preview.html"))
    else:
        sys.stdout.write(markdown)
    for missing in report.unresolved:
        line = UNRESOLVED_LINE.format(raw=missing.ref.raw, reason=missing.reason)
        print(redact(line), file=sys.stderr)
    for name in report.misnamed:
        print(f"model-review render: config: {name}", file=sys.stderr)
    gate = offline_gate(report, config)
    print(GATE_LINE.format(context=config.gate.context, state=gate.state.value,
                           description=gate.description), file=sys.stderr)  # fmt: skip
    return EXIT_UNRESOLVED if report.unresolved or report.misnamed else 0


def offline_gate(report: ReviewReport, config: Config) -> GateDecision:
    """The status the gate would set on this review before anyone reviewed it: the
    merge gate's one decision (bot.review.decision) with no PR, reviews or reviewers,
    so a team can dry-run its config's rules (bars, fail_on_regression, eval data).
    Nothing linked and nothing unresolved is the PR review's `no_model` (no changed
    files offline, so no `require_review_for` path: green unless references were capped)."""
    from bot.review.decision import GateInputs, decide_gate, gate_groups, no_model

    if not report.candidates and not report.unresolved:
        return no_model((), report.capped)
    groups = gate_groups(report.candidates, config)
    inputs = GateInputs(report, groups, {}, OFFLINE_PR, config, iso_seconds(datetime.now(UTC)))
    return decide_gate(inputs).gate


def check_out_dir(raw: str) -> Path:
    """The `--out` folder, checked before any network work: it may exist as a folder
    or not exist yet, below a folder this process can write to."""
    out = Path(raw)
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {raw} is a file, not a folder",
            hint="--out takes a folder for comment.md, preview.html and the plots",
        )
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {raw}: cannot write below {existing}")
    try:  # made now: os.access says yes to root where mkdir still fails (/proc)
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(OUT_NOT_MADE.format(raw=raw, why=exc.strerror or exc)) from None
    return out


def review(
    request: ReviewRequest,
    tracking_uri: str,
    config: Config,
    out_dir: Path | None,
    *,
    source: str = "MLFLOW_TRACKING_URI",
) -> ReviewReport:
    """Review against a real tracking server; with `out_dir`, plots are written there."""
    from bot.app.images import LocalImages
    from bot.tracking.client import MlflowRuns
    from bot.tracking.data import configure_client_env

    configure_client_env(os.environ)
    log.info("MLflow: %s", _shown(tracking_uri))
    runs = MlflowRuns(tracking_uri, ui_url=config.mlflow.ui_url, source=source)
    images = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        images = LocalImages(out_dir)
    report = build_review(request, runs, config, images)
    log.info("MLflow requests: %d", runs.request_count)
    return report


def review_to_text(
    request: ReviewRequest, tracking_uri: str, config: Config, out_dir: str | None
) -> tuple[str, str]:
    """Review against a real tracking server and render markdown and HTML."""
    report = review(request, tracking_uri, config, Path(out_dir) if out_dir else None)
    return render_both(report)


def render_both(report: ReviewReport) -> tuple[str, str]:
    """The comment's markdown and the preview page."""
    from bot.render.comment import render_comment, render_html

    return render_comment(report), render_html(report)


def write_review(out: Path, markdown: str, html: str) -> None:
    (out / "comment.md").write_text(markdown, encoding="utf-8")
    (out / "preview.html").write_text(html, encoding="utf-8")


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


def parse_commit(raw: str) -> str:
    """A `--commit` value: a full SHA or a prefix of at least 7 hex digits (what
    `git log --oneline` and the review's checklist show)."""
    sha = raw.strip()
    if COMMIT.fullmatch(sha):
        return sha.lower()
    if sha and all(c in "0123456789abcdefABCDEF" for c in sha):
        raise UsageError(SHORT_SHA.format(sha=raw), hint=SHA_HINT)
    raise UsageError(NOT_A_SHA.format(sha=raw), hint=SHA_HINT)


def _shown(uri: str) -> str:
    from bot.tracking.data import without_credentials

    return without_credentials(uri)


def read_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if args.text_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.text_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --text-file {args.text_file}: {exc.strerror}") from None


def read_config(path: str | None) -> Config:
    if path is None:
        return Config()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        error = ConfigError(f"cannot read the config file: {exc.strerror}", source=path)
        error.hint = LOCAL_CONFIG_HINT.format(path=path)
        raise error from None
    try:
        return load_config(text, source=path)
    except ConfigError as exc:  # its hint speaks of the base branch (the App, the Action)
        exc.hint = LOCAL_CONFIG_HINT.format(path=path)
        raise
