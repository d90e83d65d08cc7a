"""Automation-rule webhooks: when a ``sale.order`` changes ``state``, POST it to a URL.

The body is what Odoo 17's "Send Webhook Notification" action posts::

    {"_action": "Send Webhook Notification(#1)", "_id": 42, "_model": "sale.order", "id": 42,
     "state": "sale", "name": "S00042", "client_order_ref": "order_01...", "write_date": "2025-01-01 10:00:00"}

The URL is configurable (``--webhook-url``, ``POST /fake/webhook``); a ``?token=...`` is simply part
of it. Deliveries never block the RPC call that caused them: they are queued and posted in order
by one background task, each retried ``attempts`` times with exponential backoff until a 2xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .registry import Change

__all__ = [
    "Delivery",
    "WebhookSender",
]

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """One webhook post and what became of it."""

    url: str
    payload: dict[str, Any]
    attempts: int = 0
    status: int | None = None
    error: str | None = None
    delivered: bool = False
    done: bool = False
    statuses: list[int | str] = field(default_factory=list)


class WebhookSender:
    """Queues and posts ``sale.order`` state changes.

    :param url: where to post (None: no webhooks).
    :param fields: the fields of the order put in the body, next to ``_id``/``_model``/``id``
        (``write_date`` makes a repeated change, cancel -> reopen -> cancel, a new body: the store
        takes the SHA-256 of the body as the event id, so an identical body is a replay to it).
    """

    def __init__(self, url: str | None = None, *, attempts: int = 4, backoff: float = 0.2, timeout: float = 5.0,
                 fields: tuple[str, ...] = ("state", "name", "client_order_ref", "write_date")) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.fields = fields
        self.deliveries: list[Delivery] = []
        self._queue: asyncio.Queue[Delivery] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backlog: list[Delivery] = []
        self._lock = threading.Lock()

    def on_change(self, change: Change) -> None:
        """Database listener: queue a post when an order's ``state`` changed."""
        if change.model != "sale.order" or change.before.get("state") == change.record.get("state") or not self.url:
            return
        delivery = Delivery(self.url, self.payload(change.record))
        with self._lock:
            self.deliveries.append(delivery)
        self._enqueue(delivery)

    def payload(self, order: dict[str, Any]) -> dict[str, Any]:
        """The automation-rule body for an order."""
        body: dict[str, Any] = {
            "_action": "Send Webhook Notification(#1)",
            "_id": order["id"],
            "_model": "sale.order",
            "id": order["id"],
        }
        for name in self.fields:
            body[name] = order.get(name, False)
        return body

    def _enqueue(self, delivery: Delivery) -> None:
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or loop.is_closed():
            self._backlog.append(delivery)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            queue.put_nowait(delivery)
        else:
            loop.call_soon_threadsafe(queue.put_nowait, delivery)

    async def join(self) -> None:
        """Wait until every queued delivery is done (delivered or given up)."""
        if self._queue is not None:
            await self._queue.join()

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: the HTTP session and the delivery task."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        for delivery in self._backlog:
            self._queue.put_nowait(delivery)
        self._backlog.clear()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
            task = asyncio.create_task(self._deliver_forever(session))
            yield
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._queue = None
        self._loop = None

    async def _deliver_forever(self, session: aiohttp.ClientSession) -> None:
        assert self._queue is not None
        while True:
            delivery = await self._queue.get()
            try:
                await self._deliver(session, delivery)
            finally:
                delivery.done = True
                self._queue.task_done()

    async def _deliver(self, session: aiohttp.ClientSession, delivery: Delivery) -> None:
        body = json.dumps(delivery.payload)
        for attempt in range(self.attempts):
            delivery.attempts = attempt + 1
            try:
                async with session.post(delivery.url, data=body, headers={"Content-Type": "application/json"}) as resp:
                    await resp.read()
                    delivery.status = resp.status
                    delivery.statuses.append(resp.status)
                    if 200 <= resp.status < 300:
                        delivery.delivered = True
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                delivery.error = repr(exc)
                delivery.statuses.append(type(exc).__name__)
            await asyncio.sleep(self.backoff * 2**attempt)
        log.warning("fake odoo: webhook to %s failed after %d attempts", delivery.url, self.attempts)
