"""runbook"""
