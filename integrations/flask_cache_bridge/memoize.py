"""``bridge.memoize``: cache a function's return value per call arguments (sync and async
functions, methods, classmethods), and ``bridge.delete_memoized``.

Keys live under the app's namespace:

- ``memo:NAME:DIGEST`` for one call's entry: ``NAME`` is the function's ``module.qualname``
  (or ``name=``), ``DIGEST`` hashes the canonical encoding of the bound arguments
  (:mod:`cache_bridge.values.call_keys`) and, with ``source_check``, the function's source.
- ``memo-gen:NAME``, the function's **generation**: a counter. Each entry is stored with the
  generation it was computed under, and only an entry of the current generation is a hit.
  ``delete_memoized(fn)`` increments it (every entry of ``fn`` is invisible at once, and a
  computation that started before cannot store a stale value afterwards), then deletes the
  entries with a scoped SCAN of ``memo:NAME:*``: the deletes are O(entries of fn), the SCAN
  walks the namespace. A hit costs one round trip (the entry and the generation in one
  MGET), a miss two.

Values go through the core value codec (``CACHE_BRIDGE_SERIALIZER``, signed with the app's
``SECRET_KEY``). When the cache fails the function runs, uncached, and the failure is logged
once per burst.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from returns.result import Failure, Result, Success

from cache_bridge import MAX_TTL, ConfigurationError, DomainError
from cache_bridge.engine import bytes_operations as ops
from cache_bridge.stampede import StampedeSettings
from cache_bridge.values import MISSING
from cache_bridge.values.call_keys import Unkeyable, bound_arguments, call_digest, source_digest
from flask_cache_bridge.failures import logger
from flask_cache_bridge.stampede import Generational, protected, storable_compute
from flask_cache_bridge.state import AppCache

__all__ = [
    "MEMO_NAMESPACE",
    "FunctionCaching",
    "function_name",
    "mark",
    "memoized",
    "policy_of",
    "with_source",
]

MEMO_NAMESPACE = "memo:"
_GENERATION = "memo-gen:"
_POLICY = "__cache_bridge_memo__"
# Characters kept in a function's name in keys: never ``:`` or a glob character.
_NAME_SAFE = "._-<>"


@dataclass(frozen=True)
class FunctionCaching:
    """The options of one ``@bridge.memoize(...)`` or ``@bridge.cached`` on a function."""

    function: Callable[..., Any]
    name: str
    ttl: int | None = None
    key: Callable[..., str] | str | None = None
    key_self: bool = False
    ignore: tuple[str, ...] = ()
    cache_none: bool = False
    unless: Callable[..., bool] | None = None
    response_filter: Callable[[Any], bool] | None = None
    source: str = ""
    #: Stampede protection (docs/stampede.md); ``None``: off.
    stampede: StampedeSettings | None = None

    def __post_init__(self) -> None:
        if self.ttl is not None and (
            isinstance(self.ttl, bool)
            or not isinstance(self.ttl, int)
            or not 1 <= self.ttl <= MAX_TTL
        ):
            raise ValueError(f"ttl must be an int from 1 to {MAX_TTL}, not {self.ttl!r}")
        if self.stampede is not None and not isinstance(self.stampede, StampedeSettings):
            raise TypeError(f"stampede=... must be StampedeSettings, not {self.stampede!r}")
        for option in ("unless", "response_filter"):
            value = getattr(self, option)
            if value is not None and not callable(value):
                raise TypeError(f"{option}=... must be a callable, not {value!r}")

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """The function's signature, computed once (calls bind their arguments to it)."""
        return inspect.signature(self.function)

    @functools.cached_property
    def first_parameter(self) -> str | None:
        """``"self"`` or ``"cls"`` for a method, else None."""
        names = list(self.signature.parameters)
        return names[0] if names and names[0] in ("self", "cls") else None

    @functools.cached_property
    def unless_takes_call(self) -> bool:
        """Whether ``unless`` takes ``(function, *args, **kwargs)`` (else no arguments)."""
        return self.unless is not None and bool(inspect.signature(self.unless).parameters)

    def entry_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The key of this call's entry (``Unkeyable`` or ``TypeError`` when it has none)."""
        if isinstance(self.key, str):
            return f"{MEMO_NAMESPACE}{self.name_part}:={self.key}"
        if self.key is not None:
            made = self.key(*args, **kwargs)
            if not isinstance(made, str) or not made:
                raise TypeError(f"key= must return a non-empty str, not {made!r}")
            return f"{MEMO_NAMESPACE}{self.name_part}:={call_digest({'key': made})}"
        first = self.first_parameter
        named = bound_arguments(
            self.signature, args, kwargs, drop_first=first is not None, ignore=self.ignore
        )
        if first == "cls" and args:
            named["cls"] = f"{args[0].__module__}.{args[0].__qualname__}"
        elif first == "self" and self.key_self and args:
            named["self"] = args[0]
        named["source"] = self.source
        return f"{MEMO_NAMESPACE}{self.name_part}:{call_digest(named)}"

    @property
    def name_part(self) -> str:
        return quote(self.name, safe=_NAME_SAFE)

    @property
    def generation_key(self) -> str:
        return f"{_GENERATION}{self.name_part}"

    def pattern(self) -> str:
        """The glob of every entry of the function."""
        return f"{MEMO_NAMESPACE}{self.name_part}:*"

    def skipped(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether ``unless`` says to bypass the cache for this call."""
        if self.unless is None:
            return False
        if self.unless_takes_call:
            return bool(self.unless(self.function, *args, **kwargs))
        return bool(self.unless())

    def storable(self, value: Any) -> bool:
        if value is None and not self.cache_none:
            return False
        return self.response_filter is None or bool(self.response_filter(value))


def policy_of(function: Any) -> tuple[FunctionCaching, tuple[Any, ...]]:
    """The policy of a memoized function (or bound method: its instance or class comes
    first in the arguments returned); ``TypeError`` for anything else."""
    bound: tuple[Any, ...] = ()
    if inspect.ismethod(function):
        bound = (function.__self__,)
        function = function.__func__
    policy = getattr(function, _POLICY, None)
    if not isinstance(policy, FunctionCaching):
        raise TypeError(f"{function!r} is not decorated with @bridge.memoize or @bridge.cached")
    return policy, bound


#: What a memoize generator yields: ``("call",)`` to run the function (it is sent the value),
#: ``("op", operation)`` to run a cache operation (it is sent the Result), last ``("done", v)``.
_Steps = Generator[tuple[Any, ...], Any, None]


def _read(
    state: AppCache, key: str, generation: str, found: Result[dict[str, bytes], DomainError]
) -> tuple[Any, int | None]:
    """The value of a current entry (or MISSING) and the current generation (None: the
    cache failed)."""
    match found:
        case Success(stored):
            state.failures.recovered()
            raw_gen = stored.get(generation)
            current = int(raw_gen) if raw_gen is not None and raw_gen.isdigit() else 0
            data = stored.get(key)
            if data is None:
                return MISSING, current
            entry = state.codec.loads(state.cache.keyspace.key(key), data)
            if isinstance(entry, list) and len(entry) == 2 and entry[0] == current:
                return entry[1], current
            return MISSING, current
        case Failure(error):
            state.failed(error, "the function runs uncached")
    return MISSING, None


def _encode(state: AppCache, key: str, generation: int, value: Any) -> bytes | None:
    try:
        return state.codec.dumps(state.cache.keyspace.key(key), [generation, value])
    except ConfigurationError:
        raise  # no SECRET_KEY: a mistake to fix, not an outage to ride out
    except Exception as exc:  # the serializer cannot write it: the call still answers
        logger.debug("cache_bridge: not memoizing %s: %s", key, exc)
        return None


def _stampede_steps(state: AppCache, policy: FunctionCaching, key: str) -> _Steps:
    """One call under stampede protection: the generation (one read), then the recipe."""
    assert policy.stampede is not None
    found = yield ("op", ops.get_bytes(state.cache.keyspace, policy.generation_key))
    match found:
        case Success(raw):
            generation = int(raw) if raw is not None and raw.isdigit() else 0
        case Failure(error):
            state.failed(error, "the function runs uncached")
            yield ("done", (yield ("call",)))
            return
    how = (policy.stampede, Generational(state.codec, generation))
    ttl = policy.ttl or state.settings.default_ttl
    yield ("done", (yield ("stampede", key, ttl, how)))


def memo_steps(
    state: AppCache, policy: FunctionCaching, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> _Steps:
    """One call through the function cache, for a sync or an async function alike."""
    try:
        key = None if policy.skipped(args, kwargs) else policy.entry_key(args, kwargs)
    except Unkeyable as exc:
        logger.warning("cache_bridge: %s runs uncached: %s", policy.name, exc)
        key = None
    if key is None:
        yield ("done", (yield ("call",)))
        return
    if policy.stampede is not None:
        yield from _stampede_steps(state, policy, key)
        return
    found = yield ("op", ops.get_many_bytes(state.cache.keyspace, [key, policy.generation_key]))
    value, generation = _read(state, key, policy.generation_key, found)
    if value is not MISSING:
        yield ("done", value)
        return
    value = yield ("call",)
    data = None
    if generation is not None and policy.storable(value):
        data = _encode(state, key, generation, value)
    if data is not None:
        ttl_ms = (policy.ttl or state.settings.default_ttl) * 1000
        done = yield ("op", ops.set_bytes(state.cache.keyspace, key, data, ttl_ms))
        if isinstance(done, Failure):
            state.failed(done.failure(), "the value is not cached")
    yield ("done", value)


def _answer(step: tuple[Any, ...], cache: Any, call: Callable[[], Any], policy: Any = None) -> Any:
    if step[0] == "stampede":
        return protected(cache, step[1], storable_compute(policy, call), step[2], step[3])
    return call() if step[0] == "call" else cache.run_operation(step[1])


def _drive(steps: _Steps, cache: Any, call: Callable[[], Any], policy: Any) -> Any:
    step = next(steps)
    while step[0] != "done":
        step = steps.send(_answer(step, cache, call, policy))
    return step[1]


async def _adrive(steps: _Steps, cache: Any, call: Callable[[], Any], policy: Any) -> Any:
    step = next(steps)
    while step[0] != "done":
        step = steps.send(await _answer(step, cache, call, policy))
    return step[1]


def memoized(
    function: Callable[..., Any], policy: FunctionCaching, current: Callable[[], AppCache]
) -> Callable[..., Any]:
    """Wrap ``function`` (sync or ``async def``) so its values are cached per ``policy``."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            state = current()
            steps = memo_steps(state, policy, args, kwargs)
            call = lambda: function(*args, **kwargs)  # noqa: E731
            return await _adrive(steps, state.async_cache, call, policy)

        return mark(async_wrapper, policy)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = current()
        steps = memo_steps(state, policy, args, kwargs)
        return _drive(steps, state.cache, lambda: function(*args, **kwargs), policy)

    return mark(wrapper, policy)


def mark(wrapper: Callable[..., Any], policy: FunctionCaching) -> Callable[..., Any]:
    """Record ``policy`` on ``wrapper``, for ``delete_memoized``."""
    setattr(wrapper, _POLICY, policy)
    return wrapper


def function_name(function: Callable[..., Any], name: str | None) -> str:
    """The name of ``function`` in its keys: ``name``, or ``module.qualname``; refused for
    lambdas and functions defined inside functions (two of them could share a name)."""
    if name is not None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"name= must be a non-empty str, not {name!r}")
        return name
    qualname = getattr(function, "__qualname__", "")
    if not qualname or "<lambda>" in qualname or "<locals>" in qualname:
        raise ValueError(
            f"{qualname or function!r} has no unique name to key its entries by (a lambda or "
            "a function defined inside another): pass name='...'"
        )
    return f"{function.__module__}.{qualname}"


def with_source(function: Callable[..., Any], source_check: bool) -> str:
    """The source digest to key entries by, or "" without ``source_check``."""
    return source_digest(function) if source_check else ""
