"""The value codec (cache_bridge.values): bytes stored, and set/get through a real Redis for a
10 KB and a 1 MB value, for every serializer and compressor (signed, as by default), next to
raw redis-py storing ``pickle.dumps`` (no header, no MAC, no compression).

``codec_groups(url, sizes)`` gives harness groups in the shape ``bench/run.py`` measures (a
``codec`` section for it to add); ``python -m bench.cases_codec [--quick]`` runs them alone on
its own redis-server and prints the tables. Nothing here asserts a time.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import redis

from bench.harness import Case, Group, measure_group
from bench.sizes import FULL, QUICK, Sizes
from cache_bridge.values import KeyRing, ValueCodec, available

__all__ = ["CONFIGS", "VALUES", "codec_groups", "main", "stored_sizes"]

RING = KeyRing()
RAW = "raw redis-py, pickle"


def _rows(count: int) -> list[dict[str, Any]]:
    return [
        {"id": n, "name": f"user {n}", "email": f"user{n}@example.com", "active": n % 3 == 0}
        for n in range(count)
    ]


#: Text-like values (what pages and query results look like): about 10 KB and about 1 MB.
VALUES = {"10 KB": _rows(150), "1 MB": _rows(15_000)}
#: (label, serializer, compressor) for every configuration measured.
CONFIGS = [
    (f"{serializer}{'+' + compressor if compressor else ''}", serializer, compressor)
    for serializer in ("pickle", "json", "msgpack")
    for compressor in (None, "zlib", "zstd", "lz4")
]


def _codecs() -> dict[str, ValueCodec]:
    codecs = {}
    for label, serializer, compressor in CONFIGS:
        if compressor and not available(compressor):
            continue
        try:
            codecs[label] = ValueCodec(
                serializer, compressor=compressor, keys=lambda: RING.keys("bench-secret")
            )
        except Exception:  # msgpack not installed: that row is left out
            continue
    return codecs


def stored_sizes() -> dict[str, dict[str, int]]:
    """Bytes stored, by value size and configuration (the raw pickle included)."""
    sizes: dict[str, dict[str, int]] = {}
    for name, value in VALUES.items():
        row = {RAW: len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))}
        row.update({label: len(c.dumps("bench:k", value)) for label, c in _codecs().items()})
        sizes[name] = row
    return sizes


def codec_groups(url: str, sizes: Sizes) -> list[Group]:
    """set and get of each value through each configuration, on the server at ``url``."""
    client = redis.Redis.from_url(url)
    groups = []
    stored = stored_sizes()
    for name, value in VALUES.items():
        note = "Bytes stored: " + ", ".join(
            f"{label} {size:,}" for label, size in stored[name].items()
        )
        n = max(2, sizes.single // (100 if name == "1 MB" else 5))
        sets, gets = [Case(RAW, _raw_set(client, value))], [Case(RAW, _raw_get(client, value))]
        for label, codec in _codecs().items():
            sets.append(Case(label, _set(client, codec, label, value)))
            gets.append(Case(label, _get(client, codec, label, value)))
        groups.append(Group(f"set {name}", "codec", RAW, sets, n, note))
        groups.append(Group(f"get {name}", "codec", RAW, gets, n, note))
    return groups


def _raw_set(client: redis.Redis, value: Any) -> Any:
    return lambda: client.set("bench:raw", pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def _raw_get(client: redis.Redis, value: Any) -> Any:
    client.set("bench:raw", pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return lambda: pickle.loads(client.get("bench:raw"))  # type: ignore[arg-type]


def _set(client: redis.Redis, codec: ValueCodec, label: str, value: Any) -> Any:
    key = f"bench:{label}"
    return lambda: client.set(key, codec.dumps(key, value))


def _get(client: redis.Redis, codec: ValueCodec, label: str, value: Any) -> Any:
    key = f"bench:{label}"
    client.set(key, codec.dumps(key, value))
    return lambda: codec.loads(key, client.get(key))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    from cache_bridge.testing import RedisServer

    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    print("bytes stored")
    for name, row in stored_sizes().items():
        print(f"  {name}: " + ", ".join(f"{label} {size}" for label, size in row.items()))
    server = RedisServer()
    server.start()
    try:
        for group in codec_groups(server.url, QUICK if quick else FULL):
            print(group.name)
            for measured in measure_group(group, 1 if quick else 5):
                per_op = 1e6 / measured.ops_per_s if measured.ops_per_s else float("nan")
                print(f"  {measured.impl:<22} {per_op:10.1f} µs")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
