"""serve_app.api.frame_scheduler.FrameScheduler: ordering, dropping, concurrency and shutdown."""

import asyncio
import time

import pytest

from serve_app.api.frame_scheduler import Frame, FrameScheduler, Message, elapsed_ms
from serve_app.core.payloads import DetectParams

TIMEOUT_S = 5.0


def frame(number: int) -> Frame:
    return Frame(number, f"frame-{number}".encode(), DetectParams(), time.perf_counter())


async def collect(scheduler: FrameScheduler, count: int) -> list[Message]:
    async def take() -> list[Message]:
        return [await scheduler.next_result() for _ in range(count)]

    return await asyncio.wait_for(take(), TIMEOUT_S)


async def test_results_come_in_frame_order_when_later_frames_finish_first() -> None:
    delays = [0.05, 0.04, 0.03, 0.02, 0.01]
    finished: list[int] = []

    async def process(f: Frame) -> Message:
        await asyncio.sleep(delays[f.number])
        finished.append(f.number)
        return {"frame": f.number, "data": f.data}

    scheduler = FrameScheduler(process, max_pending=10, max_in_flight=5)
    try:
        for number in range(5):
            scheduler.offer(frame(number))

        results = await collect(scheduler, 5)
    finally:
        await scheduler.close()

    assert finished == [4, 3, 2, 1, 0]  # the test really had them finish out of order
    assert [r["frame"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["data"] for r in results] == [f"frame-{n}".encode() for n in range(5)]
    assert scheduler.dropped == 0


async def test_a_failing_frame_raises_in_its_place_and_later_frames_still_arrive() -> None:
    async def process(f: Frame) -> Message:
        await asyncio.sleep(0.001)
        if f.number == 1:
            raise ValueError("frame 1 is broken")
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=10, max_in_flight=1)
    try:
        for number in range(3):
            scheduler.offer(frame(number))

        first = await asyncio.wait_for(scheduler.next_result(), TIMEOUT_S)
        with pytest.raises(ValueError, match="frame 1 is broken"):
            await asyncio.wait_for(scheduler.next_result(), TIMEOUT_S)
        # max_in_flight=1: this only arrives if the failed frame gave its slot back
        third = await asyncio.wait_for(scheduler.next_result(), TIMEOUT_S)
    finally:
        await scheduler.close()

    assert (first["frame"], third["frame"]) == (0, 2)


async def test_burst_offered_before_dispatch_keeps_only_the_latest_frame() -> None:
    processed: list[int] = []

    async def process(f: Frame) -> Message:
        processed.append(f.number)
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=1, max_in_flight=1)
    try:
        for number in range(100):  # no await: the dispatcher cannot take any frame meanwhile
            scheduler.offer(frame(number))

        (result,) = await collect(scheduler, 1)
        await asyncio.sleep(0.01)  # give a wrongly kept frame the chance to be processed
    finally:
        await scheduler.close()

    assert result["frame"] == 99
    assert processed == [99]
    assert scheduler.dropped == 99


async def test_full_pending_buffer_drops_the_oldest_frames() -> None:
    processed: list[int] = []

    async def process(f: Frame) -> Message:
        processed.append(f.number)
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=3, max_in_flight=1)
    try:
        for number in range(10):
            scheduler.offer(frame(number))

        results = await collect(scheduler, 3)
        await asyncio.sleep(0.01)
    finally:
        await scheduler.close()

    assert [r["frame"] for r in results] == [7, 8, 9]
    assert processed == [7, 8, 9]
    assert scheduler.dropped == 7


async def test_slow_processing_drops_all_but_latest_and_counts_every_drop() -> None:
    processed: list[int] = []
    offered = 100

    async def process(f: Frame) -> Message:
        await asyncio.sleep(0.02)
        processed.append(f.number)
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=1, max_in_flight=1)

    async def consume() -> list[int]:
        numbers: list[int] = []
        while not numbers or numbers[-1] != offered - 1:
            numbers.append((await scheduler.next_result())["frame"])
        return numbers

    consumer = asyncio.create_task(consume())
    try:
        for number in range(offered):
            scheduler.offer(frame(number))
            await asyncio.sleep(0.001)  # a client sending ~20x faster than frames are processed
        delivered = await asyncio.wait_for(consumer, TIMEOUT_S)
        await asyncio.sleep(0.03)  # a wrongly kept frame would be processed by now
    finally:
        consumer.cancel()
        await scheduler.close()

    assert delivered == processed
    assert delivered == sorted(set(delivered))  # in order, each at most once
    assert delivered[-1] == offered - 1  # the latest frame is never dropped
    assert 0 < scheduler.dropped < offered - 1
    assert len(processed) + scheduler.dropped == offered


@pytest.mark.parametrize("max_in_flight", [1, 3])
async def test_max_in_flight_bounds_concurrent_processing(max_in_flight: int) -> None:
    active = 0
    peak = 0

    async def process(f: Frame) -> Message:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await asyncio.sleep(0.005)
        finally:
            active -= 1
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=100, max_in_flight=max_in_flight)
    try:
        for number in range(20):
            scheduler.offer(frame(number))

        results = await collect(scheduler, 20)
    finally:
        await scheduler.close()

    assert peak == max_in_flight  # reached, never exceeded
    assert [r["frame"] for r in results] == list(range(20))
    assert scheduler.dropped == 0


async def test_slots_free_only_when_results_are_taken() -> None:
    started: list[int] = []

    async def process(f: Frame) -> Message:
        started.append(f.number)
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=10, max_in_flight=2)
    try:
        for number in range(6):
            scheduler.offer(frame(number))
        await asyncio.sleep(0.02)
        before_reading = list(started)

        await collect(scheduler, 1)
        await asyncio.sleep(0.02)
        after_one_read = list(started)
    finally:
        await scheduler.close()

    assert before_reading == [0, 1]
    assert after_one_read == [0, 1, 2]


async def test_close_cancels_in_flight_frames_and_starts_no_pending_ones() -> None:
    started: list[int] = []
    cancelled: list[int] = []
    never = asyncio.Event()

    async def process(f: Frame) -> Message:
        started.append(f.number)
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(f.number)
            raise
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=5, max_in_flight=2)
    for number in range(5):
        scheduler.offer(frame(number))
    await asyncio.sleep(0.01)
    assert started == [0, 1]

    await asyncio.wait_for(scheduler.close(), TIMEOUT_S)

    assert sorted(cancelled) == [0, 1]  # already cancelled when close() returns
    await asyncio.sleep(0.01)
    assert started == [0, 1]  # frames 2..4 were still pending and never started
    scheduler.offer(frame(5))
    await asyncio.sleep(0.01)
    assert started == [0, 1]


async def test_close_of_an_idle_scheduler_returns_promptly() -> None:
    async def process(f: Frame) -> Message:
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=1, max_in_flight=2)
    await asyncio.sleep(0)

    await asyncio.wait_for(scheduler.close(), 1.0)


async def test_close_with_finished_results_not_yet_taken() -> None:
    async def process(f: Frame) -> Message:
        return {"frame": f.number}

    scheduler = FrameScheduler(process, max_pending=4, max_in_flight=4)
    for number in range(4):
        scheduler.offer(frame(number))
    await asyncio.sleep(0.01)

    await asyncio.wait_for(scheduler.close(), 1.0)


def test_elapsed_ms_is_rounded_milliseconds() -> None:
    since = time.perf_counter() - 0.25

    elapsed = elapsed_ms(since)

    assert 250.0 <= elapsed < 5000.0
    assert elapsed == round(elapsed, 2)
