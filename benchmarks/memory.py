"""Memory of a process tree, sampled in the background to find its peak.

PSS (proportional set size) splits pages shared between processes (torch's libraries, Ray's
object store) among them, so the sum over processes is the RAM the tree really uses; the
sum of RSS counts shared pages once per process and overstates it.
"""

import threading
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class MemoryPeak:
    pss_bytes: int = 0
    rss_bytes: int = 0


def tree_memory(root_pid: int) -> MemoryPeak:
    try:
        root = psutil.Process(root_pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return MemoryPeak()
    pss = rss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        pss += info.pss
        rss += info.rss
    return MemoryPeak(pss, rss)


class PeakMemorySampler:
    def __init__(self, root_pid: int, interval_s: float = 1.0) -> None:
        self._root_pid = root_pid
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = MemoryPeak()

    def __enter__(self) -> "PeakMemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = tree_memory(self._root_pid)
            self.peak = MemoryPeak(
                max(self.peak.pss_bytes, now.pss_bytes), max(self.peak.rss_bytes, now.rss_bytes)
            )
            self._stop.wait(self._interval_s)
