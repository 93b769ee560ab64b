"""train (a few steps, checkpoint, resume) and evaluate (COCO mAP through the serving path)."""

from pathlib import Path

import pytest
import torch

from medinv_tools.coco_map import coco_map
from medinv_tools.paths import REPO_ROOT
from serve_app.core.demo_model import DEFAULT_MODEL, DEMO_MODEL
from serve_app.core.payloads import ModelRef
from serve_app.model.loader import load_directory
from serve_app.model.manifest import model_dir, read_manifest
from serve_app.model.runtime import RuntimeOptions
from serve_app.model.torchvision_runtime import TorchvisionRuntime
from training.coco import ANNOTATIONS_FILE, read_coco
from training.evaluate import evaluate
from training.generate import generate
from training.real_photos import METRICS_KEY, false_items
from training.recipe import DEMO_TILING, QUICK_TEST_IMAGES, TEST_SETS
from training.train import CHECKPOINT_FILE, TrainConfig, lr_factor, train

TOLERANCE = 0.03
# The torch model of the first recipe, and the served default (the fine-tuned ONNX export).
SHIPPED = [DEMO_MODEL, DEFAULT_MODEL]


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "hard-tile"
    generate("hard-tile", 4, base_seed=3, out_dir=out, workers=2)
    return out


def config(tiny_set: Path, root: Path, steps: int) -> TrainConfig:
    return TrainConfig(
        data=[tiny_set],
        model=ModelRef("tiny", "0.1"),
        work_dir=root / "run",
        models_root=root / "models",
        steps=steps,
        batch_size=2,
        workers=0,
        warmup_steps=2,
        checkpoint_every=2,
        tiling=DEMO_TILING,
    )


def test_train_registers_a_loadable_model_with_provenance(tiny_set: Path, tmp_path: Path) -> None:
    manifest = train(config(tiny_set, tmp_path, steps=2))

    loaded = load_directory(tmp_path / "models" / "tiny" / "0.1", RuntimeOptions("cpu"))
    assert loaded.manifest == manifest
    assert manifest.labels == read_coco(tiny_set).labels
    assert manifest.tiling == DEMO_TILING
    assert manifest.training["steps"] == 2
    assert manifest.training["images"] == 4
    assert set(manifest.training["final_losses"]) == {"bbox_regression", "classification"}
    assert (tmp_path / "run" / CHECKPOINT_FILE).is_file()
    assert isinstance(loaded.runtime, TorchvisionRuntime)
    assert not loaded.runtime.module.training


def test_a_rerun_resumes_an_interrupted_run_from_its_checkpoint(
    tiny_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train(config(tiny_set, tmp_path, steps=2))
    checkpoint = tmp_path / "run" / CHECKPOINT_FILE
    state = torch.load(checkpoint, weights_only=True)
    # As if a 4-step run had been stopped after its checkpoint at step 2.
    torch.save({**state, "total_steps": 4}, checkpoint)

    manifest = train(config(tiny_set, tmp_path, steps=4))

    assert "resuming from" in capsys.readouterr().out
    assert torch.load(checkpoint, weights_only=True)["step"] == 4
    assert manifest.training["steps"] == 4


def test_lr_warms_up_then_decays_to_zero() -> None:
    assert lr_factor(0, 10, 100) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100) == pytest.approx(1.0)
    assert lr_factor(55, 10, 100) == pytest.approx(0.5)
    assert lr_factor(100, 10, 100) == pytest.approx(0.0)


def test_coco_eval_of_the_ground_truth_itself_is_perfect(tiny_set: Path) -> None:
    coco = read_coco(tiny_set)
    results = [
        {"image_id": i.image_id, "category_id": b.category_id, "bbox": list(b.box), "score": 1.0}
        for i in coco.images
        for b in i.boxes
    ]

    image_ids = [i.image_id for i in coco.images]
    stats, per_class = coco_map(tiny_set / ANNOTATIONS_FILE, image_ids, results)

    assert stats[0] == pytest.approx(1.0) and stats[1] == pytest.approx(1.0)
    assert all(ap == pytest.approx(1.0) for ap in per_class.values() if ap == ap)  # not NaN


@pytest.mark.parametrize("split", ["standard", "hard"])
@pytest.mark.parametrize("ref", SHIPPED, ids=str)
def test_a_shipped_model_stays_within_its_recorded_figures(
    split: str, ref: ModelRef, tmp_path: Path
) -> None:
    """Regenerates the first images of a held-out set and evaluates the shipped model on them."""
    directory = model_dir(REPO_ROOT / "models", ref)
    name, count = QUICK_TEST_IMAGES[split]
    recorded = read_manifest(directory).metrics[name]
    held_out = TEST_SETS[split]
    data = tmp_path / split
    generate(held_out.split, count, held_out.base_seed, data, workers=2)

    result = evaluate(directory, data, "cpu")

    assert result.images == recorded["images"] == count
    assert abs(result.map50 - recorded["map50"]) <= TOLERANCE, (result.map50, recorded)
    assert abs(result.map - recorded["map"]) <= TOLERANCE, (result.map, recorded)


def test_the_served_model_reports_what_its_manifest_says_on_held_out_real_photos() -> None:
    directory = model_dir(REPO_ROOT / "models", DEFAULT_MODEL)
    recorded = read_manifest(directory).metrics[METRICS_KEY]

    measured = false_items(directory, "cpu")

    assert measured.images == recorded["images"]
    assert measured.false_items == recorded["false_items"], measured.worst
