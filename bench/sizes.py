"""How much work each group does per round: a full run and a quick smoke run."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "Sizes"]


@dataclass(frozen=True)
class Sizes:
    single: int  # calls per round for one-key operations
    batch: int  # calls per round for get_many / set_many of 100 keys
    concurrent: int  # calls per task per round, 50 tasks
    requests: int  # test-client requests per round
    delete_calls: int  # delete_pattern calls per round
    delete_keys: int  # keys each delete_pattern removes
    many: int = 100  # keys per get_many / set_many


FULL = Sizes(
    single=1000, batch=150, concurrent=100, requests=300, delete_calls=1, delete_keys=10_000
)
QUICK = Sizes(single=20, batch=5, concurrent=4, requests=10, delete_calls=1, delete_keys=500)
