"""Processes this checkout started, known by the PID recorded in a file and stopped only by it.

Never by name: other people's Ray heads and Prometheus servers run on the same machine.
"""

import contextlib
import os
import signal
import time
from pathlib import Path


def alive_pid(pid_file: Path) -> int | None:
    """The recorded PID if that process still runs, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def terminate(pid_file: Path, timeout_s: float) -> bool:
    """SIGTERM the recorded process and wait for it to end; False if none was running."""
    pid = alive_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive_pid(pid_file) is not None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child, so it stops existing
        time.sleep(0.2)
    pid_file.unlink(missing_ok=True)
    return True
