"""Building an adapter face from settings that are already checked, so that a URL is parsed
once: :func:`cache_bridge.factory.create_cache` parses it and hands the settings over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

__all__ = ["FromSettings"]


class FromSettings:
    """``Face.from_settings(settings, **extra)``: the face for checked ``settings``, without
    parsing a URL again; ``Face(url, **options)`` checks them and then does the same.

    A face class defines ``_start(settings, **extra)``, which its ``__init__`` calls too."""

    _start: Callable[..., None]

    @classmethod
    def from_settings(cls, settings: Any, **extra: Any) -> Self:
        """The face for ``settings`` (a checked configuration of the kind this face takes)."""
        face = cls.__new__(cls)
        face._start(settings, **extra)
        return face
