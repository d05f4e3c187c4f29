"""The App's processes as an operator sees them: how long a worker takes to exit after
SIGTERM, and how much memory the web process and a worker hold after 100 reviews.

- shutdown: a real redis-server and `model-review worker`'s worker (make_worker) in a
  process of its own, idle, then SIGTERM: seconds until it exited. Baseline, measured
  in the same run: RQ's stock SimpleWorker on the same queue (its pub/sub thread
  waits 60 s between checks of its stop flag).
- shutdown in a review: the same worker with the production timings (8 s of grace)
  running one job that holds for `hold` seconds; SIGTERM once the job runs: seconds
  until the worker exited, and where the job is then (a job longer than the grace is
  stopped and requeued; a shorter one finishes). Baseline: the grace itself.
- memory: the web app (create_app on the in-process queue, Flask's test client) takes
  100 signed deliveries, and a worker process runs 100 review jobs from Redis, each
  review the App's runner over the typed fakes (tests/fakes.py); peak RSS (MiB) of
  each process, next to a bare Python with the same imports.

    .venv/bin/python benchmarks/operations.py [--reviews 100]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

OURS = """
import sys
from bot.app.queue.redisqueue import connect
from bot.app.queue.redisworker import make_worker
make_worker(connect(sys.argv[1])).work()
"""
STOCK = """
import sys
from rq import SimpleWorker
from bot.app.queue.redisqueue import connect, rq_queue
redis = connect(sys.argv[1])
SimpleWorker([rq_queue(redis)], connection=redis).work()
"""
REVIEWS = """
import resource, sys
from bot.app.queue.redisqueue import RedisQueue, Tuning, connect
from bot.app.queue.redisworker import configure, make_worker
from tests.test_jobs import runner_with_fakes
from tests.test_redisworker import review_job
redis, count = connect(sys.argv[1]), int(sys.argv[2])
runner, _, _ = runner_with_fakes()
configure(runner, Tuning())
queue = RedisQueue(redis, capacity=count + 1)
for i in range(count):
    queue.submit(review_job(f"d-{i}", number=2))
    make_worker(redis).work(burst=True)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
WEB = """
import copy, json, resource, sys
from bot.app.queue.jobs import InProcessQueue
from bot.app.webhook import AppDeps, MemoryDeliveries, create_app
from tests.test_jobs import runner_with_fakes
from tests.test_redisworker import review_job
from tests.test_webhook import SETTINGS, deliver
count = int(sys.argv[1])
runner, _, _ = runner_with_fakes()
deliveries = MemoryDeliveries()
queue = InProcessQueue(runner, 1, count + 1, settle=deliveries.settle)
client = create_app(SETTINGS, AppDeps(queue, deliveries)).test_client()
for i in range(count):
    deliver(client, "pull_request", dict(review_job(f"d-{i}").payload), f"d-{i}")
queue.join(600)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
BUSY = """
import sys, time
from bot.app.queue.redisqueue import Tuning, connect
from bot.app.queue.redisworker import configure, make_worker

redis, hold = connect(sys.argv[1]), float(sys.argv[2])

def run(job):
    redis.set("bench:running", job.delivery_id)
    time.sleep(hold)

configure(run, Tuning())
make_worker(redis).work()
"""
BARE = """
import resource
import bot.app.webhook, bot.app.queue.redisworker, flask, rq, tests.fakes
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def stop_time(script: str, url: str) -> float:
    from bot.app.queue.redisqueue import connect

    redis = connect(url)
    before = set(redis.smembers("rq:workers"))
    proc = subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT)
    deadline = time.monotonic() + 120
    while set(redis.smembers("rq:workers")) == before:  # registered: listening
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the worker did not start")
        time.sleep(0.1)
    time.sleep(1.0)  # in its wait for a job
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(300)
    return time.monotonic() - started


def busy_stop(url: str, hold: float, delivery: str) -> tuple[float, str]:
    """Seconds from SIGTERM to the exit of a worker in a job of `hold` seconds, and
    the job's state after the exit."""
    from bot.app.queue.redisqueue import RedisQueue, connect, job_state
    from tests.test_redisworker import review_job

    redis = connect(url)
    redis.delete("bench:running")
    RedisQueue(redis).submit(review_job(delivery))
    proc = subprocess.Popen([sys.executable, "-c", BUSY, url, str(hold)], cwd=ROOT)
    deadline = time.monotonic() + 120
    while redis.get("bench:running") is None:  # the job runs
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the worker did not take the job")
        time.sleep(0.05)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(300)
    return time.monotonic() - started, str(job_state(redis, delivery))


def rss(script: str, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from tests.redis_server import running_redis

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, running_redis(Path(folder)) as url:
        ours, stock = stop_time(OURS, url), stop_time(STOCK, url)
        print("worker shutdown after SIGTERM (idle), seconds")
        print(f"  model-review worker   {ours:6.2f}")
        print(f"  RQ's SimpleWorker     {stock:6.2f}   ratio {stock / ours:5.1f}x")
        long_stop, long_state = busy_stop(url, 60.0, "d-long")
        short_stop, short_state = busy_stop(url, 3.0, "d-short")
        print("worker shutdown after SIGTERM in a review (grace 8 s), seconds")
        ratio = long_stop / 8.0
        print(f"  a 60 s review         {long_stop:6.2f}   {ratio:4.2f}x grace; job {long_state}")
        print(f"  a 3 s review          {short_stop:6.2f}   job {short_state}")
        bare = rss(BARE)
        web, worker = rss(WEB, str(args.reviews)), rss(REVIEWS, url, str(args.reviews))
    print(f"peak RSS after {args.reviews} reviews (fakes for GitHub and MLflow), MiB")
    print(f"  imports only          {bare:6.1f}")
    print(f"  web (in-process)      {web:6.1f}   +{web - bare:.1f}")
    print(f"  worker (Redis)        {worker:6.1f}   +{worker - bare:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
