"""A local camera server per test, serving the generated shelf as JPEG."""

from collections.abc import Iterator

import pytest

from tests.cameras.camera_server import CameraServer
from tests.factories import shelf_jpeg

USERNAME = "cam-user"
PASSWORD = "s3cr#t/pass"


@pytest.fixture
def camera_server() -> Iterator[CameraServer]:
    with CameraServer(shelf_jpeg(640, 480), username=USERNAME, password=PASSWORD).running() as s:
        yield s
