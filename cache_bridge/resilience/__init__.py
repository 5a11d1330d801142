"""Runtime state around a network adapter: the circuit breaker, the guard that admits and
settles calls, and the outage log."""
