"""`loadtest run`: Locust in a process of its own, the cluster watched once per second, and
afterwards the timeline (CSV), its plot (PNG) and a summary (JSON) in the output directory.

Locust runs headless from loadtest/locustfile.py (gevent stays out of this process); each
request it completes is one line of `requests.log`, which this process reads for progress and
for the timeline. Replicas and nodes come from the Ray dashboard when one is given.
"""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadtest import timeline
from loadtest.cluster_state import ClusterObserver, Snapshot
from loadtest.shapes import load_ends_at, stages

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
USER_CLASSES = {"detect": "DetectUser", "stream": "StreamUser"}


@dataclass(frozen=True)
class RunOptions:
    host: str
    out_dir: Path
    shape: str = "step"
    users: int = 4
    duration_s: float = 60.0
    steps: int = 1
    tail_users: int = 0
    tail_s: float = 0.0
    users_of: tuple[str, ...] = ("detect",)  # keys of USER_CLASSES
    fps: float = 2.0
    observer: ClusterObserver | None = None
    progress_every_s: float = 5.0
    # Another locustfile (the chaos users), its user classes by name, more environment for it.
    locustfile: Path = LOCUSTFILE
    user_classes: Mapping[str, str] = field(default_factory=lambda: dict(USER_CLASSES))
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Summary:
    host: str
    shape: str
    users: int
    started_at: float  # epoch of the first request's start
    load_stopped_at: float  # epoch the main load (before any tail) stopped
    seconds: int
    requests: int
    failures: int
    failures_by_name: dict[str, int] = field(default_factory=dict)
    csv: str = ""
    png: str = ""


class LoadRun:
    """One run; `run()` blocks. Another thread may read `snapshots`, call `end_step()` (the
    main load is over: tail users from now on) or `stop()` (end the run now)."""

    def __init__(self, options: RunOptions, say: Callable[[str], None] = print) -> None:
        self.options = options
        self.say = say
        self.plan = stages(
            options.shape,
            options.users,
            options.duration_s,
            steps=options.steps,
            tail_users=options.tail_users,
            tail_s=options.tail_s,
        )
        self.snapshots: list[Snapshot] = []
        self.events_path = options.out_dir / "requests.log"
        self.control_path = options.out_dir / "end-step"
        self.step_ended_at: float | None = None
        self._stop = threading.Event()

    def end_step(self) -> None:
        self.step_ended_at = time.time()
        self.control_path.write_text("tail\n")

    def stop(self) -> None:
        self._stop.set()

    def events(self) -> list[timeline.RequestEvent]:
        return timeline.read_events(self.events_path)

    def run(self) -> Summary:
        options = self.options
        options.out_dir.mkdir(parents=True, exist_ok=True)
        self.events_path.write_text("")
        self.control_path.unlink(missing_ok=True)
        known = options.user_classes
        unknown = set(options.users_of) - set(known)
        if unknown:
            raise ValueError(f"unknown users {sorted(unknown)} (known: {sorted(known)})")
        env = {
            **os.environ,
            **options.extra_env,
            "LOADTEST_STAGES": json.dumps([[s.until_s, s.users] for s in self.plan]),
            "LOADTEST_EVENTS": str(self.events_path),
            "LOADTEST_CONTROL": str(self.control_path),
            "LOADTEST_TAIL_USERS": str(options.tail_users),
            "LOADTEST_FPS": str(options.fps),
        }
        command = [
            str(Path(sys.executable).with_name("locust")),
            "-f", str(options.locustfile), "--headless", "--host", options.host,
            "--stop-timeout", "30",  # a user leaving at a stage change finishes its request
            "--only-summary", "--loglevel", "WARNING",
            *[known[name] for name in options.users_of],
        ]  # fmt: skip
        launched = time.time()
        watcher = threading.Thread(target=self._watch, daemon=True)
        watcher.start()
        with (options.out_dir / "locust.log").open("w") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                self._wait(process, launched)
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)  # Locust stops its users and quits
                    try:
                        process.wait(timeout=40)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
                self._stop.set()
                watcher.join(timeout=10)
        return self._write(launched)

    def _watch(self) -> None:
        observer = self.options.observer
        if observer is None:
            return
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.snapshots.append(observer.snapshot(time.time()))
            except Exception as error:  # a dashboard hiccup costs one sample, not the run
                self.say(f"  (cluster state unavailable: {error})")
            self._stop.wait(max(0.0, 1.0 - (time.monotonic() - began)))

    def _wait(self, process: subprocess.Popen[bytes], launched: float) -> None:
        next_report = time.monotonic() + self.options.progress_every_s
        while process.poll() is None and not self._stop.is_set():
            time.sleep(0.2)
            if time.monotonic() >= next_report:
                next_report += self.options.progress_every_s
                self.say(self._progress(launched))

    def _progress(self, launched: float) -> str:
        now = time.time()
        events = [e for e in self.events() if e.kind != timeline.USERS]
        recent = sorted(e.latency_ms for e in events if e.end >= now - 5)
        failed = sum(1 for e in events if not e.ok)
        line = (
            f"{now - launched:6.0f}s  {len(recent) / 5:6.1f} req/s  "
            f"p95 {timeline.percentile(recent, 95):7.0f} ms  "
            f"{len(events)} requests  {failed} failed"
        )
        if self.snapshots:
            latest = self.snapshots[-1]
            line += "  replicas " + " ".join(f"{k}={v}" for k, v in latest.replicas.items())
            line += "  nodes " + " ".join(f"{k}={v}" for k, v in latest.nodes.items())
        return line

    def _write(self, launched: float) -> Summary:
        options = self.options
        events = self.events()
        requests = [e for e in events if e.kind != timeline.USERS]
        started = min((e.end - e.latency_ms / 1000.0 for e in requests), default=launched)
        ended = max((e.end for e in events), default=started)
        if self.snapshots:
            ended = max(ended, self.snapshots[-1].at)
        seconds = max(1, math.ceil(ended - started))
        rows = timeline.build(started, seconds, events, self.snapshots, self.plan)
        csv_path = options.out_dir / "timeline.csv"
        png_path = options.out_dir / "timeline.png"
        timeline.write_csv(rows, csv_path)
        title = f"{options.shape}: {options.users} users ({'+'.join(options.users_of)})"
        timeline.plot(rows, png_path, f"{title} against {options.host}")
        failures: dict[str, int] = {}
        for event in requests:
            if not event.ok:
                failures[event.name] = failures.get(event.name, 0) + 1
        planned_stop = started + load_ends_at(self.plan, options.tail_s)
        summary = Summary(
            host=options.host,
            shape=options.shape,
            users=options.users,
            started_at=started,
            load_stopped_at=min(planned_stop, self.step_ended_at or planned_stop),
            seconds=seconds,
            requests=len(requests),
            failures=sum(failures.values()),
            failures_by_name=failures,
            csv=str(csv_path),
            png=str(png_path),
        )
        (options.out_dir / "summary.json").write_text(json.dumps(asdict(summary), indent=2))
        return summary
