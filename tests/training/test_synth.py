"""The synthetic shelf generator: deterministic per seed, and annotations a detector can trust."""

import numpy as np
import pytest

from training.synth.items import CLASS_NAMES, CLASSES
from training.synth.scene import render_scene
from training.synth.splits import HARD, SPLITS, STANDARD


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


@pytest.mark.parametrize("split", sorted(SPLITS))
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
