"""The model manifest and the torchvision runtime against a real (demo) model on disk."""

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from serve_app.core.demo_model import DEMO_MODEL
from serve_app.core.errors import (
    ChecksumMismatchError,
    InvalidManifestError,
    LabelMismatchError,
    MissingWeightsError,
    ModelLoadError,
    UnknownArchitectureError,
)
from serve_app.model.checksum import sha256_file
from serve_app.model.loader import load_directory, load_registered
from serve_app.model.manifest import MANIFEST_FILE, list_manifests, read_manifest
from serve_app.model.runtime import RuntimeOptions
from serve_app.model.torchvision_runtime import TorchvisionRuntime
from training.synth.items import CLASS_NAMES


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory, shipped_demo_dir: Path) -> Path:
    """A models root holding a copy of the shipped demo model, for this module. Do not modify."""
    root = tmp_path_factory.mktemp("models")
    shutil.copytree(shipped_demo_dir, root / DEMO_MODEL.name / DEMO_MODEL.version)
    return root


@pytest.fixture
def model_dir(demo_root: Path, tmp_path: Path) -> Path:
    """A private copy of the demo model, free to break."""
    source = demo_root / DEMO_MODEL.name / DEMO_MODEL.version
    directory = tmp_path / "models" / DEMO_MODEL.name / DEMO_MODEL.version
    shutil.copytree(source, directory)
    return directory


def read_manifest_yaml(directory: Path) -> dict[str, Any]:
    data = yaml.safe_load((directory / MANIFEST_FILE).read_text())
    assert isinstance(data, dict)
    return data


def write_manifest_yaml(directory: Path, data: dict[str, Any]) -> None:
    (directory / MANIFEST_FILE).write_text(yaml.safe_dump(data, sort_keys=False))


def edit_manifest(directory: Path, **changes: Any) -> None:
    data = read_manifest_yaml(directory)
    data.update(changes)
    write_manifest_yaml(directory, data)


def test_manifest_records_the_checksum_of_the_weights(demo_root: Path) -> None:
    directory = demo_root / DEMO_MODEL.name / DEMO_MODEL.version

    manifest = read_manifest(directory)

    expected = hashlib.sha256((directory / manifest.weights).read_bytes()).hexdigest()
    assert manifest.sha256 == expected
    assert manifest.ref == DEMO_MODEL
    assert manifest.labels == CLASS_NAMES  # the generator's classes, in order


def test_load_registered_returns_the_model_in_eval_mode_with_its_manifest(
    demo_root: Path,
) -> None:
    loaded = load_registered(demo_root, DEMO_MODEL, RuntimeOptions("cpu"))

    assert loaded.ref == DEMO_MODEL
    assert loaded.device == "cpu"
    assert isinstance(loaded.runtime, TorchvisionRuntime)
    model = loaded.runtime.module
    assert not model.training
    assert not any(module.training for module in model.modules())
    assert all(p.device.type == "cpu" for p in model.parameters())
    with torch.no_grad():
        (output,) = model([torch.rand(3, 320, 320)])
    assert set(output) == {"boxes", "scores", "labels"}
    assert output["boxes"].shape[1:] == (4,)
    labels = output["labels"].tolist()
    assert all(1 <= label <= len(loaded.manifest.labels) for label in labels)  # 1-based


def test_checksum_mismatch_is_a_named_model_load_error(model_dir: Path) -> None:
    with (model_dir / "weights.pt").open("ab") as weights:
        weights.write(b"\x00")

    with pytest.raises(ChecksumMismatchError, match="checksum") as caught:
        load_directory(model_dir, RuntimeOptions("cpu"))

    assert isinstance(caught.value, ModelLoadError)
    assert caught.value.code == "checksum_mismatch"


def test_missing_weights_is_a_named_model_load_error(model_dir: Path) -> None:
    (model_dir / "weights.pt").unlink()

    with pytest.raises(MissingWeightsError, match="missing"):
        load_directory(model_dir, RuntimeOptions("cpu"))


def test_weights_file_named_in_manifest_is_the_one_loaded(model_dir: Path) -> None:
    (model_dir / "weights.pt").rename(model_dir / "other.pt")
    with pytest.raises(ModelLoadError, match="missing"):
        load_directory(model_dir, RuntimeOptions("cpu"))

    edit_manifest(model_dir, weights="other.pt")
    manifest = load_directory(model_dir, RuntimeOptions("cpu")).manifest

    assert manifest.weights == "other.pt"


def test_missing_manifest_is_a_model_load_error(model_dir: Path) -> None:
    (model_dir / MANIFEST_FILE).unlink()

    with pytest.raises(InvalidManifestError, match=MANIFEST_FILE):
        load_directory(model_dir, RuntimeOptions("cpu"))


def test_unknown_architecture_is_a_named_model_load_error(model_dir: Path) -> None:
    edit_manifest(model_dir, architecture="yolo_v99")

    with pytest.raises(UnknownArchitectureError, match="unknown architecture 'yolo_v99'"):
        load_directory(model_dir, RuntimeOptions("cpu"))


@pytest.mark.parametrize(
    ("name", "version"),
    [("other-model", DEMO_MODEL.version), (DEMO_MODEL.name, "9.9.9")],
    ids=["name", "version"],
)
def test_manifest_in_the_wrong_directory_is_a_model_load_error(
    model_dir: Path, tmp_path: Path, name: str, version: str
) -> None:
    misplaced = tmp_path / "elsewhere" / name / version
    shutil.copytree(model_dir, misplaced)

    with pytest.raises(InvalidManifestError, match=f"lies in {name}/{version}"):
        load_directory(misplaced, RuntimeOptions("cpu"))


@pytest.mark.parametrize("change", [-1, +1], ids=["fewer", "more"])
def test_label_count_not_matching_the_weights_is_a_named_model_load_error(
    model_dir: Path, change: int
) -> None:
    data = read_manifest_yaml(model_dir)
    labels = data["labels"]
    data["labels"] = labels[:-1] if change < 0 else [*labels, "stretcher"]
    write_manifest_yaml(model_dir, data)  # checksum and everything else left as they are

    with pytest.raises(LabelMismatchError, match=f"lists {len(labels) + change} labels"):
        load_directory(model_dir, RuntimeOptions("cpu"))


@pytest.mark.parametrize(
    "changes",
    [
        {"labels": []},
        {"score_threshold": 1.5},
        {"sha256": "not-a-checksum"},
        {"unexpected_field": 1},
        {"input_size": [320]},
    ],
    ids=["no-labels", "threshold", "sha256", "extra-field", "input-size"],
)
def test_invalid_manifest_is_a_model_load_error(model_dir: Path, changes: dict[str, Any]) -> None:
    edit_manifest(model_dir, **changes)

    with pytest.raises(InvalidManifestError, match="not a valid manifest"):
        load_directory(model_dir, RuntimeOptions("cpu"))


def test_ssdlite_with_other_input_size_is_a_model_load_error(model_dir: Path) -> None:
    edit_manifest(model_dir, input_size=[640, 640])

    with pytest.raises(ModelLoadError, match="input_size"):
        load_directory(model_dir, RuntimeOptions("cpu"))


def test_weights_that_are_not_a_torch_file_are_a_model_load_error(model_dir: Path) -> None:
    weights = model_dir / "weights.pt"
    weights.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    edit_manifest(model_dir, sha256=sha256_file(weights))

    with pytest.raises(ModelLoadError, match="weights"):
        load_directory(model_dir, RuntimeOptions("cpu"))


def test_list_manifests_finds_the_demo_model(demo_root: Path) -> None:
    assert [m.ref for m in list_manifests(demo_root)] == [DEMO_MODEL]


def test_list_manifests_of_an_empty_root_is_empty(tmp_path: Path) -> None:
    assert list_manifests(tmp_path) == []


def test_list_manifests_skips_broken_manifests(model_dir: Path) -> None:
    root = model_dir.parent.parent
    broken = {
        "aaa-invalid-yaml/1": "name: [unclosed\n",
        "bbb-not-a-mapping/1": "- just\n- a list\n",
        "ccc-missing-fields/1": "name: ccc-missing-fields\nversion: '1'\n",
        "zzz-misplaced/1": (model_dir / MANIFEST_FILE).read_text(),  # names the demo model
    }
    for relative, text in broken.items():
        (root / relative).mkdir(parents=True)
        (root / relative / MANIFEST_FILE).write_text(text)

    found = list_manifests(root)

    assert [m.ref for m in found] == [DEMO_MODEL]


def test_list_manifests_sorts_by_name_and_version(model_dir: Path) -> None:
    root = model_dir.parent.parent
    data = read_manifest_yaml(model_dir)
    for name, version in [("b-model", "2.0"), ("a-model", "1.0"), ("b-model", "1.0")]:
        (root / name / version).mkdir(parents=True)
        write_manifest_yaml(root / name / version, {**data, "name": name, "version": version})

    refs = [str(m.ref) for m in list_manifests(root)]

    assert refs == ["a-model:1.0", "b-model:1.0", "b-model:2.0", str(DEMO_MODEL)]


def test_list_manifests_skips_a_manifest_that_is_not_utf8(model_dir: Path) -> None:
    root = model_dir.parent.parent
    (root / "binary" / "1").mkdir(parents=True)
    (root / "binary" / "1" / MANIFEST_FILE).write_bytes(b"\xff\xfe n\x00a\x00m\x00e\x00")

    assert [m.ref for m in list_manifests(root)] == [DEMO_MODEL]
