"""The Lua scripts the Redis-family adapters send, as package files (``NAME.lua``).

Each file starts with comment lines saying what the script takes and answers; :func:`load`
leaves them out of the text sent to the server.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

__all__ = ["load"]


@cache
def load(name: str) -> str:
    """The script in ``NAME.lua``, without its leading comment lines."""
    text = files(__name__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("--"):
        del lines[0]
    return "".join(lines)
