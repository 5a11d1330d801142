"""Counting a test's round trips on the test-started Redis, from the server's own
``INFO commandstats`` (never by timing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from cache_bridge.testing import RedisServer

__all__ = ["commands_since_reset", "own_redis_url", "round_trips", "sent_since_reset"]


@pytest.fixture(scope="module", name="redis_url")
def own_redis_url() -> Iterator[str]:
    """``redis_url`` for a module that counts round trips (import this fixture into it): a
    server of the module's own in place of the session's. On the session's server, adapters
    that other tests left open send commands of their own now and then (a fresh-machine run
    counted 2 for a request that sent 1), which no list of commands to leave out can
    foresee."""
    with RedisServer() as server:
        yield server.url


#: What the rate-limit scripts call inside one EVALSHA (counted by the server too).
_INSIDE_SCRIPTS = {"cmdstat_get", "cmdstat_set", "cmdstat_time", "cmdstat_pttl"}
#: The test's own commands, a background health probe's, and a connection's handshake: no
#: cache command, and sent by any adapter (re)connecting in the background, such as the
#: invalidation connection of a near cache another test left open (a fresh-machine run of
#: stop 23 counted 5 during a request that sent nothing).
_OURS = {
    "cmdstat_info",
    "cmdstat_ping",
    "cmdstat_config|resetstat",
    "cmdstat_hello",
    "cmdstat_client|setinfo",
    "cmdstat_client|setname",
    "cmdstat_client|tracking",
    "cmdstat_client|id",
    "cmdstat_select",
    "cmdstat_auth",
}


def round_trips(client: redis.Redis, send: Callable[[], Any]) -> int:
    """How many commands the server received from clients while ``send()`` ran: script
    runs, plus any command that is neither a script's inner call nor the test's own."""
    client.config_resetstat()
    send()
    return commands_since_reset(client)


def commands_since_reset(client: redis.Redis) -> int:
    """:func:`round_trips` counted since ``CONFIG RESETSTAT`` (for an awaited request)."""
    return sum(sent_since_reset(client).values())


def sent_since_reset(client: redis.Redis) -> dict[str, int]:
    """The commands :func:`commands_since_reset` counts, by name (for a failure's message)."""
    stats: dict[str, Any] = client.info("commandstats")
    return {
        k.removeprefix("cmdstat_"): int(v["calls"])
        for k, v in stats.items()
        if k not in _INSIDE_SCRIPTS and k not in _OURS
    }
