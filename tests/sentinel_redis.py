"""Redis with Sentinel, of the test's own: a master, replicas (`--replicaof`; two by default,
so that a promoted one still has a replica, as the production manifests' three pods) and three
Sentinels monitoring them (quorum 2, as in production), each a process on a free port of
127.0.0.1 with its directory under the test's temporary one. The master can be killed with
SIGKILL (by PID) and the Sentinels left to promote a replica.

Timings are small so that a failover takes seconds: a server that has not answered a
Sentinel's PING for DOWN_AFTER_MS is down, and a failover that stalls is retried after
FAILOVER_TIMEOUT_MS. Every process is stopped by its PID."""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis

from medinv_tools.cluster.local import free_port

MASTER_NAME = "medinv"
# The passwords the tests give it: the data's (master and replicas), the Sentinels' own.
PASSWORD = "data-secret"
SENTINEL_PASSWORD = "sentinel-secret"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
SENTINELS = 3
QUORUM = 2
START_TIMEOUT_S = 30


class RedisProcess:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, options: list[str], config: Path | None = None) -> None:
        """`redis-server [CONFIG] --bind … --port … OPTIONS` (a config file goes first)."""
        log = (self.directory / "server.log").open("ab")
        command = ["redis-server", *([str(config)] if config else [])]
        command += ["--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory)]
        command += options
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write to disk."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class SentinelRedis:
    def __init__(
        self,
        directory: Path,
        password: str = PASSWORD,
        sentinel_password: str | None = SENTINEL_PASSWORD,
        replicas: int = 2,
    ) -> None:
        self.password = password
        self.sentinel_password = sentinel_password
        self.master = RedisProcess(directory / "master")
        self.replicas = [RedisProcess(directory / f"replica-{i}") for i in range(replicas)]
        self.sentinels = [RedisProcess(directory / f"sentinel-{i}") for i in range(SENTINELS)]

    @property
    def sentinel_addresses(self) -> list[str]:
        return [f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels]

    def start(self) -> None:
        # As the manifests run Redis: every write fsynced to the append-only file.
        persist = ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        auth = ["--requirepass", self.password, "--masterauth", self.password]
        # A full sync starts at once rather than waiting 5 s for more replicas to join it.
        persist += ["--repl-diskless-sync-delay", "0"]
        self.master.start([*persist, *auth])
        replica_of = ["--replicaof", "127.0.0.1", str(self.master.port)]
        for replica in self.replicas:
            replica.start([*persist, *auth, *replica_of])
        # Replicas in sync first: a Sentinel learns of them from the master's INFO, which it
        # asks for on connecting and then every 10 s.
        self._wait_until(self._replicas_in_sync)
        for sentinel in self.sentinels:
            config = sentinel.directory / "sentinel.conf"  # a Sentinel rewrites its own file
            lines = [
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master.port} {QUORUM}",
                f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
                f"sentinel auth-pass {MASTER_NAME} {self.password}",
            ]
            if self.sentinel_password is not None:
                lines.append(f"requirepass {self.sentinel_password}")
            config.write_text("\n".join(lines) + "\n")
            sentinel.start(["--sentinel"], config=config)
        # Every Sentinel knows the replicas and the other Sentinels: before that, a failover
        # could not elect a leader or find whom to promote.
        self._wait_until(self._sentinels_ready)

    def _wait_until(self, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready():
            started = [p for p in (self.master, *self.replicas, *self.sentinels) if p.process]
            if time.monotonic() > deadline or not all(p.alive() for p in started):
                raise RuntimeError(f"Redis with Sentinel did not start; see the logs under {self}")
            time.sleep(0.1)

    def _replicas_in_sync(self) -> bool:
        try:
            for replica in self.replicas:
                with self.server(replica.port) as client:
                    if client.info("replication").get("master_link_status") != "up":
                        return False
            return True
        except Exception:  # not up yet
            return False

    def _sentinels_ready(self) -> bool:
        try:
            for sentinel in self.sentinels:
                with self.sentinel(sentinel.port) as client:
                    state = client.sentinel_master(MASTER_NAME)
                    replicas = client.sentinel_slaves(MASTER_NAME)
                if state["num-other-sentinels"] < SENTINELS - 1:
                    return False
                if state["num-slaves"] < len(self.replicas):
                    return False
                if any(r["is_sdown"] or r["is_odown"] for r in replicas):
                    return False
            return True
        except Exception:  # not up yet
            return False

    def server(self, port: int) -> Redis:
        return Redis(host="127.0.0.1", port=port, password=self.password, socket_timeout=5)

    def sentinel(self, port: int) -> Redis:
        return Redis(host="127.0.0.1", port=port, password=self.sentinel_password, socket_timeout=5)

    def master_port(self) -> int:
        """The master's port, as the first Sentinel answering names it."""
        for sentinel in self.sentinels:
            if not sentinel.alive():
                continue
            with self.sentinel(sentinel.port) as client:
                address = client.sentinel_get_master_addr_by_name(MASTER_NAME)
            if address is not None:
                return int(address[1])
        raise RuntimeError("no Sentinel names a master")

    def wait_for_promotion(self, timeout_s: float) -> RedisProcess:
        """The replica promoted, once every Sentinel names it master and it says it is one."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            promoted = self._promoted()
            if promoted is not None:
                return promoted
            time.sleep(0.05)
        raise RuntimeError(f"no replica was promoted within {timeout_s} s")

    def _promoted(self) -> RedisProcess | None:
        try:
            named = set()
            for sentinel in self.sentinels:
                with self.sentinel(sentinel.port) as client:
                    address = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                named.add(None if address is None else int(address[1]))
            for replica in self.replicas:
                if named == {replica.port}:
                    with self.server(replica.port) as client:
                        role = client.info("replication").get("role")
                    return replica if role == "master" else None
            return None
        except Exception:  # a Sentinel busy with the failover
            return None

    def stop(self) -> None:
        for process in [*self.sentinels, *self.replicas, self.master]:
            process.stop()

    def __repr__(self) -> str:
        return str(self.master.directory.parent)
