"""Start-up, the webhook's ack latency and the loopback connection to MLflow: the
sections of benchmarks/run.py that measure the surroundings of a review."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import measure
from benchmarks.measure import median_ms
from benchmarks.scenario import STANDARD

if TYPE_CHECKING:
    from benchmarks.sections import Bench

ROOT = Path(__file__).resolve().parents[1]


# --- 5: start-up --------------------------------------------------------------------------

SKINNY_HIDDEN = ("pandas", "pyarrow", "scipy", "sklearn", "sqlalchemy", "alembic", "graphene",
                 "docker", "huey", "flask_cors", "gunicorn")  # fmt: skip
ACTION_PATH = (
    "import bot.app.action, bot.handlers.dispatch, bot.handlers.pull_request, "
    "bot.githost.client, bot.tracking.client, bot.plots.gather, "
    "bot.plots.charts, bot.render.comment, github, mlflow.tracking, matplotlib.figure, "
    "matplotlib.backends.backend_agg"
)
HIDE = f"import sys\nsys.modules.update(dict.fromkeys({SKINNY_HIDDEN!r}))\n"  # None: not installed


def _wall(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - began)
    return round(1000 * statistics.median(times), 1)


def startup(runs: int) -> dict[str, Any]:
    repeats = max(5, runs)
    py = sys.executable
    console = str(measure.CONSOLE)
    return {
        "repeats": repeats,
        "python_bare_ms": _wall([py, "-c", "pass"], repeats),
        "help_ms": _wall([console, "--help"], repeats),
        "import_bot_action_ms": _wall([py, "-c", "import bot.app.action"], repeats),
        "import_action_path_ms": _wall([py, "-c", ACTION_PATH], repeats),
        "import_action_path_skinny_ms": _wall([py, "-c", HIDE + ACTION_PATH], repeats),
        "import_mlflow_tracking_ms": _wall([py, "-c", "import mlflow.tracking"], repeats),
        "import_mlflow_tracking_skinny_ms": _wall(
            [py, "-c", HIDE + "import mlflow.tracking"], repeats
        ),
        "import_github_ms": _wall([py, "-c", "import github"], repeats),
        "import_matplotlib_ms": _wall(
            [py, "-c", "import matplotlib.figure, matplotlib.backends.backend_agg"], repeats
        ),
        "skinny_note": "skinny = full mlflow's extra packages hidden from the import "
        f"system ({', '.join(SKINNY_HIDDEN)}), as in an Action that installs mlflow-skinny",
    }


# --- 6: the webhook -----------------------------------------------------------------------


def webhook(quick: bool) -> dict[str, Any] | None:
    if not (ROOT / "bot" / "webhook.py").exists():
        return None
    from dataclasses import asdict

    from benchmarks import webhook_load

    count, concurrency = (300, 8) if quick else (1000, 16)
    server = webhook_load.servers("auto")[0]
    result = webhook_load.measure(server, count, concurrency, 5.0)
    return {"source": "benchmarks/webhook_load.py", **asdict(result)}


# --- the loopback connection --------------------------------------------------------------


def connection(bench: Bench) -> dict[str, Any]:
    """Latency of one MLflow request on a reused keep-alive connection vs a fresh one."""
    import requests

    world = bench.world(STANDARD)
    uri = bench.server.uri
    cases = {
        "runs/get": (f"{uri}/api/2.0/mlflow/runs/get", {"run_id": world.production}),
        "get-history-bulk-interval (2 runs x 2,500 points)": (
            f"{uri}/api/2.0/mlflow/metrics/get-history-bulk-interval",
            {
                "run_ids": [world.production, world.candidates[0]],
                "metric_key": "loss",
                "max_results": 2500,
            },
        ),
    }
    repeats = 10 if bench.quick else 30
    out: dict[str, Any] = {"repeats": repeats}
    for name, (url, params) in cases.items():
        session = requests.Session()
        session.get(url, params=params).raise_for_status()

        def kept(url: str = url, params: Any = params, session: Any = session) -> object:
            return session.get(url, params=params)

        def fresh(url: str = url, params: Any = params) -> object:
            return requests.get(url, params=params, headers={"Connection": "close"})

        out[name] = {
            "keep_alive_ms": median_ms(kept, repeats),
            "fresh_connection_ms": median_ms(fresh, repeats),
        }
    client = bench.client()
    out["MlflowClient.get_run"] = {
        "keep_alive_ms": median_ms(lambda: client.get_run(world.production), repeats)
    }
    return out
