"""The rate limiter that keeps a concurrent Cloudflare push under 1,200 requests per 5 minutes."""

from __future__ import annotations

import threading

from ansible_collections.coldrig.infra.plugins.module_utils.cloudflare import RATE_LIMIT, RateLimiter


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_the_default_is_cloudflares_documented_limit():
    assert RATE_LIMIT == (1200, 300.0)


def test_requests_under_the_limit_never_wait():
    clock = FakeClock()
    limiter = RateLimiter(5, 10, clock=clock, sleep=clock.sleep)
    for _n in range(5):
        limiter.acquire()
    assert clock.slept == [] and limiter.waited == 0


def test_the_request_over_the_limit_waits_until_the_oldest_leaves_the_window():
    clock = FakeClock()
    limiter = RateLimiter(3, 10, clock=clock, sleep=clock.sleep)
    for step in range(3):
        clock.now = step  # requests at 0, 1, 2
        limiter.acquire()
    clock.now = 4
    limiter.acquire()  # the window (10 s) still holds 3: wait until the one at 0 is 10 s old
    assert clock.slept == [6] and clock.now == 10


def test_threads_sharing_one_limiter_never_exceed_it():
    limiter = RateLimiter(50, 3600)
    done = []

    def worker():
        for _n in range(10):
            limiter.acquire()
            done.append(1)

    threads = [threading.Thread(target=worker) for _n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(done) == 50 and limiter.waited == 0
    blocked = threading.Thread(target=limiter.acquire, daemon=True)
    blocked.start()
    blocked.join(timeout=0.3)
    assert blocked.is_alive()  # the 51st request within the hour waits
