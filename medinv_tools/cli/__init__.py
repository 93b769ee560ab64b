"""The tooling's `medinv` commands, added to the runtime's command line through the
`medinv.commands` entry point (tools/pyproject.toml)."""

import argparse

from medinv_tools.cli import cluster, manifests


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    for module in (manifests, cluster):
        module.register(commands)
