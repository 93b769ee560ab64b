"""COCO directories: the generator's output, users' own files, and the torch dataset over them."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from training.coco import ANNOTATIONS_FILE, CocoFormatError, read_coco
from training.dataset import DetectionDataset
from training.generate import generate, image_seed
from training.synth.items import CLASS_NAMES


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("coco") / "standard"
    generate("standard", 6, base_seed=5, out_dir=out, workers=2)
    return out


def test_generated_set_is_valid_coco_with_every_class(generated: Path) -> None:
    raw = json.loads((generated / ANNOTATIONS_FILE).read_text())
    coco = read_coco(generated)

    assert coco.labels == CLASS_NAMES
    assert len(coco.images) == 6
    assert raw["info"] == {
        "generator": "medinv synthetic shelves",
        "split": "standard",
        "base_seed": 5,
        "count": 6,
    }
    for image in coco.images:
        assert image.path.is_file()
        with Image.open(image.path) as opened:
            assert opened.size == (image.width, image.height)
        assert image.boxes


def test_generation_is_deterministic_and_seeds_do_not_collide(
    generated: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    generate("standard", 2, base_seed=5, out_dir=again, workers=1)

    first = read_coco(generated).images[:2]
    assert [i.boxes for i in read_coco(again).images] == [i.boxes for i in first]
    assert image_seed(5, 9_999_999) < image_seed(6, 0)


def write_user_set(root: Path) -> None:
    """A user's annotated photos: arbitrary category ids, a crowd box, an unlabelled image."""
    (root / "photos").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (200, 100), (90, 90, 90)).save(root / "photos" / name)
    document = {
        "categories": [{"id": 40, "name": "vial"}, {"id": 7, "name": "syringe"}],
        "images": [
            {"id": 1, "file_name": "photos/a.jpg", "width": 200, "height": 100},
            {"id": 2, "file_name": "photos/b.jpg", "width": 200, "height": 100},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 40, "bbox": [10, 10, 50, 40], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [100, 20, 80, 30]},
            {"id": 3, "image_id": 1, "category_id": 7, "bbox": [0, 0, 20, 20], "iscrowd": 1},
        ],
    }
    (root / ANNOTATIONS_FILE).write_text(json.dumps(document))


def test_a_users_set_loads_with_labels_in_category_id_order(tmp_path: Path) -> None:
    write_user_set(tmp_path)

    coco = read_coco(tmp_path)

    assert coco.labels == ["syringe", "vial"]  # ids 7, 40
    assert coco.label_index() == {7: 1, 40: 2}
    assert [len(i.boxes) for i in coco.images] == [3, 0]


def test_the_dataset_resizes_and_skips_crowd_boxes(tmp_path: Path) -> None:
    write_user_set(tmp_path)
    dataset = DetectionDataset([read_coco(tmp_path)], (100, 100), flip=False)

    image, target = dataset[0]
    empty_image, empty_target = dataset[1]

    assert image.shape == (3, 100, 100) and image.dtype == torch.uint8
    assert target["labels"].tolist() == [2, 1]
    assert target["boxes"].tolist() == [[5.0, 10.0, 30.0, 50.0], [50.0, 20.0, 90.0, 50.0]]
    assert empty_target["boxes"].shape == (0, 4) and empty_image.shape == (3, 100, 100)


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps({"images": []}),
        json.dumps({"categories": [], "images": []}),
        json.dumps(
            {
                "categories": [{"id": 1, "name": "vial"}],
                "images": [{"id": 1, "file_name": "x.jpg", "width": 1, "height": 1}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}],
            }
        ),
    ],
    ids=["not-json", "no-categories-key", "no-categories", "unknown-category"],
)
def test_malformed_annotations_are_a_clear_error(tmp_path: Path, document: str) -> None:
    (tmp_path / ANNOTATIONS_FILE).write_text(document)

    with pytest.raises(CocoFormatError):
        read_coco(tmp_path)


def test_a_directory_without_annotations_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CocoFormatError, match=ANNOTATIONS_FILE):
        read_coco(tmp_path)
