"""ServeConfigClient against a real local HTTP server playing the dashboard's Serve API."""

import json
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from serve_app.core.errors import ControlPlaneError
from serve_app.core.payloads import ModelRef
from serve_app.serving.serve_control import ServeConfigClient
from tests.fake_dashboard import APP, Dashboard, declared_app, instance_details, silent_dashboard

REF = ModelRef(name="medical-supplies-ssdlite", version="2.0.0")
TOKEN = "secret-token"


@pytest.fixture
def dashboard() -> Iterator[Dashboard]:
    server = Dashboard()
    yield server
    server.close()


@pytest.fixture
def silent_url() -> Iterator[str]:
    with silent_dashboard() as url:
        yield url


def client_of(url: str, timeout_s: float = 2.0) -> ServeConfigClient:
    return ServeConfigClient(url, TOKEN, timeout_s=timeout_s)


def raises_control_plane_error(call: Callable[[], None], within_s: float) -> ControlPlaneError:
    started = time.monotonic()
    with pytest.raises(ControlPlaneError) as caught:
        call()
    assert time.monotonic() - started < within_s
    return caught.value


def test_switch_puts_back_every_declared_app_with_the_new_model(dashboard: Dashboard) -> None:
    other = declared_app("other", deployments=[{"name": "Other", "num_replicas": 2}])
    dashboard.answer(
        instance_details(
            {
                APP: {"name": APP, "status": "RUNNING", "deployed_app_config": declared_app()},
                "other": {"name": "other", "status": "RUNNING", "deployed_app_config": other},
            }
        )
    )

    client_of(dashboard.url).set_detector_model(APP, "Detector", REF)

    assert len(dashboard.puts) == 1
    headers, body = dashboard.puts[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    expected_app = declared_app(
        deployments=[{"name": "Detector", "user_config": {"model": str(REF), "keep": True}}]
    )
    assert body == {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": 8000},
        "grpc_options": {"port": 9000, "grpc_servicer_functions": []},
        "applications": [expected_app, other],
    }


def test_switch_adds_the_deployment_when_the_config_does_not_list_it(
    dashboard: Dashboard,
) -> None:
    app = declared_app(deployments=[{"name": "Ingress"}])
    dashboard.answer(instance_details({APP: {"name": APP, "deployed_app_config": app}}))

    client_of(dashboard.url).set_detector_model(APP, "Detector", REF)

    [(_, body)] = dashboard.puts
    assert body["applications"][0]["deployments"] == [
        {"name": "Ingress"},
        {"name": "Detector", "user_config": {"model": str(REF)}},
    ]


def test_an_app_without_a_declared_config_is_a_clear_error(dashboard: Dashboard) -> None:
    """Deployed with `serve run` (or still deploying): listed, with no deployed_app_config."""
    dashboard.answer(
        instance_details({APP: {"name": APP, "status": "RUNNING", "deployed_app_config": None}})
    )

    error = raises_control_plane_error(
        lambda: client_of(dashboard.url).set_detector_model(APP, "Detector", REF), within_s=2
    )

    assert "no declared Serve config" in error.message
    assert "serve deploy" in error.message
    assert "medinv deploy" in error.message
    assert dashboard.puts == []


def test_an_app_that_is_not_deployed_is_a_clear_error(dashboard: Dashboard) -> None:
    dashboard.answer(instance_details({}))

    error = raises_control_plane_error(
        lambda: client_of(dashboard.url).set_detector_model(APP, "Detector", REF), within_s=2
    )

    assert f"application {APP!r} is not deployed" in error.message


def test_a_dashboard_that_never_answers_fails_within_the_timeout(silent_url: str) -> None:
    client = client_of(silent_url, timeout_s=0.5)

    error = raises_control_plane_error(
        lambda: client.set_detector_model(APP, "Detector", REF), within_s=3
    )

    assert "GET" in error.message
    assert "0.5 s" in error.message


def test_an_unreachable_dashboard_is_a_control_plane_error() -> None:
    with socket.socket() as probe:  # a free port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    raises_control_plane_error(
        lambda: client_of(f"http://127.0.0.1:{port}").set_detector_model(APP, "Detector", REF),
        within_s=3,
    )


def test_an_http_error_carries_the_status_and_the_detail(dashboard: Dashboard) -> None:
    dashboard.get_status = 503
    dashboard.get_body = b"dashboard is starting"

    error = raises_control_plane_error(
        lambda: client_of(dashboard.url).set_detector_model(APP, "Detector", REF), within_s=2
    )

    assert "HTTP 503" in error.message
    assert "dashboard is starting" in error.message


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b"\xff\xfe not utf-8",
        b"[1, 2, 3]",
        b'"applications"',
        json.dumps({"applications": ["not", "a", "dict"]}).encode(),
        json.dumps({"applications": {APP: "not a dict"}}).encode(),
        json.dumps({"applications": {APP: {"deployed_app_config": "not a dict"}}}).encode(),
        json.dumps(
            {"applications": {APP: {"deployed_app_config": {"name": APP, "deployments": {}}}}}
        ).encode(),
        json.dumps(
            {"applications": {APP: {"deployed_app_config": {"name": APP, "deployments": [1]}}}}
        ).encode(),
        json.dumps(
            {
                "applications": {
                    APP: {
                        "deployed_app_config": {
                            "name": APP,
                            "deployments": [{"name": "Detector", "user_config": [1]}],
                        }
                    }
                }
            }
        ).encode(),
    ],
    ids=[
        "html",
        "not-utf8",
        "json-list",
        "json-string",
        "applications-list",
        "app-not-dict",
        "config-not-dict",
        "deployments-not-list",
        "deployment-not-dict",
        "user-config-not-dict",
    ],
)
def test_a_malformed_answer_is_a_control_plane_error(dashboard: Dashboard, body: bytes) -> None:
    dashboard.get_body = body

    error = raises_control_plane_error(
        lambda: client_of(dashboard.url).set_detector_model(APP, "Detector", REF), within_s=2
    )

    assert dashboard.url in error.message
    assert dashboard.puts == []


def test_the_operation_timeout_covers_both_requests() -> None:
    client = ServeConfigClient("http://127.0.0.1:1", None, timeout_s=1.5)

    assert client.timeout_s == 1.5
    assert client.operation_timeout_s > 2 * client.timeout_s
