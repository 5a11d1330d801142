"""Django integration for cache_bridge: a cache backend, protocol access, commands and checks."""
