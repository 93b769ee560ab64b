"""Zone geometry: which polygons are zones, and which zone a detection counts toward."""

import pytest

from serve_app.core.payloads import Detection
from serve_app.inventory.zones import (
    Zone,
    contains,
    counts_by_bin,
    polygon_problem,
    split_bins,
    with_bins,
)

SQUARE = ((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5))


def zone(bin_id: int, polygon: tuple[tuple[float, float], ...], position: int = 0) -> Zone:
    return Zone(bin_id, f"bin {bin_id}", position, polygon, labels=("syringe",))


def at(x: float, y: float, label: str = "syringe") -> Detection:
    """A 20 x 20 px box centred on (x, y) of a 1000 x 1000 image, given as fractions."""
    return Detection(label, 0.9, (x * 1000 - 10, y * 1000 - 10, x * 1000 + 10, y * 1000 + 10))


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        (((0.0, 0.0), (1.0, 0.0)), "3 to 64 vertices"),
        (tuple((i / 100, 0.0) for i in range(65)), "3 to 64 vertices"),
        (((0.0, 0.0), (1.2, 0.0), (0.0, 1.0)), "from 0 to 1"),
        (((0.0, 0.0), (0.5, 0.5), (1.0, 1.0)), "degenerate"),
        (((0.0, 0.0), (0.001, 0.0), (0.001, 0.001), (0.0, 0.001)), "degenerate"),
        (((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.6)), "cross"),
    ],
    ids=["too-few", "too-many", "outside-the-image", "collinear", "tiny", "bow-tie"],
)
def test_polygons_that_are_no_zone(points: tuple[tuple[float, float], ...], problem: str) -> None:
    found = polygon_problem(points)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "points",
    [
        SQUARE,
        ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)),
        ((0.1, 0.1), (0.9, 0.1), (0.5, 0.3), (0.5, 0.9)),
    ],
    ids=["square", "triangle", "concave"],
)
def test_simple_polygons_are_zones(points: tuple[tuple[float, float], ...]) -> None:
    assert polygon_problem(points) is None


def test_containment_counts_the_edge_as_inside_and_follows_concave_outlines() -> None:
    arrow = ((0.1, 0.1), (0.9, 0.1), (0.5, 0.3), (0.5, 0.9))
    assert contains(SQUARE, 0.25, 0.25) and contains(SQUARE, 0.5, 0.25) and contains(SQUARE, 0, 0)
    assert not contains(SQUARE, 0.75, 0.25)
    assert contains(arrow, 0.45, 0.3)
    assert not contains(arrow, 0.8, 0.3)  # in the notch, outside the arrow


def test_a_detection_counts_once_toward_the_first_overlapping_zone_by_position() -> None:
    left = zone(1, SQUARE, position=1)
    wide = zone(2, ((0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (0.0, 0.5)), position=0)
    detections = [at(0.25, 0.25), at(0.75, 0.25), at(0.25, 0.75, "glove_box")]

    counts = counts_by_bin(detections, 1000, 1000, [left, wide])

    # Both upper ones fall in `wide` (position 0); the lower one is in no zone.
    assert counts == {1: {"syringe": 0}, 2: {"syringe": 2}}


def test_each_bin_counts_its_expected_items_zero_when_none_is_seen() -> None:
    counts = counts_by_bin([at(0.25, 0.25, "mask")], 1000, 1000, [zone(7, SQUARE)])
    assert counts == {7: {"syringe": 0, "mask": 1}}


def test_the_box_centre_is_taken_in_fractions_of_the_image() -> None:
    # (300, 100) of a 1200 x 400 image is (0.25, 0.25): inside the square.
    box = Detection("syringe", 0.9, (290.0, 90.0, 310.0, 110.0))
    assert counts_by_bin([box], 1200, 400, [zone(1, SQUARE)]) == {1: {"syringe": 1}}


def test_bin_counts_survive_a_flattened_round_trip() -> None:
    zones = [zone(3, SQUARE), zone(11, SQUARE)]
    image = {"syringe": 4, "mask": 1}
    bins = {3: {"syringe": 2}, 11: {"syringe": 0, "mask": 1}}

    flat = with_bins(image, bins)

    assert split_bins(flat, zones) == (image, bins)
    # A bin whose zone is gone since is dropped; a missing expected item comes back as 0.
    assert split_bins({"3/mask": 2, "99/mask": 1}, zones) == (
        {},
        {3: {"syringe": 0, "mask": 2}, 11: {"syringe": 0}},
    )
