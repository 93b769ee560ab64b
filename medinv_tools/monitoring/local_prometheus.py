"""A Prometheus on loopback that scrapes a local Ray head, started and stopped by PID.

It reads its targets from Ray's service-discovery file (every alive node's metrics port plus
the dashboard's and the autoscaler's), as Ray's own generated config does, and loads the
rules of monitoring/prometheus/rules.yml. Debian's `prometheus` package provides the binary
(`make monitor` installs it when missing). Everything it writes stays under `<run_dir>/`.
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medinv_tools.cluster.local import LocalCluster, wait_for_http_ok
from medinv_tools.cluster.pid_file import alive_pid, terminate
from medinv_tools.paths import REPO_ROOT

RULES_FILE = REPO_ROOT / "monitoring" / "prometheus" / "rules.yml"


class PrometheusMissing(RuntimeError):
    pass


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise PrometheusMissing(
            "no `prometheus` on PATH: `make monitor` installs Debian's package "
            "(apt-get install prometheus)"
        )
    return found


@dataclass(frozen=True)
class LocalPrometheus:
    cluster: LocalCluster
    port: int = 9090
    scrape_interval_s: float = 5.0
    rules_file: Path = RULES_FILE

    @property
    def directory(self) -> Path:
        return self.cluster.run_dir / "prometheus"

    @property
    def pid_file(self) -> Path:
        return self.cluster.run_dir / "prometheus.pid"

    @property
    def config_file(self) -> Path:
        return self.directory / "prometheus.yml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        interval = f"{self.scrape_interval_s:g}s"
        return {
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "evaluation_interval": interval,
            },
            "rule_files": [str(self.rules_file.resolve())],
            "scrape_configs": [
                {
                    "job_name": "ray",
                    "file_sd_configs": [
                        {
                            "files": [str(self.cluster.service_discovery_file)],
                            "refresh_interval": interval,
                        }
                    ],
                }
            ],
        }

    def pid(self) -> int | None:
        return alive_pid(self.pid_file)

    def start(self, timeout_s: float = 60.0) -> int:
        """Start it (or return the PID of the one already running) and wait until ready."""
        running = self.pid()
        if running is not None:
            return running
        binary = prometheus_binary()
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        command = [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
        ]
        with (self.directory / "prometheus.log").open("ab") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid_file.write_text(str(process.pid))
        try:
            wait_for_http_ok(f"{self.url}/-/ready", timeout_s, lambda: process.poll() is None)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}; see {self.directory / 'prometheus.log'}") from exc
        return process.pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the recorded PID and wait for it; False if none was running."""
        return terminate(self.pid_file, timeout_s)
