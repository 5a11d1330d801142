"""The shipped contract suite, run on memory and Redis, sync and async faces (see conftest)."""

from cache_bridge.testing.contract import CacheContract


class TestContract(CacheContract):
    pass
