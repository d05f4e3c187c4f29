"""The write pacer: a burst at once, then one write a second, never over 80 a minute."""

from __future__ import annotations

import threading

import pytest

from bot.githost.pacing import WRITE_BURST, WritePacer


class Clock:
    """A fake clock that only moves when the pacer sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(clock: Clock, burst: int = WRITE_BURST, interval: float = 1.0) -> WritePacer:
    return WritePacer(burst, interval, clock=clock, sleep=clock.sleep)


def test_a_burst_goes_out_at_once_then_one_write_a_second() -> None:
    clock = Clock()
    writes = pacer(clock)

    waits = [writes.wait() for _ in range(WRITE_BURST + 3)]

    assert waits[:WRITE_BURST] == [0.0] * WRITE_BURST
    assert waits[WRITE_BURST:] == pytest.approx([1.0, 1.0, 1.0])
    assert clock.slept == pytest.approx([1.0, 1.0, 1.0])


def test_the_budget_refills_with_time_up_to_the_burst() -> None:
    clock = Clock()
    writes = pacer(clock, burst=5)
    for _ in range(5):
        writes.wait()
    clock.now += 2.5  # two and a half writes earned back

    assert [writes.wait() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])
    clock.now += 3600  # an idle hour refills the bucket, but never beyond the burst
    assert [writes.wait() for _ in range(6)] == pytest.approx([0.0] * 5 + [1.0])


def test_no_minute_holds_more_than_80_writes_with_the_defaults() -> None:
    clock = Clock()
    writes = pacer(clock)
    times = []
    for _ in range(300):
        writes.wait()
        times.append(clock.now)

    busiest = max(sum(1 for t in times if start <= t <= start + 60) for start in times)
    assert busiest == WRITE_BURST + 60 == 80  # and the sustained pace is one a second
    assert times[-1] - times[WRITE_BURST - 1] == pytest.approx(300 - WRITE_BURST)


def test_threads_share_one_budget() -> None:
    clock = Clock()
    writes = pacer(clock, burst=4)
    lock = threading.Lock()
    waits: list[float] = []

    def worker() -> None:
        for _ in range(3):
            slept = writes.wait()
            with lock:
                waits.append(slept)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(waits) == 12 and waits.count(0.0) == 4
    assert sum(waits) == pytest.approx(8.0)


@pytest.mark.parametrize(("burst", "interval"), [(0, 1.0), (5, 0.0), (5, -1.0)])
def test_nonsense_settings_are_refused(burst: int, interval: float) -> None:
    with pytest.raises(ValueError, match="burst >= 1 and interval > 0"):
        WritePacer(burst, interval)
