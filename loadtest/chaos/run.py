"""`loadtest chaos`: one run from the cluster's start to the table.

The load (closed-loop detect users recording at a location, stream users) starts, warms up,
and then each fault in turn is injected, held (a cut), cleared, and given until the service is
back (the success rate at its pre-fault level for `settle_s` seconds and every deployment's
replicas RUNNING again, at most `max_recovery_s`) before the next. Then the load stops, the
spool drains, the stored records are read from the database and each fault gets its row.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from loadtest import timeline
from loadtest.chaos.accounting import (
    Accounting,
    FaultRow,
    FaultWindow,
    account,
    recovered_now,
    successes_per_second,
)
from loadtest.chaos.faults import (
    ALL_FAULTS,
    CutProxy,
    Fault,
    KillReplica,
    RestartController,
    ServeActors,
)
from loadtest.chaos.outcomes import read_outcomes
from loadtest.chaos.report import Target, table, target_lines, targets, write_json
from loadtest.chaos.stack import ChaosStack, chaos_stack, stored_request_ids
from loadtest.cluster_state import ClusterObserver
from loadtest.runner import LoadRun, RunOptions, Summary
from medinv_client import Client

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
USER_CLASSES = {"detect": "RecordingDetectUser", "stream": "ResilientStreamUser"}
LOAD_LIMIT_S = 24 * 3600.0  # the run stops the load itself


@dataclass(frozen=True)
class ChaosOptions:
    out_dir: Path = Path(".data/chaos")
    faults: tuple[str, ...] = ALL_FAULTS
    cut_s: float = 60.0
    detect_users: int = 3
    stream_users: int = 1
    warmup_s: float = 20.0
    settle_s: int = 10
    max_recovery_s: float = 120.0
    drain_timeout_s: float = 120.0
    models_root: Path | None = None  # else the checkout's models/


@dataclass(frozen=True)
class ChaosResult:
    accounting: Accounting
    windows: list[FaultWindow]
    targets: list[Target]
    table: str
    json_path: Path
    png_path: Path
    csv_path: Path


@dataclass
class _Progress:
    """What the run has seen so far, for the recovery checks while it goes on."""

    outcomes_path: Path
    started: float | None = None
    notes: list[str] = field(default_factory=list)

    def successes(self, now: float) -> tuple[float, list[int]]:
        outcomes = read_outcomes(self.outcomes_path)
        if self.started is None and outcomes:
            self.started = min(o.started for o in outcomes)
        started = self.started or now
        return started, successes_per_second(outcomes, started, max(1, int(now - started) + 1))


def _faults(options: ChaosOptions, stack: ChaosStack, actors: ServeActors) -> list[Fault]:
    made: dict[str, Fault] = {
        "kill-detector": KillReplica("Detector", actors, stack.cluster_pid),
        "kill-preprocessor": KillReplica("Preprocessor", actors, stack.cluster_pid),
        "kill-ingress": KillReplica("Ingress", actors, stack.cluster_pid),
        "cut-postgres": CutProxy("PostgreSQL", stack.postgres_proxy, options.cut_s),
        "cut-redis": CutProxy("Redis", stack.redis_proxy, options.cut_s),
        "restart-controller": RestartController(actors, stack.cluster_pid),
    }
    unknown = set(options.faults) - set(made)
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)} (known: {', '.join(ALL_FAULTS)})")
    return [made[name] for name in options.faults]


def _replicas(observer: ClusterObserver) -> dict[str, int] | None:
    try:
        return observer.replicas()
    except Exception:  # the dashboard is busy or the controller restarts: not known now
        return None


class _Chaos:
    def __init__(self, options: ChaosOptions, stack: ChaosStack, say: Callable[[str], None]):
        self.options = options
        self.stack = stack
        self.say = say
        token = stack.cluster.token_file.read_text().strip()
        self.actors = ServeActors(stack.cluster.dashboard_url, token)
        self.observer = ClusterObserver(stack.cluster.dashboard_url, token)
        self.progress = _Progress(options.out_dir / "outcomes.jsonl")
        self.began = time.time()
        # RUNNING replicas per deployment after the warm-up: what "back" means after a fault.
        self.replicas_at_start: dict[str, int] = {}

    def line(self, text: str) -> None:
        self.say(f"[{time.time() - self.began:6.0f}s] {text}")

    def load(self) -> LoadRun:
        options = self.options
        users_of = tuple(
            name
            for name, count in (("detect", options.detect_users), ("stream", options.stream_users))
            if count > 0
        )
        return LoadRun(
            RunOptions(
                host=self.stack.base_url,
                out_dir=options.out_dir,
                shape="step",
                users=options.detect_users + options.stream_users,
                duration_s=LOAD_LIMIT_S,
                users_of=users_of,
                observer=self.observer,
                locustfile=LOCUSTFILE,
                user_classes=USER_CLASSES,
                extra_env={
                    "LOADTEST_OUTCOMES": str(self.progress.outcomes_path),
                    "LOADTEST_API_KEY": self.stack.api_key,
                    "LOADTEST_LOCATION": str(self.stack.location_id),
                    "LOADTEST_DETECT_USERS": str(options.detect_users),
                    "LOADTEST_STREAM_USERS": str(options.stream_users),
                },
            ),
            say=self.say,
        )

    def warm_up(self) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            _, successes = self.progress.successes(time.time())
            if sum(successes) > 0:
                break
            time.sleep(1)
        else:
            raise RuntimeError("no request succeeded within 300 s of starting the load")
        self.line(f"load is answered; warming up for {self.options.warmup_s:.0f} s")
        time.sleep(self.options.warmup_s)
        self.replicas_at_start = _replicas(self.observer) or {}

    def inject(self, fault: Fault) -> FaultWindow:
        injected = time.time()
        try:
            detail = fault.inject()
        except Exception as error:  # the row still comes, saying why nothing was injected
            detail = f"not injected: {error}"
        self.line(f"{fault.name}: {detail}")
        if fault.hold_s > 0:
            time.sleep(max(0.0, injected + fault.hold_s - time.time()))
            fault.clear()
            self.line(f"{fault.name}: restored after {time.time() - injected:.0f} s")
        window = FaultWindow(fault.name, injected, time.time(), float("inf"), detail)
        self.wait_for_recovery(window)
        return window

    def wait_for_recovery(self, window: FaultWindow) -> None:
        deadline = window.cleared_at + self.options.max_recovery_s
        while time.time() < deadline:
            time.sleep(1)
            now = time.time()
            started, successes = self.progress.successes(now)
            replicas = _replicas(self.observer)
            back = replicas is not None and all(
                replicas.get(name, 0) >= count for name, count in self.replicas_at_start.items()
            )
            if back and recovered_now(successes, started, window, now, self.options.settle_s):
                self.line(f"{window.name}: replicas back and the success rate at its level")
                return
        self.line(f"{window.name}: not back within {self.options.max_recovery_s:.0f} s")

    def drain(self) -> None:
        """Waits until no ingress replica spools anything and the stored count stays put."""
        deadline = time.monotonic() + self.options.drain_timeout_s
        previous, steady = -1, 0
        with Client(self.stack.base_url, self.stack.api_key) as client:
            while time.monotonic() < deadline and steady < 3:
                time.sleep(1)
                try:
                    spooled = client.ready().store.spooled
                except Exception:  # not ready yet: the count cannot be trusted either
                    steady = 0
                    continue
                stored = len(stored_request_ids(self.stack.database_url, self.stack.location_id))
                steady = steady + 1 if spooled == 0 and stored == previous else 0
                previous = stored
        if steady < 3:
            self.line(f"the spool did not drain within {self.options.drain_timeout_s:.0f} s")


def _closed(windows: list[FaultWindow], load_ended: float) -> list[FaultWindow]:
    """Each window ends where the next begins; the last with the load."""
    ends = [w.injected_at for w in windows[1:]] + [load_ended]
    return [replace(w, ended_at=end) for w, end in zip(windows, ends, strict=True)]


def run_chaos(options: ChaosOptions, say: Callable[[str], None] = print) -> ChaosResult:
    options.out_dir.mkdir(parents=True, exist_ok=True)
    (options.out_dir / "outcomes.jsonl").write_text("")
    with chaos_stack(options.out_dir, models_root=options.models_root, say=say) as stack:
        chaos = _Chaos(options, stack, say)
        faults = _faults(options, stack, chaos.actors)
        load = chaos.load()
        summaries: list[Summary] = []
        runner = threading.Thread(target=lambda: summaries.append(load.run()), daemon=True)
        runner.start()
        windows: list[FaultWindow] = []
        try:
            chaos.warm_up()
            for fault in faults:
                windows.append(chaos.inject(fault))
        finally:
            load_ended = time.time()
            chaos.line("stopping the load")
            load.stop()
            runner.join(timeout=120)
        if not summaries:
            raise RuntimeError(f"the load did not finish; see {options.out_dir / 'locust.log'}")
        chaos.line("waiting for the spool to drain")
        chaos.drain()
        request_ids = stored_request_ids(stack.database_url, stack.location_id)
        result = _report(options, summaries[0], _closed(windows, load_ended), request_ids, say)
        chaos.line("stopping the cluster, dropping the database and the Redis keys")
    return result


def _shade_end(window: FaultWindow, row: FaultRow) -> float:
    """A fault is shaded until it was cleared and recovered from, or to its window's end."""
    if row.recovery_s is None:
        return window.ended_at
    return max(window.cleared_at, window.injected_at + row.recovery_s)


def _report(
    options: ChaosOptions,
    summary: Summary,
    windows: list[FaultWindow],
    request_ids: list[str],
    say: Callable[[str], None],
) -> ChaosResult:
    outcomes = read_outcomes(options.out_dir / "outcomes.jsonl")
    load_ended = windows[-1].ended_at if windows else time.time()
    accounting = account(outcomes, request_ids, windows, summary.started_at, load_ended)
    found = targets(accounting)
    rows_table = table(accounting)
    say("\n" + rows_table + "\n\n" + target_lines(found))
    shaded = [
        (w.injected_at - summary.started_at, _shade_end(w, row) - summary.started_at, w.name)
        for w, row in zip(windows, accounting.rows[1:], strict=True)
    ]
    png = Path(summary.png)
    timeline.plot(
        timeline.read_csv(Path(summary.csv)),
        png,
        f"chaos: {options.detect_users} detect + {options.stream_users} stream users, "
        f"cuts of {options.cut_s:.0f} s",
        shaded,
    )
    json_path = options.out_dir / "chaos.json"
    options_json = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    write_json(
        json_path,
        accounting,
        windows,
        found,
        summary.started_at,
        {"options": options_json, "table": rows_table, "timeline_csv": summary.csv},
    )
    say(f"\ntimeline  {summary.csv}\nplot      {png}\njson      {json_path}")
    return ChaosResult(
        accounting=accounting,
        windows=windows,
        targets=found,
        table=rows_table,
        json_path=json_path,
        png_path=png,
        csv_path=Path(summary.csv),
    )
