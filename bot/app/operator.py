"""`model-review history` and `model-review rollback`: operator commands on the
production alias, against MLflow only (write access needed for rollback)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import uuid
from datetime import UTC, datetime

from bot.app.offline import NO_TRACKING_HINT, NO_TRACKING_URI
from bot.errors import UsageError
from bot.handlers.production import (
    Rollback,
    history_json,
    history_text,
    read_history,
    rollback,
)
from bot.ports import RunsPort


def _runs(args: argparse.Namespace) -> RunsPort:
    from bot.tracking.client import MlflowRuns
    from bot.tracking.data import configure_client_env

    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UsageError(NO_TRACKING_URI, hint=NO_TRACKING_HINT)
    configure_client_env(os.environ)
    return MlflowRuns(uri)


def run_history(args: argparse.Namespace) -> int:
    """Print production's history and the reviewed versions of `args.model`."""
    ledger = read_history(_runs(args), args.model, args.alias)
    if args.format == "json":
        sys.stdout.write(json.dumps(history_json(ledger), indent=2) + "\n")
    else:
        sys.stdout.write(history_text(ledger))
    return 0


def operator_name(given: str | None) -> str:
    """--by, else MLFLOW_TRACKING_USERNAME, else the OS user."""
    for name in (given, os.environ.get("MLFLOW_TRACKING_USERNAME")):
        if name and name.strip():
            return name.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def run_rollback(args: argparse.Namespace) -> int:
    """Move the production alias of `args.model` back and record it."""
    request = Rollback(
        model=args.model,
        reason=args.reason,
        by=operator_name(args.by),
        to=args.to,
        alias=args.alias,
        force=args.force,
    )
    done = rollback(_runs(args), request, datetime.now(UTC), uuid.uuid4().hex)
    print(done.text())
    return 0
