"""A Redis server of the test's own, persisting as the Kubernetes manifests run it (an append-only
file fsynced on every write), that the test can kill with SIGKILL and start again from its disk."""

import os
import signal
import subprocess
import time
from pathlib import Path

from redis import Redis

from medinv_tools.cluster.local import free_port


class PersistentRedis:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--dir", str(self.directory), "--save", ""]
        command += ["--appendonly", "yes", "--appendfsync", "always"]
        log = (self.directory / "redis.log").open("ab")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self._answers():
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"redis-server did not start; see {log.name}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except Exception:  # not up yet: refused, still loading its file
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown save, only what the append-only file already holds."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)
        self._process = None
