"""Count the HTTP requests a process makes, by service and endpoint.

Both clients the bot uses (MLflow's and PyGithub) send through
`requests.adapters.HTTPAdapter.send`; `install()` wraps it once and every request is
tallied as "METHOD endpoint" under the host:port it went to. Paths are reduced to
endpoint templates (ids, SHAs, numbers and artifact paths replaced) so the counts of
two runs compare. For a whole `model-review` process, `hook/sitecustomize.py` installs
the same counter at start-up and writes the tally to $BENCH_COUNT_FILE at exit.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from urllib.parse import urlsplit

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/api/2\.0/mlflow-artifacts/artifacts/.+"), "mlflow-artifacts/artifacts/FILE"),
    (re.compile(r"^/api/2\.0/mlflow-artifacts/artifacts$"), "mlflow-artifacts/artifacts"),
    (re.compile(r"^/(?:ajax-)?api/2\.0/mlflow/(.+)$"), r"\1"),
    (re.compile(r"^/repos/[^/]+/[^/]+$"), "repos/R"),
    (re.compile(r"^/repos/[^/]+/[^/]+/(.+)$"), r"\1"),
)
_IDS = (
    (re.compile(r"/[0-9a-f]{40}(?=/|$)"), "/SHA"),
    (re.compile(r"/\d+(?=/|$)"), "/N"),
    (re.compile(r"^git/(refs?)/heads/.+"), r"git/\1/heads/BRANCH"),
    (re.compile(r"^contents/.+"), "contents/PATH"),
)

_lock = threading.Lock()
_counts: Counter[tuple[str, str]] = Counter()
_installed = False


def endpoint(path: str) -> str:
    """'/repos/acme/models/pulls/7/reviews' -> 'pulls/N/reviews'."""
    for pattern, replacement in _RULES:
        if pattern.match(path):
            path = pattern.sub(replacement, path)
            break
    path = path.lstrip("/")
    for pattern, replacement in _IDS:
        path = pattern.sub(replacement, path)
    return path


def install() -> None:
    """Wrap HTTPAdapter.send (idempotent)."""
    global _installed  # noqa: PLW0603 (one process-wide counter)
    if _installed:
        return
    from requests.adapters import HTTPAdapter

    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: object, *args: object, **kwargs: object) -> object:
        url = urlsplit(str(getattr(request, "url", "")))
        key = (url.netloc, f"{getattr(request, 'method', '?')} {endpoint(url.path)}")
        with _lock:
            _counts[key] += 1
        return original(self, request, *args, **kwargs)  # type: ignore[arg-type]

    HTTPAdapter.send = send  # type: ignore[method-assign,assignment]
    _installed = True


def take() -> dict[str, dict[str, int]]:
    """The counts since the last take, by host:port, and reset them."""
    with _lock:
        items = dict(_counts)
        _counts.clear()
    out: dict[str, dict[str, int]] = {}
    for (host, what), count in sorted(items.items()):
        out.setdefault(host, {})[what] = count
    return out
