"""`medinv`: the project's command line (local cluster, deploy, config checks, waiting,
inventory database migrations and retention, API keys)."""

import argparse
import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from tqdm import tqdm

from serve_app.access.keys import Scope, parse_scopes
from serve_app.config_check import load_and_check
from serve_app.deploy.environments import ENVIRONMENTS, all_environments, environment
from serve_app.deploy.serve_render import stale_patches
from serve_app.errors import NotFoundError
from serve_app.inventory import api_keys, migrate
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.models import ApiKey
from serve_app.inventory.retention import cleanup
from serve_app.local_cluster import HAPROXY_ENV, ClusterPorts, LocalCluster
from serve_app.observability.local_prometheus import LocalPrometheus, PrometheusMissing
from serve_app.observability.render import stale_files
from serve_app.settings import REPO_ROOT, get_settings


def _check_config(args: argparse.Namespace) -> int:
    failed = False
    for path in args.paths:
        problems = load_and_check(path)
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        failed |= bool(problems)
        if not problems:
            print(f"{path}: ok")
    return 1 if failed else 0


def _kuberay_render(args: argparse.Namespace) -> int:
    envs = all_environments(args.kuberay_dir)
    stale = stale_patches(envs, args.serve_config, args.kuberay_dir, write=not args.check)
    for path in stale:
        print(f"{path}: {'stale' if args.check else 'rewritten'}", file=sys.stderr)
    if args.check and stale:
        print("run `medinv kuberay-render` and commit the result", file=sys.stderr)
        return 1
    print(f"serveConfigV2 of {len(envs)} environments {'up to date' if not stale else 'written'}")
    return 0


def _kuberay_validate(args: argparse.Namespace) -> int:
    unknown = set(args.environments) - set(ENVIRONMENTS)
    if unknown:
        print(f"unknown environment(s) {sorted(unknown)}: {ENVIRONMENTS}", file=sys.stderr)
        return 2
    schemas = args.schemas or get_settings().kuberay_schemas
    if not schemas.is_dir():
        print(
            f"no KubeRay CRD schemas at {schemas} (--schemas, MEDINV_KUBERAY_SCHEMAS)",
            file=sys.stderr,
        )
        return 2
    stale = stale_patches(
        all_environments(args.kuberay_dir), args.serve_config, args.kuberay_dir, write=False
    )
    failed = bool(stale)
    for path in stale:
        print(f"{path}: stale, run `medinv kuberay-render`", file=sys.stderr)
    # Needs the dev extra (kubernetes-validate); the application image does not install it.
    from serve_app.deploy.validate import validate_environment

    for name in args.environments or ENVIRONMENTS:
        report = validate_environment(environment(args.kuberay_dir, name), schemas, args.kubectl)
        for problem in report.problems:
            print(f"{name}: {problem}", file=sys.stderr)
        failed |= bool(report.problems)
        if not report.problems:
            print(f"{name}: ok ({len(report.objects)} objects: {', '.join(report.objects)})")
    return 1 if failed else 0


def _database_url(args: argparse.Namespace) -> str:
    url: str = args.database_url or get_settings().resolved_database_url
    return url


def _migrate(args: argparse.Namespace) -> int:
    url = _database_url(args)
    if args.downgrade:
        migrate.downgrade(url, args.downgrade)
    else:
        migrate.upgrade(url)
    print(f"migrated {_redacted(url)} to {args.downgrade or 'head'}")
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    if args.older_than_days < 1:
        print("--older-than-days must be at least 1", file=sys.stderr)
        return 2

    async def run() -> str:
        database = Database(create_engine(_database_url(args), get_settings()))
        try:
            async with database.session() as session:
                report = await cleanup(
                    session, older_than_days=args.older_than_days, now=datetime.now(UTC)
                )
        finally:
            await database.dispose()
        return (
            f"deleted {report.records_deleted} detection records before "
            f"{report.cutoff.isoformat()}; wrote {report.aggregates_written} daily aggregates"
        )

    print(asyncio.run(run()))
    return 0


def _keys(args: argparse.Namespace) -> int:
    """`keys create` prints the key once (only its hash is stored); `list`; `revoke`."""

    async def run() -> int:
        database = Database(create_engine(_database_url(args), get_settings()))
        try:
            async with database.session() as session:
                if args.keys_command == "create":
                    new = await api_keys.create_key(
                        session,
                        name=args.name,
                        scopes=args.scopes,
                        requests_per_minute=args.requests_per_minute,
                        frames_per_minute=args.frames_per_minute,
                    )
                    print(f"created API key {new.key_id} ({args.name}); shown only now:")
                    print(new.secret)
                elif args.keys_command == "list":
                    for key in await api_keys.list_keys(session):
                        print(_key_line(key))
                else:
                    try:
                        await api_keys.revoke_key(session, key_id=args.key_id)
                    except NotFoundError as error:
                        print(error.message, file=sys.stderr)
                        return 1
                    print(f"revoked {args.key_id}; replicas stop accepting it within seconds")
        finally:
            await database.dispose()
        return 0

    return asyncio.run(run())


def _key_line(key: ApiKey) -> str:
    revoked = f"  revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
    return (
        f"{key.key_id}  {key.name:<24} {key.scopes:<20} created {key.created_at:%Y-%m-%d %H:%M}"
        + revoked
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _scopes(text: str) -> frozenset[Scope]:
    try:
        return parse_scopes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _monitoring_render(args: argparse.Namespace) -> int:
    stale = stale_files(write=not args.check)
    for path in stale:
        print(f"{path}: {'stale' if args.check else 'rewritten'}", file=sys.stderr)
    if args.check and stale:
        print("run `medinv monitoring-render` and commit the result", file=sys.stderr)
        return 1
    print(f"dashboards and PrometheusRule {'up to date' if not stale else 'written'}")
    return 0


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medinv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check-config", help="reject unknown keys in Serve configs")
    check.add_argument("paths", type=Path, nargs="+")
    check.set_defaults(handler=_check_config)

    kuberay_options = argparse.ArgumentParser(add_help=False)
    kuberay_options.add_argument("--kuberay-dir", type=Path, default=REPO_ROOT / "kuberay")
    kuberay_options.add_argument(
        "--serve-config", type=Path, default=REPO_ROOT / "configs" / "serve_config.yaml"
    )

    render = commands.add_parser(
        "kuberay-render",
        parents=[kuberay_options],
        help="write serveConfigV2 of every kuberay/ environment from the Serve config",
    )
    render.add_argument(
        "--check", action="store_true", help="write nothing; fail if a committed file is stale"
    )
    render.set_defaults(handler=_kuberay_render)

    validate = commands.add_parser(
        "kuberay-validate",
        parents=[kuberay_options],
        help="render every kuberay/ environment and validate it offline",
    )
    validate.add_argument(
        "environments", nargs="*", metavar="ENV", help=f"default: all of {', '.join(ENVIRONMENTS)}"
    )
    validate.add_argument(
        "--schemas",
        type=Path,
        default=None,
        help="KubeRay CRD schemas (default: $MEDINV_KUBERAY_SCHEMAS, else ../shared/kuberay)",
    )
    validate.add_argument("--kubectl", default="kubectl")
    validate.set_defaults(handler=_kuberay_validate)

    database_options = argparse.ArgumentParser(add_help=False)
    database_options.add_argument(
        "--database-url",
        default=None,
        help="default: $MEDINV_DATABASE_URL, else SQLite in $MEDINV_DATA_DIR (.data/)",
    )

    migrate_command = commands.add_parser(
        "migrate",
        parents=[database_options],
        help="bring the inventory database schema up to date (Alembic)",
    )
    migrate_command.add_argument(
        "--downgrade", metavar="REVISION", help="go down to REVISION instead ('base': empty)"
    )
    migrate_command.set_defaults(handler=_migrate)

    cleanup_command = commands.add_parser(
        "cleanup",
        parents=[database_options],
        help="delete raw detection records older than N days, keeping daily aggregates",
    )
    cleanup_command.add_argument("--older-than-days", type=int, required=True)
    cleanup_command.set_defaults(handler=_cleanup)

    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create_key = keys_commands.add_parser(
        "create", parents=[database_options], help="a new key; its secret is printed once"
    )
    create_key.add_argument("--name", required=True, help="who or what uses it")
    create_key.add_argument(
        "--scopes", type=_scopes, required=True, help="comma-separated: detect, read, admin"
    )
    create_key.add_argument(
        "--requests-per-minute", type=_positive, help="this key's REST budget (default: global)"
    )
    create_key.add_argument(
        "--frames-per-minute", type=_positive, help="this key's stream-frame budget"
    )
    keys_commands.add_parser("list", parents=[database_options], help="every key, no secrets")
    revoke = keys_commands.add_parser("revoke", parents=[database_options], help="revoke a key")
    revoke.add_argument("key_id", help="the id `keys list` shows")
    keys.set_defaults(handler=_keys)

    monitoring = commands.add_parser(
        "monitoring-render",
        help="write the Grafana dashboards and the PrometheusRule from their sources",
    )
    monitoring.add_argument(
        "--check", action="store_true", help="write nothing; fail if a committed file is stale"
    )
    monitoring.set_defaults(handler=_monitoring_render)

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

    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
