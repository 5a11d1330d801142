"""django-redis's OPTIONS on BridgeCache: the common ones accepted under their new names, each
reported once by an Info check (I020) naming the new spelling; the rest errors (E020) whose
hint names the replacement or says there is none."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.checks import check_caches
from django_cache_bridge.django_redis_options import translate
from tests.support.django_helpers import alias, bridge

DR = "django_redis."


def _messages(settings: SettingsWrapper, options: dict[str, Any]) -> list[checks.CheckMessage]:
    settings.CACHES = {"default": alias("redis://127.0.0.1:1/0", KEY_PREFIX="s", OPTIONS=options)}
    return check_caches()


def test_a_django_redis_caches_entry_gives_only_info_and_works(
    settings: SettingsWrapper, redis_url: str, redis_client: object
) -> None:
    options = {
        "CLIENT_CLASS": DR + "client.DefaultClient",
        "SOCKET_CONNECT_TIMEOUT": 5,
        "SOCKET_TIMEOUT": 5,
        "CONNECTION_POOL_KWARGS": {"max_connections": 50},
        "IGNORE_EXCEPTIONS": True,
        "LOG_IGNORED_EXCEPTIONS": True,
        "SERIALIZER": DR + "serializers.pickle.PickleSerializer",
        "COMPRESSOR": DR + "compressors.identity.IdentityCompressor",
        "CLOSE_CONNECTION": False,
        "PICKLE_VERSION": -1,
    }
    settings.CACHES = {"default": alias(redis_url, KEY_PREFIX="site", OPTIONS=options)}
    messages = check_caches()
    assert {m.id for m in messages} == {"django_cache_bridge.I020"}
    assert len(messages) == len(options)  # each option once
    by_option = {m.msg.split("OPTIONS[")[1].split("]")[0]: m for m in messages}
    assert "OPTIONS['timeout'] = 5" in by_option["'SOCKET_TIMEOUT'"].msg
    assert "OPTIONS['connect_timeout'] = 5" in by_option["'SOCKET_CONNECT_TIMEOUT'"].msg
    assert "OPTIONS['max_connections'] = 50" in by_option["'CONNECTION_POOL_KWARGS'"].msg
    assert "OPTIONS['fail_open'] = True" in by_option["'IGNORE_EXCEPTIONS'"].msg
    assert "OPTIONS['serializer'] = 'pickle'" in by_option["'SERIALIZER'"].msg
    assert "SILENCED_SYSTEM_CHECKS" in (by_option["'SOCKET_TIMEOUT'"].hint or "")
    dj = bridge()
    config = dict(dj.bridge_config.core_options)
    assert config == {"timeout": 5, "connect_timeout": 5, "max_connections": 50}
    assert dj.bridge_config.fail_open is True
    dj.set("k", 1)
    assert dj.get("k") == 1


def test_the_password_is_never_shown(settings: SettingsWrapper) -> None:
    (message,) = _messages(settings, {"PASSWORD": "s3cret"})
    assert message.id == "django_cache_bridge.I020"
    assert "s3cret" not in message.msg
    assert "s3cret" not in (message.hint or "")


@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [
        ("CLIENT_CLASS", DR + "client.ShardClient", "redis+cluster://"),
        ("CLIENT_CLASS", DR + "client.SentinelClient", "redis+sentinel://"),
        ("CLIENT_CLASS", DR + "client.HerdClient", "no herd client"),
        ("CLIENT_CLASS", "myapp.Client", "no equivalent"),
        ("SENTINELS", [("localhost", 26379)], "redis+sentinel://"),
        ("CONNECTION_POOL_CLASS", "redis.BlockingConnectionPool", "no equivalent"),
        ("PARSER_CLASS", "redis.connection.HiredisParser", "hiredis is used"),
        ("REDIS_CLIENT_CLASS", "redis.Redis", "no equivalent"),
        ("REPLICA_READ_ONLY", False, "never reads replicas"),
        ("COMPRESSOR", DR + "compressors.lzma.LzmaCompressor", "lzma"),
        ("SERIALIZER", "myapp.Serializer", "custom serializer"),
        ("CONNECTION_POOL_KWARGS", {"health_check_interval": 30}, "no equivalent"),
    ],
)
def test_the_rest_are_errors_whose_hint_says_what_instead(
    settings: SettingsWrapper, option: str, value: object, hint: str
) -> None:
    (message,) = _messages(settings, {option: value})
    assert message.id == "django_cache_bridge.E020"
    assert option in message.msg
    assert hint in (message.hint or "")


def test_both_spellings_at_once_is_an_error(settings: SettingsWrapper) -> None:
    (message,) = _messages(settings, {"SOCKET_TIMEOUT": 1, "timeout": 2})
    assert message.id == "django_cache_bridge.E002"
    assert "keep OPTIONS['timeout']" in message.msg


@pytest.mark.parametrize(
    ("path", "new"),
    [
        (DR + "compressors.zlib.ZlibCompressor", {"compressor": "zlib"}),
        (DR + "compressors.gzip.GzipCompressor", {"compressor": "zlib"}),
        (DR + "compressors.zstd.ZStdCompressor", {"compressor": "zstd"}),
        (DR + "compressors.lz4.Lz4Compressor", {"compressor": "lz4"}),
        (DR + "compressors.identity.IdentityCompressor", {}),
    ],
)
def test_compressor_class_paths_map_to_the_compressor_option(
    path: str, new: dict[str, str]
) -> None:
    assert translate({"COMPRESSOR": path})[0] == new


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (DR + "serializers.pickle.PickleSerializer", "pickle"),
        (DR + "serializers.json.JSONSerializer", "json"),
        (DR + "serializers.msgpack.MSGPackSerializer", "msgpack"),
    ],
)
def test_serializer_class_paths_map_to_the_serializer_option(path: str, name: str) -> None:
    assert translate({"SERIALIZER": path})[0] == {"serializer": name}


@pytest.mark.parametrize(
    ("compressor", "serializer"),
    [
        ("zlib.ZlibCompressor", "json.JSONSerializer"),
        ("gzip.GzipCompressor", "pickle.PickleSerializer"),
        ("identity.IdentityCompressor", "json.JSONSerializer"),
    ],
)
def test_codec_class_paths_work_end_to_end(
    settings: SettingsWrapper, compressor: str, serializer: str
) -> None:
    options = {
        "COMPRESSOR": f"{DR}compressors.{compressor}",
        "SERIALIZER": f"{DR}serializers.{serializer}",
    }
    settings.CACHES = {"default": alias(f"memory://dr-codec-{compressor}", OPTIONS=options)}
    assert {m.id for m in check_caches()} == {"django_cache_bridge.I020"}
    dj = bridge()
    value = {"text": "x" * 5000}
    dj.set("k", value)
    assert dj.get("k") == value
