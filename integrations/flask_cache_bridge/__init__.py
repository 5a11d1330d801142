"""Flask integration for cache_bridge: the CacheBridge extension."""
