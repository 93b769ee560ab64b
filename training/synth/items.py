"""The twelve supply classes: each a painter with its own shape, colours and label pattern.

A painter gets a random generator and the item's pixel size and returns an RGBA image whose
alpha marks the item. Variation (colours, proportions, print) is drawn from the generator, so
the same seed always paints the same item.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from training.synth.canvas import Canvas
from training.synth.colors import RGB, jitter, pick, shade, with_alpha

Painter = Callable[[np.random.Generator, Canvas], None]

WHITE: RGB = (245, 245, 242)
INK: RGB = (40, 44, 52)
STEEL: RGB = (190, 196, 204)


@dataclass(frozen=True)
class ItemClass:
    name: str
    aspect: float  # width / height of the upright item
    painter: Painter

    def paint(self, rng: np.random.Generator, long_side: int) -> Image.Image:
        aspect = self.aspect * float(rng.uniform(0.85, 1.15))
        height = long_side / max(aspect, 1.0)
        canvas = Canvas(round(height * aspect), round(height))
        self.painter(rng, canvas)
        return canvas.image()


def _text_lines(
    rng: np.random.Generator,
    c: Canvas,
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    color: RGB,
    lines: int,
) -> None:
    """Print-like bars standing in for label text."""
    step = (y2 - y1) / max(lines, 1)
    for i in range(lines):
        length = float(rng.uniform(0.45, 1.0))
        y = y1 + step * (i + 0.5)
        c.line([(x1, y), (x1 + (x2 - x1) * length, y)], with_alpha(color), step * 0.45)


def _syringe(rng: np.random.Generator, c: Canvas) -> None:
    barrel = jitter(rng, (232, 236, 240), 10)
    plunger = pick(rng, [(250, 250, 250), (70, 110, 200), (60, 60, 64)])
    hub = pick(rng, [(40, 160, 70), (235, 130, 30), (50, 90, 210), (230, 200, 40)])
    c.rect(0.02, 0.38, 0.22, 0.62, with_alpha(plunger), radius=0.05)  # plunger rod
    c.rect(0.0, 0.15, 0.04, 0.85, with_alpha(plunger), radius=0.02)  # thumb press
    c.rect(0.22, 0.05, 0.26, 0.95, with_alpha(shade(barrel, 0.85)))  # finger flange
    c.rect(0.25, 0.2, 0.78, 0.8, with_alpha(barrel, 235), outline=with_alpha(INK), width=0.04)
    c.rect(0.25, 0.24, 0.32, 0.76, with_alpha((40, 40, 44)))  # rubber stopper
    for i in range(8):
        x = 0.36 + i * 0.05
        c.line([(x, 0.2), (x, 0.45 if i % 2 else 0.55)], with_alpha(INK), 0.03)
    c.rect(0.78, 0.36, 0.86, 0.64, with_alpha(hub))
    c.line([(0.86, 0.5), (1.0, 0.5)], with_alpha(STEEL), 0.05)


def _glove_box(rng: np.random.Generator, c: Canvas) -> None:
    body = jitter(
        rng, pick(rng, [(70, 110, 200), (120, 80, 170), (235, 235, 240), (220, 120, 160)])
    )
    c.rect(0.0, 0.0, 1.0, 1.0, with_alpha(body), outline=with_alpha(shade(body, 0.6)), width=0.03)
    c.ellipse(0.22, 0.12, 0.78, 0.5, with_alpha((35, 35, 40)))  # dispenser opening
    glove = pick(rng, [(120, 170, 240), (240, 240, 240), (150, 110, 200)])
    c.ellipse(0.36, 0.2, 0.62, 0.42, with_alpha(glove))  # a glove poking out
    c.rect(0.0, 0.62, 1.0, 0.8, with_alpha(WHITE))  # brand band
    _text_lines(rng, c, 0.08, 0.64, 0.7, 0.78, body, 2)
    c.rect(0.78, 0.84, 0.94, 0.97, with_alpha(WHITE))  # size square (S/M/L)
    c.line([(0.82, 0.9), (0.9, 0.9)], with_alpha(INK), 0.04)


def _face_mask(rng: np.random.Generator, c: Canvas) -> None:
    body = jitter(rng, pick(rng, [(150, 200, 235), (245, 245, 245), (235, 180, 200), (60, 60, 66)]))
    loop = with_alpha((250, 250, 250))
    c.ellipse(0.0, 0.15, 0.22, 0.85, None, outline=loop, width=0.04)
    c.ellipse(0.78, 0.15, 1.0, 0.85, None, outline=loop, width=0.04)
    c.rect(0.1, 0.08, 0.9, 0.92, with_alpha(body), radius=0.12)
    pleat = with_alpha(shade(body, 0.75))
    for y in (0.32, 0.5, 0.68):
        c.line([(0.12, y), (0.88, y)], pleat, 0.035)
    c.line([(0.3, 0.14), (0.7, 0.14)], with_alpha(STEEL), 0.04)  # nose wire


def _gauze_pad(rng: np.random.Generator, c: Canvas) -> None:
    border = pick(rng, [(40, 100, 200), (200, 40, 50), (30, 150, 120)])
    c.rect(0.0, 0.0, 1.0, 1.0, with_alpha(jitter(rng, WHITE, 6)))
    c.rect(0.0, 0.0, 1.0, 1.0, None, outline=with_alpha(border), width=0.06)
    for i in range(3):  # peel chevrons
        y = 0.08 + 0.05 * i
        c.line([(0.1, y + 0.08), (0.5, y), (0.9, y + 0.08)], with_alpha(border), 0.025)
    weave = with_alpha((205, 205, 200))
    for i in range(6):
        t = 0.35 + i * 0.08
        c.line([(0.3, t), (0.7, t)], weave, 0.02)
        c.line([(t - 0.05, 0.35), (t - 0.05, 0.78)], weave, 0.02)
    _text_lines(rng, c, 0.15, 0.82, 0.85, 0.94, border, 1)


def _bandage_roll(rng: np.random.Generator, c: Canvas) -> None:
    fabric = jitter(rng, pick(rng, [(225, 195, 160), (240, 238, 230), (200, 170, 140)]), 10)
    c.rect(0.0, 0.0, 0.8, 1.0, with_alpha(fabric), radius=0.08)
    for i in range(7):  # woven texture
        x = 0.08 + i * 0.1
        c.line([(x, 0.05), (x, 0.95)], with_alpha(shade(fabric, 0.88)), 0.02)
    c.ellipse(0.6, 0.0, 1.0, 1.0, with_alpha(shade(fabric, 0.95)))
    for r in (0.4, 0.28, 0.16):  # spiral end
        c.ellipse(
            0.8 - r / 2, 0.5 - r, 0.8 + r / 2, 0.5 + r, None, with_alpha(shade(fabric, 0.7)), 0.02
        )
    c.ellipse(0.76, 0.42, 0.84, 0.58, with_alpha((70, 60, 50)))


def _iv_bag(rng: np.random.Generator, c: Canvas) -> None:
    fluid = jitter(rng, pick(rng, [(205, 225, 245), (230, 235, 210), (235, 215, 225)]), 8)
    c.rect(
        0.0,
        0.06,
        1.0,
        0.86,
        with_alpha(fluid, 225),
        radius=0.1,
        outline=with_alpha(shade(fluid, 0.7)),
        width=0.02,
    )
    c.ellipse(0.42, 0.0, 0.58, 0.08, None, outline=with_alpha(shade(fluid, 0.6)), width=0.025)
    c.line([(0.06, 0.22), (0.94, 0.22)], with_alpha(shade(fluid, 0.8)), 0.012)  # fluid level
    c.rect(0.15, 0.32, 0.85, 0.7, with_alpha(WHITE))
    print_color = pick(rng, [(30, 70, 170), (190, 30, 40), (20, 120, 60)])
    c.rect(0.15, 0.32, 0.85, 0.4, with_alpha(print_color))
    _text_lines(rng, c, 0.2, 0.44, 0.8, 0.66, INK, 3)
    port = with_alpha((240, 240, 240))
    c.rect(0.3, 0.86, 0.4, 1.0, port)
    c.rect(0.6, 0.86, 0.7, 0.97, with_alpha(pick(rng, [(40, 120, 210), (220, 60, 60)])))


def _vial(rng: np.random.Generator, c: Canvas) -> None:
    glass = jitter(rng, pick(rng, [(215, 230, 235), (190, 140, 80)]), 10)
    cap = pick(rng, [(210, 40, 40), (40, 150, 60), (40, 80, 200), (235, 200, 30), (150, 60, 170)])
    c.rect(
        0.05,
        0.3,
        0.95,
        1.0,
        with_alpha(glass, 230),
        radius=0.06,
        outline=with_alpha(shade(glass, 0.65)),
        width=0.02,
    )
    c.rect(0.25, 0.18, 0.75, 0.32, with_alpha(shade(glass, 0.9), 230))  # neck
    c.rect(0.12, 0.0, 0.88, 0.2, with_alpha(jitter(rng, cap)), radius=0.03)
    c.rect(0.12, 0.15, 0.88, 0.21, with_alpha(STEEL))  # crimp ring
    c.rect(0.05, 0.5, 0.95, 0.85, with_alpha(WHITE))
    c.rect(0.05, 0.5, 0.95, 0.58, with_alpha(cap))
    _text_lines(rng, c, 0.15, 0.62, 0.85, 0.82, INK, 2)
    c.line([(0.2, 0.35), (0.2, 0.95)], with_alpha((255, 255, 255), 160), 0.03)  # highlight


def _pill_bottle(rng: np.random.Generator, c: Canvas) -> None:
    amber = jitter(rng, (220, 120, 30), 20)
    c.rect(0.04, 0.22, 0.96, 1.0, with_alpha(amber, 240), radius=0.06)
    c.rect(0.0, 0.0, 1.0, 0.24, with_alpha(jitter(rng, WHITE, 6)), radius=0.04)
    for i in range(9):  # cap ridges
        x = 0.06 + i * 0.11
        c.line([(x, 0.03), (x, 0.21)], with_alpha((210, 210, 210)), 0.02)
    c.rect(0.04, 0.4, 0.96, 0.85, with_alpha(WHITE))
    _text_lines(rng, c, 0.1, 0.45, 0.9, 0.8, INK, 4)


def _sanitizer_bottle(rng: np.random.Generator, c: Canvas) -> None:
    gel = jitter(rng, pick(rng, [(120, 200, 210), (150, 190, 240), (210, 235, 220)]), 12)
    head = pick(rng, [(250, 250, 250), (40, 40, 44), (40, 110, 200)])
    c.rect(
        0.05,
        0.32,
        0.95,
        1.0,
        with_alpha(gel, 235),
        radius=0.12,
        outline=with_alpha(shade(gel, 0.7)),
        width=0.015,
    )
    c.rect(0.35, 0.22, 0.65, 0.34, with_alpha(head))  # collar
    c.rect(0.42, 0.08, 0.58, 0.22, with_alpha(head))  # pump stem
    c.rect(0.3, 0.0, 0.7, 0.09, with_alpha(head), radius=0.02)  # pump head
    c.rect(0.7, 0.02, 0.95, 0.07, with_alpha(head))  # nozzle
    c.rect(0.15, 0.5, 0.85, 0.85, with_alpha(WHITE, 235), radius=0.04)
    _text_lines(rng, c, 0.22, 0.55, 0.78, 0.8, pick(rng, [(30, 90, 180), (20, 130, 90)]), 3)


def _catheter_kit(rng: np.random.Generator, c: Canvas) -> None:
    backing = jitter(rng, pick(rng, [(245, 225, 120), (245, 245, 240), (200, 225, 245)]), 8)
    c.rect(
        0.0,
        0.0,
        1.0,
        1.0,
        with_alpha(backing),
        radius=0.04,
        outline=with_alpha(shade(backing, 0.7)),
        width=0.03,
    )
    header = pick(rng, [(200, 40, 40), (30, 90, 180), (40, 140, 70)])
    c.rect(0.0, 0.0, 1.0, 0.18, with_alpha(header), radius=0.04)
    _text_lines(rng, c, 0.05, 0.03, 0.6, 0.15, WHITE, 1)
    tube = with_alpha(pick(rng, [(230, 120, 60), (200, 60, 60), (120, 160, 200)]))
    for r in (0.34, 0.27, 0.2, 0.13):  # coiled tubing
        c.ellipse(0.35 - r * 0.75, 0.58 - r, 0.35 + r * 0.75, 0.58 + r, None, tube, 0.025)
    c.rect(0.72, 0.3, 0.9, 0.88, with_alpha(shade(backing, 0.85)), radius=0.03)  # syringe well


def _thermometer(rng: np.random.Generator, c: Canvas) -> None:
    body = jitter(rng, pick(rng, [(245, 245, 245), (90, 150, 220), (240, 170, 190)]), 8)
    c.rect(
        0.1,
        0.15,
        1.0,
        0.85,
        with_alpha(body),
        radius=0.3,
        outline=with_alpha(shade(body, 0.7)),
        width=0.04,
    )
    c.rect(0.0, 0.4, 0.14, 0.6, with_alpha(STEEL), radius=0.08)  # metal tip
    c.rect(0.45, 0.28, 0.75, 0.72, with_alpha((150, 170, 140)), outline=with_alpha(INK), width=0.03)
    for i in range(3):  # LCD digits
        x = 0.5 + i * 0.08
        c.line([(x, 0.38), (x, 0.62)], with_alpha((30, 40, 30)), 0.05)
    c.ellipse(0.82, 0.35, 0.92, 0.65, with_alpha(shade(body, 0.7)))  # button


def _scalpel_pack(rng: np.random.Generator, c: Canvas) -> None:
    film = pick(rng, [(60, 160, 110), (70, 120, 210), (230, 230, 235)])
    c.rect(
        0.0, 0.0, 1.0, 1.0, with_alpha(jitter(rng, WHITE, 6)), outline=with_alpha(film), width=0.1
    )
    for i in range(4):  # chevron seal
        x = 0.03 + i * 0.025
        c.line([(x, 0.1), (x + 0.02, 0.5), (x, 0.9)], with_alpha(film), 0.03)
    handle = pick(rng, [(60, 90, 170), (120, 120, 126), (40, 140, 90)])
    c.rect(0.18, 0.38, 0.62, 0.62, with_alpha(handle), radius=0.1)
    c.polygon([(0.62, 0.4), (0.9, 0.45), (0.84, 0.62), (0.62, 0.6)], with_alpha(STEEL))
    c.line([(0.62, 0.6), (0.84, 0.62)], with_alpha((120, 124, 130)), 0.03)


CLASSES: list[ItemClass] = [
    ItemClass("syringe", 4.2, _syringe),
    ItemClass("glove_box", 1.6, _glove_box),
    ItemClass("face_mask", 1.5, _face_mask),
    ItemClass("gauze_pad", 1.0, _gauze_pad),
    ItemClass("bandage_roll", 1.35, _bandage_roll),
    ItemClass("iv_bag", 0.72, _iv_bag),
    ItemClass("vial", 0.45, _vial),
    ItemClass("pill_bottle", 0.7, _pill_bottle),
    ItemClass("sanitizer_bottle", 0.5, _sanitizer_bottle),
    ItemClass("catheter_kit", 1.4, _catheter_kit),
    ItemClass("thermometer", 3.8, _thermometer),
    ItemClass("scalpel_pack", 3.2, _scalpel_pack),
]
CLASS_NAMES: list[str] = [item.name for item in CLASSES]
