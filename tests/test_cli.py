"""The command line: help is instant and imports nothing heavy; errors are clean."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main


def test_help_imports_neither_mlflow_nor_matplotlib() -> None:
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('mlflow', 'matplotlib', 'github', 'flask', 'numpy') "
        "if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "none"
    assert "model-review demo" in result.stdout


def test_python_dash_m_bot_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "render", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--tracking-uri" in result.stdout and "--out" in result.stdout


@pytest.mark.parametrize("command", ["demo", "render", "action", "serve", "worker", "reconcile"])
def test_every_documented_command_exists(command: str) -> None:
    assert build_parser().parse_args([command]).command == command


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: model-review" in capsys.readouterr().out


def test_action_outside_github_actions_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_EVENT_NAME", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    assert main(["action"]) == 2
    out = capsys.readouterr().out
    assert "::error::" in out and "model-review render" in out


def test_reconcile_needs_the_apps_settings_and_says_which(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_APP_ID", raising=False)
    args = build_parser().parse_args(["reconcile", "--repo", "acme/models", "--dry-run"])
    assert (args.repo, args.dry_run) == ("acme/models", True)
    assert main(["reconcile"]) == 2
    assert "GITHUB_APP_ID is not set" in capsys.readouterr().err


def test_log_lines_of_the_command_stay_one_line_each() -> None:
    code = (
        "import logging\n"
        "from bot.cli import main\n"
        "import bot.app.offline\n"
        "def boom(args):\n"
        "    logging.getLogger('bot.x').warning('server said: %s', 'oops\\n::error::forged')\n"
        "    return 0\n"
        "bot.app.offline.run_render = boom\n"
        "raise SystemExit(main(['render', '--run', 'a' * 32, '--tracking-uri', 'http://x']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    lines = result.stderr.splitlines()
    assert lines == ["WARNING bot.x: server said: oops\\n::error::forged"]


def test_help_lists_each_command_once_worker_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "render", "action", "serve", "worker", "mlflow-webhook"):
        # a command's row is indented 4; wrapped help text deeper
        listed = [line for line in out.splitlines() if line.startswith(f"    {command}")]
        assert len(listed) == 1, (command, out)


def test_render_help_documents_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out
    for code, meaning in (("1", "could not review"), ("2", "usage"), ("3", "not be resolved")):
        assert any(line.split()[:1] == [code] and meaning in line for line in out.splitlines())


def test_serve_help_has_a_description_defaults_and_every_variable_it_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import bot.app.settings

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "webhook GitHub App" in out and "gunicorn" in out
    assert "(default: 127.0.0.1)" in out and "(default: 8080)" in out
    source = Path(bot.app.settings.__file__).read_text()
    read = set(re.findall(r'env(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', source))
    assert read >= {"GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "MLFLOW_TRACKING_URI"}
    environment = out.split("environment:")[1]
    assert all(name in environment for name in read), read - set(environment.split())


def test_verbose_is_accepted_after_the_command() -> None:
    args = build_parser().parse_args(["render", "--run", "a" * 32, "-v"])
    assert args.verbose is True
    assert build_parser().parse_args(["render"]).verbose is False
