"""`model-review mlflow-webhook create|list|test|delete`: register the MLflow registry
webhook that tells the App when production moves (POST /mlflow/webhook), through
MLflow's client (bot.tracking.webhooks). Prints what it did; never a secret."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from bot import redaction
from bot.constants import MLFLOW_WEBHOOK_PATH as PATH
from bot.errors import ModelReviewError, UsageError

SECRET_VARIABLE = "MODEL_REVIEW_MLFLOW_WEBHOOK_SECRET"
DEFAULT_NAME = "model-review"
DESCRIPTION = (
    "Register the MLflow webhook that tells the model-review App when a registered "
    "model's alias moves, so open reviews compared with production are reviewed again. "
    "Needs an MLflow server with a SQL backend; for a URL on a private address, the "
    "server needs MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true."
)
NO_SECRET = "no webhook secret: MLflow would send unsigned events, which the App refuses"
NO_SECRET_HINT = (
    f"set {SECRET_VARIABLE} (the App's own setting) or pass --secret-env VAR; "
    "--secret TEXT works too but shows the secret to other users of this machine"
)
NOT_THE_PATH = f"note: the App listens on {PATH}; this URL does not end with it"


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    command: Callable[..., argparse.ArgumentParser],
) -> None:
    """The subcommand and its four actions (`command` is bot.cli's subparser maker)."""
    hooks = command(
        sub, "mlflow-webhook", "register MLflow's registry webhook for the App", DESCRIPTION
    )
    hooks.add_argument(
        "--tracking-uri", metavar="URI", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)"
    )
    actions = hooks.add_subparsers(dest="hook_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create the webhook (prints its id)")
    create.add_argument("--url", required=True, help=f"the App's address, ending in {PATH}")
    secret = create.add_mutually_exclusive_group()
    secret.add_argument("--secret", metavar="TEXT", help="the shared secret (visible in `ps`)")
    secret.add_argument(
        "--secret-env",
        metavar="VAR",
        help=f"read the secret from this variable (default: {SECRET_VARIABLE})",
    )
    create.add_argument(
        "--events",
        metavar="LIST",
        help="comma-separated entity.action events (default: the ones the App follows)",
    )
    create.add_argument("--name", default=DEFAULT_NAME, help="(default: %(default)s)")
    actions.add_parser("list", help="list the server's webhooks (MLflow keeps their secrets)")
    test = actions.add_parser("test", help="have MLflow send a signed test event to the URL")
    test.add_argument("webhook_id", metavar="ID")
    test.add_argument("--event", help="the event to send (default: one the App ignores)")
    delete = actions.add_parser("delete", help="delete a webhook")
    delete.add_argument("webhook_id", metavar="ID")


def _secret(args: argparse.Namespace) -> tuple[str, str]:
    """The secret, and where it came from (for the output: never the secret itself)."""
    if args.secret:
        return str(args.secret), "given with --secret"
    name = args.secret_env or SECRET_VARIABLE
    value = os.environ.get(name, "").strip()
    if not value:
        raise UsageError(f"{NO_SECRET} (${name} is empty)", hint=NO_SECRET_HINT)
    return value, f"from ${name}"


def run(args: argparse.Namespace) -> int:
    """Run one action; 0 when done (`test`: when the App answered 2xx)."""
    from bot.app.offline import NO_TRACKING_HINT, NO_TRACKING_URI
    from bot.tracking.data import configure_client_env
    from bot.tracking.webhooks import DEFAULT_EVENTS, TEST_EVENT, MlflowWebhooks

    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UsageError(NO_TRACKING_URI, hint=NO_TRACKING_HINT)
    configure_client_env(os.environ)
    hooks = MlflowWebhooks(uri)
    out = sys.stdout
    if args.hook_action == "create":
        events = [e.strip() for e in (args.events or "").split(",") if e.strip()]
        secret, source = _secret(args)
        redaction.install(extra=[secret])  # MLflow's answers and our logs never show it
        try:
            made = hooks.create(args.name, args.url, events or DEFAULT_EVENTS, secret, DESCRIPTION)
        except ModelReviewError as exc:
            exc.message = redaction.redact(exc.message)
            raise
        out.write(
            f"created webhook {made.webhook_id} ({made.name}): {made.url}\n"
            f"  events: {', '.join(made.events)}\n  signed with the secret {source}\n"
        )
        if not args.url.rstrip("/").endswith(PATH):
            out.write(NOT_THE_PATH + "\n")
        return 0
    if args.hook_action == "list":
        listed = hooks.list()
        for hook in listed:
            out.write(f"{hook.webhook_id}  {hook.name}  {hook.status}  {hook.url}\n")
            out.write(f"  events: {', '.join(hook.events)}\n")
        out.write(f"{len(listed)} webhook(s)\n")
        return 0
    if args.hook_action == "test":
        result = hooks.test(args.webhook_id, args.event or TEST_EVENT)
        answer = f"answered {result.status}" if result.status else (result.error or "no answer")
        out.write(f"webhook {args.webhook_id}: {'ok' if result.success else 'FAILED'}, {answer}\n")
        return 0 if result.success else 1
    hooks.delete(args.webhook_id)
    out.write(f"deleted webhook {args.webhook_id}\n")
    return 0
