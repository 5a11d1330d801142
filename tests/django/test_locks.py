"""``cache.lock()`` / ``cache.alock()`` on BridgeCache, on memory://, Redis, Redis Cluster and
Sentinel: an owner token, compare-and-delete release, expiry while held, extend and
reacquire, and a held lock is a key that no read drops. (Mutual exclusion across processes and
Redis killed while held: tests/test_locks.py.)"""

# ruff: noqa: F811 (the fixtures imported from every_store)

from __future__ import annotations

import asyncio
import threading

import pytest
from pytest_django import Settings as SettingsWrapper

from cache_bridge.errors import CacheError
from cache_bridge.locks import LockError, LockNotOwnedError
from django_cache_bridge.cache import BridgeCache
from tests.django.every_store import dj, location_memory, where  # noqa: F401 (fixtures)
from tests.support.django_helpers import DEAD_OPTIONS, alias, bridge, dead_redis_url


def _expire_now(dj: BridgeCache, name: str) -> None:
    """Make the lock at ``name`` expire as if its time ran out."""
    assert dj.pexpire(name, 1) is True
    while dj.has_key(name):
        pass


def test_one_holder_at_a_time(dj: BridgeCache) -> None:
    with dj.lock("job", timeout=30) as held:
        assert held.locked() is True
        assert held.owned() is True
        other = dj.lock("job", timeout=30)
        assert other.acquire(blocking=False) is False
        assert other.owned() is False
        assert other.acquire(blocking_timeout=0.05) is False
        # The lock is a key of the alias, but no value: reads miss and never drop it.
        assert dj.has_key("job") is True
        assert dj.get("job", "default") == "default"
        assert dj.get_many(["job"]) == {}
        assert dj.add("job", 1) is False
        assert dj.has_key("job") is True
        assert 0 < (dj.ttl("job") or 0) <= 30
    assert dj.has_key("job") is False
    assert other.acquire(blocking=False) is True
    other.release()


def test_release_by_a_non_owner_is_refused(dj: BridgeCache) -> None:
    first = dj.lock("job", timeout=30)
    assert first.acquire() is True
    stranger = dj.lock("job", timeout=30)
    with pytest.raises(LockError, match="unlocked"):
        stranger.release()
    assert first.locked() is True
    first.release()
    with pytest.raises(LockError, match="unlocked"):
        first.release()


def test_expiry_while_held_then_the_old_owner_cannot_release_or_extend(dj: BridgeCache) -> None:
    first = dj.lock("job", timeout=30)
    assert first.acquire() is True
    _expire_now(dj, "job")
    second = dj.lock("job", timeout=30)
    assert second.acquire(blocking=False) is True
    with pytest.raises(LockNotOwnedError):
        first.extend(10)
    with pytest.raises(LockNotOwnedError):
        first.release()
    assert second.owned() is True  # the old owner deleted nothing
    second.release()
    assert isinstance(LockNotOwnedError("x", operation="lock"), CacheError)


def test_extend_and_reacquire(dj: BridgeCache) -> None:
    lock = dj.lock("job", timeout=10)
    with lock:
        assert lock.extend(20) is True
        assert 25 <= (dj.ttl("job") or 0) <= 30
        assert lock.extend(5, replace_ttl=True) is True
        assert (dj.ttl("job") or 0) <= 5
        assert lock.reacquire() is True
        assert 9 <= (dj.ttl("job") or 0) <= 10
    forever = dj.lock("forever")
    with forever, pytest.raises(LockError, match="no timeout"):
        forever.extend(10)
    assert dj.has_key("forever") is False


def test_a_shared_token_releases_from_another_thread(dj: BridgeCache) -> None:
    lock = dj.lock("job", timeout=30, thread_local=False)
    assert lock.acquire() is True
    worker = threading.Thread(target=lock.release)
    worker.start()
    worker.join()
    assert dj.has_key("job") is False


def test_versions_make_separate_locks(dj: BridgeCache) -> None:
    with dj.lock("job", timeout=30):
        other = dj.lock("job", version=2, timeout=30)
        assert other.acquire(blocking=False) is True
        other.release()


def test_the_async_lock(dj: BridgeCache) -> None:
    async def run() -> None:
        async with dj.alock("job", timeout=30) as held:
            assert await held.locked() is True
            assert await held.owned() is True
            other = dj.alock("job", timeout=30)
            assert await other.acquire(blocking=False) is False
            assert await other.acquire(blocking_timeout=0.05) is False
            assert await held.extend(10) is True
            assert await held.reacquire() is True
            with pytest.raises(LockError, match="unlocked"):
                await other.release()
        assert await dj.ahas_key("job") is False
        first = dj.alock("job", timeout=30)
        assert await first.acquire() is True
        _expire_now(dj, "job")
        second = dj.alock("job", timeout=30)
        assert await second.acquire() is True
        with pytest.raises(LockNotOwnedError):
            await first.release()
        await second.release()

    asyncio.run(run())


def test_waiters_take_turns(dj: BridgeCache) -> None:
    """Threads that block on the lock each get it in turn, and never two at once."""
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(5):
            with dj.lock("job", timeout=30, sleep=0.001):
                with guard:
                    inside += 1
                    most = max(most, inside)
                with guard:
                    inside -= 1

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert most == 1


def test_a_dead_cache_raises_rather_than_pretending(settings: SettingsWrapper) -> None:
    settings.CACHES = {"default": alias(dead_redis_url(), OPTIONS=DEAD_OPTIONS)}
    down = bridge()
    with pytest.raises(CacheError), down.lock("job", timeout=5):
        pytest.fail("the block must not run without the lock")

    async def run() -> None:
        with pytest.raises(CacheError):
            await down.alock("job", timeout=5).acquire()

    asyncio.run(run())
