"""Asyncio code for Locust users: one event loop on a native thread of the Locust process.

Locust runs every user as a greenlet of one OS thread, and asyncio allows one running loop per
thread: two users each running a loop of their own fail ("Cannot run the event loop while
another loop is running"). So the asyncio client (`medinv_client.AsyncClient.stream`) runs on
a single loop in a thread that gevent did not patch, and each user's greenlet collects what the
loop produced from a deque (thread-safe appends and pops), sleeping cooperatively meanwhile.
"""

import asyncio
import threading
from collections import deque
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import gevent
from gevent import monkey

T = TypeVar("T")
POLL_S = 0.005  # how often a waiting greenlet looks again; Locust's timings are not this

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The process's background event loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            native_thread = monkey.get_original("threading", "Thread")
            native_thread(target=_loop.run_forever, name="asyncio-users", daemon=True).start()
        return _loop


class Outbox(Generic[T]):
    """What a coroutine on the background loop hands to a greenlet, in order."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()

    def put(self, item: T) -> None:
        """From the loop's thread."""
        self._items.append(item)

    def get(self, running: "Future[Any]") -> T:
        """In a greenlet: the next item, waiting cooperatively. If the coroutine that fills the
        outbox ended instead, its exception (or a RuntimeError) is raised."""
        while not self._items:
            if running.done():
                running.result()
                raise RuntimeError("the coroutine feeding this outbox has ended")
            gevent.sleep(POLL_S)
        return self._items.popleft()


def start(coroutine: Coroutine[Any, Any, T]) -> "Future[T]":
    """Run `coroutine` on the background loop; cancel the returned future to stop it."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop())
