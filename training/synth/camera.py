"""What the camera does to a scene: exposure, uneven light, colour cast, blur, noise, JPEG."""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class CameraSpec:
    brightness: tuple[float, float]  # global gain
    uneven_light: tuple[float, float]  # depth of a random light gradient (0 = even)
    color_cast: float  # max per-channel gain deviation
    noise: tuple[float, float]  # sensor noise sigma, in 8-bit levels
    blur: tuple[float, float]  # Gaussian blur radius, pixels
    motion_blur: float  # chance of a straight motion streak
    motion_length: tuple[int, int]  # pixels
    jpeg_quality: tuple[int, int]


def apply_camera(
    rng: np.random.Generator, image: Image.Image, spec: CameraSpec
) -> tuple[Image.Image, int]:
    """The degraded image and the JPEG quality to encode it with."""
    radius = float(rng.uniform(*spec.blur))
    if radius > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    if rng.random() < spec.motion_blur:
        image = _motion_blur(rng, image, int(rng.integers(*spec.motion_length, endpoint=True)))
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels * _light_field(rng, image.width, image.height, spec)[:, :, None]
    pixels *= (1.0 + rng.uniform(-spec.color_cast, spec.color_cast, size=3)).astype(np.float32)
    sigma = np.float32(rng.uniform(*spec.noise))
    pixels += rng.standard_normal(size=pixels.shape, dtype=np.float32) * sigma
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    return out, int(rng.integers(*spec.jpeg_quality, endpoint=True))


def _light_field(rng: np.random.Generator, width: int, height: int, spec: CameraSpec) -> np.ndarray:
    """Gain per pixel: a global exposure times a linear falloff from a random light source."""
    gain = float(rng.uniform(*spec.brightness))
    depth = float(rng.uniform(*spec.uneven_light))
    angle = float(rng.uniform(0, 2 * np.pi))
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)
    ramp = np.cos(angle) * xs[None, :] + np.sin(angle) * ys[:, None]  # in [-0.71, 0.71]
    field: np.ndarray = gain * (1.0 - depth * (ramp + 0.71) / 1.42)
    return field


def _motion_blur(rng: np.random.Generator, image: Image.Image, length: int) -> Image.Image:
    """Average `length` copies shifted along a random direction."""
    angle = float(rng.uniform(0, np.pi))
    dx, dy = np.cos(angle), np.sin(angle)
    pixels = np.asarray(image, dtype=np.float32)
    acc = np.zeros_like(pixels)
    for step in range(length):
        offset = step - (length - 1) / 2
        acc += np.roll(pixels, (round(offset * dy), round(offset * dx)), axis=(0, 1))
    return Image.fromarray((acc / length).astype(np.uint8), mode="RGB")
