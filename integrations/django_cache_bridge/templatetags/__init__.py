"""Template tags of django_cache_bridge (``{% load cache_bridge_stampede %}``)."""
