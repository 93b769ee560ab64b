"""The synthetic shelf generator: deterministic per seed, and annotations a detector can trust."""

import numpy as np
import pytest

from training.synth.items import CLASS_NAMES, CLASSES
from training.synth.photos import HELD_OUT_PHOTOS, TRAINING_PHOTOS, photo, photo_crop
from training.synth.scene import render_scene
from training.synth.splits import HARD, SPLITS, STANDARD

SHELF_SPLITS = sorted(name for name, spec in SPLITS.items() if spec.shelves[1] > 0)


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_the_same_seed_renders_the_same_image_and_boxes(split: str) -> None:
    first = render_scene(SPLITS[split], 1234)
    second = render_scene(SPLITS[split], 1234)
    other = render_scene(SPLITS[split], 1235)

    assert np.array_equal(np.asarray(first[0]), np.asarray(second[0]))
    assert first[1:] == second[1:]
    assert not np.array_equal(np.asarray(first[0]), np.asarray(other[0]))


def test_there_are_at_least_ten_distinct_classes() -> None:
    assert len(CLASSES) >= 10
    assert len(set(CLASS_NAMES)) == len(CLASS_NAMES)


@pytest.mark.parametrize("split", SHELF_SPLITS)
def test_annotations_are_sane(split: str) -> None:
    spec = SPLITS[split]
    seen: set[int] = set()
    for seed in range(6):
        image, annotations, quality = render_scene(spec, seed)
        assert image.size == (spec.width, spec.height)
        assert spec.camera.jpeg_quality[0] <= quality <= spec.camera.jpeg_quality[1]
        assert annotations, "every scene has labelled supplies"
        for a in annotations:
            x, y, w, h = a.box
            assert x >= 0 and y >= 0 and w > 0 and h > 0
            assert x + w <= spec.width and y + h <= spec.height
            assert 0 <= a.category < len(CLASSES)
            # Mostly hidden (or fully hidden) items carry no box.
            assert spec.min_visible <= a.visible <= 1.0
            seen.add(a.category)
    assert len(seen) >= 6


def test_hard_scenes_are_crowded_with_small_items_and_occlusion() -> None:
    boxes = [render_scene(HARD, seed)[1] for seed in range(4)]
    standard = [render_scene(STANDARD, seed)[1] for seed in range(4)]

    assert np.mean([len(b) for b in boxes]) > 2 * np.mean([len(b) for b in standard])
    assert max(max(a.box[2], a.box[3]) for b in boxes for a in b) <= 1.2 * HARD.item_size[1]
    assert any(a.visible < 0.9 for b in boxes for a in b), "some items are partly hidden"


def test_hard_frames_are_dimmer_than_standard_ones() -> None:
    hard = np.mean([np.asarray(render_scene(HARD, s)[0]).mean() for s in range(3)])
    standard = np.mean([np.asarray(render_scene(STANDARD, s)[0]).mean() for s in range(3)])

    assert hard < 0.8 * standard


def test_photo_negatives_show_no_supply_and_are_photographs() -> None:
    for seed in range(4):
        image, annotations, _ = render_scene(SPLITS["photo"], seed)
        assert annotations == []
        # A photograph, not the painted wall: far more distinct colours than its few tones.
        assert len(set(image.getdata())) > 5000


def test_photo_walls_change_the_background_and_keep_the_shelf_boxes() -> None:
    plain = [render_scene(SPLITS["standard"], seed) for seed in range(6)]
    photo_walls = [render_scene(SPLITS["standard-photo"], seed) for seed in range(6)]

    assert any(
        not np.array_equal(np.asarray(a[0]), np.asarray(b[0]))
        for a, b in zip(plain, photo_walls, strict=True)
    )
    assert all(annotations for _, annotations, _ in photo_walls)


def test_training_and_held_out_photos_are_disjoint_and_load() -> None:
    assert not set(TRAINING_PHOTOS) & set(HELD_OUT_PHOTOS)
    for name in TRAINING_PHOTOS + HELD_OUT_PHOTOS:
        image = photo(name)
        assert image.mode == "RGB" and min(image.size) >= 150, name
    crop = photo_crop(np.random.default_rng(0), 300, 200)
    assert crop.size == (300, 200) and crop.mode == "RGBA"
