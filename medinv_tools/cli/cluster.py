"""`medinv` commands for the local Ray head (started and stopped by PID), Serve deploys,
waiting for readiness, and the local Prometheus."""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from medinv_tools.cluster.local import HAPROXY_ENV, ClusterPorts, LocalCluster
from medinv_tools.config_check import load_and_check
from medinv_tools.monitoring.local_prometheus import LocalPrometheus, PrometheusMissing


def _prometheus(args: argparse.Namespace) -> LocalPrometheus:
    return LocalPrometheus(_cluster(args), port=args.prometheus_port)


def _monitor(args: argparse.Namespace) -> int:
    prometheus = _prometheus(args)
    try:
        pid = prometheus.start()
    except (PrometheusMissing, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    sd_file = prometheus.cluster.service_discovery_file
    print(f"Prometheus running as PID {pid} on {prometheus.url} (config {prometheus.config_file})")
    print(f"  targets from {sd_file}{'' if sd_file.exists() else ' (not written yet: make run)'}")
    return 0


def _monitor_stop(args: argparse.Namespace) -> int:
    stopped = _prometheus(args).stop()
    print("stopped Prometheus" if stopped else "no Prometheus of this checkout was running")
    return 0


def _cluster(args: argparse.Namespace) -> LocalCluster:
    ports = ClusterPorts(
        gcs=args.gcs_port, dashboard=args.dashboard_port, metrics=args.metrics_port
    )
    return LocalCluster(run_dir=args.run_dir, ports=ports, num_cpus=args.num_cpus)


def _start(args: argparse.Namespace) -> int:
    cluster = _cluster(args)
    pid = cluster.start(HAPROXY_ENV if args.haproxy else None)
    print(f"Ray head running as PID {pid} (log {cluster.run_dir / 'ray.log'})")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    problems = load_and_check(args.config)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    _cluster(args).deploy(args.config)
    print(f"deployed {args.config}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    stopped = _cluster(args).stop()
    print("stopped the Ray head" if stopped else "no Ray head of this checkout was running")
    return 0


def _ready(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return True, json.loads(response.read())["model"]["version"]
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        return False, type(exc).__name__


def _wait(args: argparse.Namespace) -> int:
    """Wait for `serve status` to say RUNNING, then for GET /v1/ready to answer 200."""
    cluster = _cluster(args)
    deadline = time.monotonic() + args.timeout
    status = "?"
    with tqdm(total=int(args.timeout), desc="waiting for Serve", unit="s", disable=None) as bar:
        while time.monotonic() < deadline:
            try:
                status = cluster.serve_status(args.app)
            except urllib.error.HTTPError as exc:
                print(f"cannot query Serve: {exc}", file=sys.stderr)
                return 1
            except OSError as exc:  # the dashboard may still be starting
                status = type(exc).__name__
            ready, detail = (False, "") if status != "RUNNING" else _ready(args.ready_url)
            bar.set_postfix_str(f"serve={status} ready={ready} {detail}".strip())
            if ready:
                print(f"application {args.app!r} is RUNNING and ready ({detail})")
                return 0
            if status == "DEPLOY_FAILED":
                break
            time.sleep(1.0)
            bar.update(1)
    print(
        f"gave up: serve status {status}; see `serve status` and {cluster.run_dir}/ray.log",
        file=sys.stderr,
    )
    return 1


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cluster_options = argparse.ArgumentParser(add_help=False)
    defaults = ClusterPorts()
    cluster_options.add_argument("--run-dir", type=Path, default=Path(".run"))
    cluster_options.add_argument("--gcs-port", type=int, default=defaults.gcs)
    cluster_options.add_argument("--dashboard-port", type=int, default=defaults.dashboard)
    cluster_options.add_argument("--metrics-port", type=int, default=defaults.metrics)
    cluster_options.add_argument("--num-cpus", type=int, default=2)

    start = commands.add_parser("start", parents=[cluster_options], help="start a local Ray head")
    start.add_argument(
        "--haproxy", action="store_true", help="HAProxy instead of Serve's Python proxy"
    )
    start.set_defaults(handler=_start)

    deploy = commands.add_parser("deploy", parents=[cluster_options], help="check + serve deploy")
    deploy.add_argument("config", type=Path)
    deploy.set_defaults(handler=_deploy)

    stop = commands.add_parser("stop", parents=[cluster_options], help="stop the local Ray head")
    stop.set_defaults(handler=_stop)

    prometheus_options = argparse.ArgumentParser(add_help=False)
    prometheus_options.add_argument("--prometheus-port", type=int, default=9090)
    monitor = commands.add_parser(
        "monitor",
        parents=[cluster_options, prometheus_options],
        help="start Prometheus on loopback, scraping the local Ray head",
    )
    monitor.set_defaults(handler=_monitor)
    monitor_stop = commands.add_parser(
        "monitor-stop",
        parents=[cluster_options, prometheus_options],
        help="stop the Prometheus of `medinv monitor`",
    )
    monitor_stop.set_defaults(handler=_monitor_stop)

    wait = commands.add_parser(
        "wait", parents=[cluster_options], help="wait until the application is RUNNING and ready"
    )
    wait.add_argument("--app", default="medinv")
    wait.add_argument("--ready-url", default="http://127.0.0.1:8000/v1/ready")
    wait.add_argument("--timeout", type=float, default=300.0)
    wait.set_defaults(handler=_wait)
