"""cache_bridge/stampede/recipe.py, driven with scripted replies (no server): which effects it
asks for in each state of the entry."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from returns.result import Failure, Success

from cache_bridge.engine.keys import KeySpace
from cache_bridge.errors import CacheConnectionError
from cache_bridge.stampede import StampedeSettings
from cache_bridge.stampede.envelope import Envelope, wrap
from cache_bridge.stampede.recipe import (
    Compute,
    Pause,
    Recipe,
    Report,
    Run,
    Share,
    StampedeCall,
)
from cache_bridge.values import ValueCodec

CODEC = ValueCodec("json", sign=False)
NOW = 1_000.0
DOWN = Failure(CacheConnectionError("refused", operation="get", key="k"))


def _call(**options: Any) -> StampedeCall:
    settings = StampedeSettings(clock=lambda: NOW, **options)
    return StampedeCall(KeySpace(None), "k", 60, settings, CODEC)


def _stored(value: Any, fresh_until: float, stale_until: float, took: float = 0.1) -> bytes:
    return wrap(Envelope(CODEC.dumps("k", value), fresh_until, stale_until, took))


def _drive(steps: Recipe, replies: list[Any]) -> tuple[list[str], list[Report], Any]:
    """Send ``replies`` in turn (a Compute's reply is its value); the effects' names, the
    report returned (in a list, to compare at once) and the recipe's value."""
    names: list[str] = []
    reply = None
    try:
        effect = next(steps)
        while True:
            match effect:
                case Run(op):
                    names.append(op.name)
                case _:
                    names.append(type(effect).__name__)
            reply = replies.pop(0) if not isinstance(effect, Pause | Share) else None
            effect = steps.send(reply)
    except StopIteration as done:
        value, report = done.value
        assert isinstance(report, Report)
        return names, [report], value


def _effects(steps: Recipe, replies: list[Any]) -> tuple[list[str], Any]:
    """:func:`_drive`'s names and value."""
    names, _, value = _drive(steps, replies)
    return names, value


def test_a_fresh_entry_is_one_read() -> None:
    names, value = _effects(_call().steps(), [Success(_stored("v", NOW + 10, NOW + 20))])
    assert (names, value) == (["get"], "v")


def test_with_the_cache_down_it_computes_at_once_no_lock_no_wait() -> None:
    names, value = _effects(_call().steps(), [DOWN, "computed"])
    assert (names, value) == (["get", "Compute", "Share"], "computed")


def test_a_lock_that_cannot_be_asked_for_means_compute_at_once() -> None:
    names, value = _effects(_call().steps(), [Success(None), DOWN, "computed"])
    assert (names, value) == (["get", "lock_acquire", "Compute", "Share"], "computed")


def test_a_miss_takes_the_lock_looks_again_computes_stores_and_gives_it_back() -> None:
    replies = [Success(None), Success(True), Success(None), "v", Success(None), Success(True)]
    names, value = _effects(_call().steps(), replies)
    assert names == ["get", "lock_acquire", "get", "Compute", "Share", "set", "lock_release"]
    assert value == "v"


def test_a_waiter_takes_the_value_its_holder_stored() -> None:
    stored = Success(_stored("theirs", NOW + 10, NOW + 20))
    replies = [Success(None), Success(False), Success(False), stored]
    names, value = _effects(_call().steps(), replies)
    assert (names, value) == (["get", "lock_acquire", "lock_owned", "Pause", "get"], "theirs")


def test_a_waiter_computes_without_the_lock_after_wait() -> None:
    names, value = _effects(
        _call(wait=0).steps(), [Success(None), Success(False), "v", Success(None)]
    )
    assert (names, value) == (["get", "lock_acquire", "Compute", "Share", "set"], "v")


def test_a_stale_entry_loser_serves_it_at_once() -> None:
    stale = Success(_stored("old", NOW - 1, NOW + 20))
    names, value = _effects(_call().steps(), [stale, Success(False)])
    assert (names, value) == (["get", "lock_acquire"], "old")


def test_a_stale_entry_winner_shares_it_then_recomputes() -> None:
    stale = Success(_stored("old", NOW - 1, NOW + 20))
    replies = [stale, Success(True), "new", Success(None), Success(True)]
    names, value = _effects(_call().steps(), replies)
    assert names == ["get", "lock_acquire", "Share", "Compute", "Share", "set", "lock_release"]
    assert value == "new"


def test_past_its_hard_expiry_an_entry_is_a_miss() -> None:
    gone = Success(_stored("old", NOW - 10, NOW - 1))
    names, _ = _effects(
        _call().steps(), [gone, Success(True), Success(None), "v", Success(None), Success(True)]
    )
    assert names[:3] == ["get", "lock_acquire", "get"]


def test_early_refresh_is_drawn_with_the_injected_random() -> None:
    # 5 s before the fresh time, last computed in 1 s: with beta 1, the draw must be below
    # e^-5 (about 0.0067) to refresh: 1 - random() is the draw.
    entry = Success(_stored("v", NOW + 5, NOW + 20, took=1.0))
    never = _call(early=1.0, random=lambda: 0.0)
    assert _effects(never.steps(), [entry]) == (["get"], "v")
    drawn = _call(early=1.0, random=lambda: 0.999)
    names, value = _effects(drawn.steps(), [entry, Success(False)])
    assert (names, value) == (["get", "lock_acquire"], "v")  # another refreshes: served as is


def test_a_computation_that_raises_leaves_nothing_to_wait_for_in_the_lock() -> None:
    steps = _call().steps()
    assert isinstance(next(steps), Run)
    assert isinstance(steps.send(Success(None)), Run)  # lock
    assert isinstance(steps.send(Success(True)), Run)  # look again
    assert isinstance(steps.send(Success(None)), Compute)
    marked = steps.throw(RuntimeError("db down"))
    assert isinstance(marked, Run)
    assert marked.op.name == "set"  # NO_WAIT in the lock's place, not a release
    with pytest.raises(RuntimeError, match="db down"):
        steps.send(Success(None))


def test_a_cancelled_computation_gives_the_lock_back() -> None:
    steps = _call().steps()
    next(steps)
    steps.send(Success(None))
    steps.send(Success(True))
    steps.send(Success(None))
    release = steps.throw(KeyboardInterrupt())
    assert isinstance(release, Run)
    assert release.op.name == "lock_release"
    with pytest.raises(KeyboardInterrupt):
        steps.send(Success(True))


def test_a_waiter_told_nothing_to_wait_for_computes_at_once() -> None:
    replies = [Success(None), Success(False), Success(True), "v", Success(None)]
    names, reports, value = _drive(_call().steps(), replies)
    assert names == ["get", "lock_acquire", "lock_owned", "Compute", "Share", "set"]
    assert (value, reports[0].outcome) == ("v", "waited_out")


def test_a_plain_value_the_codec_reads_is_fresh_and_wins() -> None:
    plain = Success(CODEC.dumps("k", 200))
    names, reports, value = _drive(_call().steps(), [plain])
    assert (names, value, reports[0].outcome) == (["get"], 200, "fresh")


def test_a_value_the_codec_cannot_read_is_a_miss() -> None:
    replies = [Success(b"\xffgarbage"), DOWN, "v"]
    names, value = _effects(_call().steps(), replies)
    assert (names, value) == (["get", "lock_acquire", "Compute", "Share"], "v")


def test_a_waiter_past_its_deadline_computes_without_a_second_wait() -> None:
    call = replace(_call(), deadline=0.0)  # a deadline long past (perf_counter seconds)
    names, reports, value = _drive(
        call.steps(), [Success(None), Success(False), "v", Success(None)]
    )
    assert names == ["get", "lock_acquire", "Compute", "Share", "set"]
    assert (value, reports[0].outcome) == ("v", "waited_out")


def test_with_background_the_winner_detaches_after_sharing() -> None:
    stale = Success(_stored("old", NOW - 1, NOW + 20))
    steps = _call(background=True).steps()
    next(steps)
    steps.send(stale)
    shared = steps.send(Success(True))
    assert shared == Share("old", detach=True)
    assert isinstance(steps.send(None), Compute)  # what the background runs on


STALE = Success(_stored("old", NOW - 1, NOW + 20))
FRESH = Success(_stored("v", NOW + 10, NOW + 20))
NEARLY_DUE = Success(_stored("v", NOW + 5, NOW + 20, took=1.0))  # see the early refresh test


@pytest.mark.parametrize(
    ("options", "replies", "outcome"),
    [
        ({}, [FRESH], "fresh"),
        ({}, [STALE, Success(False)], "stale"),
        ({}, [STALE, Success(True), "new", Success(None), Success(True)], "refresh"),
        ({"lock": False}, [STALE, "new", Success(None)], "refresh"),
        ({"early": 1.0, "random": lambda: 0.999}, [NEARLY_DUE, Success(False)], "fresh"),
        (
            {"early": 1.0, "random": lambda: 0.999},
            [NEARLY_DUE, Success(True), "new", Success(None), Success(True)],
            "early",
        ),
        (
            {},
            [Success(None), Success(True), Success(None), "v", Success(None), Success(True)],
            "computed",
        ),
        ({}, [Success(None), Success(True), FRESH, Success(True)], "fresh"),
        ({"lock": False}, [Success(None), "v", Success(None)], "computed"),
        ({}, [DOWN, "v"], "fail_open"),
        ({}, [Success(None), DOWN, "v"], "fail_open"),
        ({}, [STALE, DOWN], "stale"),  # the lock cannot be asked for: the stale value serves
        ({}, [Success(None), Success(False), Success(False), FRESH], "waited"),
        (
            {},
            [
                *(Success(None), Success(False), Success(False), Success(None)),
                *(Success(True), FRESH, Success(True)),
            ],
            "waited",
        ),
        ({"wait": 0}, [Success(None), Success(False), "v", Success(None)], "waited_out"),
    ],
)
def test_each_ending_is_reported(options: dict[str, Any], replies: list[Any], outcome: str) -> None:
    _, reports, _ = _drive(_call(**options).steps(), list(replies))
    assert [report.outcome for report in reports] == [outcome]
    computed = outcome in {"refresh", "early", "computed", "fail_open", "waited_out"}
    seconds = reports[0].compute_seconds
    assert (seconds is not None and seconds >= 0) if computed else seconds is None


def test_a_detached_refresh_reports_when_its_computation_ends() -> None:
    steps = _call(background=True).steps()
    next(steps)
    steps.send(STALE)
    assert steps.send(Success(True)) == Share("old", detach=True)
    _, reports, value = _drive_from(steps, ["new", Success(None), Success(True)])
    assert [r.outcome for r in reports] == ["refresh"]
    assert value == "new"


def _drive_from(steps: Recipe, replies: list[Any]) -> tuple[list[str], list[Report], Any]:
    """:func:`_drive` on a recipe already started (its last effect answered with ``None``)."""

    def resumed() -> Recipe:
        reply = None
        while True:
            try:
                effect = steps.send(reply)
            except StopIteration as done:
                return done.value
            reply = yield effect

    return _drive(resumed(), replies)


def test_a_value_the_codec_cannot_write_leaves_nothing_to_wait_for() -> None:
    replies = [Success(None), Success(True), Success(None), {1, 2}, Success(None)]
    names, reports, value = _drive(_call().steps(), replies)
    # JSON cannot write a set: nothing is stored, and the lock is not released but replaced
    # by NO_WAIT (the one "set"), so that other processes do not wait for a value never stored
    assert names == ["get", "lock_acquire", "get", "Compute", "Share", "set"]
    assert (value, reports[0].outcome) == ({1, 2}, "computed")
