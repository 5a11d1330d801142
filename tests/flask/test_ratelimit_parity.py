"""The same request sequences through flask-limiter and through flask_cache_bridge give the same
200/429 answers for each documented scenario, or the answers each library actually gives where
the behaviour differs on purpose (docs/ratelimit.md, "Coming from flask-limiter", says why).

Each test builds one app per library with the same routes and limits, on the same store kind:
flask-limiter on its ``memory://`` storage or on the test-started Redis, ours on a named memory
store with a fixed clock or on the same Redis. Every sequence runs inside one window of each
library: flask-limiter's fixed window starts at the first hit and lasts a minute or more, ours
are aligned to the clock, which is fixed on memory and checked on Redis (``inside_one_minute``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Blueprint, Flask, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from cache_bridge import ConfigurationError
from cache_bridge.ratelimit import when_status
from flask_cache_bridge import CacheBridge
from tests.support.ratelimit_clock import inside_one_minute

START = 1_700_006_400.0


@dataclass(frozen=True)
class Stores:
    """Where each library keeps its counters in one test."""

    peer: str  # flask-limiter's storage_uri
    ours: str  # CACHE_BRIDGE_URL
    fixed_clock: bool


@pytest.fixture
def stores(location: str, request: pytest.FixtureRequest) -> Stores:
    if location.startswith("memory://"):
        return Stores("memory://", location, fixed_clock=True)
    inside_one_minute(request.getfixturevalue("redis_client"))
    return Stores(location, location, fixed_clock=False)


def limiter_app(stores: Stores, **options: Any) -> tuple[Flask, Limiter]:
    """An app limited by flask-limiter (the client address as the key, as its docs show)."""
    app = Flask(f"peer_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    options.setdefault("key_func", get_remote_address)
    options.setdefault("key_prefix", f"peer{uuid.uuid4().hex}")  # apart on a shared Redis
    limiter = Limiter(app=app, storage_uri=stores.peer, **options)
    return app, limiter


def bridge_app(stores: Stores, **ratelimit: Any) -> tuple[Flask, CacheBridge]:
    """An app limited by flask_cache_bridge, ``ratelimit`` as ``CACHE_BRIDGE_RATELIMIT``."""
    app = Flask(f"ours_{uuid.uuid4().hex}")
    app.config["TESTING"] = True
    app.config["CACHE_BRIDGE_URL"] = stores.ours
    app.config["CACHE_BRIDGE_RATELIMIT"] = ratelimit
    if stores.fixed_clock:
        app.config["CACHE_BRIDGE_OPTIONS"] = {"clock": lambda: START + 1}
    return app, CacheBridge(app)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    ip: str = "127.0.0.1"
    headers: tuple[tuple[str, str], ...] = ()
    data: tuple[tuple[str, str], ...] = ()


def get(path: str, ip: str = "127.0.0.1", **headers: str) -> Call:
    return Call("GET", path, ip, tuple(headers.items()))


def post(path: str, **data: str) -> Call:
    return Call("POST", path, data=tuple(data.items()))


def statuses(app: Flask, calls: list[Call]) -> list[int]:
    """The status of each call, in order, from one test client."""
    client = app.test_client()
    return [
        client.open(
            call.path,
            method=call.method,
            headers=dict(call.headers),
            data=dict(call.data),
            environ_base={"REMOTE_ADDR": call.ip},
        ).status_code
        for call in calls
    ]


def routes(app: Flask, decorate: dict[str, Callable[[Any], Any]], methods: list[str]) -> None:
    """One route per path (its endpoint named after it), each under its decorators."""
    for path, decorator in decorate.items():

        def view() -> str:
            return "ok"

        # flask-limiter files decorated limits under the view's qualified name
        view.__name__ = view.__qualname__ = path.strip("/").replace("/", "_") or "root"
        app.add_url_rule(path, view.__name__, decorator(view), methods=methods)


def _compose(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``@a @b def v`` as ``_compose(a, b)(v)``."""

    def apply(view: Any) -> Any:
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return apply


# -- stacked limits on one key -------------------------------------------------------------------


@pytest.mark.parametrize("form", ["stacked", "one string"])
def test_stacked_limits_on_one_key(stores: Stores, form: str) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    if form == "stacked":
        peer = _compose(limiter.limit("5/minute"), limiter.limit("3/hour"))
        ours = _compose(bridge.limit("5/minute"), bridge.limit("3/hour"))
    else:
        peer = limiter.limit("5 per minute; 3 per hour")
        ours = bridge.limit("5 per minute; 3 per hour")
    routes(peer_app, {"/a": peer}, ["GET"])
    routes(our_app, {"/a": ours}, ["GET"])
    calls = [get("/a")] * 6 + [get("/a", ip="10.0.0.2")]
    expected = [200, 200, 200, 429, 429, 429, 200]  # the hour's 3; another client is apart
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def _api_key() -> str | None:
    return request.headers.get("X-Api-Key")


def test_a_key_function(stores: Stores) -> None:
    """``key_func`` is ``key``: both count per value, and neither counts a request for which
    it gives nothing."""
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/a": limiter.limit("2/hour", key_func=_api_key)}, ["GET"])  # type: ignore[arg-type]
    routes(our_app, {"/a": bridge.limit("2/hour", key=_api_key)}, ["GET"])
    calls = [get("/a", **{"X-Api-Key": "k1"})] * 3 + [get("/a", **{"X-Api-Key": "k2"})]
    calls += [get("/a")] * 3
    expected = [200, 200, 429, 200, 200, 200, 200]
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def test_config_keys(stores: Stores) -> None:
    """``RATELIMIT_DEFAULT`` and ``RATELIMIT_APPLICATION`` are ``DEFAULT_LIMITS`` and
    ``APPLICATION_LIMITS``: per route and per client, and per client across routes. As with
    a global limit, the request the default limit refuses uses the client's application quota
    there, not here."""
    peer_app = Flask(f"peer_{uuid.uuid4().hex}")
    peer_app.config.update(
        TESTING=True,
        RATELIMIT_STORAGE_URI=stores.peer,
        RATELIMIT_DEFAULT="2/hour",
        RATELIMIT_APPLICATION="3/hour",
        RATELIMIT_KEY_PREFIX=f"peer{uuid.uuid4().hex}",
    )
    Limiter(get_remote_address, app=peer_app)
    our_app, _ = bridge_app(stores, DEFAULT_LIMITS=["2/hour"], APPLICATION_LIMITS=["3/hour"])
    same = {"/a": lambda view: view, "/b": lambda view: view}
    routes(peer_app, same, ["GET"])
    routes(our_app, same, ["GET"])
    calls = [get("/a"), get("/a"), get("/a"), get("/b"), get("/b", "10.0.0.2")]
    assert statuses(peer_app, calls) == [200, 200, 429, 429, 200]
    assert statuses(our_app, calls) == [200, 200, 429, 200, 200]


def test_what_stacked_limits_counted(stores: Stores) -> None:
    """The answers agree, the counts do not (docs/ratelimit.md, "Counting compared with the
    peers"): after six requests to ``"5 per minute; 3 per hour"`` flask-limiter's counters
    read 6 and 5 (it counts refused requests in the limits it checked before the breach);
    ours read 3 and 3 (2 and 0 remaining, as the refusal's decisions say)."""
    prefix = f"counted{uuid.uuid4().hex}"
    peer_app, limiter = limiter_app(stores, key_prefix=prefix)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/a": limiter.limit("5 per minute; 3 per hour")}, ["GET"])
    routes(our_app, {"/a": bridge.limit("5 per minute; 3 per hour")}, ["GET"])
    assert statuses(peer_app, [get("/a")] * 6) == [200, 200, 200, 429, 429, 429]
    identifiers = (prefix, "127.0.0.1", "a")
    counted = [limiter.storage.get(parse(rate).key_for(*identifiers)) for rate in RATES]
    assert counted == [6, 5]
    refusals: list[Any] = []

    @our_app.errorhandler(429)
    def refused(error: Any) -> tuple[str, int]:
        refusals.append(error)
        return "slow down", 429

    assert statuses(our_app, [get("/a")] * 6) == [200, 200, 200, 429, 429, 429]
    left = {str(d.rate): d.remaining for d in refusals[-1].decisions}
    assert left == {"5/m": 2, "3/h": 0}  # counted: 3 and 3


RATES = ("5 per minute", "3 per hour")


# -- shared limits across views ------------------------------------------------------------------


def test_a_shared_limit_across_views(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    peer = limiter.shared_limit("3/hour", scope="search")
    ours = bridge.limit("3/hour", scope="search")
    routes(peer_app, {"/web": peer, "/images": peer}, ["GET"])
    routes(our_app, {"/web": ours, "/images": ours}, ["GET"])
    calls = [get("/web"), get("/images"), get("/web"), get("/images"), get("/web", "10.0.0.2")]
    expected = [200, 200, 200, 429, 200]  # one counter for both views, per client
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def test_a_shared_limit_with_a_scope_callable(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    peer = limiter.shared_limit("2/hour", scope=lambda endpoint: endpoint.split("_")[0])
    ours = bridge.limit("2/hour", scope=lambda endpoint: endpoint.split("_")[0])
    paths = ["/web/a", "/web/b", "/img/a"]
    routes(peer_app, dict.fromkeys(paths, peer), ["GET"])
    routes(our_app, dict.fromkeys(paths, ours), ["GET"])
    calls = [get("/web/a"), get("/web/b"), get("/web/a"), get("/img/a"), get("/img/a")]
    expected = [200, 200, 429, 200, 200]  # web_* share one counter, img_* another
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def test_limit_scope_is_per_view_there_and_shared_here(stores: Stores) -> None:
    """Deliberate: flask-limiter's ``limit(scope=...)`` (not ``shared_limit``) adds the scope to
    each endpoint's own counter; here ``scope=`` always names one shared counter (a per-view
    counter is what a limit without ``scope`` or ``name`` already has)."""
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    peer = limiter.limit("2/hour", scope="search")
    ours = bridge.limit("2/hour", scope="search")
    routes(peer_app, {"/web": peer, "/images": peer}, ["GET"])
    routes(our_app, {"/web": ours, "/images": ours}, ["GET"])
    calls = [get("/web"), get("/images")] * 3
    assert statuses(peer_app, calls) == [200, 200, 200, 200, 429, 429]
    assert statuses(our_app, calls) == [200, 200, 429, 429, 429, 429]
    our_app2, bridge2 = bridge_app(stores)
    per_view = bridge2.limit("2/hour")  # the migration of limit(scope=...): drop the scope
    routes(our_app2, {"/web": per_view, "/images": per_view}, ["GET"])
    assert statuses(our_app2, calls) == [200, 200, 200, 200, 429, 429]


def test_a_limit_on_a_blueprint(stores: Stores) -> None:
    """Deliberate: flask-limiter's limit on a blueprint counts each of its routes apart; here
    it is one counter for the whole blueprint (and its nested ones). ``scope=`` naming the
    endpoint gives flask-limiter's counting."""

    def blueprint() -> Blueprint:
        found = Blueprint("api", __name__)
        found.add_url_rule("/x", "x", lambda: "x")
        found.add_url_rule("/y", "y", lambda: "y")
        return found

    peer_app, limiter = limiter_app(stores)
    peer_bp = blueprint()
    limiter.limit("2/hour")(peer_bp)
    peer_app.register_blueprint(peer_bp, url_prefix="/api")
    apps = []
    for scope in (None, lambda endpoint: endpoint):
        our_app, bridge = bridge_app(stores)
        our_bp = blueprint()
        bridge.limit("2/hour", scope=scope)(our_bp)  # type: ignore[type-var]
        our_app.register_blueprint(our_bp, url_prefix="/api")
        apps.append(our_app)
    calls = [get("/api/x"), get("/api/y")] * 3
    assert statuses(peer_app, calls) == [200, 200, 200, 200, 429, 429]
    assert statuses(apps[0], calls) == [200, 200, 429, 429, 429, 429]
    assert statuses(apps[1], calls) == [200, 200, 200, 200, 429, 429]


# -- a global limit next to a per-client one -----------------------------------------------------


def test_a_global_limit_next_to_a_per_client_limit(stores: Stores) -> None:
    """Deliberate: flask-limiter decides application limits in ``before_request``, before and
    apart from the route's limits, so a request the per-client limit refuses has already used
    the global limit; here a refused request counts in neither (all of a request's limits are
    decided together), so the global quota goes to requests that are served."""
    everyone = "everyone"
    peer_app, limiter = limiter_app(
        stores, application_limits=[ApplicationLimit("5/hour", key_function=lambda: everyone)]
    )
    our_app, bridge = bridge_app(
        stores, APPLICATION_LIMITS=[{"RATE": "5/hour", "KEY": lambda: everyone}]
    )
    routes(peer_app, {"/a": limiter.limit("2/hour")}, ["GET"])
    routes(our_app, {"/a": bridge.limit("2/hour")}, ["GET"])
    calls = [get("/a", "10.0.0.1")] * 4 + [get("/a", "10.0.0.2")] * 3 + [get("/a", "10.0.0.3")] * 2
    # client 1 is refused twice by its own limit; then the global 5 runs out
    assert statuses(peer_app, calls) == [200, 200, 429, 429, 200, 429, 429, 429, 429]
    assert statuses(our_app, calls) == [200, 200, 429, 429, 200, 200, 429, 200, 429]


# -- cost ----------------------------------------------------------------------------------------


def test_a_static_cost(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/heavy": limiter.limit("10/hour", cost=4)}, ["GET"])
    routes(our_app, {"/heavy": bridge.limit("10/hour", cost=4)}, ["GET"])
    calls = [get("/heavy")] * 4
    assert statuses(peer_app, calls) == [200, 200, 429, 429]
    assert statuses(our_app, calls) == [200, 200, 429, 429]


def _rows() -> int:
    return int(request.args.get("rows", "1"))


def test_a_cost_per_request_after_a_refusal(stores: Stores) -> None:
    """Deliberate: flask-limiter's fixed window adds the cost and then compares, so a refused
    costly request keeps its units and the cheaper requests after it are refused too; here a
    refused request counts nothing."""
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/export": limiter.limit("10/hour", cost=_rows)}, ["GET"])
    routes(our_app, {"/export": bridge.limit("10/hour", cost=_rows)}, ["GET"])
    calls = [get(f"/export?rows={rows}") for rows in (4, 7, 6, 1)]
    assert statuses(peer_app, calls) == [200, 429, 429, 429]  # counted: 4, 11, 17, 18
    assert statuses(our_app, calls) == [200, 429, 200, 429]  # counted: 4, 4, 10, 10


def test_a_cost_above_the_limit(stores: Stores) -> None:
    """Deliberate: a static cost no request could ever pay is refused at configuration here;
    flask-limiter accepts it and refuses every request."""
    peer_app, limiter = limiter_app(stores)
    routes(peer_app, {"/never": limiter.limit("3/hour", cost=4)}, ["GET"])
    assert statuses(peer_app, [get("/never")] * 2) == [429, 429]
    _, bridge = bridge_app(stores)
    with pytest.raises(ConfigurationError, match="cost"):
        bridge.limit("3/hour", cost=4)


# -- deduct_when ---------------------------------------------------------------------------------


def test_deduct_when_counts_failed_logins_only(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)

    def failed(response: Any) -> bool:
        return bool(400 <= response.status_code < 500)

    def login() -> tuple[str, int]:
        ok = request.form.get("password") == "right"
        return ("welcome", 200) if ok else ("wrong password", 401)

    peer_app.add_url_rule(
        "/login", "login", limiter.limit("3/hour", deduct_when=failed)(login), methods=["POST"]
    )
    ours = bridge.limit("3/hour", deduct_when=when_status(400, 499))(login)
    our_app.add_url_rule("/login", "login", ours, methods=["POST"])
    calls = [post("/login", password="right")] * 5 + [post("/login", password="wrong")] * 4
    calls.append(post("/login", password="right"))
    expected = [200] * 5 + [401, 401, 401, 429, 429]
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


# -- exemptions ----------------------------------------------------------------------------------


def _internal() -> bool:
    return request.headers.get("X-Internal") == "yes"


def test_exempt_when_on_one_limit(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/a": limiter.limit("2/hour", exempt_when=_internal)}, ["GET"])
    routes(our_app, {"/a": bridge.limit("2/hour", exempt_when=_internal)}, ["GET"])
    calls = [get("/a", **{"X-Internal": "yes"})] * 3 + [get("/a")] * 3
    expected = [200, 200, 200, 200, 200, 429]  # the exempt requests count nothing
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def test_exempt_views_and_request_filters(stores: Stores) -> None:
    """``@limiter.exempt`` is ``@bridge.exempt``; ``@limiter.request_filter`` is
    ``EXEMPT_WHEN``; an address allowlist written as a request filter is ``EXEMPT``."""
    peer_app, limiter = limiter_app(stores, default_limits=["2/hour"])
    our_app, bridge = bridge_app(
        stores, DEFAULT_LIMITS=["2/hour"], EXEMPT_WHEN=_internal, EXEMPT=["192.0.2.0/24"]
    )
    limiter.request_filter(_internal)
    limiter.request_filter(lambda: request.remote_addr in ("192.0.2.10", "192.0.2.11"))
    routes(peer_app, {"/a": lambda view: view, "/health": limiter.exempt}, ["GET"])
    routes(our_app, {"/a": lambda view: view, "/health": bridge.exempt}, ["GET"])
    calls = (
        [get("/health")] * 3
        + [get("/a", **{"X-Internal": "yes"})] * 3
        + [get("/a", "192.0.2.10")] * 3
        + [get("/a")] * 3
    )
    expected = [200] * 9 + [200, 200, 429]
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


# -- default limits ------------------------------------------------------------------------------


def test_default_limits_with_two_rates(stores: Stores) -> None:
    peer_app, _ = limiter_app(stores, default_limits=["2 per minute", "3 per hour"])
    our_app, _ = bridge_app(stores, DEFAULT_LIMITS=["2 per minute", "3 per hour"])
    same = {"/a": lambda view: view, "/b": lambda view: view}
    routes(peer_app, same, ["GET"])
    routes(our_app, same, ["GET"])
    calls = [get("/a")] * 3 + [get("/b")] * 3 + [get("/a", "10.0.0.2")]
    expected = [200, 200, 429, 200, 200, 429, 200]  # per route and per client
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def test_default_limits_with_cost_and_exempt_when(stores: Stores) -> None:
    """``default_limits_cost`` and ``default_limits_exempt_when`` are ``COST`` and
    ``EXEMPT_WHEN`` in a ``DEFAULT_LIMITS`` entry."""
    peer_app, _ = limiter_app(
        stores,
        default_limits=["4/hour"],
        default_limits_cost=2,
        default_limits_exempt_when=_internal,
    )
    our_app, _ = bridge_app(
        stores, DEFAULT_LIMITS=[{"RATE": "4/hour", "COST": 2, "EXEMPT_WHEN": _internal}]
    )
    routes(peer_app, {"/a": lambda view: view}, ["GET"])
    routes(our_app, {"/a": lambda view: view}, ["GET"])
    calls = [get("/a", **{"X-Internal": "yes"})] * 2 + [get("/a")] * 3
    expected = [200, 200, 200, 200, 429]
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def test_an_async_view(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)

    async def report() -> str:
        return "report"

    peer_app.add_url_rule("/report", "report", limiter.limit("2/hour")(report))
    our_app.add_url_rule("/report", "report", bridge.limit("2/hour")(report))
    calls = [get("/report")] * 3
    assert statuses(peer_app, calls) == [200, 200, 429]
    assert statuses(our_app, calls) == [200, 200, 429]


@pytest.mark.parametrize("override", [False, True])
def test_a_route_limit_next_to_the_defaults(stores: Stores, override: bool) -> None:
    """Deliberate: flask-limiter's route limits replace the defaults; here both apply unless
    ``OVERRIDE_DEFAULTS`` (or ``override_defaults=True``) says otherwise."""
    peer_app, limiter = limiter_app(stores, default_limits=["2/hour"])
    our_app, bridge = bridge_app(stores, DEFAULT_LIMITS=["2/hour"], OVERRIDE_DEFAULTS=override)
    routes(peer_app, {"/a": limiter.limit("4/hour")}, ["GET"])
    routes(our_app, {"/a": bridge.limit("4/hour")}, ["GET"])
    calls = [get("/a")] * 5
    assert statuses(peer_app, calls) == [200, 200, 200, 200, 429]
    ours = [200, 200, 200, 200, 429] if override else [200, 200, 429, 429, 429]
    assert statuses(our_app, calls) == ours


def test_defaults_return_for_a_method_the_route_limit_skips(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores, default_limits=["2/hour"])
    our_app, bridge = bridge_app(stores, DEFAULT_LIMITS=["2/hour"], OVERRIDE_DEFAULTS=True)
    routes(peer_app, {"/a": limiter.limit("4/hour", methods=["POST"])}, ["GET", "POST"])
    routes(our_app, {"/a": bridge.limit("4/hour", methods=["POST"])}, ["GET", "POST"])
    calls = [get("/a")] * 3 + [post("/a")] * 5
    expected = [200, 200, 429, 200, 200, 200, 200, 429]  # GET: the default; POST: the route's
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def _plan_rate() -> str:
    return "4/hour" if request.headers.get("X-Plan") == "pro" else "2/hour"


def test_a_rate_per_request(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/api": limiter.limit(_plan_rate)}, ["GET"])
    routes(our_app, {"/api": bridge.limit(_plan_rate)}, ["GET"])
    calls = [get("/api", "10.0.0.1")] * 3 + [get("/api", "10.0.0.2", **{"X-Plan": "pro"})] * 5
    expected = [200, 200, 429, 200, 200, 200, 200, 429]
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


# -- methods -------------------------------------------------------------------------------------


def test_methods(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/form": limiter.limit("2/hour", methods=["POST"])}, ["GET", "POST"])
    routes(our_app, {"/form": bridge.limit("2/hour", methods=["POST"])}, ["GET", "POST"])
    calls = [get("/form")] * 3 + [post("/form")] * 3
    expected = [200, 200, 200, 200, 200, 429]  # GET is not counted
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


def test_per_method_written_as_one_limit_per_method(stores: Stores) -> None:
    """flask-limiter's ``per_method=True`` (one counter per HTTP method) has no argument here
    yet: one limit per method, each with its own ``name``, counts the same."""
    peer_app, limiter = limiter_app(stores)
    our_app, bridge = bridge_app(stores)
    routes(peer_app, {"/form": limiter.limit("2/hour", per_method=True)}, ["GET", "POST"])
    ours = _compose(
        bridge.limit("2/hour", methods=["GET"], name="form-get"),
        bridge.limit("2/hour", methods=["POST"], name="form-post"),
    )
    routes(our_app, {"/form": ours}, ["GET", "POST"])
    calls = [get("/form")] * 3 + [post("/form")] * 3
    expected = [200, 200, 429, 200, 200, 429]
    assert statuses(peer_app, calls) == expected
    assert statuses(our_app, calls) == expected


# -- strategies and headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "algorithm"),
    [
        ("fixed-window", "fixed-window"),
        ("sliding-window-counter", "sliding-window"),
        ("moving-window", "token-bucket"),
    ],
)
def test_strategies_on_a_first_burst(stores: Stores, strategy: str, algorithm: str) -> None:
    peer_app, limiter = limiter_app(stores, strategy=strategy)
    our_app, bridge = bridge_app(stores, ALGORITHM=algorithm)
    routes(peer_app, {"/a": limiter.limit("3/hour")}, ["GET"])
    routes(our_app, {"/a": bridge.limit("3/hour")}, ["GET"])
    calls = [get("/a")] * 4
    assert statuses(peer_app, calls) == [200, 200, 200, 429]
    assert statuses(our_app, calls) == [200, 200, 200, 429]


def test_the_legacy_headers(stores: Stores) -> None:
    """``headers_enabled=True`` is ``LEGACY_HEADERS: True`` (next to the RateLimit fields, on
    by default): the same limit and remaining count; ``X-RateLimit-Reset`` is seconds from now
    here, a Unix time there."""
    peer_app, limiter = limiter_app(stores, headers_enabled=True)
    our_app, bridge = bridge_app(stores, LEGACY_HEADERS=True)
    routes(peer_app, {"/a": limiter.limit("3/hour")}, ["GET"])
    routes(our_app, {"/a": bridge.limit("3/hour")}, ["GET"])
    peer = peer_app.test_client().get("/a").headers
    ours = our_app.test_client().get("/a").headers
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining"):
        assert peer[name] == ours[name]
    assert (peer["X-RateLimit-Limit"], peer["X-RateLimit-Remaining"]) == ("3", "2")
    assert int(ours["X-RateLimit-Reset"]) <= 3600 < int(peer["X-RateLimit-Reset"])
    assert "RateLimit-Policy" in ours
    assert "RateLimit-Policy" not in peer


def test_an_exempt_request_gets_no_headers(stores: Stores) -> None:
    peer_app, limiter = limiter_app(stores, headers_enabled=True)
    our_app, bridge = bridge_app(stores, LEGACY_HEADERS=True)
    routes(peer_app, {"/a": limiter.limit("3/hour", exempt_when=_internal)}, ["GET"])
    routes(our_app, {"/a": bridge.limit("3/hour", exempt_when=_internal)}, ["GET"])
    internal = {"X-Internal": "yes"}
    peer = peer_app.test_client().get("/a", headers=internal).headers
    ours = our_app.test_client().get("/a", headers=internal).headers
    assert [name for name in ("X-RateLimit-Limit", "Retry-After") if name in peer] == []
    names = ("X-RateLimit-Limit", "RateLimit", "RateLimit-Policy", "Retry-After")
    assert [name for name in names if name in ours] == []
