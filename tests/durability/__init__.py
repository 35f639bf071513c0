"""Durability under real faults: SIGKILLed workers, a restarted Temporal server, PostgreSQL
going away, two workers sharing a task queue."""
