"""A real Prometheus scrapes the session's Ray/Serve app after a little traffic: every PromQL
expression of the dashboards and of the rules parses and returns at least one series.

Expressions over metrics that nothing exports yet (PENDING_METRICS) and over GPU-only
metrics must still parse and evaluate; they are reported, not counted as verified, and a
pending one that does return data fails the test (it is no longer pending). The traffic
includes a result-cache hit and a real rate-limit refusal (a key allowed 1 request a minute).
"""

import asyncio
import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from medinv_tools.cluster.local import free_port
from medinv_tools.monitoring.expressions import (
    Expression,
    all_expressions,
    load_dashboards,
    variable_metrics,
)
from medinv_tools.monitoring.local_prometheus import LocalPrometheus
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

DEADLINE_S = 120  # Ray exports every ~10 s; rules need two scrapes in their windows


@pytest.fixture(scope="module")
def prometheus(serve_service: ServeService) -> Iterator[LocalPrometheus]:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not installed (make prometheus / apt-get install prometheus)")
    instance = LocalPrometheus(serve_service.cluster, port=free_port(), scrape_interval_s=1.0)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def _query(prometheus: LocalPrometheus, path: str, **params: str) -> Any:
    url = f"{prometheus.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 400: the expression does not parse
        body = json.loads(exc.read())
    if body["status"] != "success":
        raise AssertionError(f"{params}: {body.get('errorType')}: {body.get('error')}")
    return body["data"]


def _series(prometheus: LocalPrometheus, expression: Expression) -> int:
    try:
        return len(_query(prometheus, "query", query=expression.query)["result"])
    except AssertionError as exc:
        raise AssertionError(f"{expression.where}: {exc}") from None


async def _stream(service: ServeService) -> None:
    async with websockets.connect(f"{service.ws_url}/v1/stream") as socket:
        await socket.send(b"not an image")  # an error frame
        await asyncio.wait_for(socket.recv(), 60)
        for _ in range(2):
            await socket.send(shelf_jpeg(320, 240))
            assert json.loads(await asyncio.wait_for(socket.recv(), 60))["type"] == "result"


def _traffic(service: ServeService) -> None:
    caches = []
    for content_type, body in [("image/jpeg", shelf_jpeg()), ("image/gif", b"x")] * 2:
        response = httpx.post(
            f"{service.base_url}/v1/detect",
            content=body,
            headers={"Content-Type": content_type},
            timeout=60,
        )
        caches.append(response.headers.get("X-Cache"))
    assert "hit" in caches, caches
    limited = bearer(
        create_api_key(service.database_url, "read", name="limited", requests_per_minute=1)
    )
    statuses = [
        httpx.get(f"{service.base_url}/v1/models", headers=limited, timeout=60).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 429]
    # A recorded detection: the inventory metrics (records, spool, items below par).
    location = httpx.post(
        f"{service.base_url}/v1/locations",
        json={"kind": "shelf", "name": f"monitoring {uuid.uuid4().hex[:8]}"},
        headers=service.admin,
        timeout=30,
    ).json()["id"]
    httpx.post(
        f"{service.base_url}/v1/detect?location={location}",
        content=shelf_jpeg(),
        headers={"Content-Type": "image/jpeg"},
        timeout=60,
    )
    asyncio.run(_stream(service))


def test_every_dashboard_and_rule_expression_returns_data(
    serve_service: ServeService, prometheus: LocalPrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    _traffic(serve_service)
    expressions = all_expressions()
    expected = [e for e in expressions if not e.pending and not e.needs_gpu]
    missing: list[str] = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        missing = [e.where for e in expected if _series(prometheus, e) == 0]
        if not missing:
            break
        time.sleep(2)
    targets = _query(prometheus, "targets")["activeTargets"]
    assert missing == [], f"no data after {DEADLINE_S} s (targets: {targets})"
    # Every target answered at least once; one slow scrape on a loaded machine is no failure.
    ever_up = _query(prometheus, "query", query="max_over_time(up[10m])")["result"]
    assert targets and len(ever_up) == len(targets), (targets, ever_up)
    assert all(series["value"][1] == "1" for series in ever_up), ever_up

    for dashboard in load_dashboards().values():
        for metric in variable_metrics(dashboard):
            assert _query(prometheus, "series", **{"match[]": metric}), metric

    pending = [e for e in expressions if e.pending]
    for expression in pending:  # parses and evaluates, but nothing exports the metric yet
        assert _series(prometheus, expression) == 0, (
            f"{expression.where} returns data: {expression.pending} is no longer pending, "
            "remove it from PENDING_METRICS"
        )
    gpu = [e for e in expressions if e.needs_gpu]
    for expression in gpu:
        _series(prometheus, expression)
    with capsys.disabled():
        print(
            f"\nmonitoring: {len(expected)} of {len(expressions)} dashboard and rule "
            f"expressions returned live data; parse-only: "
            + "; ".join(f"{e.where} [{', '.join(e.pending or e.needs_gpu)}]" for e in pending + gpu)
        )
