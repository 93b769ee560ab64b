"""Contract tests: the real ingress app (auth on, a key with every scope), the real ONNX model
in process and a PostgreSQL database of their own, under a real uvicorn server."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from medinv_tools.fuzz.service import FuzzedService, fuzzed_service
from tests.databases import POSTGRES_SERVER_URL, create_postgres_database, drop_postgres_database


@pytest.fixture(scope="session")
def scratch_postgresql() -> Iterator[str]:
    try:
        url = create_postgres_database()
    except Exception as error:  # any failure to reach the server
        pytest.skip(f"PostgreSQL at {POSTGRES_SERVER_URL} is not usable: {error}")
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def service(
    models_root: Path, scratch_postgresql: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzedService]:
    # PostgreSQL, not SQLite: it refuses more (NUL in text), so more can go wrong.
    with fuzzed_service(tmp_path_factory.mktemp("contract"), models_root, scratch_postgresql) as s:
        yield s
