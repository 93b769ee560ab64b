"""A Sentinel failover under traffic: the service's Redis clients follow the promoted replica
by themselves, and what was replicated before the master died is still there.

Redis as the production manifests run it (a master, two replicas, three Sentinels; every
write fsynced to the append-only file), on processes of the test's own (tests/sentinel_redis.py).
The service's own components, each built on a client from `serve_app.core.redis_client` as
the ingress builds them (the shared state's client, the spool's): rate-limit acquisitions,
result-cache sets and gets, stream-session saves and loads, spool appends (each waiting for a
replica: `spool_min_replicas=1`, as production), updates published in a loop and a subscriber
that subscribes again whenever its subscription is lost (what a client of
`WS /v1/inventory/updates` does on close 1013). Then the master is killed with SIGKILL and the
Sentinels left to promote a replica.

Run with `-s` to see the figures: operations attempted and failed per kind, how long each
kind was degraded, what was lost. The assertions are bounds that cannot flake: recovery within
RECOVERY_BOUND_S, without a restart; everything written and replicated before the kill is
still there; every spooled record answered `queued` was on a replica.
"""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from serve_app.access.ratelimit import Budget, BudgetName, RedisRateLimiter
from serve_app.core.errors import StoreUnavailableError
from serve_app.core.metrics import SharedStateMetrics
from serve_app.core.settings import Settings
from serve_app.inventory.records import CountRecord
from serve_app.inventory.redis_spool import RedisSpool
from serve_app.state.backend import REDIS_ERRORS, OutageLog, RedisStore, connect
from serve_app.state.stream_state import StreamState, StreamStateStore
from serve_app.state.update_bus import RedisBus
from tests.sentinel_redis import MASTER_NAME, PASSWORD, SENTINEL_PASSWORD, SentinelRedis

PREFIX = "medinv-failover:"
RECOVERY_BOUND_S = 60.0  # from the kill until every kind succeeds again
SUCCESSES_BEFORE_KILL = 20  # per kind: traffic is flowing
SUCCESSES_AFTER_RECOVERY = 20  # per kind, after its last failure: recovered for good
PAUSE_S = 0.01  # between two operations of one kind: traffic, without taking the CPUs
# The bucket drained before the kill: 50 of 100 tokens taken, one back per minute. A bucket
# lost in the failover would be full again (99 left after the next take).
DRAINED = Budget(BudgetName.REQUESTS, capacity=100, per_minute=1)
TAKEN = 50


@dataclass
class Tally:
    attempted: int = 0
    failed: int = 0
    first_failure: float | None = None
    last_failure: float | None = None
    first_success_after_failure: float | None = None
    successes_since_failure: int = 0

    def record(self, ok: bool) -> None:
        now = time.monotonic()
        self.attempted += 1
        if ok:
            self.successes_since_failure += 1
            if self.first_failure is not None and self.first_success_after_failure is None:
                self.first_success_after_failure = now
            return
        self.failed += 1
        self.first_failure = self.first_failure or now
        self.last_failure = now
        self.successes_since_failure = 0


class RecordingOutages(OutageLog):
    """The service's outage log, counting failures per component for the test to read."""

    def __init__(self) -> None:
        super().__init__(SharedStateMetrics(), interval_s=3600)
        self.failures: Counter[str] = Counter()

    def failed(self, component: str, error: Exception, consequence: str) -> None:
        self.failures[component] += 1
        super().failed(component, error, consequence)


@dataclass
class Service:
    """The Redis-backed parts of one ingress replica, built as the replica builds them."""

    settings: Settings
    redis: Redis
    outages: RecordingOutages
    limiter: RedisRateLimiter
    cache: RedisStore
    streams: StreamStateStore
    bus: RedisBus
    spool: RedisSpool

    @classmethod
    def open(cls, settings: Settings) -> "Service":
        redis = connect(settings)
        assert redis is not None
        outages = RecordingOutages()
        prefix = settings.redis_key_prefix
        return cls(
            settings=settings,
            redis=redis,
            outages=outages,
            # `closed`: a decision Redis did not make says so (enforced=False).
            limiter=RedisRateLimiter(redis, prefix, on_outage="closed", outages=outages),
            cache=RedisStore(redis, prefix),
            streams=StreamStateStore(RedisStore(redis, prefix), 600, outages),
            bus=RedisBus(redis, prefix, outages),
            spool=RedisSpool.connect(settings),
        )

    async def close(self) -> None:
        await self.redis.aclose()
        await self.spool.close()


@dataclass
class Traffic:
    service: Service
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    queued: list[str] = field(default_factory=list)  # spool keys answered `queued`
    published: list[int] = field(default_factory=list)  # update numbers published
    received: list[int] = field(default_factory=list)  # update numbers received
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def rate_limits(self, i: int) -> bool:
        budget = Budget(BudgetName.REQUESTS, capacity=1_000_000, per_minute=60_000_000)
        return (await self.service.limiter.acquire("traffic", budget)).enforced

    async def result_cache(self, i: int) -> bool:
        try:
            await self.service.cache.set(f"result:{i}", b"detections", 60)
            return await self.service.cache.get(f"result:{i}") == b"detections"
        except REDIS_ERRORS:
            return False

    async def stream_sessions(self, i: int) -> bool:
        failures = self.service.outages.failures["stream_sessions"]
        state = stream_state(f"{i:032x}", next_frame=i)
        await self.service.streams.save(state)
        loaded = await self.service.streams.load(state.session_id)
        return self.service.outages.failures["stream_sessions"] == failures and loaded == state

    async def spool(self, i: int) -> bool:
        try:
            outcome = await self.service.spool.append(spool_record(f"traffic-{i}"))
        except StoreUnavailableError:
            return False
        self.queued.append(f"traffic-{i}")
        return outcome == "queued"

    async def publish(self, i: int) -> bool:
        failures = self.service.outages.failures["updates"]
        await self.service.bus.publish({"type": "counts", "n": i})
        ok = self.service.outages.failures["updates"] == failures
        if ok:
            self.published.append(i)
        return ok

    async def loop(self, kind: str, operation: Callable[[int], Awaitable[bool]]) -> None:
        i = 0
        while not self.stop.is_set():
            self.tallies[kind].record(await operation(i))
            i += 1
            await asyncio.sleep(PAUSE_S)

    async def subscribe(self) -> None:
        """Receives updates; subscribes again (a new connection, to whichever master the
        Sentinels name) when the subscription is lost, as a live-updates client does."""
        tally = self.tallies["subscription"]
        while True:
            try:
                async with self.service.bus.subscribe() as updates:
                    async for update in updates:
                        self.received.append(update["n"])
                        tally.record(True)
            except REDIS_ERRORS:
                tally.record(False)
                await asyncio.sleep(PAUSE_S)

    def operations(self) -> dict[str, Callable[[int], Awaitable[bool]]]:
        return {
            "rate_limit": self.rate_limits,
            "result_cache": self.result_cache,
            "stream_session": self.stream_sessions,
            "spool": self.spool,
            "publish": self.publish,
        }

    def all_have(self, successes: int, *, since_failure: bool) -> bool:
        return all(
            (t.successes_since_failure if since_failure else t.attempted - t.failed) >= successes
            for t in self.tallies.values()
        )


KINDS = ("rate_limit", "result_cache", "stream_session", "spool", "publish", "subscription")


def stream_state(session_id: str, next_frame: int) -> StreamState:
    return StreamState(
        session_id=session_id,
        owner="key:failover",
        location_id=7,
        min_score=0.5,
        max_detections=50,
        next_frame=next_frame,
        window=[{"syringe": next_frame}],
    )


def spool_record(key: str) -> CountRecord:
    return CountRecord(
        caller="key:failover",
        idempotency_key=key,
        request_id=f"trace-{key}",
        location_id=7,
        recorded_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        model_name="demo-ssdlite",
        model_version="0.0.0-untrained",
        image_sha256="ab" * 32,
        counts={"syringe": 3},
        latency_ms=41.5,
    )


@pytest.fixture
async def service(tmp_path: Path, sentinel_redis: SentinelRedis) -> AsyncIterator[Service]:
    settings = Settings(
        data_dir=tmp_path,
        redis_sentinels=sentinel_redis.sentinel_addresses,
        redis_sentinel_master=MASTER_NAME,
        redis_password=PASSWORD,
        redis_sentinel_password=SENTINEL_PASSWORD,
        redis_key_prefix=PREFIX,
        spool_store="redis",
        spool_min_replicas=1,
    )
    opened = Service.open(settings)
    yield opened
    await opened.close()


async def test_the_service_rides_out_a_sentinel_failover(
    service: Service, sentinel_redis: SentinelRedis
) -> None:
    # What is written before the kill and replicated to every replica.
    sessions = [stream_state(f"{0xFEED0000 + i:032x}", 1000 + i) for i in range(10)]
    for state in sessions:
        await service.streams.save(state)
    for _ in range(TAKEN):
        assert (await service.limiter.acquire("drained", DRAINED)).enforced
    kept = [f"kept-{i}" for i in range(10)]
    for key in kept:
        assert await service.spool.append(spool_record(key)) == "queued"
    await service.cache.set("result:kept", b"detections", 600)
    assert not service.outages.failures

    traffic = Traffic(service)
    tasks = [asyncio.create_task(traffic.loop(k, op)) for k, op in traffic.operations().items()]
    tasks.append(asyncio.create_task(traffic.subscribe()))
    try:
        await wait_until(lambda: traffic.all_have(SUCCESSES_BEFORE_KILL, since_failure=False))
        await replicated_everywhere(sentinel_redis)
        queued_before_kill = len(traffic.queued)

        sentinel_redis.master.kill()
        killed_at = time.monotonic()
        promoted = await asyncio.to_thread(sentinel_redis.wait_for_promotion, RECOVERY_BOUND_S)
        promoted_at = time.monotonic()
        await wait_until(
            lambda: traffic.all_have(SUCCESSES_AFTER_RECOVERY, since_failure=True),
            timeout_s=RECOVERY_BOUND_S - (promoted_at - killed_at),
        )
        recovered_at = time.monotonic()
    finally:
        traffic.stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # By itself, on the same clients: every kind works against the new master.
    assert promoted.port != sentinel_redis.master.port
    assert (await service.limiter.acquire("after", DRAINED)).enforced
    await service.cache.set("result:after", b"detections", 60)
    assert await service.cache.get("result:after") == b"detections"
    assert await service.spool.append(spool_record("after")) == "queued"

    # Replicated before the kill, so kept: sessions, the drained bucket, the spooled records.
    assert [await service.streams.load(state.session_id) for state in sessions] == sessions
    drained = await service.limiter.acquire("drained", DRAINED)
    assert drained.enforced and drained.remaining < DRAINED.capacity - TAKEN + 5
    spooled = {record.idempotency_key for record in await service.spool.oldest(1_000_000)}
    assert set(kept) <= spooled
    # Every record answered `queued` was on a replica first (WAIT): none is lost.
    lost_spooled = [key for key in traffic.queued if key not in spooled]
    assert lost_spooled == []

    cache_kept = await service.cache.get("result:kept") == b"detections"
    published, received = set(traffic.published), set(traffic.received)
    report(
        traffic,
        killed_at=killed_at,
        promoted_at=promoted_at,
        recovered_at=recovered_at,
        queued_before_kill=queued_before_kill,
        lost_updates=len(published - received),
        cache_kept=cache_kept,
    )
    assert recovered_at - killed_at < RECOVERY_BOUND_S


async def replicated_everywhere(redis: SentinelRedis) -> None:
    """Until both replicas have every write the master took so far: a write of the test's
    own, then WAIT for it (replication is one ordered stream)."""
    with redis.server(redis.master.port) as master:
        master.set(f"{PREFIX}marker", "1")
        acknowledged = master.execute_command("WAIT", len(redis.replicas), 10_000)
    assert acknowledged == len(redis.replicas)


async def wait_until(condition: Callable[[], bool], timeout_s: float = RECOVERY_BOUND_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s:.0f} s"
        await asyncio.sleep(0.05)


def report(
    traffic: Traffic,
    *,
    killed_at: float,
    promoted_at: float,
    recovered_at: float,
    queued_before_kill: int,
    lost_updates: int,
    cache_kept: bool,
) -> None:
    print(f"\nSentinel failover: replica promoted {promoted_at - killed_at:.2f} s after the kill")
    print(f"every kind recovered (20 successes in a row) {recovered_at - killed_at:.2f} s after")
    print(f"{'kind':<16}{'attempted':>10}{'failed':>8}{'1st failure':>13}{'degraded':>10}")
    for kind, tally in traffic.tallies.items():
        first = last = "-"
        if tally.first_failure is not None:
            first = f"+{tally.first_failure - killed_at:.2f} s"
            assert tally.first_success_after_failure is not None
            last = f"{tally.first_success_after_failure - tally.first_failure:.2f} s"
        print(f"{kind:<16}{tally.attempted:>10}{tally.failed:>8}{first:>13}{last:>10}")
    queued = len(traffic.queued)
    print(f"spool: {queued} records queued ({queued_before_kill} before the kill), none lost")
    print(f"live updates: {len(traffic.published)} published, {lost_updates} never received")
    print(f"a result-cache entry written before the kill: {'kept' if cache_kept else 'lost'}")
