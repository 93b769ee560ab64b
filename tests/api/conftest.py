"""API tests: the real FastAPI app around the real in-process pipeline (no Ray)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs, LimitsArgs, StreamArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.model.imaging import ImageLimits
from tests.keys import bearer, create_api_key

# Small limits so the 413 paths are cheap to reach.
MAX_BODY_BYTES = 1024 * 1024
MAX_PIXELS = 4_000_000
MAX_STREAMS = 2


@pytest.fixture(scope="session")
def pipeline(demo_model_dir: Path, models_root: Path) -> LocalPipeline:
    limits = ImageLimits(max_bytes=MAX_BODY_BYTES, max_pixels=MAX_PIXELS)
    return LocalPipeline(demo_model_dir, models_root, limits, "cpu", workers=2)


@pytest.fixture
def store_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    """The inventory store of the API under test; test modules override it."""
    return Settings(data_dir=tmp_path, database_url=sqlite_url, spool_retry_interval_s=0.1)


@pytest.fixture
def stream_args() -> StreamArgs:
    return StreamArgs(max_streams_per_replica=MAX_STREAMS, max_pending_frames=1)


@pytest.fixture
def api(pipeline: LocalPipeline, store_settings: Settings, stream_args: StreamArgs) -> FastAPI:
    args = IngressArgs(
        request_timeout_s=30,
        max_in_flight_requests=4,
        limits=LimitsArgs(max_body_bytes=MAX_BODY_BYTES, max_pixels=MAX_PIXELS),
        stream=stream_args,
    )
    inventory = InventoryRecorder.open(store_settings)
    return create_api(pipeline, inventory, args, store_settings, behind_serve_proxy=False)


@pytest.fixture
def client(api: FastAPI) -> Iterator[TestClient]:
    with TestClient(api) as test_client:
        yield test_client


@pytest.fixture
def admin(store_settings: Settings) -> dict[str, str]:
    """Headers with a key of every scope: admin routes need one even with auth off."""
    return bearer(create_api_key(store_settings.resolved_database_url))
