"""A real uvicorn server for an ASGI app, in a thread of the calling process (tests, fuzzing)."""

import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn


class ThreadedServer:
    """uvicorn in a daemon thread (it installs no signal handlers off the main thread)."""

    def __init__(self, app: Callable[..., Any], port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="auto")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ThreadedServer":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
