"""Environment-level settings (paths, log level), read per process through `get_settings()`.

Application shape (limits, batching, stream caps) lives in `AppArgs` and the Serve config;
this holds what differs between machines and comes from the environment (`MEDINV_*`).
"""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDINV_", extra="ignore")

    # The repo's models/ for local runs (editable install); a read-only volume in Kubernetes.
    models_root: Path = REPO_ROOT / "models"
    # The RayService/RayCluster CRD schemas `medinv kuberay-validate` checks against; point it
    # at the CRDs of the KubeRay version you run (these are v1.7.0's).
    kuberay_schemas: Path = REPO_ROOT.parent / "shared" / "kuberay"
    # Where the ingress sends declared-config changes (PUT /v1/models/active): the Ray head's
    # dashboard. Under KubeRay, the head service (`<rayservice>-head-svc:8265`).
    ray_dashboard_url: str = "http://127.0.0.1:8265"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
