"""Where the tooling finds the checkout it works on. The tooling runs from a checkout; the
runtime package (`serve_app`) knows no repository paths."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_ROOT = REPO_ROOT / "models"
DATA_DIR = REPO_ROOT / ".data"
KUBERAY_DIR = REPO_ROOT / "kuberay"
# The KubeRay CRDs `medinv kuberay-validate` checks against (vendored: kuberay/crds/README.md).
KUBERAY_CRDS = KUBERAY_DIR / "crds"
SERVE_CONFIG = REPO_ROOT / "configs" / "serve_config.yaml"


def runtime_paths_env() -> dict[str, str]:
    """The runtime's paths as absolute environment settings for processes the tooling starts
    (Ray heads, whose replicas may run in another directory): the checkout's models/ and
    .data/ unless the environment names others."""
    defaults = {"MEDINV_MODELS_ROOT": MODELS_ROOT, "MEDINV_DATA_DIR": DATA_DIR}
    return {
        name: str(Path(os.environ.get(name) or default).resolve())
        for name, default in defaults.items()
    }
