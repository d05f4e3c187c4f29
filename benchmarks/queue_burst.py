"""The App's Redis queue under a burst, and its recovery from a killed worker.

Starts a real redis-server, the real webhook app (`create_app()` from the environment,
MODEL_REVIEW_QUEUE set, on Flask's threaded server) and N real RQ workers
(`bot.app.queue.redisworker.make_worker`, the same lease, sweep and retries as
`model-review worker`). The review itself is stubbed: each job burns `--cpu-ms` of
CPU time (process time, so CPU contention shows) and waits `--wait-ms` (a first
review measured 1.9 s in-process, mostly drawing plots; see docs/benchmarks.md), so
the numbers measure the queue: delivery, the PR lock, supersession, the workers.

- burst: `--deliveries` signed deliveries (three events per PR) from 8 senders at
  once, with 1, 2 and 4 workers: seconds until every job finished, reviews run,
  deliveries superseded.
- recovery: 2 workers and 6 PRs with long reviews; one worker is SIGKILLed while it
  runs a review; seconds from the kill until that PR's review completed on the other.

    .venv/bin/python benchmarks/queue_burst.py [--workers 1,2,4] [--cpu-ms 1200]
        [--wait-ms 600] [--lease 15] [--sweep 5]

Prints tables, writes benchmarks/results/queue-<date>.json and its section of
docs/benchmarks.md (benchmarks/run.py keeps that section).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.report import QUEUE_END, QUEUE_START, queue_section, replace_section  # noqa: E402
from bot.app.queue.redisqueue import Tuning, connect, rq_queue  # noqa: E402
from bot.app.webhook import signature_for  # noqa: E402
from tests import github_payloads as gp  # noqa: E402
from tests.redis_server import free_port, running_redis  # noqa: E402

SECRET = "benchmark-secret"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"
EVENTS = ("opened", "synchronize", "edited")  # three reviews per PR
DOCS = ROOT / "docs" / "benchmarks.md"
START_TIMEOUT = 60.0
DONE_TIMEOUT = 600.0

WORKER = """
import sys, time, os
sys.path.insert(0, {root!r})
from bot.app.queue.redisqueue import Tuning, connect
from bot.app.queue.redisworker import configure, make_worker

url, cpu, wait = sys.argv[1], float(sys.argv[2]) / 1000, float(sys.argv[3]) / 1000
tuning = Tuning(lease=float(sys.argv[4]), sweep=float(sys.argv[5]), retry_delays=(5, 30, 120))
redis = connect(url)

def review(job):
    redis.hset("bench:running", os.getpid(), job.key)
    start = time.process_time()  # CPU time: on a busy machine it takes longer
    while time.process_time() - start < cpu:
        pass
    time.sleep(wait)
    redis.hincrby("bench:reviews", job.key, 1)
    redis.hset("bench:done", job.key, time.time())

configure(review, tuning)
make_worker(redis, tuning=tuning).work()
"""

SERVER = """
import sys
sys.path.insert(0, {root!r})
from bot.app.webhook import create_app
create_app().run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True, use_reloader=False)
"""


def spawn(code: str, *args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code.format(root=str(ROOT)), *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for(check: Any, what: str, timeout: float = DONE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def payload(number: int, action: str) -> bytes:
    data = gp.webhook("pull_request", "opened")
    data["action"] = action
    data["number"] = data["pull_request"]["number"] = number
    data["installation"] = {"id": 1}
    return json.dumps(data).encode()


def deliver(port: int, body: bytes, delivery: str) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature_for(SECRET, body),
        "Content-Type": "application/json",
    }
    conn.request("POST", "/webhook", body=body, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


class Stack:
    """redis-server, the webhook app and the workers, in a temporary folder."""

    def __init__(self, folder: Path, url: str, args: argparse.Namespace) -> None:
        self.folder, self.url, self.args = folder, url, args
        self.redis = connect(url)
        self.port = free_port()
        self.env = {
            **os.environ,
            "GITHUB_APP_ID": "1",
            "GITHUB_APP_PRIVATE_KEY": PEM,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
            "MODEL_REVIEW_QUEUE": url,
            "MODEL_REVIEW_QUEUE_SIZE": "1000",
            "PYTHONPATH": str(ROOT),
        }
        self.server = spawn(SERVER, str(self.port), env=self.env, log=folder / "server.log")
        self.workers: list[subprocess.Popen[bytes]] = []
        wait_for(self._up, "the webhook app", START_TIMEOUT)

    def _up(self) -> bool:
        import http.client

        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def start_workers(self, count: int, cpu_ms: float, wait_ms: float) -> None:
        a = self.args
        for n in range(count):
            log = self.folder / f"worker-{n}.log"
            argv = (self.url, str(cpu_ms), str(wait_ms), str(a.lease), str(a.sweep))
            self.workers.append(spawn(WORKER, *argv, env=self.env, log=log))
        wait_for(lambda: self.seen_workers() >= count, "the workers", START_TIMEOUT)

    def seen_workers(self) -> int:
        from rq import Worker

        return len(Worker.all(queue=rq_queue(self.redis)))

    def stop_workers(self) -> None:
        for worker in self.workers:
            stop(worker)
        self.workers = []

    def close(self) -> None:
        self.stop_workers()
        stop(self.server)


def finished(redis: Any, total: int) -> bool:
    queue = rq_queue(redis)
    return bool(queue.finished_job_registry.count + queue.failed_job_registry.count >= total)


def burst(stack: Stack, workers: int) -> dict[str, Any]:
    a = stack.args
    stack.redis.flushdb()
    stack.start_workers(workers, a.cpu_ms, a.wait_ms)
    prs = a.deliveries // len(EVENTS)
    sends = [(n, action) for action in EVENTS for n in range(1, prs + 1)]
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda s: deliver(stack.port, payload(*s), f"b-{workers}-{s[0]}-{s[1]}"), sends
            )
        )
    acked = time.monotonic() - start
    wait_for(lambda: finished(stack.redis, len(sends)), "the burst")
    seconds = time.monotonic() - start
    reviews = {k.decode(): int(v) for k, v in stack.redis.hgetall("bench:reviews").items()}
    stack.stop_workers()
    return {
        "workers": workers,
        "deliveries": len(sends),
        "prs": prs,
        "accepted": codes.count(202),
        "ack_seconds": round(acked, 2),
        "seconds": round(seconds, 2),
        "reviews_run": sum(reviews.values()),
        "superseded": len(sends) - sum(reviews.values()),
        "prs_reviewed": len(reviews),
    }


def recovery(stack: Stack) -> dict[str, Any]:
    a = stack.args
    stack.redis.flushdb()
    stack.start_workers(2, 300, a.recovery_wait_ms)
    for n in range(101, 107):
        assert deliver(stack.port, payload(n, "opened"), f"r-{n}") == 202
    wait_for(lambda: stack.redis.hlen("bench:running") >= 2, "two busy workers", START_TIMEOUT)
    victim = stack.workers[0]
    held = stack.redis.hget("bench:running", victim.pid)
    assert held is not None
    pr = held.decode()
    os.killpg(victim.pid, signal.SIGKILL)
    killed = time.time()
    victim.wait()
    wait_for(lambda: stack.redis.hexists("bench:done", pr), "the killed worker's review")
    done = float(stack.redis.hget("bench:done", pr) or 0)
    wait_for(lambda: stack.redis.hlen("bench:done") >= 6, "every review")
    reviews = {k.decode(): int(v) for k, v in stack.redis.hgetall("bench:reviews").items()}
    stack.stop_workers()
    return {
        "lease": a.lease,
        "sweep": a.sweep,
        "first_retry_delay": 5,
        "review_seconds": round((300 + a.recovery_wait_ms) / 1000, 2),
        "recovered_after_kill_seconds": round(done - killed, 2),
        "prs_reviewed": len(reviews),
        "reviews_run": sum(reviews.values()),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--deliveries", type=int, default=36)
    parser.add_argument("--cpu-ms", type=float, default=1200)
    parser.add_argument("--wait-ms", type=float, default=600)
    parser.add_argument("--recovery-wait-ms", type=float, default=8000)
    default = Tuning()
    parser.add_argument("--lease", type=float, default=default.lease)
    parser.add_argument("--sweep", type=float, default=default.sweep)
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The burst with each worker count, then the recovery."""
    results: dict[str, Any] = {"source": "benchmarks/queue_burst.py", "cpus": os.cpu_count()}
    results |= {"cpu_ms": args.cpu_ms, "wait_ms": args.wait_ms}
    results["load_average"] = round(os.getloadavg()[0], 1)
    with tempfile.TemporaryDirectory() as tmp, running_redis(Path(tmp)) as url:
        stack = Stack(Path(tmp), url, args)
        try:
            results["burst"] = [burst(stack, int(n)) for n in args.workers.split(",")]
            results["recovery"] = recovery(stack)
        finally:
            stack.close()
    return results


def main(argv: list[str] | None = None) -> int:
    results = measure(parse(argv))
    print_tables(results)
    out = ROOT / "benchmarks" / "results" / f"queue-{date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    replace_section(DOCS, QUEUE_START, QUEUE_END, queue_section(results))
    print(f"\nwritten to {out.relative_to(ROOT)} and {DOCS.relative_to(ROOT)}")
    return 0


def print_tables(results: dict[str, Any]) -> None:
    print("| workers | deliveries | PRs | acked s | all done s | reviews run | superseded |")
    print("|---|---|---|---|---|---|---|")
    for r in results["burst"]:
        print(
            f"| {r['workers']} | {r['deliveries']} | {r['prs']} | {r['ack_seconds']} | "
            f"{r['seconds']} | {r['reviews_run']} | {r['superseded']} |"
        )
    r = results["recovery"]
    print(
        "\n| lease s | sweep s | first retry s | review s | kill -> review done s | PRs reviewed |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {r['lease']} | {r['sweep']} | {r['first_retry_delay']} | {r['review_seconds']} | "
        f"{r['recovered_after_kill_seconds']} | {r['prs_reviewed']}/6 |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
