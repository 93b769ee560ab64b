"""The named kinds of generated image. Seeds, not names, keep training and test images apart."""

from dataclasses import replace

from training.synth.camera import CameraSpec
from training.synth.scene import SceneSpec

_STANDARD_CAMERA = CameraSpec(
    brightness=(0.8, 1.15),
    uneven_light=(0.0, 0.25),
    color_cast=0.06,
    noise=(0.0, 4.0),
    blur=(0.0, 0.8),
    motion_blur=0.0,
    motion_length=(1, 1),
    jpeg_quality=(70, 95),
)

_HARD_CAMERA = CameraSpec(
    brightness=(0.35, 0.85),
    uneven_light=(0.3, 0.75),
    color_cast=0.12,
    noise=(2.0, 9.0),
    blur=(0.0, 1.2),
    motion_blur=0.6,
    motion_length=(3, 9),
    jpeg_quality=(35, 80),
)

STANDARD = SceneSpec(
    width=640,
    height=480,
    shelves=(2, 3),
    item_size=(70, 200),
    gap=(0.15, 0.8),
    front_row=0.0,
    max_rotation=6.0,
    lying=0.05,
    distractors=0.0,
    clutter=(0, 0),
    min_visible=0.5,
    camera=_STANDARD_CAMERA,
)

# Camera-sized frames of crowded shelves: small items, overlap, distractors, poor light.
HARD = SceneSpec(
    width=1280,
    height=720,
    shelves=(3, 5),
    item_size=(45, 130),
    gap=(-0.3, 0.4),
    front_row=0.5,
    max_rotation=15.0,
    lying=0.15,
    distractors=0.2,
    clutter=(2, 8),
    min_visible=0.35,
    camera=_HARD_CAMERA,
)

# Training views of hard scenes at the scale the detector sees a tile of a hard frame.
HARD_TILE = replace(HARD, width=480, height=480, shelves=(2, 3), clutter=(1, 3))

# The same shelves against real photographs (training/synth/photos.py): as the wall, and as
# loose pieces in front of it.
STANDARD_PHOTO = replace(STANDARD, photo_wall=0.6, photo_patches=(0, 3))
HARD_TILE_PHOTO = replace(HARD_TILE, photo_wall=0.6, photo_patches=(1, 3))
# Negatives: a real photograph, now and then with a few loose pieces of others, and no supply.
PHOTO = replace(STANDARD, shelves=(0, 0), photo_wall=1.0, photo_patches=(0, 2))
# Negatives at the scale a camera frame is seen at: a tile's window of a photograph, blown up
# as a small photo is when a camera-sized frame is made of it, among painted clutter.
PHOTO_TILE = replace(HARD_TILE, shelves=(0, 0), photo_wall=1.0, photo_patches=(0, 2))

SPLITS: dict[str, SceneSpec] = {
    "standard": STANDARD,
    "hard": HARD,
    "hard-tile": HARD_TILE,
    "standard-photo": STANDARD_PHOTO,
    "hard-tile-photo": HARD_TILE_PHOTO,
    "photo": PHOTO,
    "photo-tile": PHOTO_TILE,
}
