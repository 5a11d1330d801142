"""The same request sequences through django-ratelimit and through django_cache_bridge give the
same 200/429 answers for each documented scenario (key, rate, group, method, block, stacked
decorators, exemptions), or the answers each library actually gives where the behaviour
differs on purpose (docs/ratelimit.md, "Coming from django-ratelimit", says why).

django-ratelimit counts in a django-redis alias on the test-started Redis (the backends its
docs support) and answers 429 through its middleware and ``RATELIMIT_VIEW``; ours counts on a
memory alias with a fixed clock or on the same Redis. Windows: django-ratelimit's are aligned
to the clock but shifted per key by ``crc32(key) % period``, so each of its sequences starts
only when every window it uses has a few seconds left (:func:`_inside_peer_windows`); ours on
Redis start inside one minute of the server's clock.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from tests.django.ratelimit_parity_urls import two_argument_key_view
from tests.support.django_helpers import alias
from tests.support.ratelimit_clock import inside_one_minute

pytestmark = pytest.mark.urls("tests.django.ratelimit_parity_urls")

START = 1_700_006_400.0
HOUR = 3600
_NEEDED = 5.0


def _peer_window_left(value: str, period: int, now: float) -> float:
    """Seconds until django-ratelimit's window for ``value`` (its key value) and ``period``
    ends: its windows end at ``crc32(value) % period`` past each multiple of ``period``."""
    ts = int(now)
    end = ts - ts % period + zlib.crc32(value.encode()) % period
    if end < ts:
        end += period
    return end - now


def _inside_peer_windows(windows: Iterable[tuple[str, int]]) -> None:
    """Return when every django-ratelimit window of ``windows`` has at least a few seconds
    left, waiting for the ones about to end."""
    windows = list(windows)
    while True:
        left = min(_peer_window_left(value, period, time.time()) for value, period in windows)
        if left >= _NEEDED:
            return
        time.sleep(max(left, 0) + 1.05)


@dataclass(frozen=True)
class Call:
    path: str
    method: str = "GET"
    ip: str = "127.0.0.1"
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Libraries:
    """Runs one request sequence through each library's view of a scenario."""

    redis_client: redis.Redis
    ours_on_redis: bool

    def _run(self, library: str, calls: list[Call]) -> list[int]:
        client = Client()
        statuses = []
        for call in calls:
            send = client.get if call.method == "GET" else client.post
            url = f"/{library}/{call.path}/"
            response = send(url, call.data, headers=call.headers, REMOTE_ADDR=call.ip)
            statuses.append(response.status_code)
        return statuses

    def peer(self, calls: list[Call], keys: Iterable[str] = (), period: int = HOUR) -> list[int]:
        """The statuses from django-ratelimit's view; ``keys``: the key values it counts
        under (default: the calls' addresses), whose windows must not end meanwhile."""
        values = set(keys) or {call.ip for call in calls}
        _inside_peer_windows((value, period) for value in values)
        return self._run("peer", calls)

    def ours(self, calls: list[Call]) -> list[int]:
        if self.ours_on_redis:
            inside_one_minute(self.redis_client, _NEEDED)
        return self._run("ours", calls)

    def bodies(self, library: str, calls: list[Call]) -> list[str]:
        client = Client()
        return [
            client.get(f"/{library}/{call.path}/", REMOTE_ADDR=call.ip).content.decode()
            for call in calls
        ]


@pytest.fixture
def libraries(
    settings: SettingsWrapper, location: str, redis_url: str, redis_client: redis.Redis
) -> Libraries:
    memory = location.startswith("memory://")
    options = {"clock": lambda: START + 1} if memory else {}
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="parity", OPTIONS=options),
        "peer": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url},
    }
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_ratelimit.middleware.RatelimitMiddleware",
    ]
    settings.RATELIMIT_USE_CACHE = "peer"
    settings.RATELIMIT_VIEW = "tests.django.ratelimit_parity_urls.refused"
    settings.CACHE_BRIDGE_RATELIMIT = {}
    return Libraries(redis_client, ours_on_redis=not memory)


def calls(
    path: str,
    count: int,
    *,
    method: str = "GET",
    ip: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> list[Call]:
    return [Call(path, method, ip, headers or {}, data or {})] * count


# -- key and rate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "headers", "key"),
    [
        ("ip", {}, "127.0.0.1"),
        ("user-or-ip", {}, "127.0.0.1"),
        ("header", {"X-Api-Key": "key-1"}, "key-1"),
        ("pair", {}, "127.0.0.1"),
    ],
)
def test_key_and_rate(
    libraries: Libraries, scenario: str, headers: dict[str, str], key: str
) -> None:
    sequence = [*calls(scenario, 4, headers=headers), Call(scenario, ip="10.0.0.2")]
    if scenario == "header":  # another key value, not another address, is another client
        sequence[-1] = Call(scenario, headers={"X-Api-Key": "key-2"})
    expected = [200, 200, 200, 429, 200]
    assert libraries.peer(sequence, {key, "10.0.0.2", "key-2"}) == expected
    assert libraries.ours(sequence) == expected


def test_a_rate_of_several_minutes(libraries: Libraries) -> None:
    sequence = [*calls("ten-minutes", 4), Call("ten-minutes", ip="10.0.0.2")]
    assert libraries.peer(sequence, period=600) == [200, 200, 200, 429, 200]
    assert libraries.ours(sequence) == [200, 200, 200, 429, 200]


def test_a_key_from_the_query_string(libraries: Libraries) -> None:
    """``key="get:q"`` is a callable reading ``request.GET`` here."""
    sequence = calls("get", 4, data={"q": "1"}) + calls("get", 1, data={"q": "2"})
    assert libraries.peer(sequence, {"1", "2"}) == [200, 200, 200, 429, 200]
    assert libraries.ours(sequence) == [200, 200, 200, 429, 200]


@pytest.mark.parametrize(
    ("scenario", "peer"), [("user", [200, 200, 429, 429]), ("header", [200, 200, 200, 429])]
)
def test_requests_without_the_key(libraries: Libraries, scenario: str, peer: list[int]) -> None:
    """Deliberate: django-ratelimit counts every anonymous request of a ``"user"`` limit under
    one key (``"None"``) and every request without the header under ``""``; here a request
    without what the key reads is not counted by that limit (add an ``"ip"`` limit for those)."""
    sequence = calls(scenario, 4)  # anonymous, no X-Api-Key
    assert libraries.peer(sequence, {"None", ""}) == peer
    assert libraries.ours(sequence) == [200, 200, 200, 200]


def test_a_key_callable_of_group_and_request(libraries: Libraries) -> None:
    try:
        two_argument_key_view()
    except ImproperlyConfigured:
        return  # refused where it is written: acceptable too
    sequence = [
        *calls("api-key", 4, headers={"X-Api-Key": "key-1"}),
        Call("api-key", headers={"X-Api-Key": "key-2"}),
    ]
    assert libraries.peer(sequence, {"key-1", "key-2"}) == [200, 200, 200, 429, 200]
    assert libraries.ours(sequence) == [200, 200, 200, 429, 200]


# -- group, method, block ------------------------------------------------------------------------


def test_a_group_shared_by_two_views(libraries: Libraries) -> None:
    sequence = [Call("search-web"), Call("search-images")] * 2
    assert libraries.peer(sequence) == [200, 200, 200, 429]
    assert libraries.ours(sequence) == [200, 200, 200, 429]


@pytest.mark.parametrize("scenario", ["post-only", "unsafe"])
def test_methods(libraries: Libraries, scenario: str) -> None:
    sequence = calls(scenario, 3) + calls(scenario, 3, method="POST")
    expected = [200, 200, 200, 200, 200, 429]  # GET is not counted
    assert libraries.peer(sequence) == expected
    assert libraries.ours(sequence) == expected


def test_block_false_tells_the_view(libraries: Libraries) -> None:
    """``request.limited`` there; ``request_decisions(request)`` here (the view checks
    whether a decision refused)."""
    sequence = calls("no-block", 3)
    _inside_peer_windows([("127.0.0.1", HOUR)])
    assert libraries.bodies("peer", sequence) == ["ok", "ok", "limited"]
    if libraries.ours_on_redis:
        inside_one_minute(libraries.redis_client, _NEEDED)
    assert libraries.bodies("ours", sequence) == ["ok", "ok", "limited"]


def test_a_refusal_without_ratelimit_view(libraries: Libraries, settings: SettingsWrapper) -> None:
    """Deliberate: django-ratelimit raises ``Ratelimited``, a ``PermissionDenied`` (403) unless
    its middleware and ``RATELIMIT_VIEW`` turn it into something else; here a refusal is a 429
    with ``Retry-After`` and the RateLimit headers (``VIEW`` or ``TEMPLATE`` change it)."""
    settings.MIDDLEWARE = []
    assert libraries.peer(calls("ip", 4)) == [200, 200, 200, 403]
    assert libraries.ours(calls("ip", 4)) == [200, 200, 200, 429]


# -- stacked decorators --------------------------------------------------------------------------


def test_stacked_limits_on_one_key(libraries: Libraries) -> None:
    sequence = calls("stacked", 6)
    expected = [200, 200, 200, 429, 429, 429]  # the hour's 3
    assert libraries.peer(sequence, {"127.0.0.1"}, period=60) == expected
    assert libraries.ours(sequence) == expected


@pytest.mark.parametrize("outer", ["global-outside", "global-inside"])
def test_a_global_limit_next_to_a_per_client_limit(libraries: Libraries, outer: str) -> None:
    """Deliberate: django-ratelimit's decorators count one after the other, outermost first,
    so with the global limit outside, requests the per-client limit refuses use up the global
    quota; here a view's limits are decided together, in either order, and a refused request
    counts in none."""
    sequence = (
        calls(outer, 4, ip="10.0.0.1")
        + calls(outer, 3, ip="10.0.0.2")
        + calls(outer, 2, ip="10.0.0.3")
    )
    keys = {"everyone", "10.0.0.1", "10.0.0.2", "10.0.0.3"}
    ours = [200, 200, 429, 429, 200, 200, 429, 200, 429]
    if outer == "global-outside":
        assert libraries.peer(sequence, keys) == [200, 200, 429, 429, 200, 429, 429, 429, 429]
    else:
        assert libraries.peer(sequence, keys) == ours
    assert libraries.ours(sequence) == ours


# -- exemptions and failed logins ----------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["exempt-by-rate", "exempt-when", "exempt-setting"])
def test_exempt_requests(libraries: Libraries, settings: SettingsWrapper, scenario: str) -> None:
    """A rate callable returning ``None`` works the same here; ``exempt_when=`` and
    ``EXEMPT_WHEN`` say it directly."""
    if scenario == "exempt-setting":
        settings.CACHE_BRIDGE_RATELIMIT = {
            "EXEMPT_WHEN": "tests.django.ratelimit_parity_urls.internal"
        }
    sequence = calls(scenario, 3, headers={"X-Internal": "yes"}) + calls(scenario, 3)
    expected = [200, 200, 200, 200, 200, 429]
    assert libraries.peer(sequence) == expected
    assert libraries.ours(sequence) == expected


def test_failed_logins(libraries: Libraries) -> None:
    """Deliberate: django-ratelimit's check without counting (``increment=False``) refuses
    only once the count is *above* the rate, so the documented pattern lets ``limit + 1``
    failed logins through; ``deduct_when`` here refuses once ``limit`` failures are counted."""
    sequence = (
        calls("login", 5, method="POST", data={"password": "right"})
        + calls("login", 5, method="POST", data={"password": "wrong"})
        + calls("login", 1, method="POST", data={"password": "right"})
    )
    assert libraries.peer(sequence) == [200] * 5 + [401, 401, 401, 401, 429, 429]
    assert libraries.ours(sequence) == [200] * 5 + [401, 401, 401, 429, 429, 429]
