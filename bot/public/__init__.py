"""The public face: a status page in HTML and Atlassian Statuspage-compatible JSON."""
