"""Where each deployment environment of kuberay/ lives and which Serve overrides it stacks."""

from dataclasses import dataclass
from pathlib import Path

ENVIRONMENTS = ("base", "development", "staging", "production")
OVERRIDES_FILE = "serve-overrides.yaml"
GENERATED_PATCH = "rayservice-serve-config.yaml"


@dataclass(frozen=True)
class Environment:
    name: str
    directory: Path
    # Applied in order over configs/serve_config.yaml: base first, then the overlay's own.
    override_files: tuple[Path, ...]

    @property
    def generated_patch(self) -> Path:
        return self.directory / GENERATED_PATCH


def environment(kuberay_dir: Path, name: str) -> Environment:
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {name!r} (known: {', '.join(ENVIRONMENTS)})")
    base = kuberay_dir / "base"
    if name == "base":
        return Environment(name, base, (base / OVERRIDES_FILE,))
    directory = kuberay_dir / "overlays" / name
    return Environment(name, directory, (base / OVERRIDES_FILE, directory / OVERRIDES_FILE))


def all_environments(kuberay_dir: Path) -> list[Environment]:
    return [environment(kuberay_dir, name) for name in ENVIRONMENTS]
