"""Idle memory and start-to-ready time of `opsbot serve` (targets: <= 100 MB RSS, <= 1.5 s).

Start-to-ready is from spawning the process to the first 200 from /healthz (store opened and
migrated, Bolt app built, listening). Memory is the resident set after a few seconds idle, with
one incident on record.

    python benchmarks/footprint.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import time

import httpx

from benchmarks.common import rss_mb, signed_command, start_opsbot, start_sim, stop


def main(runs: int) -> None:
    sim, sim_url = start_sim()
    readies: list[float] = []
    rss: list[float] = []
    try:
        for _ in range(runs):
            proc, base, ready = start_opsbot(sim_url)
            readies.append(ready)
            body, headers = signed_command("open P1 checkout broken", sim_url=sim_url, n=1)
            httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=10)
            time.sleep(3)
            rss.append(rss_mb(proc.pid))
            stop(proc)
    finally:
        stop(sim)
    print(f"opsbot serve, {runs} starts (SQLite store, fresh database each time)")
    print(
        f"  start-to-ready: median {statistics.median(readies):.2f}s, "
        f"max {max(readies):.2f}s (target <= 1.5s)"
    )
    print(
        f"  idle RSS:       median {statistics.median(rss):.1f} MB, max {max(rss):.1f} MB (target <= 100 MB)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
