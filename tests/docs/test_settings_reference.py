"""docs/settings.md against the code: every option, key and system check the code knows is in
its tables, under the URLs that take it, with the default the code uses. The code's lists are
read from what it tells a user who got a name wrong (the "valid options" of its errors), so
the test follows the code wherever it moves."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from flask import Flask
from pytest_django import Settings as SettingsWrapper

from cache_bridge import ConfigurationError, config, create_sync_cache
from flask_cache_bridge import DEFAULTS, CacheBridge

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "settings.md"
UNKNOWN = "zzzzzz"

#: A URL of each kind, and the column of the adapter-options table that speaks for it.
URLS = {
    "memory://": "memory",
    "memory://docs-settings": "memory",
    "redis://127.0.0.1:1/0": "redis, rediss, unix",
    "rediss://127.0.0.1:1/0": "redis, rediss, unix",
    "unix:///tmp/cache-bridge-docs.sock": "redis, rediss, unix",
    "redis+cluster://127.0.0.1:1": "cluster",
    "rediss+cluster://127.0.0.1:1": "cluster",
    "redis+sentinel://127.0.0.1:1/service": "sentinel",
}


def table(heading: str) -> list[dict[str, str]]:
    """The rows of the first table under the heading that starts with ``heading``."""
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    rows: list[list[str]] = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    header, _, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def names(cell: str) -> list[str]:
    """The code-formatted names of a table cell (`a`, `b`)."""
    return re.findall(r"`([^`]+)`", cell)


def by_name(rows: list[dict[str, str]], column: str) -> dict[str, dict[str, str]]:
    return {name: row for row in rows for name in names(row[column])}


def listed(message: str, after: str) -> set[str]:
    """The names an error message lists after ``after`` (``Valid options: a, b.``)."""
    tail = message[message.index(after) + len(after) :]
    return {name.strip(" .'\"") for name in tail.split(",")}


def default_value(cell: str) -> object:
    """A default as the page writes it: ``none``, ``1.0``, ``10,000``, ``true``, `` `x` ``."""
    text = cell.strip("`").replace(",", "")
    words: dict[str, object] = {"none": None, "true": True, "false": False, "time.time": time.time}
    if text in words:
        return words[text]
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d+\.\d+", text):
        return float(text)
    return text


def valid_options(url: str) -> set[str]:
    with pytest.raises(ConfigurationError) as raised:
        create_sync_cache(url, **{UNKNOWN: 1})
    return listed(str(raised.value), "Valid options:")


OPTIONS = by_name(table("## Adapter options"), "option")


@pytest.mark.parametrize("url", list(URLS))
def test_every_option_a_url_takes_is_listed_under_it(url: str) -> None:
    column = URLS[url]
    taken = valid_options(url)
    assert taken <= set(OPTIONS), f"not in the table: {taken - set(OPTIONS)}"
    for option, row in OPTIONS.items():
        if option in taken:
            assert row[column] != "no", f"{option} is taken by {url}"
        else:
            assert row[column] == "no", f"{option} is refused by {url}"


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_yes_and_ignored_on_memory_say_whether_the_store_uses_it(option: str) -> None:
    uses = option in config.MemorySettings.__dataclass_fields__
    assert OPTIONS[option]["memory"] == ("yes" if uses else "ignored")


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_each_default_is_the_codes(option: str) -> None:
    parsed: dict[str, Any] = {
        "memory": config.parse("memory://", {}),
        "redis": config.parse("redis://127.0.0.1:1/0", {}),
        "sentinel": config.parse("redis+sentinel://127.0.0.1:1/service", {}),
    }
    for settings in (parsed["memory"], parsed["redis"], parsed["sentinel"]):
        if hasattr(settings, option):
            assert getattr(settings, option) == default_value(OPTIONS[option]["default"])
            return
    pytest.fail(f"{option}: no settings object has it")  # pragma: no cover


# -- Django -----------------------------------------------------------------------------------

BRIDGE = "django_cache_bridge.cache.BridgeCache"


def _bridge_errors(check_id: str) -> list[str]:
    return [m.msg for m in checks.run_checks() if m.id == f"django_cache_bridge.{check_id}"]


@pytest.mark.parametrize("url", ["memory://", "redis://127.0.0.1:1/0"])
def test_every_django_option_is_listed(settings: SettingsWrapper, url: str) -> None:
    settings.CACHES = {"default": {"BACKEND": BRIDGE, "LOCATION": url, "OPTIONS": {UNKNOWN: 1}}}
    (message,) = _bridge_errors("E002")
    django_options = listed(message, "Valid options:")
    adapter_options = valid_options(url) - {"key_prefix"}
    # The page says: the backend's own options, and every adapter option but key_prefix.
    assert adapter_options <= django_options
    own = by_name(table("### `OPTIONS`"), "option")
    assert django_options - adapter_options - set(OPTIONS) == set(own) - {"key_prefix"}


def test_every_django_ratelimit_key_is_listed(settings: SettingsWrapper) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"ZZZZZZ": 1}
    (message,) = _bridge_errors("E010")
    assert listed(message, "known:") == set(by_name(table("### `CACHE_BRIDGE_RATELIMIT`"), "key"))


def test_every_django_rule_key_is_listed(settings: SettingsWrapper) -> None:
    settings.CACHE_BRIDGE_RATELIMIT = {"RULES": [{"RATE": "1/m", "ZZZZZZ": 1}]}
    (message,) = _bridge_errors("E010")
    assert listed(message, "known:") == set(by_name(table("A rule of `RULES`"), "key"))


def test_every_system_check_is_listed() -> None:
    ids = {
        found
        for source in (ROOT / "integrations").rglob("*.py")
        for found in re.findall(r"django_cache_bridge\.[EW]\d{3}", source.read_text("utf-8"))
    }
    assert ids, "the checks are where the test looks"
    assert ids == set(by_name(table("### System checks"), "id"))


# -- Flask ------------------------------------------------------------------------------------


def test_every_flask_key_is_listed_with_its_default() -> None:
    rows = by_name(table("### Configuration keys"), "key")
    assert set(rows) == set(DEFAULTS)
    for key, default in DEFAULTS.items():
        shown = rows[key]["default"].strip("`")  # "memory://", None, 300, 1,048,576, {}, ...
        assert ast.literal_eval(shown.replace(",", "")) == default, key


def test_every_flask_ratelimit_key_is_listed() -> None:
    app = Flask("docs_settings")
    app.config.update(CACHE_BRIDGE_URL="memory://", CACHE_BRIDGE_RATELIMIT={"ZZZZZZ": 1})
    with pytest.raises(ConfigurationError) as raised:
        CacheBridge(app)
    keys = listed(str(raised.value), "Known:")
    assert keys == set(by_name(table("### `CACHE_BRIDGE_RATELIMIT` { #flask"), "key"))
