"""Environment-level settings (paths, database, Redis, access), read per process through
`get_settings()`.

Application shape (limits, batching, stream caps) lives in `AppArgs` and the Serve config;
this holds what differs between machines and comes from the environment (`MEDINV_*`).
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class CameraLogin(BaseModel):
    """A camera's login (HTTP basic auth, or an RTSP URL's user info)."""

    username: str
    password: SecretStr


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDINV_", extra="ignore")

    # Relative paths resolve against the working directory of the process that reads them;
    # the local cluster (`medinv start`) hands its replicas absolute ones.
    # The versioned models: a read-only volume in Kubernetes (the image sets /models).
    models_root: Path = Path("models")
    # Where the ingress sends declared-config changes (PUT /v1/models/active): the Ray head's
    # dashboard. Under KubeRay, the head service (`<rayservice>-head-svc:8265`).
    ray_dashboard_url: str = "http://127.0.0.1:8265"

    # Local state: the embedded SQLite database (when database_url is unset) and the spool of
    # records waiting for an unreachable database. A persistent volume in Kubernetes.
    data_dir: Path = Path(".data")
    # SQLAlchemy async URL, e.g. postgresql+psycopg://user:pass@host:5432/medinv.
    database_url: str | None = None
    # Per process (each ingress replica, each CLI run), and one more for a replica's webhook
    # dispatcher: replicas x (size + overflow + 1) must stay below PostgreSQL's max_connections
    # (100 by default).
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_connect_timeout_s: int = Field(default=3, ge=1)
    # A detection waits at most this long for its record to be written before spooling it.
    db_write_timeout_s: float = Field(default=2.0, gt=0)
    # Where records wait while the database is unreachable: `local`, a SQLite file in data_dir
    # (the embedded run, one machine); `redis`, one queue in Redis (redis_url) shared by the
    # replicas, which outlives any pod (every Kubernetes overlay: a pod's disk goes with it).
    spool_store: Literal["local", "redis"] = "local"
    spool_max_records: int = Field(default=100_000, ge=1)
    # With the spool in Redis: a record is answered `queued` only once this many replicas have
    # it too (WAIT, within half of db_write_timeout_s), so a Sentinel failover cannot lose it;
    # fewer: 503 store_unavailable (Redis replicates asynchronously otherwise). 0: the master's
    # append-only file alone.
    spool_min_replicas: int = Field(default=0, ge=0)
    spool_retry_interval_s: float = Field(default=1.0, gt=0)
    # How long a replica keeps a location's zones: a zone made, changed or deleted counts
    # detections on every replica within this.
    zone_cache_ttl_s: float = Field(default=5.0, gt=0)

    # Camera logins by name (JSON: {"name": {"username": …, "password": …}}), and a file of
    # the same JSON (a mounted Secret) whose entries win; a camera names one in `credential`.
    camera_credentials: dict[str, CameraLogin] = {}
    camera_credentials_file: Path | None = None
    # Whether a video camera may be a file:// URL (tests, demos): off, as it reads local files.
    camera_allow_files: bool = False

    # API keys (`medinv keys`). Off for the embedded local run (a warning says so at start),
    # on in every Kubernetes overlay. Admin routes require an admin key either way.
    auth_required: bool = False
    # How long a replica trusts a key lookup: a revoked key stops working within this. Open
    # sockets check their key this often, so they close within it too.
    auth_cache_ttl_s: float = Field(default=5.0, gt=0)
    # While the database is unreachable, keys seen within this keep their last answer (a key
    # revoked meanwhile too, until this runs out); other keys get 503 store_unavailable.
    auth_stale_window_s: float = Field(default=900.0, ge=0)

    # With auth off, the origins (scheme://host[:port]) whose browser pages may open this
    # service's WebSockets, besides its own (the Host the request names) and loopback pages;
    # other Origins are refused with 403 before the handshake. Comma-separated in the
    # environment. Clients that send no Origin (not browsers) are always let through.
    ws_allowed_origins: Annotated[list[str], NoDecode] = []
    # Proxies (addresses or CIDR networks, comma-separated) believed about whom they forward
    # for: from them, the client is the right-most X-Forwarded-For address that is no trusted
    # proxy. None by default: the client is the peer, and the header is ignored.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = []

    # Shared state of the ingress replicas (key lookups, rate limits, result cache), e.g.
    # redis://redis:6379/0. Unset: each replica keeps its own, in process.
    redis_url: str | None = None
    # Or the master that Redis Sentinels name (high availability: after a failover the next
    # connections go to the promoted replica): the Sentinels' host:port, comma-separated in
    # the environment, and the name they monitor the master under. Replaces redis_url (set
    # one or the other); database 0. docs/operations.md, "Redis high availability".
    redis_sentinels: Annotated[list[str], NoDecode] = []
    redis_sentinel_master: str = Field(default="medinv", min_length=1)
    # The data password (the master's, the replicas'), and the Sentinels' own if they have one.
    redis_password: SecretStr | None = None
    redis_sentinel_password: SecretStr | None = None
    # Every Redis command waits at most this long: a slow Redis must not slow detections.
    redis_timeout_s: float = Field(default=0.25, gt=0)
    # Prefixes every key this service writes, so several deployments can share one Redis.
    redis_key_prefix: str = "medinv:"
    # At most one warning per this while Redis is unreachable (every failure is counted).
    redis_outage_log_interval_s: float = Field(default=30.0, gt=0)

    # Token buckets per API key (per client address when anonymous): REST requests and
    # stream frames have separate budgets. A key may have lower per-minute rates of its own.
    rate_limit_requests_per_minute: int = Field(default=6000, ge=1)
    rate_limit_requests_burst: int = Field(default=200, ge=1)
    rate_limit_frames_per_minute: int = Field(default=6000, ge=1)
    rate_limit_frames_burst: int = Field(default=200, ge=1)
    # Refused API keys per client address: past these a presented key gets 429 without a
    # lookup (a guessing client would otherwise cost a database query per guess).
    rate_limit_failed_auth_per_minute: int = Field(default=10, ge=1)
    rate_limit_failed_auth_burst: int = Field(default=10, ge=1)
    # With Redis unreachable: count in each replica's own buckets (local: at most replicas x
    # the budget cluster-wide), let requests through (open) or refuse them with 429 (closed).
    rate_limit_on_redis_outage: Literal["local", "open", "closed"] = "local"

    # Identical image + model version + parameters within this many seconds: the cached
    # result. 0 turns the cache off.
    result_cache_ttl_s: float = Field(default=60.0, ge=0)
    # A stream's state (frame number, location, smoothing window) is kept this long after its
    # last frame: a client reconnecting with `?session_id=` within it continues the stream.
    stream_session_ttl_s: float = Field(default=300.0, gt=0)

    # Webhooks (POST /v1/webhooks): every ingress replica looks for due events this often and
    # sends up to a batch of them at once; a receiver has the timeout to answer 2xx. A failed
    # attempt n is retried after min(base * 2^(n-1), max) seconds; after max_attempts the
    # event is dead (kept, never sent again). A replica holds the events it sends for the
    # lease: one that died mid-send lets another resend them once it runs out.
    webhook_poll_interval_s: float = Field(default=1.0, gt=0)
    webhook_batch_size: int = Field(default=20, ge=1)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_backoff_base_s: float = Field(default=5.0, gt=0)
    webhook_backoff_max_s: float = Field(default=3600.0, gt=0)
    webhook_max_attempts: int = Field(default=15, ge=1)
    webhook_lease_s: float = Field(default=60.0, gt=0)

    @field_validator("ws_allowed_origins", "trusted_proxies", "redis_sentinels", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ws_allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        normalized = [origin.lower().rstrip("/") for origin in origins]
        for origin in normalized:
            parts = urlsplit(origin)
            _ = parts.port  # a ValueError for a port that is not a number
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
            if parts.query or parts.fragment or parts.username is not None:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return normalized

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinel_addresses(cls, sentinels: list[str]) -> list[str]:
        for sentinel in sentinels:
            _host_port(sentinel)
        return sentinels

    @model_validator(mode="after")
    def _one_way_to_redis(self) -> "Settings":
        # Both set would leave one ignored: a URL left over from a single-server deployment
        # must not quietly win over the Sentinels, nor the reverse.
        if self.redis_url is not None and self.redis_sentinels:
            raise ValueError(
                "set redis_url (one Redis server) or redis_sentinels (the master they name), "
                "not both"
            )
        if self.redis_sentinel_password is not None and not self.redis_sentinels:
            raise ValueError("redis_sentinel_password needs redis_sentinels")
        return self

    @model_validator(mode="after")
    def _spool_store_reachable(self) -> "Settings":
        if self.spool_store == "redis" and not self.redis_configured:
            raise ValueError("spool_store 'redis' needs redis_url or redis_sentinels")
        if self.spool_min_replicas > 0 and self.spool_store != "redis":
            raise ValueError("spool_min_replicas needs spool_store 'redis'")
        return self

    @model_validator(mode="after")
    def _webhook_lease_outlasts_a_send(self) -> "Settings":
        # A lease that ran out mid-send would let a second replica send the same event.
        if self.webhook_lease_s <= self.webhook_timeout_s:
            raise ValueError("webhook_lease_s must be longer than webhook_timeout_s")
        return self

    @field_validator("models_root", "data_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.resolve()

    @property
    def redis_configured(self) -> bool:
        return self.redis_url is not None or bool(self.redis_sentinels)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [_host_port(sentinel) for sentinel in self.redis_sentinels]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'inventory.db'}"

    @property
    def spool_path(self) -> Path:
        return self.data_dir / "spool.db"


def _host_port(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) as a pair; a ValueError for anything else."""
    host, colon, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not host:port")
    return host, int(port)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
