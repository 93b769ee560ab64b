"""The local autoscaling cluster mirrors the RayService's worker groups and Serve policies."""

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from medinv_tools.cluster.autoscale import (
    FAKE_HEAD_NODE_ID,
    HEAD_NODE_TYPE,
    LOCAL_OVERRIDES,
    LocalBounds,
    NodeType,
    autoscaling_config,
    node_types,
    rayservice_manifest,
    serve_config,
    session_processes,
    terminate,
)
from medinv_tools.config_check import check_serve_config
from medinv_tools.paths import REPO_ROOT

KUBERAY = REPO_ROOT / "kuberay"
SERVE_CONFIG = REPO_ROOT / "configs" / "serve_config.yaml"


def test_node_types_are_the_worker_groups_scaled_down() -> None:
    types = {t.name: t for t in node_types(rayservice_manifest(KUBERAY), LocalBounds())}
    assert types == {
        # base: cpu 1-4 pods of 4 CPUs, gpu 1-2 pods of 4 CPUs + 1 GPU
        "cpu": NodeType("cpu", 2.0, 0.0, 1, 1, {"medical-inventory/pool": "cpu"}),
        "gpu": NodeType("gpu", 2.0, 1.0, 1, 2, {"medical-inventory/pool": "gpu"}),
    }


def test_the_production_overlay_keeps_its_groups_within_the_local_bounds() -> None:
    bounds = LocalBounds(max_workers=3, max_workers_by_group={})
    types = {t.name: t for t in node_types(rayservice_manifest(KUBERAY, "production"), bounds)}
    # production: cpu 2-3, gpu 1-4; min capped at 1, max at 3
    assert (types["cpu"].min_workers, types["cpu"].max_workers) == (1, 3)
    assert (types["gpu"].min_workers, types["gpu"].max_workers, types["gpu"].gpus) == (1, 3, 1.0)


def test_autoscaling_config_uses_the_external_fake_provider_on_our_gcs() -> None:
    types = node_types(rayservice_manifest(KUBERAY), LocalBounds())
    config = autoscaling_config(types, "127.0.0.1:45678", idle_timeout_s=12)
    provider = config["provider"]
    assert provider["type"] == "external"
    assert provider["module"].endswith("FakeMultiNodeProvider")
    assert provider["gcs_address"] == "127.0.0.1:45678"
    assert provider["head_node_id"] == FAKE_HEAD_NODE_ID
    nodes = config["available_node_types"]
    assert nodes[HEAD_NODE_TYPE]["resources"] == {"CPU": 0}  # no replica on the head
    assert nodes["gpu"]["resources"] == {"CPU": 2.0, "GPU": 1.0}
    assert nodes["gpu"]["labels"] == {"medical-inventory/pool": "gpu"}
    assert config["idle_timeout_minutes"] == 0.2
    assert config["max_workers"] == 3


def test_serve_config_is_the_source_plus_kuberay_and_local_overrides() -> None:
    config = serve_config(SERVE_CONFIG, KUBERAY, http_port=18123)
    assert check_serve_config(config) == []
    assert config["http_options"] == {
        "host": "127.0.0.1",
        "port": 18123,
        "keep_alive_timeout_s": 75,
    }
    assert config["proxy_location"] == "HeadOnly"
    deployments = {d["name"]: d for d in config["applications"][0]["deployments"]}
    detector = deployments["Detector"]
    assert detector["ray_actor_options"]["num_gpus"] == 1  # from kuberay/base
    assert detector["autoscaling_config"]["max_replicas"] == 2  # from the local overrides
    ingress = deployments["Ingress"]
    assert ingress["ray_actor_options"]["label_selector"] == {"medical-inventory/pool": "cpu"}
    # Everything else comes from configs/serve_config.yaml, but for where images are decoded:
    # the GPU Detector only detects (kuberay/base).
    source = yaml.safe_load(SERVE_CONFIG.read_text())
    ingress_args = config["applications"][0]["args"]["ingress"]
    assert ingress_args == {
        **source["applications"][0]["args"]["ingress"],
        "preprocess_in": "preprocessor",
    }


def test_the_local_overrides_name_known_deployments_only() -> None:
    local = yaml.safe_load(LOCAL_OVERRIDES.read_text())
    names = {d["name"] for d in local["applications"][0]["deployments"]}
    assert names <= {"Ingress", "Preprocessor", "Detector"}


def test_only_the_sessions_own_processes_are_stopped(tmp_path: Path) -> None:
    # A session leader with a child and a grandchild, like `ray start --block` and its raylets.
    script = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        '\'import subprocess, sys, time; subprocess.Popen([sys.executable, "-c", '
        '"import time; time.sleep(60)"]); time.sleep(60)\']); time.sleep(60)'
    )
    leader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 20
        while len(session_processes(leader.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        owned = session_processes(leader.pid)
        assert len(owned) == 2
        assert bystander.pid not in owned
        leader.terminate()
        leader.wait(timeout=10)
        terminate(owned, timeout_s=5)
        assert session_processes(leader.pid) == {}
        assert bystander.poll() is None
    finally:
        for process in (leader, bystander):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert os.getpid() not in owned
