"""The `medinv` commands that need no cluster."""

from pathlib import Path

import pytest
import yaml

from serve_app.cli import main

CONFIG = Path(__file__).parents[2] / "configs" / "serve_config.yaml"


def test_check_config_accepts_the_committed_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(CONFIG)]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")


def test_check_config_rejects_a_misspelled_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    config["applications"][0]["deployments"][0]["max_ongoing_request"] = 5
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    assert main(["check-config", str(bad)]) == 1
    assert "max_ongoing_request: unknown key" in capsys.readouterr().err


def test_deploy_refuses_a_bad_config_before_contacting_ray(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"applications": [], "http_option": {}}))
    assert main(["deploy", str(bad), "--run-dir", str(tmp_path)]) == 1
    assert "http_option: unknown key" in capsys.readouterr().err


def test_stop_without_a_running_head_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stop", "--run-dir", str(tmp_path)]) == 0
    assert "no Ray head of this checkout was running" in capsys.readouterr().out


def test_migrate_then_cleanup_on_a_new_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'inventory.db'}"
    assert main(["migrate", "--database-url", url]) == 0
    assert main(["cleanup", "--older-than-days", "30", "--database-url", url]) == 0
    assert main(["migrate", "--database-url", url, "--downgrade", "base"]) == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0].startswith("migrated sqlite+aiosqlite:///") and output[0].endswith(" to head")
    assert output[1].startswith("deleted 0 detection records before ")
    assert output[2].endswith(" to base")


def test_cleanup_refuses_a_retention_below_one_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}"
    assert main(["cleanup", "--older-than-days", "0", "--database-url", url]) == 2
    assert "at least 1" in capsys.readouterr().err
