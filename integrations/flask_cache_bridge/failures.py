"""The extension's own log, ``flask_cache_bridge``: what only the extension knows.

Outages of a network adapter (the server unreachable, timeouts, the circuit opening, the
recovery) are logged by the adapter itself, on the ``cache_bridge`` logger, by the quiet-log
rule of :mod:`cache_bridge.resilience.outage_log`; the extension does not log them again. It logs by
the same rule, with the same :class:`~cache_bridge.resilience.outage_log.OutageLog`, what the
adapter
cannot see: a stored response it could not read, a call whose hand-off to the background
event loop gave up, a closed app's cache, and any failure of the in-memory adapter (which has
no outage log of its own).
"""

from __future__ import annotations

import logging

__all__ = ["logger"]

logger = logging.getLogger("flask_cache_bridge")
