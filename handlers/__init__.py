"""Runbook scenarios."""
