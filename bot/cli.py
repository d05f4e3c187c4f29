"""`model-review` command line. Imports stay lazy so `--help` is instant."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

DESCRIPTION = (
    "Model review for pull requests: compare the MLflow runs a PR links with the "
    "production model, post one review comment and hold the merge until reviewers approve."
)

EPILOG = """commands:
  demo     build a local MLflow store with two trained models and render their review
  render   review MLflow runs offline (no GitHub): print markdown or write files
  action   run inside GitHub Actions (reads GITHUB_* variables)
  serve    run the webhook GitHub App (Flask)

examples:
  model-review demo --dir ./model-review-demo
  model-review render --run runs:/0123456789abcdef0123456789abcdef/model --out review/
  model-review render --text-file pr-body.md --tracking-uri http://localhost:5000
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model-review",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_render(sub)
    demo = sub.add_parser("demo", help="build example runs in a local MLflow store and review them")
    demo.add_argument(
        "--dir",
        default="model-review-demo",
        help="where to put the store and the review (default: %(default)s)",
    )
    sub.add_parser("action", help="run inside GitHub Actions")
    serve = sub.add_parser("serve", help="run the webhook GitHub App locally")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    sub.add_parser("worker", help="run a Redis queue worker for the webhook app")
    return parser


def _add_render(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    render = sub.add_parser(
        "render",
        help="review MLflow runs offline, with no GitHub",
        description="Find the MLflow references in the text (or --run), compare them with "
        "production and print the review comment (or write it to --out).",
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
        help="a commit of the PR: with no reference, review runs logged from these commits",
    )
    render.add_argument("--config", metavar="FILE", help="a model-review.yml to apply")
    render.add_argument(
        "--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)"
    )
    render.add_argument(
        "--out", metavar="DIR", help="write comment.md, preview.html and the plots to DIR"
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
    from bot.app.logcontext import OneLineFormatter

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))


def _dispatch(args: argparse.Namespace) -> int:
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
    if args.command == "worker":
        from bot.app.redisqueue import run_worker

        return run_worker()
    raise AssertionError(args.command)
