"""What a stream records: the median count per label over its last frames, at most once per
interval (counted from the stream's start or its last record). One misdetection in one frame
moves the median of five frames not at all."""

from collections import deque
from collections.abc import Iterable
from statistics import median_low


class CountSmoother:
    def __init__(
        self,
        window_frames: int,
        interval_s: float,
        started_at: float,
        window: list[dict[str, int]] | None = None,
    ) -> None:
        """`started_at` and every `now` are wall-clock seconds (a resumed stream's state moves
        between replicas); `window` restores the frames of a resumed stream."""
        self._window: deque[dict[str, int]] = deque(window or [], maxlen=window_frames)
        self._interval_s = interval_s
        self._last_recorded_at = started_at

    @property
    def window(self) -> list[dict[str, int]]:
        return list(self._window)

    @property
    def last_recorded_at(self) -> float:
        return self._last_recorded_at

    def observe(self, counts: dict[str, int], now: float) -> dict[str, int] | None:
        """Add a frame's counts; return the smoothed counts when a record is due."""
        self._window.append(counts)
        if now - self._last_recorded_at < self._interval_s:
            return None
        self._last_recorded_at = now
        return {label: count for label, count in median_counts(self._window).items() if count}


def median_counts(frames: Iterable[dict[str, int]]) -> dict[str, int]:
    """Each label's median (the lower middle one) over the frames, a frame without it
    counting 0; sorted by label."""
    window = list(frames)
    labels = sorted(set().union(*window))
    return {label: median_low(c.get(label, 0) for c in window) for label in labels}
