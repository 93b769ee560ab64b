"""WS /v1/stream through Starlette's test client (the Serve tests use a real websockets client)."""

import json

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.api.stream_connection import MAX_TEXT_MESSAGE_BYTES
from tests.api.conftest import MAX_BODY_BYTES, MAX_STREAMS
from tests.assertions import assert_detections
from tests.factories import shelf_jpeg


def test_each_frame_gets_a_result_in_order(client: TestClient) -> None:
    frame = shelf_jpeg(320, 240)
    with client.websocket_connect("/v1/stream") as socket:
        results = []
        for _ in range(3):
            socket.send_bytes(frame)
            results.append(socket.receive_json())
    assert [r["frame"] for r in results] == [0, 1, 2]
    for result in results:
        assert result["type"] == "result"
        assert result["dropped"] == 0
        assert result["image"] == {"width": 320, "height": 240}
        assert_detections(result["detections"], result["counts"], 320, 240)


def test_bad_frame_gets_an_error_and_the_stream_goes_on(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as socket:
        socket.send_bytes(b"definitely not a jpeg")
        error = socket.receive_json()
        socket.send_bytes(shelf_jpeg(320, 240))
        result = socket.receive_json()
    assert error == {
        "type": "error",
        "frame": 0,
        "code": "invalid_image",
        "message": "the data is not a JPEG, PNG or WebP image",
    }
    assert result["type"] == "result" and result["frame"] == 1


def test_oversized_frame_is_refused_without_closing(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as socket:
        socket.send_bytes(b"\xff" * (MAX_BODY_BYTES + 1))
        error = socket.receive_json()
        socket.send_bytes(shelf_jpeg(320, 240))
        result = socket.receive_json()
    assert (error["code"], error["frame"]) == ("payload_too_large", 0)
    assert result["frame"] == 1


def test_config_message_changes_parameters_mid_stream(client: TestClient) -> None:
    frame = shelf_jpeg(320, 240)
    with client.websocket_connect("/v1/stream?min_score=0&max_detections=50") as socket:
        socket.send_bytes(frame)
        before = socket.receive_json()
        socket.send_json({"type": "config", "max_detections": 2})
        socket.send_bytes(frame)
        after = socket.receive_json()
    assert len(before["detections"]) > 2
    assert after["detections"] == before["detections"][:2]


def test_huge_text_messages_get_a_small_error_and_the_stream_goes_on(client: TestClient) -> None:
    unknown_keys = json.dumps({"type": "config", **{f"k{i}": i for i in range(300_000)}})
    just_over = json.dumps({"type": "config", "pad": "x" * MAX_TEXT_MESSAGE_BYTES})
    many_problems = json.dumps({"type": "config", **{f"k{i}": i for i in range(2_000)}})
    with client.websocket_connect("/v1/stream") as socket:
        replies = []
        for message in (unknown_keys, just_over, many_problems):
            socket.send_text(message)
            replies.append(socket.receive_json())
        socket.send_bytes(shelf_jpeg(320, 240))
        result = socket.receive_json()
    assert len(unknown_keys) > 3_000_000
    for reply in replies:
        assert reply["type"] == "error" and reply["code"] == "invalid_parameters"
        assert len(json.dumps(reply)) < 1_000
    assert "limited to 65536 bytes" in replies[0]["message"] == replies[1]["message"]
    assert "and 1995 more" in replies[2]["message"]
    assert result["type"] == "result"


@pytest.mark.parametrize(
    "message",
    ['{"type": "config", "min_score": 7}', '{"type": "dance"}', "not json", "[1, 2]"],
)
def test_bad_text_message_gets_an_error_and_the_stream_goes_on(
    client: TestClient, message: str
) -> None:
    with client.websocket_connect("/v1/stream") as socket:
        socket.send_text(message)
        error = socket.receive_json()
        socket.send_bytes(shelf_jpeg(320, 240))
        result = socket.receive_json()
    assert error["type"] == "error" and error["frame"] is None
    assert error["code"] == "invalid_parameters"
    assert result["type"] == "result"


def test_application_ping_gets_pong(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as socket:
        socket.send_json({"type": "ping"})
        assert socket.receive_json() == {"type": "pong"}


def test_invalid_query_closes_with_policy_violation(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream?max_detections=0") as socket:
        error = socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert error["code"] == "invalid_parameters"
    assert closed.value.code == 1008


def test_streams_beyond_the_cap_are_closed_with_1013(client: TestClient) -> None:
    opened = [client.websocket_connect("/v1/stream") for _ in range(MAX_STREAMS)]
    sockets = [connection.__enter__() for connection in opened]
    try:
        for socket in sockets:  # each stream is admitted and served
            socket.send_json({"type": "ping"})
            assert socket.receive_json() == {"type": "pong"}
        with client.websocket_connect("/v1/stream") as extra:
            error = extra.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                extra.receive_json()
        assert error["code"] == "overloaded"
        assert closed.value.code == 1013
    finally:
        for connection in opened:
            connection.__exit__(None, None, None)
    with client.websocket_connect("/v1/stream") as again:  # slots are given back
        again.send_json({"type": "ping"})
        assert again.receive_json() == {"type": "pong"}
