"""What differs between the redis-py versions the adapter supports (5.2 and later)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["connection_getter"]


def connection_getter(pool: Any) -> Callable[[], Any]:
    """``pool.get_connection`` as a call without arguments: redis-py before 5.3 requires a
    command name (which it ignores); 5.3 and later deprecate passing one."""
    get = pool.get_connection
    parameter = inspect.signature(get).parameters.get("command_name")
    if parameter is None or parameter.default is not inspect.Parameter.empty:
        return get  # type: ignore[no-any-return]
    return lambda: get("PING")
