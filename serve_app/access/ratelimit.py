"""Token buckets per caller and budget: in Redis (one atomic script, shared by every ingress
replica) or in process (the embedded default), behind one `RateLimiter` interface."""

import math
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

from redis.asyncio import Redis

from serve_app.state.backend import REDIS_ERRORS, OutageLog


class BudgetName(StrEnum):
    REQUESTS = "rest"
    FRAMES = "frames"
    FAILED_AUTH = "failed_auth"  # refused keys, per client address


@dataclass(frozen=True)
class Budget:
    name: BudgetName
    capacity: int  # the burst: what a full bucket holds
    per_minute: int  # refill rate

    @property
    def refill_per_s(self) -> float:
        return self.per_minute / 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # until the bucket is full again
    retry_after_s: int  # until the next token (0 when allowed)
    enforced: bool = True  # False: Redis did not answer, the figures are unknown

    @classmethod
    def of(cls, allowed: bool, tokens: float, budget: Budget) -> "Decision":
        rate = budget.refill_per_s
        return cls(
            allowed=allowed,
            limit=budget.capacity,
            remaining=max(0, math.floor(tokens)),
            reset_s=math.ceil(max(0.0, budget.capacity - tokens) / rate),
            retry_after_s=0 if allowed else max(1, math.ceil((1.0 - tokens) / rate)),
        )


# What a replica does with rate limits while Redis is unreachable.
OutagePolicy = Literal["local", "open", "closed"]
_CONSEQUENCES: dict[OutagePolicy, str] = {
    "local": "counting in this replica's own buckets",
    "open": "letting requests through",
    "closed": "refusing requests",
}


class RateLimiter(Protocol):
    async def acquire(self, identity: str, budget: Budget) -> Decision:
        """Take one token from `identity`'s bucket of this budget, if there is one."""
        ...


class MemoryRateLimiter:
    """One replica's buckets (the embedded default): exact within this process."""

    MAX_BUCKETS = 10_000

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, BudgetName], tuple[float, float]] = {}

    async def acquire(self, identity: str, budget: Budget) -> Decision:
        now = time.monotonic()
        if len(self._buckets) >= self.MAX_BUCKETS:
            self._buckets.clear()  # callers get full buckets again: generous, and bounded
        tokens, then = self._buckets.get((identity, budget.name), (budget.capacity, now))
        tokens = min(budget.capacity, tokens + (now - then) * budget.refill_per_s)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[(identity, budget.name)] = (tokens, now)
        return Decision.of(allowed, tokens, budget)


# Atomic per bucket: refill by the time elapsed on Redis's own clock (the same for every
# replica), take a token if there is one. Tokens go back as a string: Lua numbers would be
# truncated to integers in the reply. The time is stored to the microsecond: tostring keeps 14
# digits (0.1 ms of a Unix time), and a stored time rounded up past the next call's, clamped
# to no refill, would hand out more than the budget under load (+6 % on one busy key).
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity / rate) * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisRateLimiter:
    """Buckets shared by every ingress replica. When Redis cannot answer, never a 500: the
    replica counts in buckets of its own (`local`: each replica holds callers to the whole
    budget, so the cluster to at most replicas x budget), lets the caller through (`open`),
    or refuses it (`closed`)."""

    def __init__(
        self,
        client: Redis,
        prefix: str,
        *,
        on_outage: OutagePolicy,
        outages: OutageLog,
    ) -> None:
        self._script = client.register_script(_TOKEN_BUCKET)
        self._prefix = prefix
        self._on_outage = on_outage
        self._outages = outages
        self._local = MemoryRateLimiter()

    async def acquire(self, identity: str, budget: Budget) -> Decision:
        key = f"{self._prefix}ratelimit:{budget.name}:{identity}"
        try:
            allowed, tokens = await self._script(
                keys=[key], args=[budget.capacity, budget.refill_per_s]
            )
        except REDIS_ERRORS as error:
            self._outages.failed("rate_limiter", error, _CONSEQUENCES[self._on_outage])
            if self._on_outage == "local":
                return await self._local.acquire(identity, budget)
            fail_open = self._on_outage == "open"
            retry_after_s = 0 if fail_open else 1
            return Decision(fail_open, budget.capacity, 0, 1, retry_after_s, enforced=False)
        return Decision.of(bool(allowed), float(tokens), budget)
