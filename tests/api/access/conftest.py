"""Access-control tests: the real FastAPI app and in-process pipeline, with the machine's Redis
at 127.0.0.1:6379 (database 13, a key prefix per test, deleted afterwards).

Without Redis these tests skip, which CI (MEDINV_REQUIRE_SERVICES=1) counts as failures.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder
from tests.databases import empty_tables
from tests.redis_server import REDIS_URL, delete_keys, new_prefix, redis_problem

ApiFactory = Callable[..., TestClient]


@pytest.fixture(scope="session")
def redis_url() -> str:
    problem = redis_problem()
    if problem is not None:
        pytest.skip(problem)
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = new_prefix("test")
    yield prefix
    delete_keys(prefix)


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str, redis_url: str, redis_prefix: str) -> Settings:
    """Auth on, Redis on: what every Kubernetes overlay runs. Tests change fields with
    `settings.model_copy(update=...)`."""
    empty_tables(sqlite_url)  # shared with other tests: none of their items or keys here
    return Settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        auth_required=True,
    )


@pytest.fixture
def make_client(pipeline: LocalPipeline) -> Iterator[ApiFactory]:
    """`make_client(settings)` → a started TestClient of an app built from those settings."""
    opened: list[TestClient] = []

    def make(
        settings: Settings,
        pipeline_: LocalPipeline | None = None,
        args: IngressArgs | None = None,
    ) -> TestClient:
        chosen = pipeline_ or pipeline
        inventory = InventoryRecorder.open(settings)
        api = create_api(
            chosen, inventory, args or IngressArgs(), settings, behind_serve_proxy=False
        )
        client = TestClient(api)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
