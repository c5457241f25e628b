"""The runbook's clock: paging, acknowledgement, escalation, nudges and the monitoring watch.

Pure rules (``durations``, ``rules``, ``pagerduty``, ``messages``) decide what is due when; ``service``
applies them inside the incident's unit of work; ``timers`` holds the durable-timer handlers.
"""
