"""Browser tests: Debian's Chromium (headless, driven by Playwright) against the real service
(FastAPI app, in-process pipeline with the served ONNX model, migrated SQLite) under uvicorn.
The fake camera plays a Y4M file made from the example shelf. No Ray, no mocks.

`make chromium` (run by `make test`) installs Chromium when it is missing; without it these
tests fail rather than skip.
"""

import json
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from medinv_tools.cluster.local import free_port
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.paths import REPO_ROOT
from medinv_tools.threaded_server import ThreadedServer
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs, StreamArgs
from serve_app.core.demo_model import DEFAULT_MODEL
from serve_app.core.settings import Settings
from serve_app.inventory.migrate import upgrade
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.model.imaging import ImageLimits
from serve_app.model.manifest import model_dir
from tests.keys import create_api_key

EXAMPLE_SHELF = REPO_ROOT / "examples" / "shelf.jpg"
ARTIFACTS = REPO_ROOT / "tmp" / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}
# A stream at a location records every second here (10 s in the shipped config).
RECORD_INTERVAL_S = 1.0


P = ParamSpec("P")
T = TypeVar("T")


def off_the_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `function` in a thread of its own: Playwright's sync API keeps an event loop running
    in the test thread, where `asyncio.run` (migrations, key creation) refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def new_key(service: "Service", scopes: str, **options: int) -> str:
    return off_the_loop(create_api_key, service.database_url, scopes, name="browser", **options)


@dataclass(frozen=True)
class Service:
    url: str
    port: int
    database_url: str
    admin_key: str
    read_key: str

    @property
    def console(self) -> str:
        return f"{self.url}/console/"


@pytest.fixture(scope="session")
def service(models_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("browser-service")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'inventory.db'}"
    off_the_loop(upgrade, database_url)
    # No result cache: every frame the live page sends is a real detection.
    settings = Settings(data_dir=data_dir, database_url=database_url, result_cache_ttl_s=0)
    pipeline = LocalPipeline(
        model_dir(models_root, DEFAULT_MODEL), models_root, ImageLimits(), "cpu", workers=2
    )
    args = IngressArgs(
        request_timeout_s=60,
        stream=StreamArgs(record_interval_s=RECORD_INTERVAL_S, record_window_frames=3),
    )
    app = create_api(
        pipeline, InventoryRecorder.open(settings), args, settings, behind_serve_proxy=False
    )
    port = free_port()
    admin = off_the_loop(create_api_key, database_url, name="browser-admin")
    read = off_the_loop(create_api_key, database_url, "read", name="browser-read")
    with ThreadedServer(app, port):
        yield Service(f"http://127.0.0.1:{port}", port, database_url, admin, read)


def _limited_range_i420(rgb: np.ndarray) -> bytes:
    """BT.601 studio-swing Y'CbCr 4:2:0, planar: what Chromium reads from a Y4M file."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255

    def subsample(plane: np.ndarray) -> np.ndarray:
        return (plane[0::2, 0::2] + plane[1::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 1::2]) / 4

    planes = (y, subsample(cb), subsample(cr))
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example shelf as a one-frame Y4M video, which Chromium's fake camera loops."""
    rgb = np.asarray(Image.open(EXAMPLE_SHELF).convert("RGB"))
    height, width = rgb.shape[:2]
    path = tmp_path_factory.mktemp("fake-camera") / "shelf.y4m"
    header = f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + _limited_range_i420(rgb))
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Chromium is missing: `make chromium` installs Debian's package")
    return path


# Per module, not per session: Playwright's sync API keeps an event loop running in the test
# thread while it is started, where the other layers' `asyncio.run` would refuse to start.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: str, fake_camera: Path) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=chromium_path,
        args=[
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",  # grants the camera without asking
            f"--use-file-for-fake-video-capture={fake_camera}",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def use_key(page: Page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use key").click()


@pytest.fixture(scope="session")
def artifacts_figures() -> Iterator[dict[str, object]]:
    """Figures the tests measure, written to tmp/artifacts/console-figures.json."""
    figures: dict[str, object] = {}
    yield figures
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "console-figures.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
