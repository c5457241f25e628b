"""Thin Slack adapters: ack, parse into a command, call one use case, hand the result to render."""
