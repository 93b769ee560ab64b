"""`loadtest`: run a load shape against the service and write its timeline; start and stop
the local autoscaling cluster that mirrors the KubeRay worker groups.

    loadtest cluster up                      # local autoscaling cluster in .run/autoscale
    loadtest run --cluster .run/autoscale --shape step --users 6 --duration 120 --tail 90
    loadtest run --host https://medinv.example.com --dashboard http://127.0.0.1:8265 \\
        --token-file token --shape spike --users 40 --duration 600
    loadtest cluster down
    loadtest chaos                           # its own cluster, faults one after another
"""

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from loadtest.chaos.faults import ALL_FAULTS
from loadtest.cluster_state import ClusterObserver, read_token
from loadtest.runner import USER_CLASSES, LoadRun, RunOptions
from loadtest.shapes import SHAPES

DEFAULT_RUN_DIR = Path(".run/autoscale")


def _run(args: argparse.Namespace) -> int:
    host, dashboard, token_file = args.host, args.dashboard, args.token_file
    if args.cluster is not None:
        from medinv_tools.cluster.autoscale import running

        deployment = running(args.cluster)
        if deployment is None:
            print(f"no cluster runs in {args.cluster}: `loadtest cluster up`", file=sys.stderr)
            return 1
        host = host or deployment.base_url
        dashboard = dashboard or deployment.dashboard_url
        token_file = token_file or deployment.token_file
    if not host:
        print("--host URL or --cluster DIR is needed", file=sys.stderr)
        return 2
    observer = None
    if dashboard:
        observer = ClusterObserver(dashboard, read_token(token_file), app_name=args.app)
    options = RunOptions(
        host=host.rstrip("/"),
        out_dir=args.out,
        shape=args.shape,
        users=args.users,
        duration_s=args.duration,
        steps=args.steps,
        tail_users=args.tail_users,
        tail_s=args.tail,
        users_of=tuple(args.users_of.split(",")),
        fps=args.fps,
        observer=observer,
    )
    load_run = LoadRun(options)

    def interrupted(signum: int, frame: FrameType | None) -> None:
        print("stopping: the timeline is written from what ran so far", file=sys.stderr)
        load_run.stop()

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    print(f"{args.shape} load, {args.users} users, {args.duration:.0f} s on {options.host}")
    summary = load_run.run()
    print(f"{summary.requests} requests, {summary.failures} failed, {summary.seconds} s")
    print(f"timeline  {summary.csv}\nplot      {summary.png}")
    return 0 if summary.failures == 0 else 1


def _chaos(args: argparse.Namespace) -> int:
    from loadtest.chaos.run import ChaosOptions, run_chaos

    options = ChaosOptions(
        out_dir=args.out,
        faults=tuple(args.faults.split(",")),
        cut_s=args.cut,
        detect_users=args.detect_users,
        stream_users=args.stream_users,
        warmup_s=args.warmup,
        settle_s=args.settle,
        max_recovery_s=args.max_recovery,
    )
    result = run_chaos(options)
    return 0 if all(target.passed for target in result.targets) else 1


def _cluster_up(args: argparse.Namespace) -> int:
    from medinv_tools.cluster.autoscale import launch, running

    if running(args.run_dir) is not None:
        print(f"a cluster already runs in {args.run_dir}", file=sys.stderr)
        return 1
    deployment = launch(args.run_dir, env_name=args.env, idle_timeout_s=args.idle_timeout)
    types = ", ".join(
        f"{t.name} ({t.cpus:g} CPU, {t.gpus:g} GPU, {t.min_workers}-{t.max_workers})"
        for t in deployment.cluster.types
    )
    print(f"node types  {types}")
    print(f"service     {deployment.base_url}")
    print(f"dashboard   {deployment.dashboard_url}  (token {deployment.token_file})")
    print(f"load        loadtest run --cluster {args.run_dir} --users 6 --duration 120")
    return 0


def _cluster_down(args: argparse.Namespace) -> int:
    from medinv_tools.cluster.autoscale import AutoscalingCluster

    stopped = AutoscalingCluster(args.run_dir, ()).stop()
    print("stopped" if stopped else f"no cluster ran in {args.run_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a load shape and write its timeline")
    run.add_argument("--host", help="the service's base URL, e.g. http://127.0.0.1:8000")
    run.add_argument("--cluster", type=Path, help="a `loadtest cluster up` directory instead")
    run.add_argument("--dashboard", help="Ray dashboard URL: replicas and nodes per second")
    run.add_argument("--token-file", type=Path, help="Ray auth token (else RAY_AUTH_TOKEN[_PATH])")
    run.add_argument("--app", default="medinv", help="Serve application name")
    run.add_argument("--shape", choices=SHAPES, default="step")
    run.add_argument("--users", type=int, default=4)
    run.add_argument("--duration", type=float, default=60.0, help="seconds of the shape")
    run.add_argument("--steps", type=int, default=1, help="step: stairs up to --users")
    run.add_argument("--tail-users", type=int, default=0, help="users after the shape")
    run.add_argument("--tail", type=float, default=0.0, help="seconds after the shape")
    run.add_argument(
        "--users-of", default="detect", help=f"comma-separated: {', '.join(USER_CLASSES)}"
    )
    run.add_argument("--fps", type=float, default=2.0, help="frames/s of each stream user")
    run.add_argument("--out", type=Path, default=Path(".run/loadtest"))
    run.set_defaults(handler=_run)

    chaos = commands.add_parser("chaos", help="faults under load on a cluster of its own")
    chaos.add_argument("--faults", default=",".join(ALL_FAULTS), help="comma-separated, in order")
    chaos.add_argument("--cut", type=float, default=60.0, help="seconds each cut lasts")
    chaos.add_argument("--detect-users", type=int, default=3)
    chaos.add_argument("--stream-users", type=int, default=1)
    chaos.add_argument("--warmup", type=float, default=20.0, help="seconds before the first fault")
    chaos.add_argument("--settle", type=int, default=10, help="seconds at level = recovered")
    chaos.add_argument("--max-recovery", type=float, default=120.0, help="s to wait per fault")
    chaos.add_argument("--out", type=Path, default=Path(".data/chaos"))
    chaos.set_defaults(handler=_chaos)

    cluster = commands.add_parser("cluster", help="the local autoscaling cluster")
    cluster_commands = cluster.add_subparsers(dest="action", required=True)
    up = cluster_commands.add_parser("up", help="start it and deploy the service")
    up.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    up.add_argument("--env", default="base", help="kuberay environment whose groups to mirror")
    up.add_argument("--idle-timeout", type=float, default=10.0, help="node idle timeout, s")
    up.set_defaults(handler=_cluster_up)
    down = cluster_commands.add_parser("down", help="stop it (by PID)")
    down.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    down.set_defaults(handler=_cluster_down)

    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
