"""Deterministic shelf-like JPEGs for benchmarks and examples (boxes of supplies on shelves)."""

import random
from io import BytesIO

from PIL import Image, ImageDraw

_COLOURS = [(30, 90, 200), (230, 230, 240), (80, 170, 90), (200, 60, 60), (240, 200, 40)]


def shelf_image(seed: int, size: tuple[int, int] = (1280, 960)) -> Image.Image:
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, (205, 200, 190))
    draw = ImageDraw.Draw(image)
    for shelf_y in range(height // 3, height + 1, height // 3):
        draw.rectangle([0, shelf_y - 20, width, shelf_y], fill=(120, 90, 60))
        x = 30
        while x < width - 80:
            w, h = rng.randint(60, 160), rng.randint(80, height // 3 - 60)
            bottom = shelf_y - 20
            draw.rounded_rectangle(
                [x, bottom - h, x + w, bottom],
                radius=8,
                fill=rng.choice(_COLOURS),
                outline=(40, 40, 40),
                width=3,
            )
            draw.rectangle([x + 10, bottom - h + 20, x + w - 10, bottom - h + 45], fill="white")
            x += w + rng.randint(10, 40)
    return image


def shelf_jpegs(count: int, size: tuple[int, int] = (1280, 960), quality: int = 85) -> list[bytes]:
    encoded = []
    for seed in range(count):
        buffer = BytesIO()
        shelf_image(seed, size).save(buffer, format="JPEG", quality=quality)
        encoded.append(buffer.getvalue())
    return encoded
