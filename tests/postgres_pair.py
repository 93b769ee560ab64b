"""A PostgreSQL primary and a streaming standby of the test's own: two servers in temporary data
directories on free ports, which the test can promote and crash like an operator's failover.

The binaries are the machine's (`pg_config --bindir`, else /usr/lib/postgresql/*/bin); without
them `postgres_bindir()` fails with a clear error. PostgreSQL refuses to run as root, so when the
tests do (a container) the servers run as the `postgres` account. Each server is a child process
of the test, stopped by its PID.
"""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from medinv_tools.cluster.local import free_port

START_TIMEOUT_S = 60.0
# What the replication lines of pg_hba.conf allow: the standby's WAL receiver and
# pg_basebackup, over loopback, like every other connection here.
PG_HBA = """\
local   all          all                 trust
host    all          all   127.0.0.1/32  trust
local   replication  all                 trust
host    replication  all   127.0.0.1/32  trust
"""


class PostgresMissingError(RuntimeError):
    pass


def postgres_bindir() -> Path:
    """The directory of initdb, postgres, pg_ctl and pg_basebackup on this machine."""
    candidates = []
    if shutil.which("pg_config"):
        result = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    needed = ("initdb", "postgres", "pg_ctl", "pg_basebackup")
    for directory in candidates:
        if all((directory / name).is_file() for name in needed):
            return directory
    raise PostgresMissingError(
        "the PostgreSQL server binaries (initdb, postgres, pg_ctl, pg_basebackup) were not found "
        "by `pg_config --bindir` nor under /usr/lib/postgresql/*/bin: install the PostgreSQL "
        "server package (Debian: postgresql)"
    )


def _server_user() -> pwd.struct_passwd | None:
    """None when the tests run as an ordinary user; the `postgres` account under root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as error:
        raise PostgresMissingError(
            "running as root, and there is no `postgres` account to run the servers as "
            "(PostgreSQL refuses root)"
        ) from error


class PostgresServer:
    """One server of the pair: its data directory, port and postmaster process."""

    def __init__(self, pair: "PostgresPair", name: str, *options: str) -> None:
        self.pair = pair
        self.name = name
        self.data = pair.directory / name
        self.port = free_port()
        self.log = pair.directory / f"{name}.log"
        self._options = options
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(self.pair.bindir / "postgres"), "-D", str(self.data)]
        command += ["-c", f"port={self.port}", "-c", "listen_addresses=127.0.0.1"]
        command += ["-c", f"unix_socket_directories={self.pair.directory}"]
        for option in self._options:
            command += ["-c", option]
        with self.log.open("ab") as log:
            self.process = self.pair.popen(command, log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._accepts_connections():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL {self.name} did not start; see {self.log}")
            time.sleep(0.1)

    def _accepts_connections(self) -> bool:
        ready = self.pair.bindir / "pg_isready"
        command = [str(ready), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        return self.pair.run(command, check=False).returncode == 0

    def promote(self) -> None:
        """`pg_ctl promote`: the standby leaves recovery and takes writes (waits until it does)."""
        self.pair.run([str(self.pair.bindir / "pg_ctl"), "promote", "-w", "-D", str(self.data)])

    def stop_immediately(self) -> None:
        """`pg_ctl stop -m immediate`: the postmaster (this PID) and its backends quit at once,
        without a checkpoint, as a crashed primary would."""
        command = [str(self.pair.bindir / "pg_ctl"), "stop", "-m", "immediate"]
        self.pair.run([*command, "-w", "-D", str(self.data)])
        if self.process is not None:
            self.process.wait(timeout=30)

    def kill(self) -> None:
        """SIGQUIT (immediate shutdown) to its postmaster by PID, then SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGQUIT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=20)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


class PostgresPair:
    """A primary with `wal_level=replica`, waiting for one synchronous standby (any standby's
    flush before a commit returns, as CloudNativePG's `synchronous: {method: any, number: 1}`),
    and that standby, made by `pg_basebackup -R`. The standby runs without the setting, so that
    once promoted (and alone) its commits do not wait for a standby it no longer has."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self._user = _server_user()
        self.directory = Path(tempfile.mkdtemp(prefix="medinv-pg-pair-"))
        if self._user is not None:
            os.chown(self.directory, self._user.pw_uid, self._user.pw_gid)
        self.primary = PostgresServer(
            self, "primary", "wal_level=replica", "synchronous_standby_names=*"
        )
        self.standby = PostgresServer(self, "standby", "wal_level=replica")

    def popen(self, command: list[str], log: IO[bytes]) -> "subprocess.Popen[bytes]":
        uid, gid, groups = self._identity()
        return subprocess.Popen(
            command,
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=uid,
            group=gid,
            extra_groups=groups,
        )

    def run(self, command: list[str], *, check: bool = True) -> "subprocess.CompletedProcess[str]":
        uid, gid, groups = self._identity()
        result = subprocess.run(
            command,
            cwd=self.directory,
            capture_output=True,
            text=True,
            check=False,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
        return result

    def _identity(self) -> tuple[int | None, int | None, list[int] | None]:
        """Who the server binaries run as: the `postgres` account under root, else ourselves."""
        if self._user is None:
            return None, None, None
        return self._user.pw_uid, self._user.pw_gid, []

    def start(self) -> None:
        initdb = [str(self.bindir / "initdb"), "-D", str(self.primary.data), "-U", "postgres"]
        self.run([*initdb, "--auth=trust", "--encoding=UTF8", "--no-sync"])
        (self.primary.data / "pg_hba.conf").write_text(PG_HBA)
        self.primary.start()
        backup = [str(self.bindir / "pg_basebackup"), "-D", str(self.standby.data), "-R"]
        backup += ["-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"]
        self.run([*backup, "-X", "stream", "-c", "fast", "--no-sync"])
        self.standby.start()

    def multi_host_url(self, database: str) -> str:
        """The app's URL: both servers, libpq picks the one that takes writes."""
        hosts = f"host=127.0.0.1:{self.primary.port}&host=127.0.0.1:{self.standby.port}"
        return f"postgresql+psycopg://postgres@/{database}?{hosts}&target_session_attrs=read-write"

    def stop(self) -> None:
        for server in (self.standby, self.primary):
            server.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def postgres_pair() -> Iterator[PostgresPair]:
    pair = PostgresPair()
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()
