"""Token buckets in the real Redis: accuracy under concurrent load from several "replicas"
(limiters with their own connections), 429 with Retry-After and RateLimit-*, and the
`rate_limited` message on streams. The accuracy figures (a list, one per run) go to
.run/rate-limit-accuracy.json and to stdout (`pytest -s`)."""

import asyncio
import json
import time

from fastapi.testclient import TestClient
from redis.asyncio import Redis

from medinv_tools.paths import REPO_ROOT
from serve_app.access.keys import PREFIX
from serve_app.access.ratelimit import Budget, BudgetName, RedisRateLimiter
from serve_app.core.metrics import SharedStateMetrics
from serve_app.core.settings import Settings
from serve_app.state.backend import OutageLog
from tests.api.access.conftest import ApiFactory
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key

FIGURES = REPO_ROOT / ".run" / "rate-limit-accuracy.json"
REPLICAS = 4
CLIENTS_PER_REPLICA = 8
DURATION_S = 3.0
MEASUREMENTS = 2
BUDGET = Budget(BudgetName.REQUESTS, capacity=100, per_minute=3600)  # 100 burst, 60/s


async def _redis_now(redis: Redis) -> float:
    seconds, microseconds = await redis.time()
    return float(seconds) + float(microseconds) / 1e6


async def _hammer(redis_url: str, prefix: str) -> dict[str, float]:
    replicas = [Redis.from_url(redis_url) for _ in range(REPLICAS)]
    outages = OutageLog(SharedStateMetrics(), 30.0)
    limiters = [RedisRateLimiter(r, prefix, on_outage="closed", outages=outages) for r in replicas]
    # Open every connection the clients will use and load the script first (as many acquires
    # at once as there are clients): the clock measures the limiter, not the set-up.
    await asyncio.gather(
        *(
            lim.acquire("key:warm-up", BUDGET)
            for lim in limiters
            for _ in range(CLIENTS_PER_REPLICA)
        )
    )
    allowed = refused = 0
    started = time.monotonic()

    async def client(limiter: RedisRateLimiter) -> None:
        nonlocal allowed, refused
        while time.monotonic() - started < DURATION_S:
            decision = await limiter.acquire("key:accuracy", BUDGET)
            allowed += decision.allowed
            refused += not decision.allowed

    # The buckets refill on Redis's clock (TIME, the wall clock), which on a VM need not run
    # at the pace of this process's monotonic clock: the budget is measured on Redis's.
    redis_started = await _redis_now(replicas[0])
    await asyncio.gather(*(client(lim) for lim in limiters for _ in range(CLIENTS_PER_REPLICA)))
    elapsed = await _redis_now(replicas[0]) - redis_started
    for replica in replicas:
        await replica.aclose()
    expected = BUDGET.capacity + BUDGET.refill_per_s * elapsed
    return {
        "replicas": REPLICAS,
        "concurrent_clients": REPLICAS * CLIENTS_PER_REPLICA,
        "seconds": round(elapsed, 3),
        "attempts": allowed + refused,
        "allowed": allowed,
        "expected": round(expected, 1),
        "error_percent": round(100.0 * (allowed - expected) / expected, 2),
    }


def test_allowed_requests_stay_within_5_percent_of_the_budget(
    redis_url: str, redis_prefix: str
) -> None:
    # One run can miss through the machine, not the limiter: CI once saw +5.33 % with the host
    # loaded by the rest of the suite. A limiter that counts wrong misses on every run, so a
    # miss is measured again once, on a fresh bucket, and both figures are kept.
    runs = []
    for attempt in range(MEASUREMENTS):
        figures = asyncio.run(_hammer(redis_url, f"{redis_prefix}run{attempt}:"))
        runs.append(figures)
        if abs(figures["error_percent"]) <= 5.0:
            break
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(runs, indent=2) + "\n")
    print(f"\nrate-limit accuracy: {runs}")

    for figures in runs:
        assert figures["attempts"] > 2 * figures["expected"], "the load must exceed the budget"
    assert abs(runs[-1]["error_percent"]) <= 5.0, runs


def test_429_carries_retry_after_and_ratelimit_headers_and_retry_after_is_honoured(
    make_client: ApiFactory, settings: Settings
) -> None:
    # A burst of 3, one token a second.
    client = make_client(
        settings.model_copy(
            update={"rate_limit_requests_burst": 3, "rate_limit_requests_per_minute": 60}
        )
    )
    key = bearer(create_api_key(settings.resolved_database_url, "read"))
    allowed = [client.get("/v1/models", headers=key) for _ in range(3)]
    refused = client.get("/v1/models", headers=key)

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in allowed] == ["2", "1", "0"]
    assert allowed[0].headers["RateLimit-Limit"] == "3"
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    retry_after = int(refused.headers["Retry-After"])
    assert retry_after == 1
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) >= retry_after

    time.sleep(retry_after)
    assert client.get("/v1/models", headers=key).status_code == 200


def test_budgets_are_per_key_and_a_key_may_have_a_lower_rate(
    make_client: ApiFactory, settings: Settings
) -> None:
    client = make_client(settings)
    url = settings.resolved_database_url
    slow = bearer(create_api_key(url, "read", requests_per_minute=2))
    other = bearer(create_api_key(url, "read"))

    statuses = [client.get("/v1/models", headers=slow).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert client.get("/v1/models", headers=other).status_code == 200


def test_stream_frames_over_their_budget_get_rate_limited_messages(
    make_client: ApiFactory, settings: Settings
) -> None:
    client: TestClient = make_client(settings)
    key = bearer(create_api_key(settings.resolved_database_url, "detect", frames_per_minute=2))
    frame = shelf_jpeg(160, 120)
    with client.websocket_connect("/v1/stream", headers=key) as socket:
        for _ in range(3):
            socket.send_bytes(frame)
        messages = [socket.receive_json() for _ in range(3)]

    refused = [m for m in messages if m["type"] == "error"]
    assert sorted(m["type"] for m in messages) == ["error", "result", "result"]
    assert refused[0]["code"] == "rate_limited" and refused[0]["frame"] == 2


def test_refused_keys_are_rate_limited_per_address_and_valid_keys_are_not(
    make_client: ApiFactory, settings: Settings
) -> None:
    client = make_client(
        settings.model_copy(
            update={"rate_limit_failed_auth_burst": 3, "rate_limit_failed_auth_per_minute": 60}
        )
    )
    valid = bearer(create_api_key(settings.resolved_database_url, "read", name="valid"))
    guesses = [bearer(f"{PREFIX}_{n:012d}_{'s' * 32}") for n in range(5)]  # well-formed, unknown
    assert client.get("/v1/inventory", headers=valid).status_code == 200

    statuses = [client.get("/v1/inventory", headers=guess).status_code for guess in guesses]
    blocked = client.get("/v1/inventory", headers=guesses[0])
    with_valid_key = client.get("/v1/inventory", headers=valid)
    time.sleep(float(blocked.headers["Retry-After"]) + 0.1)
    after_retry = client.get("/v1/inventory", headers=guesses[0])

    assert statuses == [401, 401, 401, 429, 429]
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
    assert "refused API keys" in blocked.json()["error"]["message"]
    assert with_valid_key.status_code == 200, "a key seen valid is not blocked with its address"
    assert after_retry.status_code == 401
