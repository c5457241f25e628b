"""Timed and exclusive work: the lease (and, beside it, the scheduler)."""
