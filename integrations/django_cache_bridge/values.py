"""How BridgeCache turns Python values into stored bytes and back.

- ``int`` values in signed 64 bits are stored as decimal text, as Redis counters are, so
  ``incr`` is one atomic command and the protocol's ``increment`` sees the same number.
- Anything else is pickled (or JSON-encoded) behind a format marker. Pickles are signed by
  default with an HMAC-SHA256 keyed from ``SECRET_KEY`` and bound to the stored key: a value
  whose signature does not verify, or whose format this alias does not read, is never
  unpickled; it is a miss and a logged warning.
"""

from __future__ import annotations

import hmac
import json
import logging
import pickle
import re
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

__all__ = ["MISSING", "ValueCodec"]

logger = logging.getLogger("django_cache_bridge")

_INTEGER = re.compile(rb"0|-?[1-9][0-9]{0,18}")
_INT64 = 2**63
_SIGNED = b"cb:s1:"
_PICKLED = b"cb:p1:"
_JSON = b"cb:j1:"
_MAC_SIZE = 32
_SALT = "django_cache_bridge.values"

#: Returned by :meth:`ValueCodec.loads` for a value that must be treated as a miss.
MISSING: Any = object()


def _mac(key: str, payload: bytes, secret: str | bytes) -> bytes:
    message = key.encode("utf-8") + b"\0" + payload
    return salted_hmac(_SALT, message, secret=secret, algorithm="sha256").digest()


def _secrets() -> list[str | bytes]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


class ValueCodec:
    """Encode and decode values for one alias (``serializer`` is ``pickle`` or ``json``)."""

    def __init__(self, serializer: str = "pickle", sign: bool = True) -> None:
        self.serializer = serializer
        self.sign = sign

    def dumps(self, key: str, value: Any) -> bytes:
        """The stored form of ``value`` at ``key``; unpicklable or non-JSON values raise."""
        if type(value) is int and -_INT64 <= value < _INT64:
            return str(value).encode("ascii")
        if self.serializer == "json":
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            return _JSON + text.encode("utf-8")
        payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        if self.sign:
            return _SIGNED + _mac(key, payload, settings.SECRET_KEY) + payload
        return _PICKLED + payload

    def loads(self, key: str, data: bytes) -> Any:
        """The value stored as ``data`` at ``key``, or :data:`MISSING` (logged) if it is
        tampered, foreign or undecodable."""
        if _INTEGER.fullmatch(data) is not None:
            return int(data)
        try:
            if data.startswith(_JSON) and self.serializer == "json":
                return json.loads(data[len(_JSON) :])
            if data.startswith(_SIGNED) and self.serializer == "pickle":
                return self._verified(key, data[len(_SIGNED) :])
            if data.startswith(_PICKLED) and self.serializer == "pickle" and not self.sign:
                return pickle.loads(data[len(_PICKLED) :])
        except Exception as exc:
            logger.warning(
                "cache value at %r could not be decoded (%s); treated as a miss", key, exc
            )
            return MISSING
        logger.warning(
            "cache value at %r is not in a format this cache reads (serializer=%s, sign=%s); "
            "treated as a miss",
            key,
            self.serializer,
            self.sign,
        )
        return MISSING

    def _verified(self, key: str, signed: bytes) -> Any:
        mac, payload = signed[:_MAC_SIZE], signed[_MAC_SIZE:]
        for secret in _secrets():
            if hmac.compare_digest(mac, _mac(key, payload, secret)):
                return pickle.loads(payload)
        logger.warning(
            "cache value at %r has a bad signature (tampered, or signed with another "
            "SECRET_KEY); treated as a miss, not unpickled",
            key,
        )
        return MISSING
