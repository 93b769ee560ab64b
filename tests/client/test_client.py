"""The client against the real service over real HTTP and WebSocket connections."""

import asyncio
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medinv_client import (
    AsyncClient,
    BadRequestError,
    Client,
    ConflictError,
    DetectionResult,
    ForbiddenError,
    IdempotencyConflictError,
    InvalidParametersError,
    NotFoundError,
    StreamResult,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from medinv_client.cli import main
from serve_app.core.demo_model import DEFAULT_MODEL
from tests.client.conftest import Service
from tests.factories import shelf, shelf_jpeg

WIDTH, HEIGHT = 320, 240


@pytest.fixture
def client(service: Service) -> Client:
    with Client(service.url, api_key=service.admin_key) as c:
        yield c  # type: ignore[misc]


def _check(result: DetectionResult, width: int = WIDTH, height: int = HEIGHT) -> None:
    assert (result.image.width, result.image.height) == (width, height)
    assert str(result.model) == str(DEFAULT_MODEL)
    assert result.detections, "the demo model finds items on the generated shelf"
    counts: dict[str, int] = {}
    for d in result.detections:
        counts[d.label] = counts.get(d.label, 0) + 1
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
    assert counts == result.counts
    assert result.recorded is None
    assert result.timing_ms.total >= result.timing_ms.inference >= 0


def test_detect_bytes_path_pil_and_numpy(client: Client, tmp_path: Path) -> None:
    data = shelf_jpeg(WIDTH, HEIGHT)
    path = tmp_path / "shelf.jpg"
    path.write_bytes(data)
    by_bytes = client.detect(data, min_score=0.3)
    _check(by_bytes)
    assert client.detect(path, min_score=0.3).counts == by_bytes.counts
    assert client.detect(str(path), min_score=0.3).counts == by_bytes.counts
    image = shelf(WIDTH, HEIGHT)
    _check(client.detect(image, min_score=0.3))  # encoded again: JPEG, near the same counts
    _check(client.detect(np.asarray(image), min_score=0.3))
    rgba = image.convert("RGBA")  # sent as PNG
    _check(client.detect(rgba, min_score=0.3))
    limited = client.detect(data, min_score=0.0, max_detections=2)
    assert len(limited.detections) == 2


def test_request_id_is_sent_and_returned(client: Client) -> None:
    rid = uuid.uuid4().hex
    assert client.detect(shelf_jpeg(WIDTH, HEIGHT), request_id=rid).request_id == rid


async def test_async_detect_and_reads(service: Service) -> None:
    async with AsyncClient(service.url, api_key=service.admin_key) as client:
        results = await asyncio.gather(
            *(client.detect(shelf_jpeg(WIDTH, HEIGHT)) for _ in range(2))
        )
        for result in results:
            _check(result)
        assert (await client.health()).status == "ok"
        assert (await client.ready()).model.version == DEFAULT_MODEL.version
        assert (await client.models()).active.version == DEFAULT_MODEL.version


@pytest.mark.parametrize(
    ("kwargs", "image", "error", "code", "status"),
    [
        ({}, b"GIF89a not supported", UnsupportedMediaTypeError, "unsupported_media_type", 415),
        ({}, b"\xff\xd8\xff truncated jpeg", BadRequestError, "invalid_image", 400),
        ({"min_score": 7}, None, InvalidParametersError, "invalid_parameters", 422),
        ({"location": 2_000_000_000}, None, NotFoundError, "not_found", 404),
        ({"model": "medical-supplies-ssdlite:9.9.9"}, None, NotFoundError, "model_not_found", 404),
    ],
)
def test_errors_are_typed_with_code_and_request_id(
    client: Client,
    kwargs: dict[str, object],
    image: bytes | None,
    error: type[Exception],
    code: str,
    status: int,
) -> None:
    rid = uuid.uuid4().hex
    with pytest.raises(error) as raised:
        client.detect(image or shelf_jpeg(WIDTH, HEIGHT), request_id=rid, **kwargs)  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.status, raised.value.request_id) == (code, status, rid)  # type: ignore[attr-defined]
    assert raised.value.message  # type: ignore[attr-defined]


def test_keys_unknown_or_without_scope(service: Service) -> None:
    with Client(service.url, api_key="mik_nope_nope") as bad, pytest.raises(UnauthorizedError):
        bad.locations()
    with Client(service.url, api_key=service.read_key) as reader:
        assert isinstance(reader.locations(), list)
        with pytest.raises(ForbiddenError) as raised:
            reader.create_location(f"forbidden {uuid.uuid4().hex}")
    assert raised.value.code == "forbidden" and raised.value.request_id


def test_api_key_from_the_environment(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDINV_API_KEY", service.admin_key)
    with Client(service.url) as client:
        client.create_location(f"env key {uuid.uuid4().hex}")  # an admin route


def test_inventory_round_trip(client: Client) -> None:
    label = f"item-{uuid.uuid4().hex[:8]}"
    first = client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3)
    seen = max(first.counts, key=lambda k: first.counts[k])
    location = client.create_location(f"Ward {uuid.uuid4().hex}", "cabinet", camera_id="cam-1")
    assert location.kind == "cabinet" and location.camera_id == "cam-1"
    assert client.location(location.id) == location
    assert location in client.locations()
    with pytest.raises(ConflictError):
        client.create_location(location.name)
    item = client.put_item(seen, f"Display {label}", sku="SKU-1", unit="box", par_level=1000)
    assert (item.label, item.par_level, item.unit) == (seen, 1000, "box")
    recorded = client.detect(
        shelf_jpeg(WIDTH, HEIGHT), min_score=0.3, location=location.id, request_id=label
    )
    assert recorded.recorded == "written"
    stock = {s.item: s for s in client.stock(location.id)}
    assert stock[seen].count == recorded.counts[seen]
    assert stock[seen].below_par and stock[seen].below_par_since is not None
    alerts = client.alerts(location.id)
    assert [a.item for a in alerts] == [seen]
    history = client.history(location.id, seen, bucket="day")
    assert history.points and history.points[-1].max == recorded.counts[seen]
    assert list(client.iter_history(location.id, seen, bucket="minute", limit=1))
    with pytest.raises(NotFoundError):
        client.location(2_000_000_000)


def test_an_idempotency_key_records_a_retry_once(client: Client) -> None:
    location = client.create_location(f"Ward {uuid.uuid4().hex}").id
    key = uuid.uuid4().hex
    image = shelf_jpeg(WIDTH, HEIGHT)

    first = client.detect(image, location=location, idempotency_key=key)
    retried = client.detect(image, location=location, idempotency_key=key)
    with pytest.raises(IdempotencyConflictError) as conflict:
        client.detect(shelf_jpeg(WIDTH, HEIGHT + 8), location=location, idempotency_key=key)
    with pytest.raises(BadRequestError) as malformed:
        client.detect(image, location=location, idempotency_key="not a key")

    assert (first.recorded, retried.recorded) == ("written", "duplicate")
    assert isinstance(conflict.value, ConflictError)
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency_conflict")
    assert malformed.value.code == "invalid_idempotency_key"
    samples = client.history(location, next(iter(first.counts)), bucket="day").points
    assert sum(p.samples for p in samples) == 1


def test_models_list_and_activate(client: Client) -> None:
    info = client.models()
    assert info.active.ref == str(DEFAULT_MODEL)
    assert str(DEFAULT_MODEL) in [m.ref for m in info.available]
    assert info.active.labels and info.device == "cpu"
    change = client.activate_model(str(DEFAULT_MODEL))  # the same version: a cheap reload
    assert str(change.requested) == str(DEFAULT_MODEL) == str(change.previous)
    with pytest.raises(NotFoundError) as raised:
        client.activate_model("medical-supplies-ssdlite:9.9.9")
    assert raised.value.code == "model_not_found"


def test_coco_export_and_supervision(client: Client) -> None:
    result = client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3)
    labels = client.models().active.labels
    categories = {label: i + 1 for i, label in enumerate(labels)}
    coco = result.to_coco(image_id=42, category_ids=categories)
    assert len(coco) == len(result.detections)
    d, c = result.detections[0], coco[0]
    assert set(c) == {"image_id", "category_id", "bbox", "score"}
    assert c["image_id"] == 42 and c["category_id"] == categories[d.label]
    assert c["bbox"] == pytest.approx(
        [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]]
    )
    try:
        import supervision  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install 'medinv-client\[supervision\]'"):
            result.to_supervision()
        return
    converted = result.to_supervision(labels)
    assert len(converted) == len(result.detections)
    assert list(converted.data["class_name"]) == [d.label for d in result.detections]
    assert converted.class_id.tolist() == [labels.index(d.label) for d in result.detections]


# Streams


async def test_stream_results_in_order_and_drops_counted(service: Service) -> None:
    frames = [shelf_jpeg(WIDTH, HEIGHT)] * 8
    async with AsyncClient(service.url) as client:
        stream = client.stream(frames, min_score=0.3, window=2)
        results = [m async for m in stream]
    numbers = [r.frame for r in results]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert all(isinstance(r, StreamResult) for r in results)
    stats = stream.stats
    assert stats.sent + stats.dropped_client == len(frames)
    assert stats.answered == len(results) and stats.sent - stats.answered == stats.dropped_server
    assert stats.dropped + stats.answered == len(frames)
    assert stats.lost == 0 and stream.session_id and len(stream.session_id) == 32
    assert results[-1].counts  # the newest frame is never dropped


def test_stream_without_latest_wins_answers_every_frame(service: Service) -> None:
    frames = (shelf(WIDTH, HEIGHT) for _ in range(4))  # PIL images from a generator
    with Client(service.url) as client:
        stream = client.stream(frames, latest_wins=False)
        results = list(stream)
    assert [r.frame for r in results] == [0, 1, 2, 3]
    assert stream.stats.dropped == 0


async def test_stream_reports_bad_frames_and_goes_on(service: Service) -> None:
    async with AsyncClient(service.url) as client:
        stream = client.stream([b"not an image", shelf_jpeg(WIDTH, HEIGHT)], latest_wins=False)
        messages = [m async for m in stream]
    assert [(m.type, m.frame) for m in messages] == [("error", 0), ("result", 1)]
    assert messages[0].code == "invalid_image"  # type: ignore[union-attr]


async def test_stream_resumes_after_a_dropped_connection(service: Service) -> None:
    from medinv_tools.tcp_proxy import TcpProxy

    port = int(service.url.rsplit(":", 1)[1])
    proxy = TcpProxy("127.0.0.1", port)
    proxy.start()
    frame = shelf_jpeg(WIDTH, HEIGHT)
    cut = asyncio.Event()

    async def frames():  # type: ignore[no-untyped-def]
        for _ in range(2):
            yield frame
        await cut.wait()  # the next frames go on the resumed connection
        for _ in range(2):
            yield frame

    try:
        async with AsyncClient(f"http://127.0.0.1:{proxy.port}") as client:
            stream = client.stream(frames(), latest_wins=False)
            results = []
            async for message in stream:
                results.append(message)
                if len(results) == 2:
                    first_session = stream.session_id
                    await asyncio.to_thread(proxy.cut)
                    await asyncio.to_thread(proxy.restore)
                    cut.set()
    finally:
        proxy.close()
    assert [r.frame for r in results] == [0, 1, 2, 3]  # the service went on numbering
    assert stream.stats.reconnects == 1 and stream.resumed
    assert stream.session_id == first_session


# Command line


def test_cli_detect(service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for name in ("a.jpg", "b.jpg"):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(shelf_jpeg(WIDTH, HEIGHT))
    assert main(["--url", service.url, "detect", str(paths[0]), str(paths[1])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{paths[0]}: ") and "detections" in lines[0]
    assert main(["--url", service.url, "detect", "--json", str(paths[0])]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["path"] == str(paths[0]) and body["counts"]


def test_cli_errors(service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff nope")
    assert main(["--url", service.url, "detect", str(bad)]) == 1
    assert "error: invalid_image:" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "models"]) == 1
    assert "error:" in capsys.readouterr().err


def test_cli_inventory_and_models(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDINV_URL", service.url)
    monkeypatch.setenv("MEDINV_API_KEY", service.admin_key)
    with Client(service.url, service.admin_key) as client:
        location = client.create_location(f"CLI {uuid.uuid4().hex}")
        result = client.detect(shelf_jpeg(WIDTH, HEIGHT), min_score=0.3, location=location.id)
    assert main(["inventory", "--location", str(location.id)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("LOCATION") and all(label in out for label in result.counts)
    assert main(["inventory", "--location", str(location.id), "--below-par", "--json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert f"* {DEFAULT_MODEL}" in out.replace("*  ", "* ") or f"*  {DEFAULT_MODEL}" in out
    assert main(["models", "activate", str(DEFAULT_MODEL)]) == 0
    assert "switching from" in capsys.readouterr().out


def test_numpy_input_validation() -> None:
    from medinv_client.images import encode_image

    with pytest.raises(ValueError, match="uint8"):
        encode_image(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(TypeError):
        encode_image(12)  # type: ignore[arg-type]
    png = encode_image(np.zeros((4, 4, 4), dtype=np.uint8))
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, medinv_client, medinv_client.cli, medinv_client.stream\n"
        "heavy = ('ray', 'torch', 'sqlalchemy', 'serve_app', 'medinv_tools', 'fastapi', 'numpy')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
