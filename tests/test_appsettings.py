"""bot.app.settings: the webhook App's settings from the environment, and the
start-up errors that name a missing or malformed variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.settings import DEFAULT_MAX_BODY, Settings
from bot.errors import UsageError
from tests.app_env import ENV, PEM, SECRET


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


def test_every_variable_the_app_reads_is_in_the_settings_table() -> None:
    from bot.app.settings import ENVIRONMENT

    doc = (Path(__file__).resolve().parents[1] / "docs" / "github-app.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    missing = [name for name, _ in ENVIRONMENT if not any(f"`{name}`" in r for r in rows)]
    assert missing == []
