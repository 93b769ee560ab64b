"""The benchmark table and plot."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Row:
    setup: str
    scenario: str
    throughput: float  # images/s
    p50_ms: float
    p99_ms: float
    errors: int


def percentiles(latencies_ms: list[float]) -> tuple[float, float]:
    if not latencies_ms:
        return float("nan"), float("nan")
    p50, p99 = np.percentile(np.asarray(latencies_ms), [50, 99])
    return float(p50), float(p99)


def format_table(rows: list[Row], bare: Row, plain: dict[str, Row]) -> str:
    header = (
        f"{'setup':<14}{'scenario':<34}{'img/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'÷ bare':>8}{'÷ plain':>9}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        over_plain = plain.get(row.scenario)
        ratio_plain = f"{row.throughput / over_plain.throughput:.2f}" if over_plain else "-"
        lines.append(
            f"{row.setup:<14}{row.scenario:<34}{row.throughput:>8.1f}{row.p50_ms:>9.1f}"
            f"{row.p99_ms:>9.1f}{row.errors:>8}{row.throughput / bare.throughput:>8.2f}"
            f"{ratio_plain:>9}"
        )
    return "\n".join(lines)


def format_cpu(cpu: dict[str, dict[str, dict[str, float]]]) -> str:
    """One column per setup and size, one row per role: CPU ms per answered image."""
    columns = [(setup, size) for setup, by_size in cpu.items() for size in by_size]
    roles = sorted(
        {role for by_size in cpu.values() for by_role in by_size.values() for role in by_role},
        key=lambda role: -max(cpu[s][z].get(role, 0.0) for s, z in columns),
    )
    header = f"{'process':<32}" + "".join(f"{f'{s} {z}':>24}" for s, z in columns)
    lines = [header, "-" * len(header)]
    for role in roles:
        cells = "".join(f"{cpu[s][z].get(role, 0.0):>24.1f}" for s, z in columns)
        lines.append(f"{role:<32}{cells}")
    totals = "".join(f"{sum(cpu[s][z].values()):>24.1f}" for s, z in columns)
    lines.append(f"{'total':<32}{totals}")
    return "\n".join(lines)


def save(rows: list[Row], extra: dict[str, object], directory: Path) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "latest.json"
    json_path.write_text(json.dumps({"rows": [asdict(r) for r in rows], **extra}, indent=2))

    sizes = list(dict.fromkeys(r.scenario.split(" ", 1)[0] for r in rows))
    figure, axes = plt.subplots(len(sizes), 2, figsize=(13, 4.2 * len(sizes)), squeeze=False)
    colours = {
        "bare": "#777777",
        "serve": "#1f77b4",
        "plain-fastapi": "#ff7f0e",
        "baseline": "#d62728",
    }
    for (left, right), size in zip(axes, sizes, strict=True):
        mine = [r for r in rows if r.scenario.split(" ", 1)[0] == size]
        labels = [f"{r.setup}\n{r.scenario.split(' ', 1)[1]}" for r in mine]
        bar_colours = [colours.get(r.setup, "#2ca02c") for r in mine]
        left.bar(labels, [r.throughput for r in mine], color=bar_colours)
        left.set_ylabel("images / s")
        left.set_title(f"{size}: throughput")
        right.bar(labels, [r.p50_ms for r in mine], color=bar_colours, label="p50")
        right.scatter(
            labels, [r.p99_ms for r in mine], color="black", marker="_", s=400, label="p99"
        )
        right.set_yscale("log")
        right.set_ylabel("latency ms (log)")
        right.set_title(f"{size}: latency (p50 bars, p99 marks)")
        right.legend()
        for axis in (left, right):
            axis.tick_params(axis="x", labelrotation=70, labelsize=7)
    figure.tight_layout()
    png_path = directory / "latest.png"
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
    return json_path, png_path
