"""A real webhook receiver for tests: aiohttp on 127.0.0.1 that can be down (nothing listens on
its port), answer each request as a behaviour says (200, 500, 503, or hang past the sender's
timeout), and keeps every request it got; and the signature check docs/inventory.md gives
receivers, run as written there."""

import asyncio
import re
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

Answer = Literal["ok", "error", "unavailable", "hang"]
# How to answer the n-th request (counted from 1).
Behaviour = Callable[[int], Answer]
STATUS = {"ok": 200, "error": 500, "unavailable": 503, "hang": 200}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "inventory.md"


def documented_verify() -> Callable[..., bool]:
    """`verify_signature` as docs/inventory.md's Webhooks section shows it to receivers."""
    section = DOCS.read_text().split("## Webhooks", 1)[1]
    (code,) = (
        block
        for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL)
        if "def verify_signature" in block
    )
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    verify: Callable[..., bool] = namespace["verify_signature"]
    return verify


@dataclass(frozen=True)
class Received:
    event_id: str
    event_type: str
    signature: str
    body: bytes
    answer: Answer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class WebhookReceiver:
    def __init__(
        self, behaviour: Behaviour = lambda n: "ok", *, hang_s: float = 2.0, ok_after_s: float = 0
    ) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.most_in_flight = 0  # the most requests of one event id at the same time
        self._hang_s = hang_s
        self._ok_after_s = ok_after_s
        self._in_flight: Counter[str] = Counter()
        self._port = _free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hooks/medinv"

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/medinv", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True).start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def accepted(self) -> Counter[str]:
        """How often each event id was answered 200 (a hung request's answer included)."""
        return Counter(r.event_id for r in self.received if STATUS[r.answer] == 200)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        event_id = request.headers.get("Medinv-Event-Id", "")
        answer = self.behaviour(len(self.received) + 1)
        self.received.append(
            Received(
                event_id=event_id,
                event_type=request.headers.get("Medinv-Event-Type", ""),
                signature=request.headers.get("Medinv-Signature", ""),
                body=body,
                answer=answer,
            )
        )
        self._in_flight[event_id] += 1
        self.most_in_flight = max(self.most_in_flight, self._in_flight[event_id])
        try:
            if answer == "hang":
                await asyncio.sleep(self._hang_s)
            elif answer == "ok":
                await asyncio.sleep(self._ok_after_s)
        finally:
            self._in_flight[event_id] -= 1
        return web.Response(status=STATUS[answer])
