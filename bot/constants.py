"""Values that several layers must agree on, defined once.

Pure data: no imports from the rest of the bot, no I/O. Change a value here and every
place that must agree follows (the comment marker that finds the bot's comment, the
login the Action posts as, GitHub's limits, the time format of the state block).
"""

from __future__ import annotations

from datetime import UTC, datetime

# The hidden first line of the bot's PR comment (with its author, how it is found).
MARKER = "<!-- model-review -->"

# The folder the bot writes its own files to: on the assets branch, in a run's artifacts
# (`plots.host: mlflow`); never searched for the runs' own images.
BOT_FOLDER = "model-review"

# The login every GitHub Actions workflow posts as (GET /user is refused to its token).
ACTIONS_BOT_LOGIN = "github-actions[bot]"

# GitHub's REST API address when GITHUB_API_URL is not set (Enterprise: https://HOST/api/v3).
DEFAULT_API_URL = "https://api.github.com"

# GitHub's limits.
COMMENT_LIMIT = 65_536  # characters in an issue comment
COMMENT_BUDGET = 65_000  # what the renderer aims for, leaving room for the state block
STATUS_DESCRIPTION_LIMIT = 140  # characters in a commit status description

# GitHub lets people redeliver a webhook delivery for 3 days: remember ids that long.
DEDUPE_SECONDS = 3 * 24 * 3600

# where the App takes MLflow's registry webhooks (bot.app.mlflowhook)
MLFLOW_WEBHOOK_PATH = "/mlflow/webhook"

# UTC timestamps, whole seconds, as GitHub writes them and the state block keeps them.
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


def iso_seconds(moment: datetime) -> str:
    """`moment` in UTC as ISO_SECONDS (a naive datetime is taken as UTC)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(ISO_SECONDS)


def bare_login(login: str) -> str:
    """A GitHub login or `org/team` as GitHub takes it: no `@`, no surrounding spaces."""
    return login.strip().removeprefix("@")


def login_key(login: str) -> str:
    """A GitHub login or `org/team` as compared: bare, case folded."""
    return bare_login(login).casefold()
