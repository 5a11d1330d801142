"""Conditional answers for ``@bridge.cached`` views: an ``ETag`` computed from the stored body
(a view's own ETag is kept), ``Age`` on answers from the cache, and ``304 Not Modified`` for a
GET or HEAD whose ``If-None-Match`` matches (weak comparison, ``*`` included; RFC 9110,
section 13.1.2), answered from the cache without running the view.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from typing import Any

from flask import Response, current_app, request

__all__ = ["STORED_AT", "add_age", "not_modified", "strong_etag", "tag"]

#: The stored entry's field holding the time it was stored (seconds since the epoch).
STORED_AT = "at"
# What a 304 carries of the headers the 200 would have had (RFC 9110, section 15.4.5).
_KEPT_ON_304 = ("Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary")


def strong_etag(body: bytes) -> str:
    """A strong entity tag of ``body``: 27 base64url characters of its SHA-256."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return digest[:27]


def tag(response: Response) -> None:
    """Give a 200 response an ETag from its body, unless the view set one."""
    if response.status_code == 200 and "ETag" not in response.headers:
        response.set_etag(strong_etag(response.get_data()))


def add_age(response: Response, stored: dict[str, Any]) -> None:
    """Add ``Age`` (whole seconds since the entry was stored) to a response from the cache."""
    at = stored.get(STORED_AT)
    if isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at):
        response.headers["Age"] = str(max(0, math.floor(time.time() - at)))


def not_modified(response: Response) -> Response | None:
    """A 304 for this request if its ``If-None-Match`` matches ``response``'s ETag, else
    None."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return None
    etag, _weak = response.get_etag()
    conditions = request.if_none_match
    if etag is None or not conditions:
        return None
    if not (conditions.star_tag or conditions.contains_weak(etag)):
        return None
    answer: Response = current_app.response_class(status=304)
    for name in (*_KEPT_ON_304, "Age"):
        if name in response.headers:
            answer.headers[name] = response.headers[name]
    return answer
