"""Signed values under attack, by hypothesis: flipping any byte, truncating anywhere, appending,
or a value written by a foreign client (raw redis-py with pickles, JSON, garbage) is a miss,
and nothing is ever unpickled.

The stored value carries a pickle whose ``__reduce__`` records a side effect when it is
unpickled: a genuine read records it (so the detector works), a tampered one must not.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import Settings as SettingsWrapper

from cache_bridge import config
from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import Exploit, alias, bridge, plant, stored
from tests.support.django_helpers import exploited as unpickled

MISS = "miss"
FUZZ = hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: What BridgeCache reads as a plain integer (integers are stored unsigned, so that INCRBY works).
_INTEGER = re.compile(rb"0|-?[1-9][0-9]{0,18}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
# Tampering with how the stored bytes are changed: (kind, position as a fraction, byte).
tampering = st.tuples(
    st.sampled_from(["flip", "truncate", "append", "insert"]),
    st.floats(0, 1, exclude_max=True),
    st.integers(1, 255),
)


def tamper(data: bytes, how: tuple[str, float, int]) -> bytes:
    kind, where, byte = how
    at = int(where * len(data))
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ byte]) + data[at + 1 :]
    if kind == "truncate":
        return data[:at]
    if kind == "append":
        return data + bytes([byte])
    return data[:at] + bytes([byte]) + data[at:]


@pytest.fixture(params=["pickle", "json"])
def dj(
    request: pytest.FixtureRequest, settings: SettingsWrapper, location: str
) -> Iterator[BridgeCache]:
    settings.CACHES = {
        "default": alias(location, KEY_PREFIX="signed", OPTIONS={"serializer": request.param})
    }
    unpickled.clear()
    yield bridge()
    bridge().clear()


def _is_miss(dj: BridgeCache, key: str) -> bool:
    return (
        dj.get(key, MISS) == MISS
        and dj.get_many([key]) == {}
        and not dj.has_key(key)
        and stored(dj, key) is None  # dropped, so it cannot block add()
    )


def test_a_genuine_value_is_unpickled_so_the_detector_works(dj: BridgeCache) -> None:
    if dj.bridge_config.serializer == "json":
        pytest.skip("the JSON serializer stores no pickles")
    dj.set("k", ["x", Exploit()])
    assert dj.get("k") == ["x", "unpickled"]
    assert unpickled == ["unpickled"]


def test_any_tampering_is_a_miss_and_nothing_is_unpickled(dj: BridgeCache) -> None:
    pickles = dj.bridge_config.serializer == "pickle"

    @FUZZ
    @given(value=json_values, how=tampering)
    def run(value: Any, how: tuple[str, float, int]) -> None:
        if type(value) is int and -(2**63) <= value < 2**63:
            value = [value]  # stored as plain text for INCR, never signed
        dj.set("k", [value, Exploit()] if pickles else value)
        genuine = stored(dj, "k")
        assert genuine is not None
        forged = tamper(genuine, how)
        if forged == genuine or _INTEGER.fullmatch(forged):
            return  # an append of nothing new, or an integer (read as one, by design)
        plant(dj, "k", forged)
        assert _is_miss(dj, "k"), (how, forged[:80])
        assert unpickled == []

    run()


def test_values_written_by_a_foreign_client_are_misses(
    dj: BridgeCache, request: pytest.FixtureRequest
) -> None:
    made = dj.make_key("k")
    on_redis = isinstance(dj.bridge_config.settings, config.RedisSettings)
    client: redis.Redis | None = request.getfixturevalue("redis_client") if on_redis else None

    def write(data: bytes) -> None:
        if client is not None:
            client.set(made, data)  # raw redis-py, as any other program could
        else:
            plant(dj, "k", data)

    evil = pickle.dumps(Exploit())
    markers = [b"", b"cb:s3:", b"cb:s2:", b"cb:js2:", b"cb:js1:", b"cb:p1:", b"cb:j1:", b"cb:s1:"]
    payloads = st.one_of(
        st.binary(max_size=80),
        st.just(evil),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda m, mac, body: m + mac + body,
            st.sampled_from(markers),
            st.binary(min_size=32, max_size=32),
            st.sampled_from([evil, b'{"a":1}']),
        ),
        st.builds(lambda m, body: m + body, st.sampled_from(markers), st.just(evil)),
    )

    @FUZZ
    @given(data=payloads)
    def run(data: bytes) -> None:
        if _INTEGER.fullmatch(data):
            return  # read as an integer, by design
        write(data)
        assert _is_miss(dj, "k"), data[:80]
        assert unpickled == []

    run()
