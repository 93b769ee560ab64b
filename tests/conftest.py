"""Fixtures shared by every test layer."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from medinv_tools.camera_server import CameraServer
from medinv_tools.paths import REPO_ROOT
from medinv_tools.tcp_proxy import TcpProxy
from serve_app.core.demo_model import DEFAULT_MODEL, DEMO_MODEL
from serve_app.core.payloads import ModelRef
from serve_app.inventory.migrate import upgrade
from serve_app.model.manifest import model_dir, read_manifest
from tests.databases import (
    POSTGRES_SERVER_URL,
    create_postgres_database,
    drop_postgres_database,
    empty_tables,
)
from tests.factories import shelf_jpeg, write_untrained_model
from tests.sentinel_redis import SentinelRedis

# A second registered version of the demo model's name, with random weights.
UNTRAINED_MODEL = ModelRef(name=DEMO_MODEL.name, version="0.0.1-untrained")


@pytest.fixture(scope="session")
def shipped_demo_dir() -> Path:
    """The committed demo model in the repo's models/ (read-only for tests)."""
    return model_dir(REPO_ROOT / "models", DEMO_MODEL)


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory, shipped_demo_dir: Path) -> Path:
    """A models root of the tests' own: a copy of the shipped demo model (torch, and its ONNX
    export that the Serve config makes active) and an untrained version beside them (never the
    repo's models/ itself)."""
    root = tmp_path_factory.mktemp("models")
    shutil.copytree(shipped_demo_dir, model_dir(root, DEMO_MODEL))
    shutil.copytree(model_dir(REPO_ROOT / "models", DEFAULT_MODEL), model_dir(root, DEFAULT_MODEL))
    labels = read_manifest(shipped_demo_dir).labels
    write_untrained_model(root, UNTRAINED_MODEL, labels)
    return root


@pytest.fixture(scope="session")
def demo_model_dir(models_root: Path) -> Path:
    return models_root / DEMO_MODEL.name / DEMO_MODEL.version


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With MEDINV_REQUIRE_SERVICES=1 (CI), a skipped test is a failure, not a pass in disguise."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("MEDINV_REQUIRE_SERVICES") == "1"
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped while MEDINV_REQUIRE_SERVICES=1: {report.longrepr}"


@pytest.fixture
def sentinel_redis(tmp_path: Path) -> Iterator[SentinelRedis]:
    """A master, two replicas and three Sentinels of this test's own (tests/sentinel_redis.py),
    stopped by PID afterwards."""
    redis = SentinelRedis(tmp_path / "redis")
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database for the session (the embedded default's backend)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'inventory.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this session's own, dropped at the end."""
    try:
        url = create_postgres_database()
    except Exception as error:  # any failure to reach the server
        pytest.skip(f"PostgreSQL at {POSTGRES_SERVER_URL} is not usable: {error}")
    try:
        upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that uses this runs on both backends, with empty tables."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    empty_tables(url)
    return url


@pytest.fixture
def camera_server() -> Iterator[CameraServer]:
    """A local HTTP camera serving the generated shelf (medinv_tools/camera_server.py)."""
    with CameraServer(shelf_jpeg(640, 480)).running() as server:
        yield server


@pytest.fixture
def postgres_proxy(postgresql_url: str) -> Iterator[TcpProxy]:
    """A TCP proxy to the test PostgreSQL server that a test cuts and restores: an outage
    without touching the shared server."""
    server = make_url(postgresql_url)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    proxy.start()
    yield proxy
    proxy.close()
