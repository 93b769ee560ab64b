"""serve_app.access.ratelimit: the in-process token bucket and the figures of a decision."""

import pytest

from serve_app.access.ratelimit import Budget, BudgetName, Decision, MemoryRateLimiter

BUDGET = Budget(BudgetName.REQUESTS, capacity=3, per_minute=60)  # one token a second


async def test_a_full_bucket_allows_its_capacity_then_refuses() -> None:
    limiter = MemoryRateLimiter()

    decisions = [await limiter.acquire("ip:a", BUDGET) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].retry_after_s == 1
    assert decisions[-1].reset_s == 3


async def test_callers_and_budgets_have_buckets_of_their_own() -> None:
    limiter = MemoryRateLimiter()
    for _ in range(3):
        await limiter.acquire("ip:a", BUDGET)

    frames = Budget(BudgetName.FRAMES, capacity=3, per_minute=60)
    assert (await limiter.acquire("ip:b", BUDGET)).allowed
    assert (await limiter.acquire("ip:a", frames)).allowed
    assert not (await limiter.acquire("ip:a", BUDGET)).allowed


@pytest.mark.parametrize(
    ("tokens", "allowed", "remaining", "reset_s", "retry_after_s"),
    [(2.5, True, 2, 1, 0), (0.0, True, 0, 3, 0), (0.25, False, 0, 3, 1)],
)
def test_decision_figures(
    tokens: float, allowed: bool, remaining: int, reset_s: int, retry_after_s: int
) -> None:
    decision = Decision.of(allowed, tokens, BUDGET)

    assert (decision.remaining, decision.reset_s, decision.retry_after_s) == (
        remaining,
        reset_s,
        retry_after_s,
    )
