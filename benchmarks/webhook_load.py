"""How fast the webhook acknowledges deliveries under load.

Starts the real server on a free loopback port, either gunicorn (one process with
threads, as docs/github-app.md deploys it) or Flask's development server (threaded).
The review pipeline is stubbed: each queued job only sleeps `--job-ms`, so the numbers
measure the request path (size check, HMAC, JSON, routing, de-duplication, enqueue),
not GitHub or MLflow. Then `--deliveries` signed `pull_request` deliveries (GitHub's
example payload, one PR number each) are sent from `--concurrency` client threads.
It reports ack latency p50/p99/max and throughput.

    .venv/bin/python benchmarks/webhook_load.py [--server auto|gunicorn|flask|both]
        [--deliveries 1000] [--concurrency 16] [--job-ms 5]

Prints a table and writes benchmarks/results/webhook-<date>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.app.webhook import signature_for  # noqa: E402

SECRET = "benchmark-secret"
FIXTURE = ROOT / "tests" / "fixtures" / "github" / "pull_request" / "opened.payload.json"
MAX_DELIVERIES = 20_000
MAX_CONCURRENCY = 64
START_TIMEOUT = 30.0
GUNICORN_THREADS = 16


# --- the server side (runs in the server process) ---------------------------------------


def stub_app() -> Any:
    """The real Flask app over the real in-process queue, with a stub review job."""
    from bot.app.queue.jobs import InProcessQueue, Job
    from bot.app.settings import Settings
    from bot.app.webhook import AppDeps, MemoryDeliveries, create_app

    pause = float(os.environ.get("WEBHOOK_BENCH_JOB_MS", "5")) / 1000

    def review(job: Job) -> None:
        time.sleep(pause)

    settings = Settings(
        app_id=1,
        private_key="unused",
        webhook_secret=SECRET,
        tracking_uri="http://unused",
        queue_size=MAX_DELIVERIES,
    )
    queue = InProcessQueue(review, workers=settings.workers, capacity=settings.queue_size)
    return create_app(settings, AppDeps(queue, MemoryDeliveries()))


def serve_flask(port: int) -> None:
    stub_app().run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


# --- the client side -------------------------------------------------------------------


@dataclass
class Result:
    server: str
    deliveries: int
    concurrency: int
    job_ms: float
    seconds: float
    throughput_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    queue_after: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(server: str, port: int, job_ms: float, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WEBHOOK_BENCH_JOB_MS": str(job_ms), "PYTHONPATH": str(ROOT)}
    if server == "gunicorn":
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            str(GUNICORN_THREADS),
            "--worker-class",
            "gthread",
            "--pythonpath",
            f"{ROOT},{ROOT / 'benchmarks'}",
            "webhook_load:stub_app()",
        ]
    else:
        code = f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
        code += f"import webhook_load; webhook_load.serve_flask({port})"
        command = [sys.executable, "-c", code]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"{server} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server process group this script started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def healthy(port: int) -> bool:
    try:
        return get_json(port, "/healthz").get("ok") is True
    except OSError:
        return False


def get_json(port: int, path: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        data: dict[str, Any] = json.loads(answer.read() or b"{}")
        return data
    finally:
        connection.close()


def deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Signed deliveries, built before the clock starts: one PR number each."""
    base = json.loads(FIXTURE.read_text())
    out = []
    for number in range(1, count + 1):
        base["number"] = base["pull_request"]["number"] = number
        body = json.dumps(base).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature_for(SECRET, body),
        }
        out.append((body, headers))
    return out


def post(port: int, delivery: tuple[bytes, dict[str, str]]) -> tuple[float, int]:
    body, headers = delivery
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.perf_counter()
    try:
        connection.request("POST", "/webhook", body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        return time.perf_counter() - began, answer.status
    finally:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(server: str, count: int, concurrency: int, job_ms: float) -> Result:
    port = free_port()
    work = deliveries(count)
    with tempfile.TemporaryDirectory() as tmp:
        proc = start(server, port, job_ms, Path(tmp) / "server.log")
        try:
            post(port, deliveries(1)[0])  # warm up: first request imports the handler path
            began = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                timed = list(pool.map(lambda d: post(port, d), work))
            seconds = time.perf_counter() - began
            depth = int(get_json(port, "/healthz").get("queue", -1))
        finally:
            stop(proc)
    latencies = [t * 1000 for t, _ in timed]
    statuses: dict[str, int] = {}
    for _, status in timed:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return Result(
        server=server,
        deliveries=count,
        concurrency=concurrency,
        job_ms=job_ms,
        seconds=round(seconds, 3),
        throughput_per_s=round(count / seconds, 1),
        p50_ms=round(statistics.median(latencies), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        max_ms=round(max(latencies), 2),
        statuses=statuses,
        queue_after=depth,
    )


def servers(choice: str) -> list[str]:
    has_gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is not None
    if choice == "auto":
        return ["gunicorn" if has_gunicorn else "flask"]
    if choice == "both":
        return ["gunicorn", "flask"] if has_gunicorn else ["flask"]
    if choice == "gunicorn" and not has_gunicorn:
        raise SystemExit("gunicorn is not installed next to this Python; use --server flask")
    return [choice]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["auto", "gunicorn", "flask", "both"], default="auto")
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--job-ms", type=float, default=5.0, help="stub review time per job")
    args = parser.parse_args(argv)
    count = max(1, min(args.deliveries, MAX_DELIVERIES))
    concurrency = max(1, min(args.concurrency, MAX_CONCURRENCY))
    results = [measure(s, count, concurrency, args.job_ms) for s in servers(args.server)]
    print(
        f"{'server':<9} {'deliveries':>10} {'conc':>5} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'per s':>8}  statuses"
    )
    for r in results:
        print(
            f"{r.server:<9} {r.deliveries:>10} {r.concurrency:>5} {r.p50_ms:>8} {r.p99_ms:>8} "
            f"{r.max_ms:>8} {r.throughput_per_s:>8}  {r.statuses}"
        )
    report = {
        "benchmark": "webhook_load",
        "date": date.today().isoformat(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "what": "ack latency of signed pull_request deliveries on loopback; the review "
        "job is a stub that sleeps job_ms; gunicorn = 1 process, gthread, "
        f"{GUNICORN_THREADS} threads; flask = Flask's development server, threaded",
        "results": [asdict(r) for r in results],
    }
    out = ROOT / "benchmarks" / "results" / f"webhook-{date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
