"""Real photographs, from scikit-image's sample data, for what a supply is not.

Generated shelves alone teach a model that anything textured is a supply: real photographs
as walls, as loose patches among the items and as whole negative images teach it otherwise.
The photos are split by name: training scenes use `TRAINING_PHOTOS` only, and
`HELD_OUT_PHOTOS` are kept for measuring false items on photos the model never saw.
"""

from functools import cache

import numpy as np
import skimage.data
from PIL import Image

TRAINING_PHOTOS = (
    "astronaut",
    "brick",
    "cell",
    "clock",
    "coins",
    "grass",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "text",
    "motorcycle_left",
)
HELD_OUT_PHOTOS = ("camera", "chelsea", "coffee", "gravel", "motorcycle_right", "rocket")


@cache
def photo(name: str) -> Image.Image:
    """The named sample as an RGB image (the stereo pair's sides are two photos)."""
    if name.startswith("motorcycle_"):
        left, right, _ = skimage.data.stereo_motorcycle()  # type: ignore[no-untyped-call]
        pixels = left if name == "motorcycle_left" else right
    else:
        pixels = getattr(skimage.data, name)()
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        pixels = (255 * (pixels - pixels.min()) / max(1e-9, np.ptp(pixels))).astype(np.uint8)
    return Image.fromarray(pixels).convert("RGB")


def photo_crop(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A random crop of a random training photo, at a random scale, as a width x height RGBA."""
    source = photo(TRAINING_PHOTOS[int(rng.integers(len(TRAINING_PHOTOS)))])
    aspect = width / height
    side = float(rng.uniform(0.3, 1.0))
    crop_w = min(source.width, source.height * aspect) * side
    crop_h = crop_w / aspect
    x = float(rng.uniform(0, source.width - crop_w))
    y = float(rng.uniform(0, source.height - crop_h))
    crop = source.resize(
        (width, height), Image.Resampling.BILINEAR, box=(x, y, x + crop_w, y + crop_h)
    )
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return crop.convert("RGBA")
