"""Replicas and GPU-type nodes follow a load step up and back down, with no failed request.

A local autoscaling cluster mirrors the RayService worker groups (medinv_tools/cluster/autoscale.py,
configs/autoscale-local.yaml); Locust (loadtest/) sends a step of detect users, the test
watches Serve's replicas and Ray's nodes once per second, ends the step when the Detector and
the Ingress have a second replica and a second `gpu` node is up, and keeps one user sending
while everything scales back to its minimum. The measured times go to
.run/autoscale-figures.json and the terminal; the timeline CSV and PNG beside them.
"""

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loadtest.cluster_state import ClusterObserver, Snapshot
from loadtest.runner import LoadRun, RunOptions, Summary
from medinv_tools.cluster.autoscale import LocalDeployment, launch
from medinv_tools.paths import REPO_ROOT

pytestmark = pytest.mark.autoscale

STEP_USERS = 6  # closed-loop detect users: ~6 ongoing requests against targets of 2
SCALE_UP_TIMEOUT_S = 150.0
SCALE_DOWN_TIMEOUT_S = 150.0
FIGURES = REPO_ROOT / ".run" / "autoscale-figures.json"
MINIMUM_REPLICAS = {"Ingress": 1, "Preprocessor": 1, "Detector": 1, "CameraPoller": 1}
MINIMUM_NODES = {"head": 1, "cpu": 1, "gpu": 1}


@pytest.fixture(scope="module")
def deployment(models_root: Path) -> Iterator[LocalDeployment]:
    run_dir = Path(tempfile.mkdtemp(prefix="medinv-autoscale-"))
    deployed = launch(run_dir, extra_env={"MEDINV_MODELS_ROOT": str(models_root)})
    try:
        yield deployed
    finally:
        deployed.cluster.stop()


def _first(
    load_run: LoadRun, since: float, wanted: Callable[[Snapshot], bool], timeout_s: float
) -> Snapshot:
    """The first snapshot taken at or after `since` that shows what is `wanted`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for snapshot in list(load_run.snapshots):
            if snapshot.at >= since and wanted(snapshot):
                return snapshot
        time.sleep(0.5)
    latest = load_run.snapshots[-1] if load_run.snapshots else None
    raise AssertionError(f"not seen within {timeout_s:.0f} s; last snapshot: {latest}")


def _step_started(load_run: LoadRun, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        requests = [e for e in load_run.events() if e.kind != "USERS"]
        if requests:
            return min(e.end - e.latency_ms / 1000.0 for e in requests)
        time.sleep(0.2)
    raise AssertionError(f"no request completed within {timeout_s:.0f} s")


def test_replicas_and_gpu_nodes_follow_a_load_step(
    deployment: LocalDeployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    observer = ClusterObserver(deployment.dashboard_url, deployment.token_file.read_text().strip())
    assert observer.replicas() == MINIMUM_REPLICAS
    assert observer.nodes() == MINIMUM_NODES
    options = RunOptions(
        host=deployment.base_url,
        out_dir=tmp_path / "load",
        shape="step",
        users=STEP_USERS,
        duration_s=3600.0,  # ended by end_step() once scaled up
        tail_users=1,  # keeps requests flowing while everything scales down
        tail_s=3600.0,
        observer=observer,
        progress_every_s=10.0,
    )
    load_run = LoadRun(options, say=lambda line: None)
    summaries: list[Summary] = []
    runner = threading.Thread(target=lambda: summaries.append(load_run.run()), daemon=True)
    runner.start()
    try:
        step_at = _step_started(load_run, 60.0)
        detector_up = _first(
            load_run, step_at, lambda s: s.replicas.get("Detector", 0) >= 2, SCALE_UP_TIMEOUT_S
        )
        ingress_up = _first(
            load_run, step_at, lambda s: s.replicas.get("Ingress", 0) >= 2, SCALE_UP_TIMEOUT_S
        )
        node_up = _first(load_run, step_at, lambda s: s.nodes.get("gpu", 0) >= 2, 30.0)
        time.sleep(5.0)  # a few seconds of load on the scaled-up cluster
        load_run.end_step()
        stop_at = load_run.step_ended_at
        assert stop_at is not None
        replicas_down = _first(
            load_run, stop_at, lambda s: s.replicas == MINIMUM_REPLICAS, SCALE_DOWN_TIMEOUT_S
        )
        node_down = _first(
            load_run, stop_at, lambda s: s.nodes == MINIMUM_NODES, SCALE_DOWN_TIMEOUT_S
        )
        time.sleep(2.0)  # requests after the last node left count too
    finally:
        load_run.stop()
        runner.join(timeout=120)
    assert summaries, "the load run did not finish"
    summary = summaries[0]
    figures = {
        "step_to_ingress_replica_s": round(ingress_up.at - step_at, 1),
        "step_to_detector_replica_s": round(detector_up.at - step_at, 1),
        "step_to_gpu_node_s": round(node_up.at - step_at, 1),
        "stop_to_minimum_replicas_s": round(replicas_down.at - stop_at, 1),
        "stop_to_gpu_node_removed_s": round(node_down.at - stop_at, 1),
        "step_users": STEP_USERS,
        "requests": summary.requests,
        "failed_requests": summary.failures,
    }
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    for name in ("timeline.csv", "timeline.png"):
        shutil.copy(options.out_dir / name, FIGURES.with_name(f"autoscale-{name}"))
    with capsys.disabled():
        print(f"\nautoscaling figures ({FIGURES}): {json.dumps(figures)}")
    assert summary.failures == 0, summary.failures_by_name
    assert summary.requests >= 20
    # The new Detector replica needed the new node: it cannot come first.
    assert node_up.at <= detector_up.at
