"""What the chaos users write about each logical request (all of its attempts), one JSON line
each, and read back by the accounting."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

OK_STATUSES = frozenset({"200", "ok"})  # a detection's HTTP 200, a stream frame's result
# What a detection answered in `recorded` when its record is (or was already) kept.
ACCEPTED = frozenset({"written", "queued", "duplicate"})


@dataclass(frozen=True)
class Outcome:
    kind: str  # "detect" or "frame"
    started: float  # epoch seconds
    ended: float
    status: str  # "200", "503", "ok", or the error's class name (ReadTimeout, …)
    key: str | None = None  # the detection's idempotency key
    recorded: str | None = None  # the detection's "recorded"
    attempts: tuple[str, ...] = ()  # the status or error of each attempt

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def accepted(self) -> bool:
        return self.ok and self.recorded in ACCEPTED

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def read_outcomes(path: Path) -> list[Outcome]:
    """The outcomes log; a cut last line (still being written) is skipped."""
    found: list[Outcome] = []
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        try:
            fields = json.loads(line)
        except ValueError:
            continue
        fields["attempts"] = tuple(fields.get("attempts") or ())
        found.append(Outcome(**fields))
    return found
