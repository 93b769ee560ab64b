"""A local Ray cluster that autoscales like the RayService of kuberay/, on one machine.

Its node types are the RayService's worker groups (read from a kustomize render of
kuberay/base or an overlay): same names, same Ray node labels, the GPU group's nodes carry a
*logical* GPU, so a Detector with `num_gpus: 1` schedules there and runs on the CPU. Bounds
are scaled down to fit a small machine (`LocalBounds`). Ray's fake multi-node provider then
starts and stops those "nodes" as processes on this machine when the Ray autoscaler (v2) asks.

Why not `ray.cluster_utils.AutoscalingCluster`: in Ray 2.60 its example.yaml is missing from
the wheel, its start() runs `ray stop --force` (which kills every Ray process on the machine)
and it puts the GCS on 6379. Here the autoscaling config is built as a dict, the head is a
`LocalCluster` (own temp dir, free ports, token auth, loopback) and stopping it signals only
processes of the head's own session, found by the head's PID.
"""

import contextlib
import json
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medinv_tools.cluster.local import (
    ClusterPorts,
    LocalCluster,
    free_port,
    free_ports,
    wait_for_http_ok,
    with_http_port,
)
from medinv_tools.config_check import check_serve_config
from medinv_tools.kuberay.environments import environment
from medinv_tools.kuberay.kustomize import render
from medinv_tools.kuberay.placement import worker_groups
from medinv_tools.kuberay.serve_render import deep_merge, serve_config_for
from medinv_tools.paths import REPO_ROOT
from serve_app.inventory.migrate import upgrade

# Node IDs the fake provider gives the head and (with a counter) every worker it starts.
FAKE_HEAD_NODE_ID = "fffffffffffffffffffffffffffffffffffffffffffffffffff00000"
HEAD_NODE_TYPE = "ray.head.default"
FAKE_PROVIDER = "ray.autoscaler._private.fake_multi_node.node_provider.FakeMultiNodeProvider"
# The Ray node label that names a node's pool in the RayService (base/rayservice.yaml).
POOL_LABEL = "medical-inventory/pool"
# The local cluster's changes to the Serve config: configs/ stays the source of truth.
LOCAL_OVERRIDES = REPO_ROOT / "configs" / "autoscale-local.yaml"


@dataclass(frozen=True)
class NodeType:
    """One worker group as a node type of Ray's autoscaler."""

    name: str
    cpus: float
    gpus: float
    min_workers: int
    max_workers: int
    labels: dict[str, str] = field(default_factory=dict)

    def autoscaler_entry(self) -> dict[str, Any]:
        resources: dict[str, float] = {"CPU": self.cpus}
        if self.gpus:
            resources["GPU"] = self.gpus  # logical: nothing here checks for a device
        return {
            "resources": resources,
            "labels": dict(self.labels),
            "node_config": {},
            "min_workers": self.min_workers,
            "max_workers": self.max_workers,
        }


@dataclass(frozen=True)
class LocalBounds:
    """How the production worker groups shrink to fit one small machine.

    Each group keeps its labels and its logical GPUs; its CPUs are capped (a 4-CPU pod
    becomes a 2-CPU node: logical, the nodes share the machine's cores), its replica bounds
    are capped per group, defaulting to `max_workers`. Every fake node costs ~460 MB of Ray
    processes before a replica starts.
    """

    cpus_per_node: float = 2.0
    min_workers: int = 1
    max_workers: int = 2
    max_workers_by_group: Mapping[str, int] = field(default_factory=lambda: {"cpu": 1})


def rayservice_manifest(kuberay_dir: Path, env_name: str = "base") -> dict[str, Any]:
    """The RayService of an environment, rendered offline by `kubectl kustomize`."""
    env = environment(kuberay_dir, env_name)
    for manifest in render(env.directory):
        if manifest.get("kind") == "RayService":
            return manifest
    raise ValueError(f"no RayService in the {env_name} render of {kuberay_dir}")


def node_types(rayservice: Mapping[str, Any], bounds: LocalBounds) -> list[NodeType]:
    """The RayService's worker groups as autoscaler node types, scaled down by `bounds`."""
    specs = ((rayservice.get("spec") or {}).get("rayClusterConfig") or {}).get(
        "workerGroupSpecs"
    ) or []
    min_replicas = {spec.get("groupName"): int(spec.get("minReplicas", 0)) for spec in specs}
    found = []
    for group in worker_groups(dict(rayservice)):
        cap = bounds.max_workers_by_group.get(group.name, bounds.max_workers)
        most = max(1, min(group.max_replicas, cap))
        found.append(
            NodeType(
                name=group.name,
                cpus=min(group.pod.cpus, bounds.cpus_per_node),
                gpus=group.pod.gpus,
                min_workers=min(min_replicas.get(group.name, 0), bounds.min_workers, most),
                max_workers=most,
                labels=dict(group.labels),
            )
        )
    if not found:
        raise ValueError("the RayService has no worker groups")
    return found


def autoscaling_config(
    types: list[NodeType], gcs_address: str, idle_timeout_s: float
) -> dict[str, Any]:
    """The cluster config `ray start --head --autoscaling-config` reads (autoscaler v2, the
    fake multi-node provider as an external provider, the head hosting no replicas)."""
    return {
        "cluster_name": "medinv-local",
        "max_workers": sum(t.max_workers for t in types),
        "provider": {
            "type": "external",
            "module": FAKE_PROVIDER,
            "gcs_address": gcs_address,
            "head_node_id": FAKE_HEAD_NODE_ID,
            "launch_multiple": True,
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
        },
        "available_node_types": {
            HEAD_NODE_TYPE: {"resources": {"CPU": 0}, "node_config": {}, "max_workers": 0},
            **{t.name: t.autoscaler_entry() for t in types},
        },
        "head_node_type": HEAD_NODE_TYPE,
        "auth": {},
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": idle_timeout_s / 60.0,
        "docker": {},
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
    }


def serve_config(
    serve_config_path: Path,
    kuberay_dir: Path,
    http_port: int,
    env_name: str = "base",
    local_overrides: Path = LOCAL_OVERRIDES,
) -> dict[str, Any]:
    """What the cluster deploys: configs/serve_config.yaml + the environment's KubeRay
    overrides (label selectors, `num_gpus`) + configs/autoscale-local.yaml, on `http_port`."""
    config = serve_config_for(environment(kuberay_dir, env_name), serve_config_path)
    local = yaml.safe_load(local_overrides.read_text()) or {}
    return with_http_port(deep_merge(config, local), http_port)


@dataclass(frozen=True)
class AutoscalingCluster:
    """A `LocalCluster` head (no CPUs of its own) whose autoscaler adds fake worker nodes."""

    run_dir: Path
    types: tuple[NodeType, ...]
    ports: ClusterPorts = field(default_factory=ClusterPorts)
    idle_timeout_s: float = 10.0

    @property
    def head(self) -> LocalCluster:
        config = self.run_dir / "autoscaling-config.json"
        return LocalCluster(
            run_dir=self.run_dir,
            ports=self.ports,
            num_cpus=0,
            extra_args=("--autoscaling-config", str(config.resolve())),
        )

    def start(self, extra_env: dict[str, str] | None = None) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        gcs_address = f"127.0.0.1:{self.ports.gcs}"
        config = autoscaling_config(list(self.types), gcs_address, self.idle_timeout_s)
        (self.run_dir / "autoscaling-config.json").write_text(json.dumps(config, indent=1))
        env = {
            "RAY_FAKE_CLUSTER": "1",
            "AUTOSCALER_UPDATE_INTERVAL_S": "1",
            "RAY_enable_autoscaler_v2": "1",
            "RAY_CLOUD_INSTANCE_ID": FAKE_HEAD_NODE_ID,
            "RAY_OVERRIDE_NODE_ID_FOR_TESTING": FAKE_HEAD_NODE_ID,
            # On SIGTERM the head drains for up to 30 s by default, with nothing to drain:
            # the replicas live on the worker nodes, which go down with it.
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "5",
            **(extra_env or {}),
        }
        return self.head.start(extra_env=env)

    def pid(self) -> int | None:
        return self.head.pid()

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop the head, then whatever is left of its session: the fake nodes' raylets and
        workers, started by the head's autoscaler. Only processes whose session id is the
        head's PID (it was started with a session of its own) are signalled."""
        pid = self.head.pid()
        if pid is None:
            return self.head.stop(timeout_s)
        owned = session_processes(pid)
        stopped = self.head.stop(timeout_s)
        terminate(owned, timeout_s=15.0)
        return stopped


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in ticks): tells a PID's reuse apart. None for
    a process that is gone, or a zombie waiting for a parent that is not us to reap it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def _session_id(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[3])


def session_processes(session_leader: int) -> dict[int, str]:
    """PID → start time of every process in the session that `session_leader` leads."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == session_leader:
            continue
        pid = int(entry.name)
        if _session_id(pid) == session_leader:
            started = _start_time(pid)
            if started is not None:
                found[pid] = started
    return found


def terminate(processes: Mapping[int, str], timeout_s: float) -> None:
    """SIGTERM each process that is still the one recorded, then SIGKILL what is left."""

    def alive() -> list[int]:
        return [pid for pid, started in processes.items() if _start_time(pid) == started]

    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        for pid in alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while alive() and time.monotonic() < deadline:
            for pid in alive():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)


KUBERAY_DIR = REPO_ROOT / "kuberay"
SERVE_CONFIG = REPO_ROOT / "configs" / "serve_config.yaml"
APP_NAME = "medinv"


@dataclass(frozen=True)
class LocalDeployment:
    """A running autoscaling cluster with the service deployed on it."""

    cluster: AutoscalingCluster
    http_port: int
    config: dict[str, Any]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dashboard_url(self) -> str:
        return self.cluster.head.dashboard_url

    @property
    def token_file(self) -> Path:
        return self.cluster.head.token_file


def launch(
    run_dir: Path,
    *,
    env_name: str = "base",
    bounds: LocalBounds | None = None,
    idle_timeout_s: float = 10.0,
    ready_timeout_s: float = 300.0,
    extra_env: dict[str, str] | None = None,
) -> LocalDeployment:
    """Start the cluster on free ports, deploy the service with `serve deploy`, wait until it
    answers /v1/ready; the cluster is stopped again if any of that fails."""
    types = node_types(rayservice_manifest(KUBERAY_DIR, env_name), bounds or LocalBounds())
    http_port = free_port()
    config = serve_config(SERVE_CONFIG, KUBERAY_DIR, http_port, env_name)
    problems = check_serve_config(config)
    if problems:
        raise ValueError("the local autoscaling Serve config is invalid: " + "; ".join(problems))
    cluster = AutoscalingCluster(run_dir, tuple(types), free_ports(), idle_timeout_s)
    data_dir = run_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite+aiosqlite:///{data_dir / 'inventory.db'}"
    upgrade(database_url)
    store_env = {"MEDINV_DATA_DIR": str(data_dir), "MEDINV_DATABASE_URL": database_url}
    # Load tests repeat the same few images: with the result cache on, the ingress would
    # answer them itself and the detectors would never see the load that should scale them.
    no_cache = {"MEDINV_RESULT_CACHE_TTL_S": "0"}
    cluster.start(extra_env={**store_env, **no_cache, **(extra_env or {})})
    deployment = LocalDeployment(cluster, http_port, config)
    try:
        cluster.head.deploy(config)
        wait_for_http_ok(
            f"{deployment.base_url}/v1/ready", ready_timeout_s, lambda: cluster.pid() is not None
        )
    except BaseException:
        cluster.stop()
        raise
    state = {"ports": asdict(cluster.ports), "http_port": http_port, "env": env_name}
    (run_dir / "cluster.json").write_text(json.dumps(state, indent=1))
    return deployment


def running(run_dir: Path) -> LocalDeployment | None:
    """The deployment `launch` left running in `run_dir`, if its head is still alive."""
    try:
        state = json.loads((run_dir / "cluster.json").read_text())
    except FileNotFoundError:
        return None
    cluster = AutoscalingCluster(run_dir, (), ClusterPorts(**state["ports"]))
    if cluster.pid() is None:
        return None
    return LocalDeployment(cluster, int(state["http_port"]), {})
