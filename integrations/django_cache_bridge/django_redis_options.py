"""django-redis's OPTIONS, read by BridgeCache: the common ones are accepted under their new
names (each reported once by ``manage.py check``, Info ``django_cache_bridge.I020``, naming the
new spelling), the rest are errors (``django_cache_bridge.E020``) whose hint names the
replacement or says there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cache_bridge.config import NETWORK_OPTIONS
from cache_bridge.errors import ConfigurationError

__all__ = ["DJANGO_REDIS_OPTIONS", "DjangoRedisOptionError", "translate"]

_DR = "django_redis."
#: django-redis serializer classes -> the ``serializer`` option.
_SERIALIZERS = {
    _DR + "serializers.pickle.PickleSerializer": "pickle",
    _DR + "serializers.json.JSONSerializer": "json",
    _DR + "serializers.msgpack.MSGPackSerializer": "msgpack",
}
#: django-redis compressor classes -> the ``compressor`` option (``None``: no compression).
_COMPRESSORS: dict[str, str | None] = {
    _DR + "compressors.identity.IdentityCompressor": None,
    _DR + "compressors.zlib.ZlibCompressor": "zlib",
    _DR + "compressors.gzip.GzipCompressor": "zlib",  # the same deflate, without gzip's header
    _DR + "compressors.zstd.ZStdCompressor": "zstd",
    _DR + "compressors.lz4.Lz4Compressor": "lz4",
}
_DEFAULT_CLIENT = _DR + "client.DefaultClient"

#: What each django-redis option becomes: the new option's name (its value carried over),
#: ``""`` for an option accepted with no effect, or ``None`` for one refused (the hint says
#: what to do instead).
DJANGO_REDIS_OPTIONS: dict[str, str | None] = {
    "SOCKET_TIMEOUT": "timeout",
    "SOCKET_CONNECT_TIMEOUT": "connect_timeout",
    "CONNECTION_POOL_KWARGS": "max_connections",
    "IGNORE_EXCEPTIONS": "fail_open",
    "LOG_IGNORED_EXCEPTIONS": "",
    "SERIALIZER": "serializer",
    "COMPRESSOR": "compressor",
    "PASSWORD": "password",
    "USERNAME": "username",
    "CLIENT_CLASS": "",
    "CLOSE_CONNECTION": "",
    "PICKLE_VERSION": "",
    "CONNECTION_POOL_CLASS": None,
    "CONNECTION_FACTORY": None,
    "REDIS_CLIENT_CLASS": None,
    "REDIS_CLIENT_KWARGS": None,
    "PARSER_CLASS": None,
    "SENTINELS": None,
    "SENTINEL_KWARGS": None,
    "REPLICA_READ_ONLY": None,
}

_NONE = "BridgeCache has no equivalent; remove it."
_REFUSED = {
    "CONNECTION_POOL_CLASS": "BridgeCache makes its own bounded pools; " + _NONE,
    "CONNECTION_FACTORY": "BridgeCache makes its own bounded pools; " + _NONE,
    "REDIS_CLIENT_CLASS": _NONE,
    "REDIS_CLIENT_KWARGS": "Use BridgeCache's options (timeout, connect_timeout, client_name, "
    "ssl_*, ...) or remove it.",
    "PARSER_CLASS": "hiredis is used when it is installed; " + _NONE,
    "SENTINELS": "Write LOCATION = 'redis+sentinel://HOST:26379,HOST:26379/SERVICE/DB'.",
    "SENTINEL_KWARGS": "Use OPTIONS['sentinel_password'] / ['sentinel_username'].",
    "REPLICA_READ_ONLY": "BridgeCache never reads replicas; " + _NONE,
}
_CLIENTS = {
    _DR + "client.ShardClient": "Use a Redis Cluster: LOCATION = 'redis+cluster://HOST:PORT,...'.",
    _DR + "client.SentinelClient": "Write LOCATION = 'redis+sentinel://HOST:26379,.../SERVICE/DB'.",
    _DR + "client.HerdClient": "BridgeCache has no herd client yet (stampede protection is "
    "planned); remove it.",
}


_NO_SERIALIZER = (
    "Write OPTIONS['serializer'] = 'pickle', 'json' or 'msgpack'; custom serializer classes "
    "have no equivalent."
)
_NO_COMPRESSOR = (
    "Write OPTIONS['compressor'] = 'zlib', 'zstd' or 'lz4'; lzma and custom classes have no "
    "equivalent."
)


class DjangoRedisOptionError(ConfigurationError):
    """A django-redis option BridgeCache does not take; ``hint`` says what to write instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _refuse(name: str, value: object, hint: str) -> DjangoRedisOptionError:
    return DjangoRedisOptionError(f"OPTIONS[{name!r}] = {value!r} is django-redis's", hint)


def _pool_kwargs(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _refuse("CONNECTION_POOL_KWARGS", value, "Write OPTIONS['max_connections'] = N.")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in NETWORK_OPTIONS:
            out[key] = item  # max_connections, client_name, ssl_*, ... carry over as they are
        else:
            hint = "BridgeCache has no equivalent of this pool argument; remove it."
            raise _refuse(f"CONNECTION_POOL_KWARGS'][{key!r}", item, hint)
    return out


def _one(name: str, value: Any) -> dict[str, Any]:
    """The new options for django-redis's ``name = value`` (raises for a refused one)."""
    new = DJANGO_REDIS_OPTIONS[name]
    if new is None:
        raise _refuse(name, value, _REFUSED[name])
    match name:
        case "CONNECTION_POOL_KWARGS":
            return _pool_kwargs(value)
        case "SERIALIZER":
            if value not in _SERIALIZERS:
                raise _refuse(name, value, _NO_SERIALIZER)
            return {"serializer": _SERIALIZERS[value]}
        case "COMPRESSOR":
            if value not in _COMPRESSORS:
                raise _refuse(name, value, _NO_COMPRESSOR)
            found = _COMPRESSORS[value]
            return {} if found is None else {"compressor": found}
        case "CLIENT_CLASS":
            if value in _CLIENTS:
                raise _refuse(name, value, _CLIENTS[value])
            if value != _DEFAULT_CLIENT:
                raise _refuse(name, value, "Custom client classes have no equivalent; remove it.")
            return {}
    return {new: value} if new else {}


def _new_spelling(name: str, new: dict[str, Any]) -> str:
    if not new:
        return "nothing (accepted and ignored: BridgeCache does this its own way)"
    shown = {key: "'***'" if key == "password" else repr(value) for key, value in new.items()}
    return ", ".join(f"OPTIONS[{key!r}] = {value}" for key, value in shown.items())


def translate(options: dict[str, Any]) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """``options`` with django-redis's names replaced by BridgeCache's, and for each replaced
    one its name and new spelling (for the Info check). Raises
    :class:`DjangoRedisOptionError` for an option that has no equivalent."""
    out: dict[str, Any] = {}
    renamed: list[tuple[str, str]] = []
    for name, value in options.items():
        if name not in DJANGO_REDIS_OPTIONS:
            out[name] = value
            continue
        new = _one(name, value)
        for key in new:
            if key in options:
                raise ConfigurationError(
                    f"OPTIONS[{name!r}] (django-redis's) and OPTIONS[{key!r}] both set {key!r}: "
                    f"keep OPTIONS[{key!r}]"
                )
        out.update(new)
        renamed.append((name, _new_spelling(name, new)))
    return out, tuple(renamed)
