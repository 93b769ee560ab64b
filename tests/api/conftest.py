"""API tests: the real FastAPI app around the real in-process pipeline (no Ray)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serve_app.api.app import create_api
from serve_app.app_args import IngressArgs, LimitsArgs, StreamArgs
from serve_app.imaging import ImageLimits
from serve_app.local_pipeline import LocalPipeline

# Small limits so the 413 paths are cheap to reach.
MAX_BODY_BYTES = 1024 * 1024
MAX_PIXELS = 4_000_000
MAX_STREAMS = 2


@pytest.fixture(scope="session")
def pipeline(demo_model_dir: Path, models_root: Path) -> LocalPipeline:
    limits = ImageLimits(max_bytes=MAX_BODY_BYTES, max_pixels=MAX_PIXELS)
    return LocalPipeline(demo_model_dir, models_root, limits, torch.device("cpu"), workers=2)


@pytest.fixture
def api(pipeline: LocalPipeline) -> FastAPI:
    args = IngressArgs(
        request_timeout_s=30,
        max_in_flight_requests=4,
        limits=LimitsArgs(max_body_bytes=MAX_BODY_BYTES, max_pixels=MAX_PIXELS),
        stream=StreamArgs(max_streams_per_replica=MAX_STREAMS, max_pending_frames=1),
    )
    return create_api(pipeline, args, behind_serve_proxy=False)


@pytest.fixture
def client(api: FastAPI) -> Iterator[TestClient]:
    with TestClient(api) as test_client:
        yield test_client
