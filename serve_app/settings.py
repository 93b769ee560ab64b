"""Environment-level settings (paths, database), read per process through `get_settings()`.

Application shape (limits, batching, stream caps) lives in `AppArgs` and the Serve config;
this holds what differs between machines and comes from the environment (`MEDINV_*`).
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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

    # Local state: the embedded SQLite database (when database_url is unset) and the spool of
    # records waiting for an unreachable database. A persistent volume in Kubernetes.
    data_dir: Path = REPO_ROOT / ".data"
    # SQLAlchemy async URL, e.g. postgresql+psycopg://user:pass@host:5432/medinv.
    database_url: str | None = None
    # Per process (each ingress replica, each CLI run): replicas x (size + overflow) must stay
    # below PostgreSQL's max_connections (100 by default).
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_connect_timeout_s: int = Field(default=3, ge=1)
    # A detection waits at most this long for its record to be written before spooling it.
    db_write_timeout_s: float = Field(default=2.0, gt=0)
    spool_max_records: int = Field(default=100_000, ge=1)
    spool_retry_interval_s: float = Field(default=1.0, gt=0)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'inventory.db'}"

    @property
    def spool_path(self) -> Path:
        return self.data_dir / "spool.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
