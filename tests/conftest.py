"""Session fixtures: a REAL MLflow tracking server for the adapter and end-to-end tests.

`mlflow_server` starts `mlflow server` (sqlite backend, proxied artifacts) from the
same virtualenv as the tests on a free localhost port, once per session, and stops
its whole process group at the end. Create runs with `mlflow_client` and the helpers
in tests/mlflow_helpers.py; keep tests apart with `mlflow_helpers.unique_name(prefix)`
(the server is shared). mlflow is imported only by the fixtures that need it, so
tests without MLflow do not pay for it.

`sklearn_project`, `lightgbm_project`, `mixed_project` and `xgboost_run` log realistic projects
(autolog, evaluate(), nested runs, the registry) once per session: tests/real_projects.py.

`redis_url` starts a real redis-server once per session (tests/redis_server.py) for
the Redis queue tests, and `redis` gives each test a client on an empty database.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient
    from redis import Redis

    from tests.mlflow_server import MlflowServer
    from tests.real_projects import LightgbmProject, MixedProject, SklearnProject, XgboostRun

START_TIMEOUT = 60.0  # seconds; /health usually answers after 4-5 s, more on a busy box
# Bounded client behaviour for the whole session: a dead server fails in seconds.
CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


@pytest.fixture(autouse=True)
def _fresh_redaction() -> Iterator[None]:
    """The credentials an entry point registered for redaction (bot.redaction) are
    the process's; a test's are forgotten when it ends."""
    from bot import redaction

    yield
    redaction.reset()


@pytest.fixture(scope="session")
def mlflow_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real MLflow server: its URI and its folder (the sqlite store, for the few tests
    that must write what MLflow's API refuses)."""
    from tests.mlflow_server import running_server

    session_env = pytest.MonkeyPatch()
    with running_server(tmp_path_factory.mktemp("mlflow-server")) as server:
        try:
            for key, value in CLIENT_ENV.items():
                session_env.setenv(key, value)
            yield server
        finally:
            session_env.undo()


@pytest.fixture(scope="session")
def mlflow_server(mlflow_instance: MlflowServer) -> str:
    """The tracking URI (`http://127.0.0.1:<port>`) of a real MLflow server."""
    return mlflow_instance.uri


@pytest.fixture
def mlflow_client(mlflow_server: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server)


@pytest.fixture
def tracking_env(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """MLFLOW_TRACKING_URI and bounded client settings, for code that reads the
    environment (entry points); returns the tracking URI."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    for key, value in CLIENT_ENV.items():
        monkeypatch.setenv(key, value)
    return mlflow_server


@pytest.fixture(scope="session")
def sklearn_project(mlflow_server: str) -> SklearnProject:
    """Breast cancer with sklearn autolog, evaluate(), nested trials, v1 production and
    v2 candidate (tests/real_projects.py); logged once per session."""
    from tests.real_projects import log_sklearn_project

    return log_sklearn_project(mlflow_server)


@pytest.fixture(scope="session")
def lightgbm_project(mlflow_server: str) -> LightgbmProject:
    """LightGBM regression with autolog, two eval sets, a 5-fold CV as children and an
    overfit run (tests/real_projects.py); logged once per session."""
    from tests.real_projects import log_lightgbm_project

    return log_lightgbm_project(mlflow_server)


@pytest.fixture(scope="session")
def mixed_project(mlflow_server: str) -> MixedProject:
    """A scikit-learn production and a LightGBM candidate scored by evaluate() on the
    same held-out set (tests/real_projects.py); logged once per session."""
    from tests.real_projects import log_mixed_project

    return log_mixed_project(mlflow_server)


@pytest.fixture(scope="session")
def xgboost_run(mlflow_server: str) -> XgboostRun:
    """One XGBoost classifier run with autolog and two eval sets (tests/real_projects.py)."""
    from tests.real_projects import log_xgboost_run

    return log_xgboost_run(mlflow_server)


@pytest.fixture(scope="session")
def app_key() -> str:
    """A real RSA private key (PEM) for GitHub App authentication tests."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-golden` rewrites tests/golden/* (same as UPDATE_GOLDEN=1)."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files of rendered comments instead of comparing",
    )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the session (tests/redis_server.py); skipped without
    one, except in CI where that fails."""
    from tests.redis_server import running_redis

    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    """A client of that server, with an empty database before and after the test."""
    from redis import Redis

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()  # not left to the GC (a socket in a reference cycle warns)


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """The SIGINT/SIGTERM handlers and the Redis worker's settings as they were
    before a test that runs a worker in-process."""
    from bot.app.queue.redisworker import configure

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    configure(None)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
