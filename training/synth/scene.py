"""Compose a shelf scene: background, shelf boards, supplies, distractors, then the camera.

Every random choice comes from one generator seeded per image, so an image is a pure function
of (spec, seed). Boxes are the tight boxes of each item's *visible* pixels after everything in
front of it is drawn; items that are mostly hidden or mostly outside the frame get no box.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

from training.synth.camera import CameraSpec, apply_camera
from training.synth.colors import jitter, pick, shade
from training.synth.distractors import paint_distractor
from training.synth.items import CLASSES
from training.synth.photos import photo_crop

BOARD_COLORS = [(150, 110, 70), (185, 185, 190), (235, 235, 230), (110, 85, 60), (90, 95, 105)]
WALL_COLORS = [(225, 225, 215), (200, 210, 220), (235, 230, 210), (170, 175, 180), (215, 200, 190)]


@dataclass(frozen=True)
class SceneSpec:
    width: int
    height: int
    shelves: tuple[int, int]  # boards, inclusive range
    item_size: tuple[int, int]  # an item's longer side in pixels, before rotation
    gap: tuple[float, float]  # space between neighbours as a fraction of item width (< 0 overlaps)
    front_row: float  # chance a shelf also gets a second row in front (occlusion)
    max_rotation: float  # degrees
    lying: float  # chance an item lies on its side
    distractors: float  # chance a shelf slot holds a distractor instead of a supply
    clutter: tuple[int, int]  # loose distractors anywhere in the frame
    min_visible: float  # an item with less of itself visible gets no box
    camera: CameraSpec
    photo_wall: float = 0.0  # chance the wall behind the shelves is a real photograph
    photo_patches: tuple[int, int] = (0, 0)  # loose pieces of real photographs in the frame


@dataclass(frozen=True)
class Annotation:
    category: int  # index into CLASSES
    box: tuple[int, int, int, int]  # x, y, width, height of the visible pixels
    visible: float  # fraction of the item's pixels that are visible


@dataclass
class _Layer:
    """An item or distractor pasted at (x, y); `owner` > 0 for supplies."""

    image: Image.Image
    x: int
    y: int
    owner: int
    category: int = -1


def render_scene(spec: SceneSpec, seed: int) -> tuple[Image.Image, list[Annotation], int]:
    """The RGB image, its annotations and the JPEG quality the camera chose."""
    rng = np.random.default_rng(seed)
    canvas = _background(rng, spec)
    layers = _shelf_layers(rng, spec, canvas)
    layers += _clutter_layers(rng, spec)
    layers += _photo_layers(rng, spec)
    owners = np.zeros((spec.height, spec.width), dtype=np.int32)
    full_area: dict[int, int] = {}
    for layer in layers:
        _paste(canvas, owners, layer, full_area)
    annotations = _annotations(owners, layers, full_area, spec.min_visible)
    image, quality = apply_camera(rng, canvas.convert("RGB"), spec.camera)
    return image, annotations, quality


def _background(rng: np.random.Generator, spec: SceneSpec) -> Image.Image:
    # Only specs that ask for photos draw for them: the older splits render as they did.
    if spec.photo_wall > 0 and rng.random() < spec.photo_wall:
        return photo_crop(rng, spec.width, spec.height)
    wall = np.array(jitter(rng, pick(rng, WALL_COLORS), 25), dtype=np.float32)
    rows = np.linspace(float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.9, 1.15)), spec.height)
    texture = rng.normal(1.0, 0.04, size=(spec.height // 16 + 1, spec.width // 16 + 1))
    texture_img = Image.fromarray(((texture - 0.8) * 600).clip(0, 255).astype(np.uint8))
    texture_up = np.asarray(
        texture_img.resize((spec.width, spec.height), Image.Resampling.BILINEAR), dtype=np.float32
    )
    light = rows[:, None] * (0.8 + texture_up / 600.0)
    pixels = np.clip(wall[None, None, :] * light[:, :, None], 0, 255).astype(np.uint8)
    alpha = np.full((spec.height, spec.width, 1), 255, dtype=np.uint8)
    return Image.fromarray(np.concatenate([pixels, alpha], axis=2), mode="RGBA")


def _shelf_layers(rng: np.random.Generator, spec: SceneSpec, canvas: Image.Image) -> list[_Layer]:
    boards = int(rng.integers(spec.shelves[0], spec.shelves[1] + 1))
    if boards == 0:
        return []
    board_color = jitter(rng, pick(rng, BOARD_COLORS), 15)
    thickness = max(4, round(spec.height * float(rng.uniform(0.012, 0.03))))
    spacing = spec.height / boards
    layers: list[_Layer] = []
    for index in range(boards):
        top = round((index + 1) * spacing - thickness - float(rng.uniform(0, spacing * 0.05)))
        clearance = spacing - thickness
        _draw_board(canvas, top, thickness, board_color)
        layers += _shelf_row(rng, spec, top, clearance, depth_offset=0)
        if rng.random() < spec.front_row:
            layers += _shelf_row(rng, spec, top, clearance, depth_offset=thickness // 2 + 2)
    return layers


def _draw_board(canvas: Image.Image, top: int, thickness: int, color: tuple[int, int, int]) -> None:
    band = Image.new("RGBA", (canvas.width, thickness), (*color, 255))
    canvas.alpha_composite(band, dest=(0, max(0, top)))
    lip = Image.new("RGBA", (canvas.width, max(1, thickness // 4)), (*shade(color, 0.7), 255))
    canvas.alpha_composite(lip, dest=(0, max(0, top + thickness - lip.height)))


def _shelf_row(
    rng: np.random.Generator, spec: SceneSpec, floor: int, clearance: float, depth_offset: int
) -> list[_Layer]:
    layers: list[_Layer] = []
    low, high = spec.item_size
    x = float(rng.uniform(-0.05, 0.1)) * spec.width
    while x < spec.width:
        size = int(rng.integers(low, high + 1))
        if rng.random() < spec.distractors:
            image, category = paint_distractor(rng, size), -1
        else:
            category = int(rng.integers(len(CLASSES)))
            image = CLASSES[category].paint(rng, size)
        if image.height > clearance * 0.95:  # too tall for the shelf: lay it down
            image = image.rotate(90, expand=True)
        image = _pose(rng, spec, image, clearance)
        y = floor + depth_offset - image.height
        layers.append(_Layer(image, round(x), y, owner=0, category=category))
        x += image.width * (1.0 + float(rng.uniform(*spec.gap)))
    return layers


def _pose(
    rng: np.random.Generator, spec: SceneSpec, image: Image.Image, clearance: float
) -> Image.Image:
    if rng.random() < spec.lying and image.width < clearance * 0.92:
        image = image.rotate(90 if rng.random() < 0.5 else -90, expand=True)
    angle = float(rng.uniform(-spec.max_rotation, spec.max_rotation))
    if abs(angle) > 0.5:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    return image


def _clutter_layers(rng: np.random.Generator, spec: SceneSpec) -> list[_Layer]:
    layers = []
    for _ in range(int(rng.integers(spec.clutter[0], spec.clutter[1] + 1))):
        image = paint_distractor(rng, int(rng.integers(spec.item_size[0], spec.item_size[1] + 1)))
        x = int(rng.integers(-image.width // 3, spec.width - image.width // 2))
        y = int(rng.integers(-image.height // 3, spec.height - image.height // 2))
        layers.append(_Layer(image, x, y, owner=0))
    return layers


def _photo_layers(rng: np.random.Generator, spec: SceneSpec) -> list[_Layer]:
    low, high = spec.photo_patches
    if high == 0:
        return []
    layers = []
    for _ in range(int(rng.integers(low, high + 1))):
        long_side = int(rng.integers(spec.item_size[0], 2 * spec.item_size[1] + 1))
        aspect = float(rng.uniform(0.5, 2.0))
        width = max(8, round(long_side * min(1.0, aspect)))
        height = max(8, round(long_side / max(1.0, aspect)))
        image = photo_crop(rng, width, height)
        x = int(rng.integers(-width // 3, spec.width - width // 2))
        y = int(rng.integers(-height // 3, spec.height - height // 2))
        layers.append(_Layer(image, x, y, owner=0))
    return layers


def _paste(
    canvas: Image.Image, owners: np.ndarray, layer: _Layer, full_area: dict[int, int]
) -> None:
    """Composite the layer and record which supply owns each pixel it covers."""
    mask = np.asarray(layer.image.getchannel("A")) > 127
    if layer.category >= 0:
        layer.owner = len(full_area) + 1
        full_area[layer.owner] = int(mask.sum())
    x1, y1 = max(0, layer.x), max(0, layer.y)
    x2 = min(canvas.width, layer.x + layer.image.width)
    y2 = min(canvas.height, layer.y + layer.image.height)
    if x2 <= x1 or y2 <= y1:
        return
    crop = layer.image.crop((x1 - layer.x, y1 - layer.y, x2 - layer.x, y2 - layer.y))
    canvas.alpha_composite(crop, dest=(x1, y1))
    region = mask[y1 - layer.y : y2 - layer.y, x1 - layer.x : x2 - layer.x]
    owners[y1:y2, x1:x2][region] = layer.owner if layer.category >= 0 else -1


def _annotations(
    owners: np.ndarray, layers: list[_Layer], full_area: dict[int, int], min_visible: float
) -> list[Annotation]:
    annotations = []
    height, width = owners.shape
    for layer in layers:
        if layer.category < 0 or full_area[layer.owner] == 0:
            continue
        x1, y1 = max(0, layer.x), max(0, layer.y)
        x2 = min(width, layer.x + layer.image.width)
        y2 = min(height, layer.y + layer.image.height)
        if x2 <= x1 or y2 <= y1:
            continue
        ys, xs = np.nonzero(owners[y1:y2, x1:x2] == layer.owner)
        visible = ys.size / full_area[layer.owner]
        if visible < min_visible:
            continue
        box = (
            x1 + int(xs.min()),
            y1 + int(ys.min()),
            int(xs.max() - xs.min()) + 1,
            int(ys.max() - ys.min()) + 1,
        )
        annotations.append(Annotation(layer.category, box, round(visible, 3)))
    return annotations
