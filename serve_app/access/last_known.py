"""What the database last said about each API key, to ride out its outages.

Within `window_s` of the last answer a replica saw (from the database or the shared cache), a
key it knew keeps working while the database is unreachable, and a key it knew to be unknown
or revoked stays refused; keys it never saw get the outage's 503. A key revoked during the
outage keeps working until the window ends: the window bounds that.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from serve_app.access.keys import KeyRecord


@dataclass(frozen=True)
class Recalled:
    record: KeyRecord | None  # None: known to be unknown or revoked
    age_s: float


class LastKnownKeys:
    def __init__(
        self,
        window_s: float,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_s = window_s
        self._capacity = capacity
        self._clock = clock
        self._answers: OrderedDict[str, tuple[KeyRecord | None, float]] = OrderedDict()

    def remember(self, key_id: str, record: KeyRecord | None) -> None:
        self._answers[key_id] = (record, self._clock())
        self._answers.move_to_end(key_id)
        while len(self._answers) > self._capacity:
            self._answers.popitem(last=False)

    def recall(self, key_id: str) -> Recalled | None:
        """The last answer about `key_id` if it is recent enough, else None."""
        answer = self._answers.get(key_id)
        if answer is None:
            return None
        record, seen_at = answer
        age_s = self._clock() - seen_at
        return Recalled(record, age_s) if age_s <= self._window_s else None
