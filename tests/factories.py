"""Images for tests, made in memory with PIL."""

import struct
import zlib
from io import BytesIO

from PIL import Image, ImageDraw


def shelf(width: int = 640, height: int = 480) -> Image.Image:
    image = Image.new("RGB", (width, height), (205, 200, 190))
    draw = ImageDraw.Draw(image)
    for i in range(6):
        x = 20 + i * width // 6
        draw.rectangle([x, height // 3, x + width // 8, height - 30], fill=(30 + 35 * i, 90, 200))
    draw.rectangle([0, height - 30, width, height], fill=(120, 90, 60))
    return image


def encode(image: Image.Image, image_format: str = "JPEG", **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def shelf_jpeg(width: int = 640, height: int = 480) -> bytes:
    return encode(shelf(width, height), "JPEG", quality=85)


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb's calling card."""
    png = bytearray(encode(Image.new("RGB", (1, 1)), "PNG"))
    ihdr = 12  # 8-byte signature + 4-byte chunk length, then b"IHDR" + data + CRC
    png[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    png[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(png[ihdr : ihdr + 17])))
    return bytes(png)
