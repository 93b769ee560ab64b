"""serve_app.api.first_completed: the first job to finish decides, the others are cancelled."""

import asyncio

import pytest

from serve_app.api.first_completed import first_completed


class Job:
    """Finishes after `delay_s` with `value` (or raises `error`); records a cancellation."""

    def __init__(self, delay_s: float, value: str = "", error: Exception | None = None) -> None:
        self._delay_s = delay_s
        self._value = value
        self._error = error
        self.cancelled = False

    async def __call__(self) -> str:
        try:
            await asyncio.sleep(self._delay_s)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self._error is not None:
            raise self._error
        return self._value


async def test_the_first_value_wins_and_the_other_jobs_are_cancelled() -> None:
    fast, slow, never = Job(0.01, "fast"), Job(0.5, "slow"), Job(3600, "never")

    assert await first_completed(slow, fast, never) == "fast"
    assert (fast.cancelled, slow.cancelled, never.cancelled) == (False, True, True)


async def test_the_first_jobs_exception_is_raised_as_itself() -> None:
    broken, waiting = Job(0.01, error=LookupError("gone")), Job(3600)

    with pytest.raises(LookupError, match="gone"):
        await first_completed(broken, waiting)
    assert waiting.cancelled


async def test_cancelling_the_caller_cancels_every_job() -> None:
    jobs = [Job(3600), Job(3600)]
    caller = asyncio.create_task(first_completed(*jobs))
    await asyncio.sleep(0.01)

    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert all(job.cancelled for job in jobs)
