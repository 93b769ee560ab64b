"""CPU time of a process tree over a scenario, by role: where the CPU goes per image.

Ray names its processes (`ray::ServeReplica:<app>:<deployment>`, `ray::ProxyActor`, ...),
so a process's command line says which part of the service it is. The load generator (this
process) is counted too: on a small machine it shares the cores with the service.
"""

import os
from collections import defaultdict

import psutil

# First match wins: replicas before the generic Ray names.
_ROLES = (
    ("ServeReplica:medinv:Detector", "Detector replica"),
    ("ServeReplica:medinv:Ingress", "Ingress replica"),
    ("ServeReplica:medinv:Preprocessor", "Preprocessor replica"),
    ("ServeReplica:medinv:CameraPoller", "CameraPoller replica"),
    ("ProxyActor", "Serve proxy"),
    ("haproxy", "HAProxy"),
    ("ServeController", "Serve controller"),
    ("raylet", "raylet"),
    ("gcs_server", "GCS"),
    ("dashboard", "dashboard and agents"),
    ("benchmarks.plain_server", "plain FastAPI server"),
)
LOAD_GENERATOR = "load generator (this process)"


def _role(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline()) or process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "other Ray processes"
    return next((role for needle, role in _ROLES if needle in command), "other Ray processes")


def tree_cpu_s(root_pid: int) -> dict[int, tuple[str, float]]:
    """pid: (role, CPU seconds so far) for every process of the tree, and this one."""
    found: dict[int, tuple[str, float]] = {}
    try:
        root = psutil.Process(root_pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        processes = []
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found[process.pid] = (_role(process), times.user + times.system)
    own = psutil.Process(os.getpid()).cpu_times()
    found[os.getpid()] = (LOAD_GENERATOR, own.user + own.system)
    return found


def cpu_by_role(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds spent between two samples, summed by role (processes that started in
    between count from zero)."""
    spent: dict[str, float] = defaultdict(float)
    for pid, (role, seconds) in after.items():
        spent[role] += seconds - before.get(pid, (role, 0.0))[1]
    return dict(spent)
