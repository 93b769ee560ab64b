import math
from pathlib import Path

from loadtest.cluster_state import Snapshot, alive_nodes, running_replicas
from loadtest.shapes import Stage
from loadtest.timeline import (
    RequestEvent,
    build,
    percentile,
    plot,
    read_csv,
    read_events,
    write_csv,
)

T0 = 1_800_000_000.0


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_the_request_log_skips_a_line_cut_while_locust_writes(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    log.write_text(
        f"{T0:.3f},POST,/v1/detect,120.5,1\n{T0 + 1:.3f},WS,/v1/stream,80,0\n{T0 + 2},PO"
    )
    assert read_events(log) == [
        RequestEvent(T0, "POST", "/v1/detect", 120.5, True),
        RequestEvent(T0 + 1, "WS", "/v1/stream", 80.0, False),
    ]
    assert read_events(tmp_path / "missing.log") == []


def test_each_second_has_its_load_latency_and_the_cluster_at_its_end() -> None:
    events = [
        RequestEvent(T0 + 0.1, "USERS", "users", 4, True),
        RequestEvent(T0 + 0.5, "POST", "/v1/detect", 100, True),
        RequestEvent(T0 + 0.9, "POST", "/v1/detect", 300, False),
        RequestEvent(T0 + 2.2, "USERS", "users", 1, True),
        RequestEvent(T0 + 2.5, "WS", "/v1/stream", 50, True),
    ]
    snapshots = [
        Snapshot(T0 + 0.2, {"Detector": 1}, {"gpu": 1}),
        Snapshot(T0 + 1.5, {"Detector": 2}, {"gpu": 2}),
    ]
    rows = build(T0, 3, events, snapshots, [Stage(10, 9)])
    assert rows[0] == {
        "second": 0,
        "users": 4,
        "rps": 2,
        "errors": 1,
        "p50_ms": 100.0,
        "p95_ms": 300.0,
        "p99_ms": 300.0,
        "replicas_Detector": 1,
        "nodes_gpu": 1,
    }
    assert rows[1]["rps"] == 0 and rows[1]["p50_ms"] == "" and rows[1]["nodes_gpu"] == 2
    assert (rows[2]["users"], rows[2]["rps"], rows[2]["replicas_Detector"]) == (1, 1, 2)


def test_without_logged_users_or_snapshots_the_plan_fills_in() -> None:
    rows = build(T0, 2, [], [], [Stage(1, 3), Stage(5, 1)])
    assert [row["users"] for row in rows] == [3, 1]
    assert "replicas_Detector" not in rows[0]


def test_the_timeline_round_trips_through_csv_and_plots(tmp_path: Path) -> None:
    events = [RequestEvent(T0 + s + 0.5, "POST", "/v1/detect", 100 + s, True) for s in range(5)]
    snapshots = [Snapshot(T0 + s, {"Ingress": 1 + s // 3}, {"cpu": 1}) for s in range(5)]
    rows = build(T0, 5, events, snapshots, [Stage(5, 2)])
    write_csv(rows, tmp_path / "timeline.csv")
    read = read_csv(tmp_path / "timeline.csv")
    # a snapshot taken at the end of a second (T0 + 3) belongs to that second (2)
    assert [r["replicas_Ingress"] for r in read] == ["1", "1", "2", "2", "2"]
    plot(rows, tmp_path / "timeline.png", "test")
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replicas_count_running_ones_and_nodes_count_alive_ones_per_pool() -> None:
    applications = {
        "applications": {
            "medinv": {
                "deployments": {
                    "Detector": {"replicas": [{"state": "RUNNING"}, {"state": "STARTING"}]},
                    "Ingress": {"replicas": [{"state": "RUNNING"}]},
                }
            }
        }
    }
    assert running_replicas(applications, "medinv") == {"Detector": 1, "Ingress": 1}
    assert running_replicas(applications, "other") == {}
    nodes = [
        {"state": "ALIVE", "is_head_node": True, "labels": {}},
        {"state": "ALIVE", "labels": {"medical-inventory/pool": "gpu"}},
        {"state": "DEAD", "labels": {"medical-inventory/pool": "gpu"}},
        {"state": "ALIVE", "labels": {"medical-inventory/pool": "cpu"}},
        {"state": "ALIVE", "labels": {}},
    ]
    assert alive_nodes(nodes) == {"cpu": 1, "gpu": 1, "head": 1, "worker": 1}
