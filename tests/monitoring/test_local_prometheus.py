"""`medinv monitor`'s Prometheus: a valid config, started on loopback and stopped by PID."""

import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from medinv_tools.cluster.local import LocalCluster, free_port
from medinv_tools.monitoring.local_prometheus import LocalPrometheus


@pytest.fixture
def prometheus(tmp_path: Path) -> LocalPrometheus:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not installed (make prometheus / apt-get install prometheus)")
    return LocalPrometheus(LocalCluster(run_dir=tmp_path), port=free_port())


def test_the_config_scrapes_ray_service_discovery_file(
    prometheus: LocalPrometheus, promtool: str
) -> None:
    config = prometheus.config()
    sd = config["scrape_configs"][0]["file_sd_configs"][0]["files"]
    assert sd == [str(prometheus.cluster.ray_temp_dir / "prom_metrics_service_discovery.json")]
    prometheus.directory.mkdir(parents=True)
    prometheus.config_file.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool, "check", "config", str(prometheus.config_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_start_on_loopback_then_stop_by_pid(prometheus: LocalPrometheus) -> None:
    pid = prometheus.start()
    try:
        assert prometheus.start() == pid  # already running: the same one
        with urllib.request.urlopen(f"{prometheus.url}/api/v1/rules", timeout=5) as response:
            assert b"MedinvNoHealthyDetector" in response.read()
        assert (prometheus.directory / "data").is_dir()
    finally:
        assert prometheus.stop()
    assert prometheus.pid() is None
    assert not prometheus.stop()
