"""Which bin a detection belongs to: the zone of its camera's image that holds its box centre.

Zones are polygons in normalised image coordinates (x right, y down, both 0 to 1), so one
zone map serves every resolution of a camera. The rule:
- a detection counts toward the zone that contains the centre of its box;
- where zones overlap, toward the first of them in `position` order (then bin id), only;
- a centre on a zone's edge is inside it;
- a detection outside every zone counts toward no bin (the camera's own counts keep it).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from serve_app.core.payloads import Detection

Point = tuple[float, float]
MAX_VERTICES = 64
# The least area a zone may cover: 0.01 % of the image (a 1 % x 1 % square).
MIN_AREA = 1e-4


@dataclass(frozen=True)
class Zone:
    """One bin's zone, as the detect path needs it."""

    bin_id: int
    name: str
    position: int
    polygon: tuple[Point, ...]
    labels: tuple[str, ...]  # the bin's expected items: counted 0 when none is seen


def polygon_problem(points: Sequence[Point]) -> str | None:
    """Why the points are no zone (too few or many, outside [0, 1], degenerate, crossing
    itself), or None for a valid one."""
    if not 3 <= len(points) <= MAX_VERTICES:
        return f"a zone has 3 to {MAX_VERTICES} vertices, not {len(points)}"
    if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in points):
        return "vertex coordinates are fractions of the image: each from 0 to 1"
    if abs(signed_area(points)) < MIN_AREA:
        return f"the zone covers less than {MIN_AREA:g} of the image (degenerate)"
    edges = list(_edges(points))
    for i, first in enumerate(edges):
        for j in range(i + 1, len(edges)):
            neighbours = j == i + 1 or (i == 0 and j == len(edges) - 1)
            if not neighbours and _segments_touch(*first, *edges[j]):
                return "the zone's edges cross or touch each other: give a simple polygon"
    return None


def signed_area(points: Sequence[Point]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in _edges(points)) / 2.0


def contains(polygon: Sequence[Point], x: float, y: float) -> bool:
    """Whether (x, y) lies inside the polygon or on its edge (even-odd rule)."""
    inside = False
    for (x1, y1), (x2, y2) in _edges(polygon):
        if _on_segment(x1, y1, x2, y2, x, y):
            return True
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def zone_of(detection: Detection, width: int, height: int, zones: Iterable[Zone]) -> Zone | None:
    x1, y1, x2, y2 = detection.box
    x, y = (x1 + x2) / 2.0 / width, (y1 + y2) / 2.0 / height
    for zone in sorted(zones, key=lambda z: (z.position, z.bin_id)):
        if contains(zone.polygon, x, y):
            return zone
    return None


def counts_by_bin(
    detections: Iterable[Detection], width: int, height: int, zones: Sequence[Zone]
) -> dict[int, dict[str, int]]:
    """Each bin's counts per label: its expected items (0 when unseen) and whatever else it
    holds. Every zone has an entry, an empty bin included."""
    counts = {zone.bin_id: dict.fromkeys(zone.labels, 0) for zone in zones}
    for detection in detections:
        zone = zone_of(detection, width, height, zones)
        if zone is not None:
            bin_counts = counts[zone.bin_id]
            bin_counts[detection.label] = bin_counts.get(detection.label, 0) + 1
    return counts


def _edges(points: Sequence[Point]) -> Iterable[tuple[Point, Point]]:
    return zip(points, [*points[1:], points[0]], strict=True)


def _cross(ox: float, oy: float, ax: float, ay: float, bx: float, by: float) -> float:
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


def _on_segment(x1: float, y1: float, x2: float, y2: float, x: float, y: float) -> bool:
    if abs(_cross(x1, y1, x2, y2, x, y)) > 1e-12:
        return False
    return min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)


def _segments_touch(a: Point, b: Point, c: Point, d: Point) -> bool:
    d1, d2 = _cross(*c, *d, *a), _cross(*c, *d, *b)
    d3, d4 = _cross(*a, *b, *c), _cross(*a, *b, *d)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    return (
        _on_segment(*c, *d, *a)
        or _on_segment(*c, *d, *b)
        or _on_segment(*a, *b, *c)
        or _on_segment(*a, *b, *d)
    )


def with_bins(counts: dict[str, int], bin_counts: dict[int, dict[str, int]]) -> dict[str, int]:
    """One dict of the image's counts and each bin's, keyed `<bin id>/<label>` (a label never
    holds a "/"), for what smooths counts per key."""
    flat = dict(counts)
    for bin_id, in_bin in bin_counts.items():
        flat.update({f"{bin_id}/{label}": count for label, count in in_bin.items()})
    return flat


def split_bins(
    flat: dict[str, int], zones: Sequence[Zone]
) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """`with_bins` undone: the image's counts, and each zone's bin's (its expected items 0
    when absent)."""
    counts: dict[str, int] = {}
    bins = {zone.bin_id: dict.fromkeys(zone.labels, 0) for zone in zones}
    for key, count in flat.items():
        bin_id, separator, label = key.partition("/")
        if not separator:
            counts[key] = count
        elif int(bin_id) in bins:
            bins[int(bin_id)][label] = count
    return counts, bins
