"""Objects that belong to no class: plain cartons, cans, binders, blobs and cables.

They share colours and rough sizes with the supplies but none of their patterns, so a model
has to learn the patterns rather than "any coloured box".
"""

import numpy as np
from PIL import Image

from training.synth.canvas import Canvas
from training.synth.colors import jitter, pick, random_color, shade, with_alpha

CARDBOARD = (180, 140, 95)


def _carton(rng: np.random.Generator, c: Canvas) -> None:
    body = jitter(rng, pick(rng, [CARDBOARD, random_color(rng)]), 20)
    c.rect(0.0, 0.0, 1.0, 1.0, with_alpha(body), outline=with_alpha(shade(body, 0.6)), width=0.02)
    c.rect(0.0, 0.45, 1.0, 0.55, with_alpha(jitter(rng, (200, 180, 140))))  # packing tape


def _can(rng: np.random.Generator, c: Canvas) -> None:
    body = random_color(rng)
    c.rect(0.0, 0.06, 1.0, 1.0, with_alpha(body), radius=0.05)
    c.ellipse(0.0, 0.0, 1.0, 0.12, with_alpha(shade(body, 1.3)))
    c.rect(0.0, 0.4, 1.0, 0.6, with_alpha(random_color(rng)))


def _binder(rng: np.random.Generator, c: Canvas) -> None:
    body = random_color(rng)
    c.rect(0.0, 0.0, 1.0, 1.0, with_alpha(body), radius=0.03)
    c.ellipse(0.3, 0.7, 0.7, 0.8, with_alpha(shade(body, 0.5)))  # finger hole


def _blob(rng: np.random.Generator, c: Canvas) -> None:
    angles = np.sort(rng.uniform(0, 2 * np.pi, size=int(rng.integers(5, 10))))
    radii = rng.uniform(0.25, 0.5, size=angles.size)
    points = [
        (0.5 + r * np.cos(a), 0.5 + r * np.sin(a)) for a, r in zip(angles, radii, strict=True)
    ]
    c.polygon([(float(x), float(y)) for x, y in points], with_alpha(random_color(rng)))


def _cable(rng: np.random.Generator, c: Canvas) -> None:
    points = [(float(x), float(y)) for x, y in rng.uniform(0.05, 0.95, size=(5, 2))]
    c.line(points, with_alpha(random_color(rng)), 0.06)


_DISTRACTORS = [(_carton, 1.2), (_can, 0.6), (_binder, 0.25), (_blob, 1.0), (_cable, 1.0)]


def paint_distractor(rng: np.random.Generator, long_side: int) -> Image.Image:
    painter, aspect = _DISTRACTORS[int(rng.integers(len(_DISTRACTORS)))]
    aspect *= float(rng.uniform(0.7, 1.4))
    height = long_side / max(aspect, 1.0)
    canvas = Canvas(round(height * aspect), round(height))
    painter(rng, canvas)
    return canvas.image()
