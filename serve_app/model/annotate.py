"""Draw detections on their image: boxes, labels and scores, at the image's original size."""

from collections.abc import Sequence
from io import BytesIO

from PIL import Image, ImageDraw, ImageFont

from serve_app.core.payloads import Detection
from serve_app.model.imaging import ImageLimits, decode_image

# One colour per label, picked by `label_color`; the console's overlay uses the same palette
# and hash (serve_app/console/js/palette.js), so both pictures agree.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (170, 110, 40),
)
JPEG_QUALITY = 90


def label_color(label: str) -> tuple[int, int, int]:
    """A stable colour for a label: a 31-multiplier string hash into the palette."""
    value = 0
    for char in label:
        value = (value * 31 + ord(char)) % 2**32
    return PALETTE[value % len(PALETTE)]


def _text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    red, green, blue = background
    return (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else (255, 255, 255)


def annotate_image(data: bytes, detections: Sequence[Detection], limits: ImageLimits) -> bytes:
    """`data` with each detection's box and a `label score` tag drawn on it, as a JPEG of the
    same size (after EXIF orientation, the pixels boxes are given in)."""
    image = decode_image(data, limits)
    _draw_detections(image, detections)
    encoded = BytesIO()
    # Full-resolution colour (4:4:4): thin coloured lines and small text stay sharp.
    image.save(encoded, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return encoded.getvalue()


def _draw_detections(image: Image.Image, detections: Sequence[Detection]) -> None:
    draw = ImageDraw.Draw(image)
    side = min(image.size)
    line = max(2, round(side / 240))
    font = ImageFont.load_default(size=max(11, round(side / 36)))
    # The best detection last, so that its tag lies on top where tags overlap.
    for detection in sorted(detections, key=lambda d: d.score):
        color = label_color(detection.label)
        x1, y1, x2, y2 = detection.box
        draw.rectangle((x1, y1, x2, y2), outline=color, width=line)
        text = f"{detection.label} {detection.score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tag_w, tag_h = right - left + 2 * line, bottom - top + 2 * line
        # Above the box, or inside its top edge when there is no room above.
        tag_x = max(0.0, min(x1, image.width - tag_w))
        tag_y = y1 - tag_h if y1 >= tag_h else y1
        draw.rectangle((tag_x, tag_y, tag_x + tag_w, tag_y + tag_h), fill=color)
        draw.text(
            (tag_x + line - left, tag_y + line - top), text, fill=_text_color(color), font=font
        )
