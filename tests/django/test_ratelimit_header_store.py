"""``add_headers`` writes the RateLimit headers straight into Django's header store (a dict of
lowercased names to ``(name, value)``), skipping ResponseHeaders' per-header checks (about 3 us
a response; ``python bench/ratelimit_cost.py --frameworks`` prints both paths). These tests
fail if Django changes that structure, so that the shortcut is revisited, not silently wrong."""

from __future__ import annotations

import dataclasses

from django.http import HttpResponse

from cache_bridge.ratelimit import Decision, Rate
from django_cache_bridge.ratelimit import add_headers
from django_cache_bridge.ratelimit_config import current_config

DECISIONS = [Decision(True, 100, 99, 30.0, 0.0, "api", Rate(100, 3600))]


def _public(replace: bool, preset: dict[str, str]) -> HttpResponse:
    """The headers as Django's public API would write them."""
    from cache_bridge.ratelimit.headers import rate_limit_headers

    response = HttpResponse("ok", headers=preset)
    for name, value in rate_limit_headers(DECISIONS, legacy=True).items():
        if replace:
            response.headers[name] = value
        else:
            response.headers.setdefault(name, value)
    return response


def test_django_keeps_headers_in_a_dict_of_lowercased_names() -> None:
    response = HttpResponse("ok")
    response.headers["RateLimit-Policy"] = '"a";q=1;w=1'
    store = response.headers._store
    assert type(store) is dict
    assert store["ratelimit-policy"] == ("RateLimit-Policy", '"a";q=1;w=1')


def test_the_shortcut_writes_what_the_public_api_writes() -> None:
    config = dataclasses.replace(current_config(), legacy_headers=True)
    for replace in (False, True):
        for preset in ({}, {"RateLimit": "mine"}):
            response = HttpResponse("ok", headers=preset)
            ours = add_headers(response, DECISIONS, config, True, replace=replace)
            expected = _public(replace, preset)
            assert ours.serialize_headers() == expected.serialize_headers()
            for name, value in expected.items():
                assert ours[name] == ours[name.lower()] == value
                assert ours.has_header(name.upper())
