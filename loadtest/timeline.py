"""The per-second timeline of a load run: CSV rows and a PNG plot (pure, no Locust, no Ray)."""

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from loadtest.cluster_state import Snapshot
from loadtest.shapes import Stage, users_at

USERS = "USERS"  # a line of the request log that gives the user count, not a request


@dataclass(frozen=True)
class RequestEvent:
    end: float  # epoch seconds
    kind: str  # POST, WS, …
    name: str
    latency_ms: float
    ok: bool


def read_events(path: Path) -> list[RequestEvent]:
    """The runner's request log (`end,kind,name,latency_ms,ok` lines); a cut last line is
    skipped (the file is read while Locust still writes it)."""
    found: list[RequestEvent] = []
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) != 5:
            continue
        try:
            found.append(
                RequestEvent(float(parts[0]), parts[1], parts[2], float(parts[3]), parts[4] == "1")
            )
        except ValueError:
            continue
    return found


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def build(
    started: float,
    seconds: int,
    events: Iterable[RequestEvent],
    snapshots: Sequence[Snapshot],
    plan: list[Stage],
) -> list[dict[str, float | int | str]]:
    """One row per second since `started`: users wanted, requests completed (= rps), errors,
    p50/p95/p99 of the requests completed in that second, and the newest snapshot's Serve
    replicas per deployment and Ray nodes per type at the end of that second."""
    latencies: list[list[float]] = [[] for _ in range(seconds)]
    errors = [0] * seconds
    users: list[int | None] = [None] * seconds
    for event in events:
        second = int(event.end - started)
        if event.kind == USERS:  # the shape's user count from that second on
            users[max(0, second) : seconds] = [int(event.latency_ms)] * (seconds - max(0, second))
        elif 0 <= second < seconds:
            latencies[second].append(event.latency_ms)
            errors[second] += 0 if event.ok else 1
    deployments = sorted({name for s in snapshots for name in s.replicas})
    node_types = sorted({name for s in snapshots for name in s.nodes})
    ordered = sorted(snapshots, key=lambda s: s.at)
    rows: list[dict[str, float | int | str]] = []
    index = -1
    for second in range(seconds):
        while index + 1 < len(ordered) and ordered[index + 1].at <= started + second + 1:
            index += 1
        values = sorted(latencies[second])
        row: dict[str, float | int | str] = {
            "second": second,
            "users": _users(users[second], plan, second),
            "rps": len(values),
            "errors": errors[second],
            "p50_ms": _rounded(percentile(values, 50)),
            "p95_ms": _rounded(percentile(values, 95)),
            "p99_ms": _rounded(percentile(values, 99)),
        }
        current = ordered[index] if index >= 0 else None
        for name in deployments:
            row[f"replicas_{name}"] = current.replicas.get(name, 0) if current else ""
        for name in node_types:
            row[f"nodes_{name}"] = current.nodes.get(name, 0) if current else ""
        rows.append(row)
    return rows


def _users(logged: int | None, plan: list[Stage], second: int) -> int:
    """The user count Locust logged, else the plan's."""
    return logged if logged is not None else users_at(plan, second) or 0


def _rounded(value: float) -> float | str:
    return "" if math.isnan(value) else round(value, 1)


def write_csv(rows: list[dict[str, float | int | str]], path: Path) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def plot(
    rows: Sequence[Mapping[str, float | int | str]],
    path: Path,
    title: str,
    shaded: Sequence[tuple[float, float, str]] = (),
) -> None:
    """Three panels over the same seconds: load (users, rps, errors), latency percentiles,
    and capacity (replicas per deployment, nodes per type); `shaded` spans (start s, end s,
    label) are shaded on every panel and labelled on the first (a chaos run's faults)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = [int(row["second"]) for row in rows]

    def column(name: str) -> list[float]:
        return [math.nan if row[name] == "" else float(row[name]) for row in rows]

    figure, (load, latency, capacity) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    load.step(seconds, column("users"), where="post", label="users", color="grey")
    rps = column("rps")
    load.plot(seconds, rps, label="requests/s", color="tab:blue", alpha=0.35)
    smooth = [
        sum(rps[max(0, i - 4) : i + 1]) / len(rps[max(0, i - 4) : i + 1]) for i in range(len(rps))
    ]
    load.plot(seconds, smooth, label="requests/s, 5 s mean", color="tab:blue")
    load.plot(seconds, column("errors"), label="errors/s", color="tab:red")
    load.set_ylabel("load")
    load.legend(loc="upper right")
    load.set_title(title)
    for name, color in (("p50_ms", "tab:green"), ("p95_ms", "tab:orange"), ("p99_ms", "tab:red")):
        latency.plot(seconds, column(name), label=name.replace("_ms", ""), color=color)
    latency.set_ylabel("latency (ms)")
    latency.legend(loc="upper right")
    names = [name for name in rows[0] if name.startswith(("replicas_", "nodes_"))] if rows else []
    for offset, name in enumerate(names):
        values = [v + 0.03 * offset for v in column(name)]  # keep equal lines apart
        style = "-" if name.startswith("replicas_") else "--"
        label = name.replace("replicas_", "replicas ").replace("nodes_", "nodes ")
        capacity.step(seconds, values, where="post", linestyle=style, label=label)
    capacity.set_ylabel("replicas / nodes")
    capacity.set_xlabel("seconds since the load started")
    if names:
        capacity.legend(loc="upper right", fontsize="small")
    for start, end, label in shaded:
        for panel in (load, latency, capacity):
            panel.axvspan(start, max(end, start + 1), color="tab:red", alpha=0.12, linewidth=0)
        load.annotate(
            label, (start, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
            textcoords="offset points", va="top", rotation=90, fontsize="small",
        )  # fmt: skip
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
