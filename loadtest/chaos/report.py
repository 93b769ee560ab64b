"""The chaos run's table, its targets (pass or fail) and its JSON."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtest.chaos.accounting import Accounting, FaultRow, FaultWindow

MAX_FAILED_FRACTION = 0.001  # ≤ 0.1 % of the requests of the whole run
MAX_RECOVERY_S = 30.0

COLUMNS = ("fault", "sent", "failed", "accepted", "stored", "dup", "lost", "unacked", "recovery")


@dataclass(frozen=True)
class Target:
    name: str
    passed: bool
    detail: str


def _failed(row: FaultRow) -> str:
    if not row.failed:
        return "0"
    by_status = " ".join(f"{status}:{count}" for status, count in row.failed.items())
    return f"{row.failures} ({by_status})"


def _recovery(row: FaultRow) -> str:
    if row.fault in ("baseline", "total"):
        return ""
    return "not recovered" if row.recovery_s is None else f"{row.recovery_s:.0f} s"


def _cells(row: FaultRow) -> list[str]:
    return [
        row.fault,
        str(row.sent),
        _failed(row),
        str(row.accepted),
        str(row.stored),
        str(row.duplicated),
        str(row.lost),
        str(row.unacknowledged),
        _recovery(row),
    ]


def table(accounting: Accounting) -> str:
    """The rows as a Markdown table (readable in a terminal and pasted into docs as is)."""
    lines = [[*COLUMNS]] + [_cells(r) for r in [*accounting.rows, accounting.total]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def targets(accounting: Accounting) -> list[Target]:
    total = accounting.total
    faults = [r for r in accounting.rows if r.fault != "baseline"]
    fraction = total.failures / total.sent if total.sent else 0.0
    slow = [
        f"{r.fault} ({_recovery(r)})"
        for r in faults
        if r.recovery_s is None or r.recovery_s > MAX_RECOVERY_S
    ]
    return [
        Target(
            "0 accepted records lost or duplicated",
            total.lost == 0 and total.duplicated == 0,
            f"{total.lost} lost, {total.duplicated} duplicated of {total.accepted} accepted",
        ),
        Target(
            f"≤ {MAX_FAILED_FRACTION:.1%} failed requests",
            fraction <= MAX_FAILED_FRACTION,
            f"{total.failures} of {total.sent} ({fraction:.2%})",
        ),
        Target(
            f"recovery ≤ {MAX_RECOVERY_S:.0f} s after each fault",
            not slow,
            "every fault" if not slow else "over: " + ", ".join(slow),
        ),
    ]


def target_lines(found: list[Target]) -> str:
    return "\n".join(f"{'PASS' if t.passed else 'FAIL'}  {t.name}: {t.detail}" for t in found)


def write_json(
    path: Path,
    accounting: Accounting,
    windows: list[FaultWindow],
    found: list[Target],
    load_started: float,
    extra: dict[str, Any],
) -> None:
    document = {
        "load_started_at": load_started,
        "faults": [asdict(w) for w in windows],
        "rows": [asdict(r) for r in accounting.rows],
        "total": asdict(accounting.total),
        "unmatched_rows": accounting.unmatched_rows,
        "targets": [asdict(t) for t in found],
        **extra,
    }
    path.write_text(json.dumps(document, indent=2))
