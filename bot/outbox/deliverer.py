"""The delivery loop: while this instance holds the outbox lease, claim due items in rounds (fenced by the
lease term), send each lane in order, and keep the instance honest about its own health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import StoreUnavailable
from bot.jobs.lease import Lease, LeaseLost
from bot.outbox.errors import Stop
from bot.outbox.messages import Template
from bot.outbox.respond import ResponseSender
from bot.outbox.rounds import Chore, DeliveryHealth, Outcome, Prepared, due_batches, merge_replies, prepare
from bot.outbox.send import Delivery, Guard, Pager
from bot.outbox.slack import SlackSender
from bot.slack.foreground import Foreground
from bot.store import Store, Tx, queue

log = logging.getLogger("opsbot.outbox")

LEASE = "outbox"


class Outbox:
    """Delivers the outbox. ``notify()`` after a commit wakes it at once."""

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        *,
        http: httpx.AsyncClient,
        incident_channel: str = "",
        clock: Callable[[], float] = time.time,
        poll_interval: float = 1.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        lease_ttl: float = 15.0,
        concurrency: int = 8,
        on_error: Callable[[BaseException], object] | None = None,
        templates: Mapping[str, Template] | None = None,
        pager: Pager | None = None,
        guard: Guard | None = None,
        batch_window: float = 0.01,
        lane_batch: int = 50,
        round_size: int = 500,
        foreground: Foreground | None = None,
        in_doubt_grace: float | None = None,
        settle_after_timeout: float = 3.0,
        stuck_after: float = 10.0,
        chores: Sequence[Chore] = (),
    ) -> None:
        self.store, self.client, self.http, self.clock = store, client, http, clock
        self._stopping, self.grace = False, 0.0  # grace: how long stop() lets the round finish (SIGTERM)
        self.incident_channel = incident_channel
        self.poll_interval, self.batch_window = poll_interval, batch_window
        self.lane_batch, self.round_size = lane_batch, round_size
        self.foreground = foreground or Foreground()
        self._in_doubt_grace = in_doubt_grace
        self.stuck_after = stuck_after
        self.lease = Lease(store, LEASE, ttl=lease_ttl, clock=clock)
        self.slack = SlackSender(client, store, clock=clock)
        self.delivery = Delivery(
            store,
            self.lease,
            self.slack,
            ResponseSender(http),
            templates=templates or {},
            pager=pager,
            guard=guard,
            clock=clock,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            settle_after_timeout=settle_after_timeout,
        )
        self.chores, self.delivered = list(chores), 0
        self._on_error = on_error
        self._sem = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._heart: asyncio.Task[None] | None = None
        self._stopped: str | None = None
        self._stranded: set[int] = set()  # claimed by this term, outcome unknown to the store
        self._failing_since: float | None = None
        self._last_failure = ""
        self._chores_at: dict[str, float] = {}

    @property
    def in_doubt_grace(self) -> float:
        """How long a new term leaves what an earlier term had mid-send before looking for it in Slack:
        as long as a retry of its own after a timed-out call waits (a late-processed post may land)."""
        if self._in_doubt_grace is not None:
            return self._in_doubt_grace
        return self.slack.call_timeout + self.delivery.settle_after_timeout

    @property
    def holder(self) -> str:
        return self.lease.holder

    @holder.setter
    def holder(self, label: str) -> None:
        self.lease.holder = label

    # --- lifecycle ---------------------------------------------------------------------------

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="opsbot-outbox")
            self._heart = asyncio.create_task(self._keep_lease(), name="opsbot-outbox-lease")

    def add_chore(self, chore: Chore) -> None:
        self.chores.append(chore)

    def running(self) -> bool:
        """The delivery task is alive (for readiness)."""
        return self._task is not None and not self._task.done()

    async def stop(self, *, grace: float | None = None) -> None:
        """Stop delivering. With ``grace``, the round in progress first finishes the message each lane is
        sending (and no more) for up to ``grace`` seconds; then the lease is released. What is left
        mid-send after that goes back to pending, marked in doubt, so nothing stays ``sending``."""
        grace = self.grace if grace is None else grace
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            if grace > 0:
                await asyncio.wait({task}, timeout=grace)
        for running in (task, self._heart):
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        self._heart = None
        if self.lease.term is not None:
            await self._leave_in_doubt()
        await self.lease.release()

    async def _leave_in_doubt(self) -> None:
        """While still the holder: this term's items cut off mid-send go back to pending, in doubt."""

        async def reset(tx: Tx) -> int:
            term = await self.lease.check(tx)  # otherwise 'sending' rows are another instance's
            return await queue.reset_in_doubt(tx, below_term=term + 1, at=self.clock() + self.in_doubt_grace)

        try:
            left = await self.store.run(reset)
        except Exception:  # lease lost or store gone: the next holder's new term resets them
            return
        if left:
            log.warning("outbox: stopped with %d item(s) mid-send; checked before resending", left)

    def stop_for(self, cause: str) -> None:
        """Stop delivering until a restart (the workspace revoked the token, uninstalled the app): every
        item is kept; health names ``cause``."""
        if self._stopped is None:
            self._stopped = cause
            log.error(
                "outbox: delivery stopped: %s. Every message is kept and goes out after a restart with a"
                " working token.",
                cause,
            )

    def health(self) -> DeliveryHealth:
        """Delivery's state, from memory (no I/O): for the readiness endpoint."""
        stuck = None
        if self._stranded:
            stuck = f"{len(self._stranded)} item(s) claimed but not recorded since a store error"
        elif self._failing_since is not None and self.clock() - self._failing_since >= self.stuck_after:
            stuck = (
                f"delivery rounds failing for {self.clock() - self._failing_since:.0f}s: {self._last_failure}"
            )
        return DeliveryHealth(
            ok=self._stopped is None and stuck is None,
            leader=self.lease.held,
            term=self.lease.term,
            stopped=self._stopped,
            stuck=stuck,
        )

    async def _keep_lease(self) -> None:
        """Renew the lease while rounds run, so a long round never outlives it unnoticed."""
        while True:
            await asyncio.sleep(self.lease.ttl / 3)
            if self.lease.term is not None:
                with contextlib.suppress(Exception):
                    await self.lease.renew()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            worked = 0
            try:
                worked = await self.run_once()
                self._failing_since = None
            except LeaseLost as exc:
                log.warning("outbox: %s; what this instance had claimed is left to the new holder", exc)
                await self.lease.lost()
            except Exception as exc:  # keep delivering whatever one bad round did
                self._failing(exc)
            await self._do_chores()
            if worked or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
                # Woken by a commit: give a burst a moment to land, so it goes out as one round.
                await asyncio.sleep(self.batch_window)

    def _failing(self, exc: Exception) -> None:
        if self._failing_since is None:
            self._failing_since = self.clock()
        self._last_failure = f"{exc.__class__.__name__}: {exc}"[:200]
        if isinstance(exc, StoreUnavailable):
            log.warning("outbox: store unavailable (%s); retrying", exc)
        else:
            log.exception("outbox: delivery round failed")
            if self._on_error:
                self._on_error(exc)

    async def _do_chores(self) -> None:
        if not self.lease.held:
            return
        now = self.clock()
        for chore in self.chores:
            if now - self._chores_at.get(chore.name, 0.0) < chore.every:
                continue
            self._chores_at[chore.name] = now
            try:
                await chore.run()
            except StoreUnavailable as exc:
                log.warning("outbox: %s postponed: store unavailable (%s)", chore.name, exc)
            except Exception as exc:
                log.exception("outbox: %s failed", chore.name)
                if self._on_error:
                    self._on_error(exc)

    async def wait_idle(self, within: float = 10.0) -> bool:
        """Wait until nothing is pending (for the console and tests)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            async with self.store.transaction() as tx:
                counts = await queue.outbox_counts(tx)
            if not counts.get("pending") and not counts.get("sending"):
                return True
            self.notify()
            await asyncio.sleep(0.01)
        return False

    # --- one round ---------------------------------------------------------------------------

    async def _lead(self, now: float) -> bool:
        """Hold the lease; on a new term, put what an earlier term left mid-send back in doubt."""
        started = await self.lease.acquire()
        if started is not None:
            self._stranded.clear()  # a new term resets them with everything else

            async def take_over(tx: Tx) -> int:
                await self.lease.check(tx)
                return await queue.reset_in_doubt(tx, below_term=started.number, at=now + self.in_doubt_grace)

            reset = await self.store.run(take_over)
            log.info(
                "outbox: delivering (lease term %d; before: %s)", started.number, started.previous_holder
            )
            if reset:
                log.warning(
                    "outbox: %d item(s) claimed by an earlier lease term were not recorded as delivered;"
                    " each is looked for in Slack before it is sent again",
                    reset,
                )
        if self.lease.held and self._stranded:
            await self._reset_stranded(now)
        return self.lease.held

    async def _reset_stranded(self, now: float) -> None:
        """Items this instance claimed whose outcome a store error kept from being written."""
        ids = sorted(self._stranded)

        async def reset(tx: Tx) -> int:
            term = await self.lease.check(tx)
            return await queue.reset_in_doubt(tx, below_term=0, at=now, ids=ids, term=term)

        count = await self.store.run(reset)
        self._stranded.clear()
        log.warning(
            "outbox: store is back; %d item(s) left mid-send by the error are in doubt, re-checked", count
        )

    async def run_once(self) -> int:
        """One round: claim a batch from every lane, send them (lanes side by side, each in order),
        recording each outcome as it comes."""
        await self.foreground.quiet()
        now = self.clock()
        if self._stopped or now < self.slack.paused_until or not await self._lead(now):
            return 0

        async def claim(tx: Tx) -> list[list[Prepared]]:
            term = await self.lease.check(tx)
            batches = due_batches(await queue.undelivered(tx, limit=self.round_size), now, self.lane_batch)
            await queue.mark_sending(tx, [item.id for batch in batches for item in batch], term=term)
            return [[prepare(item) for item in batch] for batch in batches]

        prepared = await self.store.run(claim)
        if not prepared:
            return 0
        claimed = {item.id for batch in prepared for p in batch for item in p.members}
        ended: list[BaseException] = []
        lanes = await asyncio.gather(*(self._send_lane(batch, ended) for batch in prepared))
        done = [outcome for lane in lanes for outcome in lane]
        finished = self.clock()
        untouched = [o.item.id for o in done if o.state == "untouched"]
        settled = {o.item.id for o in done if o.state != "untouched"}
        for outcome in done:
            outcome.report(self._on_error, now=finished)
        self.delivered += sum(1 for o in done if o.state == "sent")
        if any(isinstance(exc, LeaseLost) for exc in ended):
            raise next(exc for exc in ended if isinstance(exc, LeaseLost))  # the new holder settles them
        await self._settle(untouched, claimed - settled - set(untouched))
        if ended:
            raise ended[0]
        return sum(1 for o in done if o.state in ("sent", "failed", "withheld"))

    async def _settle(self, untouched: list[int], unknown: set[int]) -> None:
        """Release what no lane reached; what a lane left without an outcome becomes stranded."""
        if not untouched and not unknown:
            return

        async def release(tx: Tx) -> None:
            term = await self.lease.check(tx)
            for item_id in untouched:
                await queue.release_item(tx, item_id, term=term)

        self._stranded |= unknown
        try:
            if untouched:
                await self.store.run(release)
        except StoreUnavailable:
            self._stranded |= set(untouched)
            raise

    async def _send_lane(self, batch: list[Prepared], ended: list[BaseException]) -> list[Outcome]:
        """Send one lane's batch in order; the first retry stops the lane (its order must hold). A lost
        lease or an unreachable store stops it too (noted in ``ended``), leaving the item in flight
        without an outcome."""
        outcomes: list[Outcome] = []
        messages = merge_replies(batch)
        async with self._sem:
            for index, prepared in enumerate(messages):
                if self._stopping:  # shutting down: finish what is in flight, leave the rest pending
                    outcomes.extend(Outcome(m, "untouched") for p in messages[index:] for m in p.members)
                    break
                await self.foreground.quiet()
                if self._stopped:
                    outcome = Outcome(prepared.item, "untouched")
                else:
                    try:
                        outcome = await self.delivery.deliver(prepared)
                    except Stop as exc:
                        self.stop_for(f"Slack answered {exc}")
                        outcome = Outcome(prepared.item, "untouched")
                    except (LeaseLost, StoreUnavailable) as exc:
                        ended.append(exc)
                        outcomes.extend(
                            Outcome(m, "untouched") for p in messages[index + 1 :] for m in p.members
                        )
                        break
                outcomes.extend(_fanned(outcome, prepared.members))
                if outcome.state in ("pending", "untouched"):
                    outcomes.extend(Outcome(m, "untouched") for p in messages[index + 1 :] for m in p.members)
                    break
        return outcomes


def _fanned(outcome: Outcome, members: list[queue.OutboxItem]) -> list[Outcome]:
    """The same outcome for every item one message carried (the first one alone reports an error)."""
    return [outcome, *(Outcome(m, outcome.state, outcome.error, outcome.retry_at) for m in members[1:])]
