"""Job leases on both backends: one holder at a time, renewal, expiry, release."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from storage import leases

T0 = datetime(2026, 11, 20, tzinfo=UTC)
TTL = timedelta(minutes=5)


def test_one_holder_at_a_time(store):
    assert leases.acquire(store, "alerts", "a", TTL, T0)
    assert not leases.acquire(store, "alerts", "b", TTL, T0 + timedelta(minutes=1))
    assert leases.acquire(store, "alerts", "a", TTL, T0 + timedelta(minutes=2))  # renewal
    assert not leases.acquire(store, "alerts", "b", TTL, T0 + timedelta(minutes=6))
    assert leases.acquire(store, "alerts", "b", TTL, T0 + timedelta(minutes=8))  # expired
    assert leases.acquire(store, "other", "a", TTL, T0)


def test_release_frees_the_lease(store):
    assert leases.acquire(store, "j", "a", TTL, T0)
    leases.release(store, "j", "b")  # not the holder: no effect
    assert not leases.acquire(store, "j", "b", TTL, T0)
    leases.release(store, "j", "a")
    assert leases.acquire(store, "j", "b", TTL, T0)
    assert [h["owner"] for h in leases.holders(store, T0)] == ["b"]


def test_racing_processes_get_one_winner(store_factory):
    stores = [store_factory() for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    wins = []

    def contend(i):
        barrier.wait()
        if leases.acquire(stores[i], "race", f"p{i}", TTL, T0):
            wins.append(i)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
