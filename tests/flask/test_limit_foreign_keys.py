"""flask-limiter's ``RATELIMIT_*`` keys are never read: an app that still sets any of them is
told once, at ``init_app``, which ``CACHE_BRIDGE_RATELIMIT`` key to write instead (or that
there is none), naming keys only, never their values."""

from __future__ import annotations

import pytest

from tests.support.flask_fixtures import InitLogged, init_logged_fixture  # noqa: F401


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        ("RATELIMIT_APPLICATION", 'CACHE_BRIDGE_RATELIMIT["APPLICATION_LIMITS"]'),
        ("RATELIMIT_STRATEGY", 'CACHE_BRIDGE_RATELIMIT["ALGORITHM"]'),
        ("RATELIMIT_KEY_PREFIX", 'CACHE_BRIDGE_RATELIMIT["KEY_PREFIX"]'),
        ("RATELIMIT_ENABLED", 'CACHE_BRIDGE_RATELIMIT["ENABLED"]'),
        ("RATELIMIT_HEADERS_ENABLED", 'CACHE_BRIDGE_RATELIMIT["LEGACY_HEADERS"]'),
        ("RATELIMIT_SWALLOW_ERRORS", 'CACHE_BRIDGE_RATELIMIT["FAIL_OPEN"]'),
        ("RATELIMIT_DEFAULTS_PER_METHOD", '"PER_METHOD"'),
        ("RATELIMIT_STORAGE_OPTIONS", "CACHE_BRIDGE_OPTIONS"),
    ],
)
def test_a_limiter_key_names_its_counterpart(
    init_logged: InitLogged, theirs: str, ours: str
) -> None:
    [message] = init_logged(**{theirs: "secret-value"})
    assert theirs in message
    assert ours in message
    assert "secret-value" not in message  # names only


@pytest.mark.parametrize(
    "theirs",
    ["RATELIMIT_ON_META_BREACH_CALLBACK", "RATELIMIT_META", "RATELIMIT_REQUEST_IDENTIFIER"],
)
def test_a_limiter_key_without_a_counterpart_says_so(init_logged: InitLogged, theirs: str) -> None:
    [message] = init_logged(**{theirs: "x"})
    assert f"{theirs} (no counterpart" in message


def test_every_key_of_flask_limiter_is_known() -> None:
    from flask_limiter.constants import ConfigVars

    from flask_cache_bridge.settings import FOREIGN_KEYS, LIMITER_KEYS

    theirs = {v for k, v in vars(ConfigVars).items() if not k.startswith("_")}
    assert theirs - set(LIMITER_KEYS) - set(FOREIGN_KEYS) == set()


def test_several_keys_make_one_warning(init_logged: InitLogged) -> None:
    [message] = init_logged(RATELIMIT_STRATEGY="moving-window", RATELIMIT_ENABLED=False)
    assert "RATELIMIT_STRATEGY" in message
    assert "RATELIMIT_ENABLED" in message


def test_a_key_whose_counterpart_is_set_is_not_warned_about(init_logged: InitLogged) -> None:
    assert (
        init_logged(RATELIMIT_STRATEGY="x", CACHE_BRIDGE_RATELIMIT={"ALGORITHM": "token-bucket"})
        == []
    )


def test_an_app_without_limiter_keys_is_not_warned(init_logged: InitLogged) -> None:
    assert init_logged(CACHE_BRIDGE_RATELIMIT={"ENABLED": True}) == []
