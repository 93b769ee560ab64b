"""Closed-loop HTTP and WebSocket load against a server on this machine (loopback only)."""

import asyncio
import json
import time
from dataclasses import dataclass, field

import aiohttp
import websockets


@dataclass
class LoadResult:
    label: str
    concurrency: int
    completed: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    dropped: int = 0

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0


async def http_load(
    url: str, images: list[bytes], concurrency: int, duration_s: float, warmup_s: float = 2.0
) -> LoadResult:
    result = LoadResult(label=f"http c={concurrency}", concurrency=concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        measuring = False
        stop_at = time.perf_counter() + warmup_s + duration_s

        async def worker(index: int) -> None:
            sent = index
            while time.perf_counter() < stop_at:
                data = images[sent % len(images)]
                sent += concurrency
                started = time.perf_counter()
                async with session.post(
                    url, data=data, headers={"Content-Type": "image/jpeg"}
                ) as response:
                    await response.read()
                    status = response.status
                if not measuring:
                    continue
                if status == 200:
                    result.completed += 1
                    result.latencies_ms.append((time.perf_counter() - started) * 1000.0)
                else:
                    result.errors[status] = result.errors.get(status, 0) + 1

        tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
        await asyncio.sleep(warmup_s)
        measuring = True
        measure_started = time.perf_counter()
        await asyncio.gather(*tasks)
        result.elapsed_s = time.perf_counter() - measure_started
    return result


async def ws_load(
    url: str, images: list[bytes], window: int, duration_s: float, warmup_s: float = 2.0
) -> LoadResult:
    """Keep `window` frames outstanding on one stream; count results per second."""
    result = LoadResult(label=f"ws window={window}", concurrency=window)
    async with websockets.connect(url, max_size=None) as socket:
        sent = 0
        for _ in range(window):
            await socket.send(images[sent % len(images)])
            sent += 1
        started = time.perf_counter()
        measure_started = started + warmup_s
        stop_at = measure_started + duration_s
        while time.perf_counter() < stop_at:
            message = json.loads(await socket.recv())
            now = time.perf_counter()
            if now >= measure_started:
                if message["type"] == "result":
                    result.completed += 1
                    result.latencies_ms.append(message["latency_ms"])
                    result.dropped = message["dropped"]
                else:
                    result.errors[0] = result.errors.get(0, 0) + 1
            await socket.send(images[sent % len(images)])
            sent += 1
        result.elapsed_s = time.perf_counter() - measure_started
    return result
