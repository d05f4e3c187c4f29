"""`model-review` command line. Imports stay lazy so `--help` is instant."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

DESCRIPTION = (
    "Model review for pull requests: compare the MLflow runs a PR links with the "
    "production model, post one review comment and hold the merge until reviewers approve."
)

EPILOG = """examples:
  model-review demo --dir ./model-review-demo
  model-review render --run runs:/0123456789abcdef0123456789abcdef/model --out review/
  model-review render --text-file pr-body.md --tracking-uri http://localhost:5000
  model-review evaluate --candidate models:/fraud-model/4 --data holdout.csv --target label
  model-review history fraud-model --format json
  model-review rollback fraud-model --reason "latency regression" --by alice
  model-review mlflow-webhook create --url https://review.example.com/mlflow/webhook

Run `model-review COMMAND --help` for the options of a command.
"""

OPERATOR_EXIT_CODES = """exit codes:
  0  done
  1  MLflow could not be reached or failed
  2  bad usage (e.g. no --reason, no tracking URI)
  3  unknown registered model or version
  4  refused: the message says why (never approved, run deleted, nothing recorded
     as previous production, already production) and whether --force helps
"""

RENDER_EPILOG = """exit status:
  0  the review was rendered
  1  could not review (MLflow unreachable or failing)
  2  usage or config error
  3  rendered, but a reference could not be resolved (a linked run was not found)
     or the config names a metric no reviewed run logs (a typo in metrics.rules)
"""

EVALUATE_EPILOG = """exit codes (the EXIT_* values of bot.errors):
  0  the paired predictions were logged to the candidate run
  1  MLflow could not be reached or failed
  2  bad usage: arguments, the data file, the --target or --id column
  3  a model could not be loaded, or there is no production model to compare with
  4  rows without a label (the message counts them)
  5  the data lacks columns a model's signature needs (no overlap)
  6  rows that do not pair: repeated ids, or predictions that do not line up
  7  logged, but a model's logged requirements differ from this environment (the
     warning names the packages; --ignore-requirements exits 0 instead)
"""

SERVE_DESCRIPTION = (
    "Run the webhook GitHub App on Flask's development server, for local use. "
    "In production run `gunicorn 'bot.webhook:create_app()'` with the same environment."
)

VERBOSE = "log what happens: what is looked up and how long each step takes"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model-review",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    demo = _command(
        sub,
        "demo",
        "build a local MLflow store with two trained models and render their review",
        "Train two models into a fresh local MLflow store (sqlite) in DIR, render the "
        "candidate's review there and print the command that renders it again.",
    )
    demo.add_argument(
        "--dir",
        default="model-review-demo",
        help="where to put the store and the review (default: %(default)s)",
    )
    _add_render(sub)
    _add_evaluate(sub)
    _command(
        sub,
        "action",
        "run inside GitHub Actions (reads the GITHUB_* variables)",
        "Review the pull request of this workflow run (see action.yml).",
    )
    _add_serve(sub)
    worker = _command(
        sub,
        "worker",
        "run reviews from the Redis queue of the webhook App (MODEL_REVIEW_QUEUE)",
        "Run the reviews the webhook App queued in Redis; reads the same environment "
        "as `model-review serve` (but for GITHUB_WEBHOOK_SECRET). SIGTERM: the worker "
        "lets its review finish for 8 s, else requeues it, and exits.",
    )
    worker.add_argument(
        "--check",
        action="store_true",
        help="the worker's probe: exit 0 when a worker of this host reported to Redis in "
        "the last minute, else 1",
    )
    _add_operator(sub)
    reconcile = _command(
        sub,
        "reconcile",
        "queue the reviews the App lost (open PRs without a current review)",
        "List the open pull requests of the App's installations (or of one repository) and "
        "queue a review for each whose head commit has no model-review status although it "
        "links runs or changes require_review_for paths, or whose runs or production "
        "baseline changed since its status. Reads the same environment as `model-review "
        "serve` (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, MLFLOW_TRACKING_URI, "
        "MODEL_REVIEW_QUEUE); without MODEL_REVIEW_QUEUE it runs the reviews itself.",
    )
    from bot.app.hookcommand import add_parser

    add_parser(sub, _command)
    reconcile.add_argument("--repo", metavar="OWNER/NAME", help="only this repository")
    reconcile.add_argument("--dry-run", action="store_true", help="say what is due, queue nothing")
    return parser


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand that also takes `-v` after its name (`model-review render ... -v`)."""
    command = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE
    )
    return command


def _operator(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, text: str
) -> argparse.ArgumentParser:
    command = _command(sub, name, help, text, epilog=OPERATOR_EXIT_CODES)
    command.add_argument("model", metavar="MODEL", help="registered model name (case-sensitive)")
    command.add_argument(
        "--alias", default="production", help="the production alias (default: %(default)s)"
    )
    command.add_argument(
        "--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)"
    )
    return command


def _add_operator(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = _operator(
        sub,
        "history",
        "production's history and every reviewed version of a model",
        "Print the versions that held the production alias (newest first: when, the PR "
        "that promoted it and its approvers, or who rolled back and why) and every version "
        "reviewed through model-review (status, PR, approvers, dates). MLflow only.",
    )
    history.add_argument("--format", choices=("text", "json"), default="text")
    rollback = _operator(
        sub,
        "rollback",
        "move the production alias back, recorded in production's history",
        "Move the production alias back to --to VERSION (default: the version recorded as "
        "the previous production) and record who, when and why in production's history. "
        "Refuses a version never approved through model-review, or whose run was deleted, "
        "unless --force. Needs MLflow write access; nothing happens on GitHub.",
    )
    rollback.add_argument("--to", metavar="VERSION", help="the version to roll back to")
    rollback.add_argument("--reason", required=True, metavar="TEXT", help="why (recorded)")
    rollback.add_argument(
        "--by",
        metavar="NAME",
        help="who rolls back (default: $MLFLOW_TRACKING_USERNAME, else the OS user)",
    )
    rollback.add_argument(
        "--force", action="store_true", help="roll back to a version the checks refuse"
    )


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.app.settings import ENVIRONMENT

    width = max(len(name) for name, _ in ENVIRONMENT) + 2
    lines = [f"  {name:<{width}}{what}" for name, what in ENVIRONMENT]
    serve = _command(
        sub,
        "serve",
        "run the webhook GitHub App (Flask)",
        SERVE_DESCRIPTION,
        epilog="environment:\n" + "\n".join(lines),
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")


def _add_evaluate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = _command(
        sub,
        "evaluate",
        "score the candidate and production on the same rows; log the pairs to the run",
        "Load the candidate and the production model the review would compare it with "
        "(mlflow.pyfunc, in this environment), predict with both on the same rows of the "
        "evaluation data and log one paired predictions table to the candidate run: the "
        "review then compares their metrics pairwise, with intervals.",
        epilog=EVALUATE_EPILOG,
    )
    which = evaluate.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--candidate", metavar="URI", help="models:/NAME/VERSION, runs:/RUN_ID/PATH or a run id"
    )
    which.add_argument("--text", help="PR text naming the candidate (as `render` reads it)")
    which.add_argument(
        "--text-file", metavar="FILE", help="read the PR text from FILE ('-': stdin)"
    )
    evaluate.add_argument(
        "--data",
        metavar="FILE",
        help="evaluation rows, CSV or Parquet (default: the candidate's logged evaluation "
        "dataset, when its file can be read from here)",
    )
    evaluate.add_argument("--target", required=True, metavar="COL", help="the label column")
    evaluate.add_argument(
        "--id", metavar="COL", help="a column naming each row (default: row order)"
    )
    evaluate.add_argument(
        "--config", metavar="FILE", help="a model-review.yml (baseline, allow-lists)"
    )
    evaluate.add_argument(
        "--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)"
    )
    evaluate.add_argument(
        "--ignore-requirements",
        action="store_true",
        help="exit 0, not 7, when a model's requirements differ from this environment",
    )


def _add_render(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    render = _command(
        sub,
        "render",
        "review MLflow runs offline (no GitHub): print markdown or write files",
        "Find the MLflow references in the text (or --run), compare them with production "
        "and print the review comment (or write it to --out).",
        epilog=RENDER_EPILOG,
    )
    text = render.add_mutually_exclusive_group()
    text.add_argument("--text", help="PR text to search for references")
    text.add_argument("--text-file", metavar="FILE", help="read the PR text from FILE ('-': stdin)")
    render.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="REF",
        help="a run reference (run id, runs:/ or models:/ URI, MLflow link); repeatable",
    )
    render.add_argument(
        "--commit",
        action="append",
        default=[],
        metavar="SHA",
        help="a commit of the PR (full SHA or at least 7 hex digits): with no reference, "
        "review runs logged from these commits; repeatable",
    )
    render.add_argument("--config", metavar="FILE", help="a model-review.yml to apply")
    render.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI: http(s)://HOST or sqlite:///PATH "
        "(default: $MLFLOW_TRACKING_URI)",
    )
    render.add_argument(
        "--out", metavar="DIR", help="write comment.md, preview.html and the plots to folder DIR"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if args.command is None:
        parser.print_help()
        return 2
    from bot.errors import ModelReviewError

    try:
        return _dispatch(args)
    except ModelReviewError as exc:
        print(f"model-review: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _configure_logging(verbose: bool) -> None:
    """One line per record, every record through bot.redaction (the credentials of
    the environment are registered here, before anything can log them)."""
    from bot import redaction
    from bot.app.logcontext import OneLineFormatter

    redaction.install(os.environ)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    # urllib3 warns at each retry of a refused connection: the error that ends the
    # command says it better; -v shows them
    logging.getLogger("urllib3.connectionpool").setLevel(
        logging.WARNING if verbose else logging.ERROR
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(redaction.RedactingFilter())


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "evaluate":
        from bot.app.evaluate import run_evaluate

        return run_evaluate(args)
    if args.command == "render":
        from bot.app.offline import run_render

        return run_render(args)
    if args.command == "demo":
        from bot.app.demo import run_demo

        return run_demo(args.dir)
    if args.command == "action":
        from bot.app.action import run_action

        return run_action()
    if args.command == "serve":
        from bot.app.webhook import serve

        return serve(args.host, args.port)
    if args.command in ("history", "rollback"):
        from bot.app.operator import run_history, run_rollback

        return run_history(args) if args.command == "history" else run_rollback(args)
    if args.command == "worker":
        if args.check:
            from bot.app.queue.presence import run_check

            return run_check(os.environ)
        from bot.app.queue.redisworker import run_worker

        return run_worker()
    if args.command == "mlflow-webhook":
        from bot.app.hookcommand import run

        return run(args)
    if args.command == "reconcile":
        from bot.app.queue.recovery import run_reconcile

        return run_reconcile(args.repo, args.dry_run)
    raise AssertionError(args.command)
