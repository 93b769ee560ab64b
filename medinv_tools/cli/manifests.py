"""`medinv` commands for configs and generated files: Serve config checks, KubeRay
serveConfigV2 and offline validation, Grafana dashboards and the PrometheusRule."""

import argparse
import os
import sys
from pathlib import Path

from medinv_tools.config_check import load_and_check
from medinv_tools.kuberay.environments import ENVIRONMENTS, all_environments, environment
from medinv_tools.kuberay.serve_render import stale_patches
from medinv_tools.monitoring.render import stale_files
from medinv_tools.paths import KUBERAY_CRDS, KUBERAY_DIR, SERVE_CONFIG

SCHEMAS_ENV = "MEDINV_KUBERAY_SCHEMAS"


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
    schemas = args.schemas or Path(os.environ.get(SCHEMAS_ENV) or KUBERAY_CRDS)
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
    from medinv_tools.kuberay.validate import validate_environment

    for name in args.environments or ENVIRONMENTS:
        report = validate_environment(environment(args.kuberay_dir, name), schemas, args.kubectl)
        for problem in report.problems:
            print(f"{name}: {problem}", file=sys.stderr)
        failed |= bool(report.problems)
        if not report.problems:
            print(f"{name}: ok ({len(report.objects)} objects: {', '.join(report.objects)})")
    return 1 if failed else 0


def _kuberay_checkov(args: argparse.Namespace) -> int:
    from medinv_tools.kuberay import checkov_scan, kustomize

    unknown = set(args.environments) - set(ENVIRONMENTS)
    if unknown:
        print(f"unknown environment(s) {sorted(unknown)}: {ENVIRONMENTS}", file=sys.stderr)
        return 2
    failed = False
    for name in args.environments:
        try:
            directory = environment(args.kuberay_dir, name).directory
            manifests = kustomize.render(directory, args.kubectl)
            found = checkov_scan.scan(manifests, args.checkov, args.config)
        except (kustomize.RenderError, checkov_scan.CheckovError) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        for finding in found.skipped:
            print(f"{name}: skipped {finding.check_id} {finding.resource}: {finding.reason}")
        for finding in found.failed:
            print(f"{name}: FAILED {finding.check_id} {finding.resource}", file=sys.stderr)
        if found.parsing_errors:
            print(f"{name}: checkov parsing errors: {found.parsing_errors}", file=sys.stderr)
        failed |= bool(found.failed or found.parsing_errors)
        print(
            f"{name}: checkov {found.resources} resources, passed {found.passed}, "
            f"failed {len(found.failed)}, skipped {len(found.skipped)}"
        )
    return 1 if failed else 0


def _kuberay_crds(args: argparse.Namespace) -> int:
    from medinv_tools.kuberay.crd_refresh import UPSTREAMS, refresh

    version = args.version or UPSTREAMS[args.project].vendored
    try:
        written = refresh(version, args.destination, args.project)
    except (OSError, ValueError) as exc:
        print(f"could not refresh the CRDs of {args.project} {version}: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{path}: {args.project} {version}")
    print("update the version in kuberay/crds/README.md, then run `medinv kuberay-validate`")
    return 0


def _monitoring_render(args: argparse.Namespace) -> int:
    stale = stale_files(write=not args.check)
    for path in stale:
        print(f"{path}: {'stale' if args.check else 'rewritten'}", file=sys.stderr)
    if args.check and stale:
        print("run `medinv monitoring-render` and commit the result", file=sys.stderr)
        return 1
    print(f"dashboards and PrometheusRule {'up to date' if not stale else 'written'}")
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    check = commands.add_parser("check-config", help="reject unknown keys in Serve configs")
    check.add_argument("paths", type=Path, nargs="+")
    check.set_defaults(handler=_check_config)

    kuberay_options = argparse.ArgumentParser(add_help=False)
    kuberay_options.add_argument("--kuberay-dir", type=Path, default=KUBERAY_DIR)
    kuberay_options.add_argument("--serve-config", type=Path, default=SERVE_CONFIG)

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
        help=f"CRD schemas of other operator versions (default: ${SCHEMAS_ENV}, else the "
        "vendored KubeRay v1.7.0 and CloudNativePG v1.30.0 ones in kuberay/crds/; a file "
        "missing from DIR is taken from there)",
    )
    validate.add_argument("--kubectl", default="kubectl")
    validate.set_defaults(handler=_kuberay_validate)

    checkov = commands.add_parser(
        "kuberay-checkov",
        parents=[kuberay_options],
        help="checkov on rendered kuberay/ environments, the RayService's pods included",
    )
    checkov.add_argument(
        "environments", nargs="*", metavar="ENV", default=["production"], help="default: production"
    )
    checkov.add_argument(
        "--checkov",
        type=Path,
        default=None,
        help="the checkov executable (default: $MEDINV_CHECKOV, else .venv-checkov/bin/checkov "
        "of `make install-checkov`)",
    )
    checkov.add_argument("--config", type=Path, default=KUBERAY_DIR / ".checkov.yaml")
    checkov.add_argument("--kubectl", default="kubectl")
    checkov.set_defaults(handler=_kuberay_checkov)

    crds = commands.add_parser(
        "kuberay-crds",
        help="refresh the vendored CRD schemas (kuberay/crds/) from a release of their operator",
    )
    crds.add_argument(
        "--project",
        choices=["kuberay", "cloudnative-pg", "plugin-barman-cloud"],
        default="kuberay",
        help="whose CRDs: KubeRay's (default), CloudNativePG's, or its Barman Cloud plugin's",
    )
    crds.add_argument(
        "--version", default=None, help="release tag (default: the vendored one of the project)"
    )
    crds.add_argument("--destination", type=Path, default=KUBERAY_CRDS)
    crds.set_defaults(handler=_kuberay_crds)

    monitoring = commands.add_parser(
        "monitoring-render",
        help="write the Grafana dashboards and the PrometheusRule from their sources",
    )
    monitoring.add_argument(
        "--check", action="store_true", help="write nothing; fail if a committed file is stale"
    )
    monitoring.set_defaults(handler=_monitoring_render)
