"""Recent deploys: the runbook's `git log --oneline -5`, from GitHub's API."""

from __future__ import annotations

import time
from datetime import datetime

import httpx

from bot.incidents.model import format_duration
from bot.probes import Result, State, unknown


async def recent_commits(
    http: httpx.AsyncClient, *, api_url: str, repo: str, token: str, now: float | None = None, count: int = 5
) -> Result:
    name = "Recent deploys"
    response = await http.get(
        f"{api_url.rstrip('/')}/repos/{repo}/commits",
        params={"per_page": count},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
    )
    if response.status_code != 200:
        return unknown(name, f"GitHub answered HTTP {response.status_code}")
    commits = response.json()
    if not isinstance(commits, list):
        return unknown(name, "unexpected answer from GitHub")
    now = time.time() if now is None else now
    lines = []
    newest_age = None
    for item in commits[:count]:
        commit = item["commit"]
        when = datetime.fromisoformat(commit["author"]["date"].replace("Z", "+00:00")).timestamp()
        age = max(0.0, now - when)
        newest_age = age if newest_age is None else min(newest_age, age)
        title = str(commit["message"]).splitlines()[0][:80]
        lines.append(f"{item['sha'][:7]} {title} ({format_duration(age)} ago, {commit['author']['name']})")
    if not lines:
        return Result(name, State.OK, "no commits", link=f"https://github.com/{repo}")
    summary = f"last change {format_duration(newest_age or 0)} ago"
    return Result(
        name,
        State.OK,
        summary,
        figure=f"{len(lines)} commits",
        details=tuple(lines),
        link=f"https://github.com/{repo}/commits",
    )
