"""The fault-injection suite: real redis-server processes, real faults (see conftest.py)."""
