"""A local camera for tests, demos and the camera-poll benchmark: an HTTP server in a thread
of its own, answering JPEG snapshots (or a failure, or nothing: a hang, as its script says),
an MJPEG stream, and a snapshot behind basic auth.

`python -m medinv_tools.camera_server IMAGE --port 8554` serves one image until stopped:
register `http://127.0.0.1:8554/snapshot.jpg` or `/mjpeg` as a camera of `make run`.
"""

import argparse
import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import encode_basic_auth, web

BOUNDARY = "frame"


async def _page(_request: web.Request) -> web.StreamResponse:
    return web.Response(text="<html>a login page</html>", content_type="text/html")


# The login /secure.jpg wants (the password has characters a URL must quote).
USERNAME = "cam-user"
PASSWORD = "s3cr#t/pass"


class CameraServer:
    def __init__(
        self, jpeg: bytes, *, username: str = USERNAME, password: str = PASSWORD, port: int = 0
    ) -> None:
        self.jpeg = jpeg
        self.requests: Counter[str] = Counter()
        self.snapshot_times: list[float] = []
        # What the next snapshots answer, in turn: "ok", a status such as "500", or "hang";
        # once it runs out, "ok".
        self.script: list[str] = []
        self._authorization = encode_basic_auth(username, password)
        self._loop = asyncio.new_event_loop()
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        self.requests["snapshot"] += 1
        self.snapshot_times.append(time.monotonic())
        step = self.script.pop(0) if self.script else "ok"
        if step == "hang":
            await self._released.wait()  # until the server stops
        if step != "ok":
            return web.Response(status=int(step), text="camera error")
        return web.Response(body=self.jpeg, content_type="image/jpeg")

    async def _secure(self, request: web.Request) -> web.StreamResponse:
        self.requests["secure"] += 1
        header = request.headers.get("Authorization", "")
        if header != self._authorization:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="cam"'})
        return web.Response(body=self.jpeg, content_type="image/jpeg")

    async def _mjpeg(self, request: web.Request) -> web.StreamResponse:
        self.requests["mjpeg"] += 1
        response = web.StreamResponse(
            headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
        )
        await response.prepare(request)
        while True:  # 20 frames a second until the client goes
            head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
            head += f"Content-Length: {len(self.jpeg)}\r\n\r\n"
            await response.write(head.encode() + self.jpeg + b"\r\n")
            await asyncio.sleep(0.05)

    async def _start(self) -> web.AppRunner:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_get("/snapshot.jpg", self._snapshot)
        app.router.add_get("/secure.jpg", self._secure)
        app.router.add_get("/mjpeg", self._mjpeg)
        app.router.add_get("/page", _page)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        return runner

    @contextmanager
    def running(self) -> Iterator["CameraServer"]:
        thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        thread.start()
        runner = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._released.set)
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path, help="a JPEG to serve")
    parser.add_argument("--port", type=int, default=8554)
    args = parser.parse_args()
    server = CameraServer(args.image.read_bytes(), port=args.port)
    with server.running():
        print(f"serving {args.image} at {server.url}/snapshot.jpg and {server.url}/mjpeg")
        threading.Event().wait()


if __name__ == "__main__":
    main()
