"""Adapters: each implements CacheProtocol and SyncCacheProtocol."""
