from pathlib import Path

import pytest

from loadtest.cli import main


def test_run_needs_a_host_or_a_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    assert "--host URL or --cluster DIR" in capsys.readouterr().err


def test_run_against_a_cluster_directory_that_runs_nothing_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--cluster", str(tmp_path)]) == 1
    assert "loadtest cluster up" in capsys.readouterr().err


def test_down_with_nothing_running_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cluster", "down", "--run-dir", str(tmp_path)]) == 0
    assert "no cluster ran" in capsys.readouterr().out


def test_unknown_shapes_are_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        main(["run", "--host", "http://127.0.0.1:1", "--shape", "wave"])
