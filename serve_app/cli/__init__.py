"""`medinv`: the project's command line (local cluster, deploy, config checks, waiting,
inventory database migrations and retention, API keys)."""

import argparse

from serve_app.cli import cluster, manifests, store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medinv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (manifests, store, cluster):
        module.register(commands)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code
