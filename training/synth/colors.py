"""Colour helpers shared by the painters: jitter, shading, and named palettes."""

import numpy as np

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]


def jitter(rng: np.random.Generator, color: RGB, amount: int = 18) -> RGB:
    r, g, b = (int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)
    return (r, g, b)


def shade(color: RGB, factor: float) -> RGB:
    r, g, b = (int(np.clip(c * factor, 0, 255)) for c in color)
    return (r, g, b)


def with_alpha(color: RGB, alpha: int = 255) -> RGBA:
    return (color[0], color[1], color[2], alpha)


def pick(rng: np.random.Generator, palette: list[RGB]) -> RGB:
    return palette[int(rng.integers(len(palette)))]


def random_color(rng: np.random.Generator) -> RGB:
    r, g, b = (int(v) for v in rng.integers(0, 256, size=3))
    return (r, g, b)
