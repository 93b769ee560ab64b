"""When a camera is polled next, and which time slot a poll records."""

import math


def slot_of(at: float, interval_s: float) -> int:
    """The time slot (wall-clock seconds since the epoch over the interval) that `at` is in: a
    poll's record is keyed by its camera and slot, so a retried slot is recorded once."""
    return math.floor(at / interval_s)


def next_poll_at(slot: int, interval_s: float) -> float:
    """The start of the slot after `slot`."""
    return (slot + 1) * interval_s


def backoff_s(failures: int, base_s: float, max_s: float) -> float:
    """The wait after `failures` failed polls in a row: base, 2 x base, 4 x base, … up to max.
    A camera that fails once is tried again soon; one that stays dead, ever less often."""
    return min(max_s, base_s * 2.0 ** (failures - 1))
