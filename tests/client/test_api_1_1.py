"""What API 1.1 added, through the client against the real service: zones and the per-zone
counts of a detection, replenishment as JSON and CSV, cameras and their status, webhooks with
their one-time secret, and `verify_webhook` on a delivery the service really signed."""

import csv
import io
import json
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import medinv_client
from medinv_client import (
    AsyncClient,
    Client,
    ConflictError,
    ForbiddenError,
    InvalidParametersError,
    NotFoundError,
    ZoneItem,
    verify_webhook,
)
from medinv_client.cli import main
from serve_app.cameras.config import CameraStatus
from serve_app.inventory.webhook_sender import signature
from tests.client.conftest import Service
from tests.factories import shelf_jpeg
from tests.webhook_receiver import documented_verify

WIDTH, HEIGHT = 320, 240
WHOLE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
LEFT = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
PAR = 10_000  # more than any shelf holds: always below par
PYPROJECT = Path(__file__).parents[2] / "clients" / "python" / "pyproject.toml"


@pytest.fixture
def client(service: Service) -> Iterator[Client]:
    with Client(service.url, api_key=service.admin_key) as c:
        yield c


def _name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:12]}"


def test_the_client_version_is_the_api_version_the_service_reports(service: Service) -> None:
    info = httpx.get(f"{service.url}/openapi.json", timeout=30).json()["info"]
    distribution = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert info["version"] == medinv_client.API_VERSION == medinv_client.__version__
    assert distribution == medinv_client.__version__


# Zones


def test_zones_round_trip_and_detections_count_per_zone(client: Client) -> None:
    camera = client.create_location(_name("Ward"), camera_id="cam-zones")
    seen = client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3)
    label = max(seen.counts, key=lambda k: seen.counts[k])

    left = client.create_zone(camera.id, _name("left bin"), LEFT, {label: PAR})
    assert (left.camera_location_id, left.polygon, left.position) == (camera.id, LEFT, 0)
    assert left.items == [ZoneItem(label=label, par_level=PAR)]
    assert left.par_levels == {label: PAR}
    right_name = _name("right bin")
    right = client.create_zone(
        camera.id, right_name, [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]], []
    )
    assert right.position == 1 and right.items == []
    assert [z.id for z in client.zones(camera.id)] == [left.id, right.id]
    assert client.zone(left.id) == left
    with pytest.raises(ConflictError):
        client.create_zone(camera.id, right_name, WHOLE, {})

    replaced = client.replace_zone(
        right.id, right_name, WHOLE, [ZoneItem(label=label, par_level=1)]
    )
    assert replaced.polygon == WHOLE and replaced.position == 1  # position kept
    assert replaced.par_levels == {label: 1}

    result = client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3, location=camera.id)
    assert result.recorded == "written" and result.zones is not None
    by_id = {z.id: z for z in result.zones}
    assert set(by_id) == {left.id, right.id}
    assert label in by_id[left.id].counts  # a bin's expected item is counted, 0 or more
    assert sum(sum(z.counts.values()) for z in result.zones) <= sum(result.counts.values())
    assert client.detect(shelf_jpeg(WIDTH, HEIGHT)).zones is None  # no location, no zones

    client.delete_zone(right.id)
    assert [z.id for z in client.zones(camera.id)] == [left.id]
    with pytest.raises(NotFoundError) as raised:
        client.zone(right.id)
    assert raised.value.code == "not_found"
    with pytest.raises(NotFoundError):
        client.delete_zone(right.id)
    with pytest.raises(InvalidParametersError):  # a self-crossing polygon
        client.create_zone(camera.id, _name("bow tie"), [(0, 0), (1, 1), (1, 0), (0, 1)], {})


def test_zone_writes_need_an_admin_key(service: Service, client: Client) -> None:
    camera = client.create_location(_name("Ward"))
    with Client(service.url, api_key=service.read_key) as reader:
        assert reader.zones(camera.id) == []
        with pytest.raises(ForbiddenError):
            reader.create_zone(camera.id, _name("bin"), WHOLE, {})


# Replenishment


def test_replenishment_lines_and_csv(client: Client) -> None:
    camera = client.create_location(_name("Ward"))
    seen = client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3)
    label = max(seen.counts, key=lambda k: seen.counts[k])
    bin_name = _name("=SUM(A1) bin")  # a formula: kept as text in the CSV
    zone = client.create_zone(camera.id, bin_name, WHOLE, {label: PAR})
    result = client.detect(
        shelf_jpeg(WIDTH, HEIGHT), min_score=0.3, location=zone.camera_location_id
    )
    assert result.zones is not None

    lines = client.replenishment(camera.id)
    line = next(line for line in lines if line.bin_id == zone.id)
    assert (line.location_id, line.location, line.bin, line.item) == (
        camera.id,
        camera.name,
        bin_name,
        label,
    )
    assert line.par_level == PAR and line.order_quantity == PAR - line.on_hand
    assert line.counted_at.tzinfo is not None and line.below_par_since <= datetime.now(UTC)
    assert any(line.bin_id == zone.id for line in client.replenishment())

    text = client.replenishment_csv(camera.id)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "location",
        "bin",
        "item",
        "sku",
        "par",
        "on_hand",
        "order_qty",
        "counted_at",
    ]
    row = next(r for r in rows[1:] if r[1] == f"'{bin_name}")
    assert (row[0], row[2], row[4], row[6]) == (
        camera.name,
        label,
        str(PAR),
        str(line.order_quantity),
    )
    assert text.endswith("\r\n")
    with pytest.raises(InvalidParametersError):
        client.replenishment_csv(0)


async def test_async_replenishment_and_zones(service: Service) -> None:
    async with AsyncClient(service.url, api_key=service.admin_key) as client:
        camera = await client.create_location(_name("Ward"))
        zone = await client.create_zone(camera.id, _name("bin"), WHOLE, {"syringe": PAR})
        assert await client.zones(camera.id) == [zone]
        assert (await client.zone(zone.id)).name == zone.name
        replaced = await client.replace_zone(zone.id, zone.name, LEFT, {}, position=4)
        assert replaced.position == 4
        assert isinstance(await client.replenishment(camera.id), list)
        assert (await client.replenishment_csv(camera.id)).startswith("location,bin,item")
        await client.delete_zone(zone.id)
        assert await client.zones(camera.id) == []


# Cameras


def test_cameras_round_trip_and_status(service: Service, client: Client) -> None:
    location = client.create_location(_name("Ward"))
    camera = client.register_camera(
        location.id, "snapshot", "http://10.0.4.21/snapshot.jpg", interval_s=60
    )
    assert (camera.location_id, camera.kind, camera.url) == (
        location.id,
        "snapshot",
        "http://10.0.4.21/snapshot.jpg",
    )
    assert (camera.interval_s, camera.frames_per_poll, camera.frame_gap_s) == (60, 5, 1.0)
    assert camera.enabled and camera.credential is None
    assert client.camera(camera.id) == camera
    assert camera in client.cameras()
    with pytest.raises(ConflictError):  # one camera per location
        client.register_camera(location.id, "mjpeg", "http://10.0.4.21/video.mjpg")
    with pytest.raises(InvalidParametersError):  # credentials belong in the settings
        client.register_camera(location.id, "snapshot", "http://user:pw@10.0.4.21/s.jpg")
    with pytest.raises(InvalidParametersError) as unknown:
        client.register_camera(location.id, "snapshot", "http://h/s.jpg", credential="nobody")
    assert "nobody" in unknown.value.message

    status = client.camera_status(camera.id)
    assert (status.camera_id, status.state, status.polls) == (camera.id, "pending", 0)
    polled = datetime.now(UTC)
    service.camera_statuses.by_camera[camera.id] = CameraStatus(
        camera_id=camera.id,
        polls=3,
        last_success_at=polled,
        last_outcome="written",
        last_error=None,
        last_error_at=None,
        consecutive_failures=0,
        next_poll_at=polled,
    )
    try:
        status = client.camera_status(camera.id)
    finally:  # SQLite may give the id to the next camera
        del service.camera_statuses.by_camera[camera.id]
    assert (status.state, status.polls, status.last_outcome) == ("ok", 3, "written")
    assert status.last_success_at == polled

    replaced = client.replace_camera(
        camera.id, location.id, "video", "rtsp://10.0.4.21/stream", frames_per_poll=3, enabled=False
    )
    assert (replaced.kind, replaced.frames_per_poll, replaced.interval_s) == ("video", 3, 300)
    assert not replaced.enabled
    client.delete_camera(camera.id)
    with pytest.raises(NotFoundError):
        client.camera(camera.id)
    with pytest.raises(NotFoundError):
        client.camera_status(camera.id)


async def test_async_cameras(service: Service) -> None:
    async with AsyncClient(service.url, api_key=service.admin_key) as client:
        location = await client.create_location(_name("Ward"))
        camera = await client.register_camera(location.id, "mjpeg", "http://10.0.4.22/v.mjpg")
        assert await client.camera(camera.id) == camera
        assert camera in await client.cameras()
        assert (await client.camera_status(camera.id)).state == "pending"
        replaced = await client.replace_camera(camera.id, location.id, "snapshot", "http://h/s")
        assert replaced.kind == "snapshot"
        await client.delete_camera(camera.id)
        assert camera.id not in [c.id for c in await client.cameras()]


# Webhooks


class _Receiver(ThreadingHTTPServer):
    requests: list[tuple[dict[str, str], bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_webhooks_round_trip_and_a_signed_delivery(client: Client, receiver: _Receiver) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/medinv"
    created = client.create_webhook(url, ["below_par"])
    assert created.secret and created.url == url and created.events == ["below_par"]
    assert created.deliveries.pending == 0 and created.report_interval_s is None
    listed = {w.id: w for w in client.webhooks()}
    assert created.id in listed and not hasattr(listed[created.id], "secret")
    with pytest.raises(InvalidParametersError):  # a report needs its interval
        client.create_webhook(url, ["replenishment_report"])
    reports = client.create_webhook(url, ["replenishment_report"], report_interval_s=3600)
    assert reports.next_report_at is not None
    client.delete_webhook(reports.id)

    location = client.create_location(_name("Ward"))
    first = client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3)
    label = max(first.counts, key=lambda k: first.counts[k])
    client.put_item(label, label, par_level=PAR)
    client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3, location=location.id)

    deadline = time.monotonic() + 30
    mine: list[tuple[dict[str, str], bytes]] = []
    while not mine and time.monotonic() < deadline:
        mine = [
            (headers, body)
            for headers, body in list(receiver.requests)
            if json.loads(body)["data"].get("location_id") == location.id
        ]
        time.sleep(0.2)
    assert mine, "no below_par event was delivered"
    headers, body = mine[0]
    header = headers["Medinv-Signature"]
    assert verify_webhook(body, header, created.secret)
    assert not verify_webhook(body + b" ", header, created.secret)
    assert not verify_webhook(body, header, "whsec_another")
    assert not verify_webhook(body, header, created.secret, now=time.time() + 301)
    deadline = time.monotonic() + 10
    while client.webhook(created.id).deliveries.delivered == 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    client.put_item(label, label, par_level=None)  # the other tests' stock is not below par
    client.delete_webhook(created.id)
    with pytest.raises(NotFoundError):
        client.webhook(created.id)
    with pytest.raises(NotFoundError):
        client.delete_webhook(created.id)


async def test_async_webhooks(service: Service) -> None:
    async with AsyncClient(service.url, api_key=service.admin_key) as client:
        created = await client.create_webhook("https://erp.example.com/hook", ["below_par"])
        assert (await client.webhook(created.id)).url == created.url
        assert created.id in [w.id for w in await client.webhooks()]
        await client.delete_webhook(created.id)


@pytest.mark.parametrize(
    ("header", "body", "now_offset"),
    [
        ("good", b'{"id": "e1"}', 0),
        ("good", b'{"id": "e1"}', 300),
        ("good", b'{"id": "e1"}', -300),
        ("good", b'{"id": "e1"}', 301),
        ("good", b'{"id": "e1"}', -301),
        ("good", b"tampered", 0),
        ("", b"{}", 0),
        ("v1=abc", b"{}", 0),
        ("t=soon,v1=abc", b"{}", 0),
        ("t=1700000000", b"{}", 0),
        ("t=1700000000,v1=" + "0" * 64, b"{}", 0),
    ],
)
def test_verify_webhook_agrees_with_the_documented_check(
    header: str, body: bytes, now_offset: float
) -> None:
    secret, t = "whsec_test", 1_700_000_000
    if header == "good":
        header = signature(secret, t, '{"id": "e1"}')  # what the service's sender sends
    expected = documented_verify()(secret, header, body, now=t + now_offset)
    assert verify_webhook(body, header, secret, now=t + now_offset) is expected


def test_verify_webhook_tolerance_and_forged_headers() -> None:
    secret, t, body = "whsec_test", 1_700_000_000, b'{"id": "e1"}'
    header = signature(secret, t, body.decode())
    assert verify_webhook(body, header, secret, now=t + 3600, tolerance_s=3600)
    assert not verify_webhook(body, header, secret, now=t + 3601, tolerance_s=3600)
    assert verify_webhook(bytearray(body), header, secret, now=t)  # type: ignore[arg-type]
    # Not ASCII: hmac.compare_digest would raise on such str; the check says False.
    assert not verify_webhook(body, f"t={t},v1=\u00e9", secret, now=t)
    resigned = signature(secret, t + 10, body.decode())  # a newer attempt's own signature
    assert verify_webhook(body, resigned, secret, now=t + 10)
    replayed = resigned.replace(f"t={t + 10}", f"t={t + 20}")  # a moved time breaks it
    assert not verify_webhook(body, replayed, secret, now=t + 20)


# Command line


def test_cli_replenishment_zones_and_cameras(
    service: Service, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    camera = client.create_location(_name("CLI ward"))
    zone = client.create_zone(camera.id, _name("CLI bin"), WHOLE, {"syringe": PAR})
    client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3, location=camera.id)
    registered = client.register_camera(camera.id, "snapshot", "http://10.0.4.30/s.jpg")
    base = ["--url", service.url, "--api-key", service.admin_key]

    assert main([*base, "replenishment", "--location", str(camera.id)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("LOCATION") and zone.name in out and "syringe" in out
    assert main([*base, "replenishment", "--location", str(camera.id), "--csv"]) == 0
    assert capsys.readouterr().out.startswith("location,bin,item,sku,par,on_hand")
    assert main([*base, "replenishment", "--location", str(camera.id), "--json"]) == 0
    lines = json.loads(capsys.readouterr().out)
    assert [line["bin_id"] for line in lines] == [zone.id]
    assert main([*base, "inventory", "--location", str(zone.id), "--below-par"]) == 0
    assert "syringe" in capsys.readouterr().out

    assert main([*base, "zones", str(camera.id)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ZONE") and zone.name in out and f"syringe ({PAR})" in out
    assert main([*base, "zones", str(camera.id), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"] == zone.id

    assert main([*base, "cameras"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CAMERA") and registered.url in out
    assert main([*base, "cameras", "status", str(registered.id)]) == 0
    assert "pending" in capsys.readouterr().out
    assert main([*base, "cameras", "status", str(registered.id), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "pending"
    assert main([*base, "cameras", "status", "2000000000"]) == 1
    assert "error: not_found:" in capsys.readouterr().err
    client.delete_camera(registered.id)
