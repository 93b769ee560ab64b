"""Closed-loop HTTP and WebSocket load against a server on this machine (loopback only), through
the project's own client (`medinv_client.AsyncClient`, no retries: every failure counts)."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from medinv_client import NO_RETRIES, ApiError, AsyncClient, StreamResult, TransportError

TIMEOUT_S = 60.0


WARMUP_S = 2.0  # each scenario's load before its measured part


@dataclass
class LoadResult:
    label: str
    concurrency: int
    completed: int = 0
    errors: dict[int, int] = field(default_factory=dict)  # by HTTP status; 0: no answer
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    dropped: int = 0

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0

    def failed(self, status: int | None) -> None:
        key = status or 0
        self.errors[key] = self.errors.get(key, 0) + 1


def load_client(base: str, connections: int, api_key: str | None = None) -> AsyncClient:
    """A client without retries, keeping `connections` connections open (httpx's default
    keeps 20 alive, and the load would pay for new ones above that)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return AsyncClient(
        base,
        api_key,
        timeout=TIMEOUT_S,
        retry=NO_RETRIES,
        transport=httpx.AsyncHTTPTransport(limits=limits),
    )


async def http_load(
    base: str, images: list[bytes], concurrency: int, duration_s: float, warmup_s: float = WARMUP_S
) -> LoadResult:
    """`concurrency` workers, each posting the next image as soon as the last was answered."""
    result = LoadResult(label=f"http c={concurrency}", concurrency=concurrency)
    async with load_client(base, concurrency) as client:
        measuring = False
        stop_at = time.perf_counter() + warmup_s + duration_s

        async def worker(index: int) -> None:
            sent = index
            while time.perf_counter() < stop_at:
                data = images[sent % len(images)]
                sent += concurrency
                started = time.perf_counter()
                status: int | None = 200
                try:
                    await client.detect(data)
                except ApiError as error:
                    status = error.status
                except TransportError:
                    status = None
                if not measuring:
                    continue
                if status == 200:
                    result.completed += 1
                    result.latencies_ms.append((time.perf_counter() - started) * 1000.0)
                else:
                    result.failed(status)

        tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
        await asyncio.sleep(warmup_s)
        measuring = True
        measure_started = time.perf_counter()
        await asyncio.gather(*tasks)
        result.elapsed_s = time.perf_counter() - measure_started
    return result


async def ws_load(
    base: str, images: list[bytes], window: int, duration_s: float, warmup_s: float = WARMUP_S
) -> LoadResult:
    """Keep `window` frames outstanding on one stream (the client's window, no frame dropped
    on this side); count results per second and the service's own latency of each."""
    result = LoadResult(label=f"ws window={window}", concurrency=window)
    measure_started = time.perf_counter() + warmup_s
    stop_at = measure_started + duration_s

    async def frames() -> AsyncIterator[bytes]:
        sent = 0
        while time.perf_counter() < stop_at:
            yield images[sent % len(images)]
            sent += 1

    async with load_client(base, 1) as client:
        stream = client.stream(frames(), window=window, latest_wins=False, max_reconnects=0)
        try:
            async for message in stream:
                now = time.perf_counter()
                if now >= stop_at:
                    break
                if now < measure_started:
                    continue
                if isinstance(message, StreamResult):
                    result.completed += 1
                    result.latencies_ms.append(message.latency_ms)
                    result.dropped = message.dropped
                else:
                    result.failed(None)
        finally:
            await stream.aclose()
        result.elapsed_s = time.perf_counter() - measure_started
    return result
