"""The service behind HAProxy with direct ingress (`make run HAPROXY=1`, Ray 2.60's opt-in
`RAY_SERVE_ENABLE_HA_PROXY`): a cluster of its own, the same Serve config; detections, a
stream and refusals take the path they take behind Serve's Python proxy."""

import asyncio
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import websockets
import yaml

from medinv_tools.cluster.local import (
    HAPROXY_ENV,
    LocalCluster,
    free_port,
    free_ports,
    wait_for_http_ok,
    with_http_port,
)
from serve_app.core.demo_model import DEFAULT_MODEL
from serve_app.inventory.migrate import upgrade
from tests.assertions import assert_error, match_items
from tests.factories import shelf_jpeg
from tests.serve.conftest import SERVE_CONFIG

pytestmark = pytest.mark.serve

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def behind_haproxy(models_root: Path) -> Iterator[tuple[LocalCluster, str]]:
    run_dir = Path(tempfile.mkdtemp(prefix="medinv-test-haproxy-"))
    cluster = LocalCluster(run_dir=run_dir, ports=free_ports())
    http_port = free_port()
    database_url = f"sqlite+aiosqlite:///{run_dir / 'data' / 'inventory.db'}"
    upgrade(database_url)
    env = {
        **HAPROXY_ENV,
        "MEDINV_MODELS_ROOT": str(models_root),
        "MEDINV_DATA_DIR": str(run_dir / "data"),
        "MEDINV_DATABASE_URL": database_url,
    }
    cluster.start(extra_env=env)
    try:
        cluster.deploy(with_http_port(yaml.safe_load(SERVE_CONFIG.read_text()), http_port))
        base_url = f"http://127.0.0.1:{http_port}"
        wait_for_http_ok(f"{base_url}/v1/ready", 240, lambda: cluster.pid() is not None)
        yield cluster, base_url
    finally:
        cluster.stop()


def test_haproxy_is_what_answers_on_the_http_port(
    behind_haproxy: tuple[LocalCluster, str],
) -> None:
    cluster, _ = behind_haproxy
    head = cluster.pid()
    assert head is not None
    commands = [" ".join(p.cmdline()) for p in psutil.Process(head).children(recursive=True)]
    assert any("haproxy" in command for command in commands), commands


def test_a_detection_behind_haproxy_finds_the_shelfs_items_with_one_request_id(
    behind_haproxy: tuple[LocalCluster, str],
) -> None:
    _, base_url = behind_haproxy
    response = httpx.post(
        f"{base_url}/v1/detect",
        content=(EXAMPLES / "shelf.jpg").read_bytes(),
        headers={"Content-Type": "image/jpeg"},
        timeout=60,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": DEFAULT_MODEL.name, "version": DEFAULT_MODEL.version}
    assert response.headers.get_list("X-Request-ID") == [body["request_id"]]
    truth = json.loads((EXAMPLES / "shelf.json").read_text())["items"]
    matched, missed, _ = match_items(body["detections"], truth)
    assert (matched, missed) == (len(truth), 0)


def test_bad_input_behind_haproxy_is_a_json_error_not_a_proxy_error(
    behind_haproxy: tuple[LocalCluster, str],
) -> None:
    _, base_url = behind_haproxy
    response = httpx.post(
        f"{base_url}/v1/detect",
        content=b"garbage",
        headers={"Content-Type": "image/jpeg"},
        timeout=60,
    )

    assert response.status_code == 400, response.text
    assert_error(response.json(), "invalid_image")


def test_a_stream_behind_haproxy_answers_each_frame_in_order(
    behind_haproxy: tuple[LocalCluster, str],
) -> None:
    _, base_url = behind_haproxy

    async def stream() -> list[dict[str, Any]]:
        url = base_url.replace("http://", "ws://") + "/v1/stream"
        async with websockets.connect(url) as socket:
            results = []
            for width in (320, 321, 322):
                await socket.send(shelf_jpeg(width, 240))
                results.append(json.loads(await asyncio.wait_for(socket.recv(), 60)))
        return results

    results = asyncio.run(stream())

    assert [(r["type"], r["frame"]) for r in results] == [("result", i) for i in range(3)]
    assert all(r["detections"] for r in results)
