"""A stand-in for the Ray dashboard's Serve API (`/api/serve/applications/`): a real HTTP server
on 127.0.0.1 and a free port, in a thread, and a socket that accepts and never answers."""

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

APP = "medinv"


def declared_app(
    name: str = APP, deployments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "route_prefix": "/",
        "import_path": "serve_app.serving.app:build_app",
        "deployments": deployments
        if deployments is not None
        else [{"name": "Detector", "user_config": {"model": "old:1.0.0", "keep": True}}],
    }


def instance_details(applications: dict[str, Any]) -> dict[str, Any]:
    """The shape of Ray's ServeInstanceDetails, trimmed to what the client reads."""
    return {
        "controller_info": {"node_id": "n1"},
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": 8000},
        "grpc_options": {"port": 9000, "grpc_servicer_functions": []},
        "target_capacity": None,
        "deploy_mode": "MULTI_APP",
        "applications": applications,
    }


class Dashboard:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port: GET answers `get_body` (bytes, so a
    test can send anything), PUT records its body and headers and answers 200."""

    def __init__(self) -> None:
        self.get_body: bytes = b"{}"
        self.get_status = 200
        self.puts: list[tuple[dict[str, str], Any]] = []
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                assert self.path == "/api/serve/applications/"
                self._answer(dashboard.get_status, dashboard.get_body)

            def do_PUT(self) -> None:
                assert self.path == "/api/serve/applications/"
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                dashboard.puts.append((dict(self.headers.items()), body))
                self._answer(200, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def answer(self, details: Any) -> None:
        self.get_body = json.dumps(details).encode()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def silent_dashboard() -> Iterator[str]:
    """The URL of a listening socket that is never accepted: the kernel completes the
    handshake, the request is sent, and no answer ever comes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
