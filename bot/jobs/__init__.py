"""Timed and background work: durable timers (scheduler), recurring housekeeping, the lease."""
