"""Per fault: what was sent, what failed, which records were kept, and how long the service
took to recover. Pure: outcomes, stored record keys and fault times in, rows out.

A request belongs to the window in which its outcome came (its last attempt ended): from one
fault's injection to the next's (the first window, `baseline`, from the start of the load to
the first fault; the last to the end of the load). A request in flight when a fault hits is
that fault's. Records are matched by the idempotency key the users sent, found inside the
stored request id (so a caller-scoped id such as `<caller>:<key>` matches too).
"""

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loadtest.chaos.outcomes import Outcome

KEY_PATTERN = re.compile(r"chaos-[0-9a-f]{8}-[0-9a-f]{32}")
BASELINE = "baseline"
# Recovery: the success rate (a 9 s centred mean of successful requests per second) is back at
# RECOVERED_LEVEL of its mean over the PRE_FAULT_S seconds before the injection. At the few
# requests per second of a 2-core machine a shorter mean or a higher level reads noise as
# faults: a 5 s mean at 80 % found 67 s of "recovery" in a PostgreSQL cut that failed nothing.
PRE_FAULT_S = 15
SMOOTHING_S = 9
RECOVERED_LEVEL = 0.7


@dataclass(frozen=True)
class FaultWindow:
    name: str
    injected_at: float  # epoch seconds
    cleared_at: float  # when a cut was restored; the injection itself for a kill
    ended_at: float  # the next window's start, or the end of the load
    detail: str = ""


@dataclass(frozen=True)
class FaultRow:
    fault: str
    sent: int
    failed: dict[str, int]  # by final status
    accepted: int  # detections answered written, queued or duplicate
    stored: int  # rows in the database whose key was sent in this window
    duplicated: int  # rows beyond the first of one key
    lost: int  # accepted keys without a row
    unacknowledged: int  # rows of keys whose detection failed (kept, not lost)
    recovery_s: float | None  # None: not back to the pre-fault level within the window

    @property
    def failures(self) -> int:
        return sum(self.failed.values())


@dataclass(frozen=True)
class Accounting:
    rows: list[FaultRow]
    total: FaultRow
    unmatched_rows: int = 0  # stored rows of this location that carry no key sent by the users


def stored_keys(request_ids: Iterable[str]) -> tuple[Counter[str], int]:
    """Rows per idempotency key, and how many rows carry none."""
    keys: Counter[str] = Counter()
    unmatched = 0
    for request_id in request_ids:
        found = KEY_PATTERN.search(request_id)
        if found is None:
            unmatched += 1
        else:
            keys[found.group(0)] += 1
    return keys, unmatched


def successes_per_second(outcomes: Sequence[Outcome], started: float, seconds: int) -> list[int]:
    counts = [0] * seconds
    for outcome in outcomes:
        second = int(outcome.ended - started)
        if outcome.ok and 0 <= second < seconds:
            counts[second] += 1
    return counts


def smoothed(values: Sequence[int], second: int) -> float:
    """The centred SMOOTHING_S-second mean at `second` (shorter at the edges)."""
    half = SMOOTHING_S // 2
    window = values[max(0, second - half) : second + half + 1]
    return sum(window) / len(window) if window else math.nan


def pre_fault_level(successes: Sequence[int], injected_second: int) -> float:
    window = successes[max(0, injected_second - PRE_FAULT_S) : injected_second]
    return sum(window) / len(window) if window else 0.0


def _degraded(successes: Sequence[int], second: int, level: float) -> bool:
    return smoothed(successes, second) < level


def recovery_s(successes: Sequence[int], started: float, window: FaultWindow) -> float | None:
    """Seconds from the injection to the end of the last second of the window whose smoothed
    success rate is under RECOVERED_LEVEL of the pre-fault level (0 when none is); None when
    the window's last such second is still under it. The window's final SMOOTHING_S // 2
    seconds are not judged: their mean reaches into the next fault's window."""
    injected = int(window.injected_at - started)
    last = min(len(successes), int(window.ended_at - started)) - 1 - SMOOTHING_S // 2
    level = RECOVERED_LEVEL * pre_fault_level(successes, injected)
    degraded = [s for s in range(injected, last + 1) if _degraded(successes, s, level)]
    if not degraded:
        return 0.0
    if degraded[-1] == last:
        return None
    return float(degraded[-1] + 1 - injected)


def recovered_now(
    successes: Sequence[int], started: float, window: FaultWindow, now: float, settle_s: int
) -> bool:
    """While the run goes on: the fault is cleared and, for the last `settle_s` seconds whose
    smoothed rate can be told (SMOOTHING_S // 2 short of `now`), the rate was at its level."""
    injected = int(window.injected_at - started)
    level = RECOVERED_LEVEL * pre_fault_level(successes, injected)
    last = min(len(successes), int(now - started)) - 1 - SMOOTHING_S // 2
    first = last - settle_s + 1
    if first < int(window.cleared_at - started) or first < injected:
        return False
    return not any(_degraded(successes, s, level) for s in range(first, last + 1))


def _row(
    name: str,
    outcomes: Sequence[Outcome],
    stored: Counter[str],
    recovery: float | None,
) -> FaultRow:
    keys = [o.key for o in outcomes if o.kind == "detect" and o.key]
    accepted = {o.key for o in outcomes if o.accepted and o.key}
    return FaultRow(
        fault=name,
        sent=len(outcomes),
        failed=dict(sorted(Counter(o.status for o in outcomes if not o.ok).items())),
        accepted=len(accepted),
        stored=sum(stored[k] for k in keys),
        duplicated=sum(stored[k] - 1 for k in keys if stored[k] > 1),
        lost=sum(1 for k in accepted if stored[k] == 0),
        unacknowledged=sum(1 for k in set(keys) - accepted if stored[k] > 0),
        recovery_s=recovery,
    )


def account(
    outcomes: Sequence[Outcome],
    request_ids: Iterable[str],
    windows: Sequence[FaultWindow],
    load_started: float,
    load_ended: float,
) -> Accounting:
    """One row per fault window, one for the baseline before them, and the total."""
    stored, unmatched = stored_keys(request_ids)
    seconds = max(1, math.ceil(load_ended - load_started))
    successes = successes_per_second(outcomes, load_started, seconds)
    first = windows[0].injected_at if windows else load_ended
    rows = [_row(BASELINE, [o for o in outcomes if o.ended < first], stored, None)]
    for window in windows:
        inside = [o for o in outcomes if window.injected_at <= o.ended < window.ended_at]
        recovery = recovery_s(successes, load_started, window)
        rows.append(_row(window.name, inside, stored, recovery))
    total = _row("total", outcomes, stored, None)
    return Accounting(rows=rows, total=total, unmatched_rows=unmatched)
