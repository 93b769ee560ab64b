"""The placeholder demo model is rewritten when its committed template changes."""

from pathlib import Path

from serve_app.demo_model import demo_manifest_template, ensure_demo_model
from serve_app.model_manifest import read_manifest, write_manifest


def test_weights_are_deterministic(tmp_path: Path) -> None:
    first, _ = ensure_demo_model(tmp_path / "a")
    second, _ = ensure_demo_model(tmp_path / "b")
    assert read_manifest(first).sha256 == read_manifest(second).sha256


def test_a_stale_manifest_is_rewritten(tmp_path: Path) -> None:
    directory, created = ensure_demo_model(tmp_path)
    assert created
    stale = read_manifest(directory).model_copy(update={"score_threshold": 0.01})
    write_manifest(directory, stale)
    _, recreated = ensure_demo_model(tmp_path)
    assert recreated
    assert read_manifest(directory).score_threshold == demo_manifest_template().score_threshold


def test_a_missing_weights_file_is_rewritten(tmp_path: Path) -> None:
    directory, _ = ensure_demo_model(tmp_path)
    (directory / "weights.pt").unlink()
    _, recreated = ensure_demo_model(tmp_path)
    assert recreated and (directory / "weights.pt").is_file()
