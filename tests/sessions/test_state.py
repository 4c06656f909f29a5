"""The state stores: in memory and on a real redis-server, including an outage and a slow server."""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

import pytest

from routeiq_core import Router, StateWarning
from routeiq_core._sessions import Sessions
from routeiq_core.state import MemoryStore, open_store

from .test_sessions import CANDIDATES, PROOF


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryStore()
    return open_store(request.getfixturevalue("redis").url, prefix=f"t{time.monotonic_ns()}:")


def test_get_set_ttl_incr_and_compare_and_set(store: Any) -> None:
    assert store.get("a") is None
    store.set("a", "1")
    assert store.get("a") == "1"
    store.set("b", "x", ttl_s=0.2)
    assert store.get("b") == "x"
    time.sleep(0.35)
    assert store.get("b") is None
    threads = [threading.Thread(target=lambda: [store.incr("n", 0.5) for _ in range(100)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.incr("n", 0.0) == pytest.approx(400.0)  # atomic: no lost update across 8 threads
    assert store.compare_and_set("c", None, "v1") is True
    assert store.compare_and_set("c", None, "v2") is False
    assert store.compare_and_set("c", "v1", "v2") is True and store.get("c") == "v2"


def test_the_memory_store_is_lru_bounded() -> None:
    store = MemoryStore(max_entries=3)
    for k in "abcd":
        store.set(k, k)
    assert store.get("a") is None and store.get("d") == "d" and len(store) == 3


def test_two_clients_share_redis_state(redis: Any) -> None:
    """Two stores (as two proxy workers) on one Redis see each other's values."""
    one, two = open_store(redis.url), open_store(redis.url)
    one.set("session:x", "pinned")
    assert two.get("session:x") == "pinned"
    assert two.incr("budget", 2.5) == 2.5 and one.incr("budget", 1.0) == 3.5


def test_redis_stopped_mid_run_and_started_again(redis: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Decisions never fail: while Redis is down they use local state (one warning, a counter), and
    Redis is used again once it is back."""
    store = open_store(redis.url, retry_s=0.2)
    router = Router(CANDIDATES, extensions=[Sessions(store)])
    made = served = errors = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for phase in ("up", "down", "up again"):
            if phase == "down":
                redis.stop()
            if phase == "up again":
                redis.start()
                time.sleep(0.3)  # past retry_s: the next call tries Redis again
            for i in range(30):
                made += 1
                try:
                    d = router.decide("ok, continue" if i else PROOF, metadata={"session_id": f"{phase}-{i % 3}"})
                    served += d is not None
                except Exception:
                    errors += 1
    failures = store.counters.get("state_failures")
    outage_warnings = [w for w in caught if issubclass(w.category, StateWarning)]
    with capsys.disabled():
        print(f"\nRedis stopped mid-run: {made} requests, {served} served, {errors} errors, "
              f"{failures} state failures, {len(outage_warnings)} warning(s)")
    assert made == served == 90 and errors == 0 and failures >= 1 and len(outage_warnings) == 1
    store.set("after", "1")
    assert open_store(redis.url).get("after") == "1"  # written to Redis again, not only locally


def test_a_slow_redis_costs_at_most_its_timeout(redis: Any) -> None:
    """A server that hangs (DEBUG SLEEP) is given up on after the 50 ms timeout; then local state."""
    import redis as redis_py

    store = open_store(redis.url, timeout_ms=50, retry_s=5)
    store.set("k", "v")
    blocker = threading.Thread(target=lambda: redis_py.Redis.from_url(redis.url).execute_command("DEBUG", "SLEEP",
                                                                                                  "1.0"))
    blocker.start()
    time.sleep(0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.monotonic()
        value = store.get("k")
        first = time.monotonic() - t0
        t0 = time.monotonic()
        store.get("k")
        second = time.monotonic() - t0
    blocker.join()
    assert value == "v"  # answered from the local copy
    assert first < 0.5 and second < 0.01  # one timeout, then local without waiting (retry in 5 s)
    assert store.counters.get("state_failures") == 1


def test_redis_down_at_start() -> None:
    """A store whose server is not there when it is opened: local state, one warning, no exception;
    sessions go on with it."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    store = open_store(f"redis://127.0.0.1:{port}/0")
    with pytest.warns(StateWarning, match="using process-local state"):
        store.set("k", "v")
    assert store.get("k") == "v" and store.counters.get("state_failures") >= 1
    router = Router(CANDIDATES, extensions=[Sessions(store)])
    first = router.decide(PROOF, metadata={"session_id": "x"})
    assert router.decide("ok, continue", metadata={"session_id": "x"}).candidate.tier >= first.candidate.tier
