"""`medinv`: the project's command line.

The runtime's own commands (inventory database migrations and retention, API keys, model
import) are what a pod runs. Installed tooling adds its commands through the `medinv.commands`
entry-point group (the local cluster, deploys, config checks, manifests, monitoring files:
`tools/`).
"""

import argparse
from importlib.metadata import entry_points

from serve_app.cli import models, store

COMMAND_PLUGINS = "medinv.commands"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medinv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    store.register(commands)
    models.register(commands)
    for plugin in entry_points(group=COMMAND_PLUGINS):
        plugin.load()(commands)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code
