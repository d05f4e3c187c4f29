"""bot.app.settings: the webhook App's settings from the environment, and the
start-up errors that name a missing or malformed variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app.settings import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_BODY,
    DEFAULT_MLFLOW_MAX_PRS,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_RECONCILE_REQUESTS,
    DEFAULT_RETRY_DELAYS,
    DEFAULT_SWEEP_SECONDS,
    DEFAULT_WORKERS,
    ENVIRONMENT,
    Settings,
)
from bot.constants import DEFAULT_API_URL
from bot.errors import UsageError
from bot.tracking.data import CLIENT_ENV_DEFAULTS
from tests.app_env import ENV, PEM, SECRET

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "github-app.md"  # the App's deploying and operating guide


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **ENV,
            "GITHUB_API_URL": "https://ghe.acme.io/api/v3/",
            "MODEL_REVIEW_WORKERS": "8",
            "MODEL_REVIEW_QUEUE": "redis://redis:6379/0",
            "GITHUB_SERVER_URL": "https://ghe.acme.io",
        }
    )
    assert settings.app_id == 31337
    assert settings.private_key == PEM + "\n"  # escaped newlines restored
    assert settings.api_url == "https://ghe.acme.io/api/v3"
    assert settings.server_url == "https://ghe.acme.io"
    assert (settings.workers, settings.queue_url) == (8, "redis://redis:6379/0")
    assert settings.max_body == DEFAULT_MAX_BODY == 26 * 1024 * 1024
    assert (settings.lease_seconds, settings.sweep_seconds) == (15, 5)
    assert (settings.retry_delays, settings.reconcile_seconds) == ((5, 30, 120), 0)
    assert SECRET not in repr(settings) and "PRIVATE KEY" not in repr(settings)


def test_the_queue_timings_and_the_reconcile_period() -> None:
    settings = Settings.from_env(
        {
            **ENV,
            "MODEL_REVIEW_LEASE_SECONDS": "3",
            "MODEL_REVIEW_SWEEP_SECONDS": "1",
            "MODEL_REVIEW_RETRY_DELAYS": "0, 2",
            "MODEL_REVIEW_RECONCILE_SECONDS": "600",
        }
    )
    assert (settings.lease_seconds, settings.sweep_seconds) == (3, 1)
    assert (settings.retry_delays, settings.reconcile_seconds) == ((0, 2), 600)


def test_defaults_and_a_key_file(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(PEM + "\n")
    env = {k: v for k, v in ENV.items() if k != "GITHUB_APP_PRIVATE_KEY"}
    settings = Settings.from_env({**env, "GITHUB_APP_PRIVATE_KEY_PATH": str(key)})
    assert settings.private_key == PEM + "\n"
    assert (settings.api_url, settings.queue_url, settings.workers) == (
        "https://api.github.com",
        "",
        4,
    )


@pytest.mark.parametrize(
    "missing", ["GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "MLFLOW_TRACKING_URI"]
)
def test_a_missing_setting_is_a_start_up_error_that_names_it(missing: str) -> None:
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(UsageError, match=f"^{missing} is not set") as caught:
        Settings.from_env(env)
    assert caught.value.hint and caught.value.hint.startswith("set it to")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"GITHUB_APP_PRIVATE_KEY": ""}, "neither GITHUB_APP_PRIVATE_KEY nor GITHUB_APP_PRI"),
        ({"GITHUB_APP_PRIVATE_KEY": "not a key"}, "does not hold a PEM private key"),
        (
            {"GITHUB_APP_PRIVATE_KEY": "", "GITHUB_APP_PRIVATE_KEY_PATH": "/nonexistent.pem"},
            "cannot read the App's private key",
        ),
        ({"GITHUB_APP_ID": "my-app"}, "GITHUB_APP_ID is `my-app`, not a positive whole number"),
        ({"MODEL_REVIEW_WORKERS": "0"}, "MODEL_REVIEW_WORKERS is `0`"),
        ({"MODEL_REVIEW_QUEUE": "amqp://rabbit"}, "`amqp://rabbit`, not a Redis URL"),
        (
            {"MLFLOW_TRACKING_URI": "sqlite:////nowhere/typo/mlflow.db"},
            "MLFLOW_TRACKING_URI `sqlite:////nowhere/typo/mlflow.db` names the sqlite file "
            "/nowhere/typo/mlflow.db, which does not exist",
        ),
        ({"MODEL_REVIEW_RETRY_DELAYS": "5,soon"}, "`5,soon`, not a list of seconds"),
        ({"MODEL_REVIEW_RECONCILE_SECONDS": "-1"}, "`-1`, not a whole number of seconds"),
        ({"MODEL_REVIEW_LEASE_SECONDS": "0"}, "MODEL_REVIEW_LEASE_SECONDS is `0`"),
    ],
)
def test_a_wrong_setting_is_a_start_up_error_that_says_what_to_do(
    change: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        Settings.from_env({**ENV, **change})
    assert message in caught.value.message
    assert caught.value.hint


def test_the_worker_and_reconcile_need_no_webhook_secret() -> None:
    env = {k: v for k, v in ENV.items() if k != "GITHUB_WEBHOOK_SECRET"}
    assert Settings.from_env(env, webhook=False).webhook_secret == ""
    with pytest.raises(UsageError, match=r"^GITHUB_WEBHOOK_SECRET is not set"):
        Settings.from_env(env)  # the web process checks signatures: required there


# what the App's processes run: the environment variables they read are documented
APP_MODULES = (
    "bot/app/settings.py", "bot/app/wiring.py", "bot/app/logcontext.py", "bot/app/metrics.py",
    "bot/app/webhook.py", "bot/app/mlflowhook.py", "bot/app/queue", "bot/tracking/data.py",
)  # fmt: skip
ACTION_ONLY = {"MODEL_REVIEW_ORG_TOKEN"}  # bot.app.wiring.github_for: the Action's, not the App's
GUNICORN_OWN = {"WEB_CONCURRENCY"}  # documented in the table, read by gunicorn
VARIABLE = re.compile(r'"((?:MODEL_REVIEW|GITHUB|MLFLOW|PROMETHEUS)_[A-Z0-9_]+)"')


def settings_table() -> dict[str, list[str]]:
    """The operating guide's settings table: each variable -> its row's cells."""
    section = GUIDE.read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in section.splitlines()]
    found = {}
    for cells in rows:
        if cells and cells[0].startswith("`"):
            found.update((name, cells) for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]))
    return found


def read_by_the_app() -> set[str]:
    names = {name for name, _ in ENVIRONMENT}
    for module in APP_MODULES:
        path = ROOT / module
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            names |= set(VARIABLE.findall(source.read_text()))
    return names - ACTION_ONLY


def test_every_variable_the_app_reads_is_in_the_settings_table_with_its_default() -> None:
    table = settings_table()
    read = read_by_the_app()
    assert sorted(read - set(table)) == []  # each variable the App reads is explained
    assert sorted(set(table) - read - GUNICORN_OWN) == []  # and none it does not read
    defaults = {
        **CLIENT_ENV_DEFAULTS,
        "MODEL_REVIEW_WORKERS": DEFAULT_WORKERS,
        "MODEL_REVIEW_QUEUE_SIZE": DEFAULT_QUEUE_SIZE,
        "MODEL_REVIEW_MAX_BODY": DEFAULT_MAX_BODY,
        "MODEL_REVIEW_LEASE_SECONDS": DEFAULT_LEASE_SECONDS,
        "MODEL_REVIEW_SWEEP_SECONDS": DEFAULT_SWEEP_SECONDS,
        "MODEL_REVIEW_RETRY_DELAYS": ",".join(map(str, DEFAULT_RETRY_DELAYS)),
        "MODEL_REVIEW_RECONCILE_REQUESTS": DEFAULT_RECONCILE_REQUESTS,
        "MODEL_REVIEW_MLFLOW_MAX_PRS": DEFAULT_MLFLOW_MAX_PRS,
        "GITHUB_API_URL": DEFAULT_API_URL,
    }
    wrong = {k: table[k][2] for k, v in defaults.items() if not table[k][2].startswith(f"`{v}`")}
    assert wrong == {}


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_to_the_operating_guide_lead_to_its_headings() -> None:
    text = re.sub(r"```.*?```", "", GUIDE.read_text(), flags=re.S)  # not the code's comments
    anchors = {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}
    links = set(re.findall(r"\]\(#([\w-]+)\)", text))
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        links |= set(re.findall(r"github-app\.md#([\w-]+)", doc.read_text()))
    assert sorted(links - anchors) == []
