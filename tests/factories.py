"""Images and models for tests, made in memory or in a temporary models root."""

import shutil
import struct
import zlib
from functools import lru_cache
from io import BytesIO
from pathlib import Path

import av
import torch
from PIL import Image

from serve_app.core.payloads import ModelRef
from serve_app.model.manifest import ModelManifest, model_dir, read_manifest, write_manifest
from serve_app.model.torchvision_runtime import build_model, save_model
from training.generate import FIRST_HELD_OUT_SEED, image_seed
from training.synth.scene import render_scene
from training.synth.splits import STANDARD

# A held-out seed of the generator (training uses seeds below 1000).
SHELF_SEED = image_seed(FIRST_HELD_OUT_SEED + 7, 0)


@lru_cache(maxsize=8)
def _rendered_shelf(width: int, height: int) -> Image.Image:
    image, _, _ = render_scene(STANDARD, SHELF_SEED)
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return image


def shelf(width: int = 640, height: int = 480) -> Image.Image:
    """A generated supply shelf (the demo model finds items on it), at any size."""
    return _rendered_shelf(width, height).copy()


def encode(image: Image.Image, image_format: str = "JPEG", **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def shelf_jpeg(width: int = 640, height: int = 480) -> bytes:
    return encode(shelf(width, height), "JPEG", quality=85)


def write_video(path: Path, image: Image.Image, frames: int, fps: int) -> Path:
    """An MPEG-4 file of `frames` copies of the image at `fps`, made with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = image.width // 2 * 2, image.height // 2 * 2
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            frame = av.VideoFrame.from_image(image.crop((0, 0, stream.width, stream.height)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb's calling card."""
    png = bytearray(encode(Image.new("RGB", (1, 1)), "PNG"))
    ihdr = 12  # 8-byte signature + 4-byte chunk length, then b"IHDR" + data + CRC
    png[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    png[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(png[ihdr : ihdr + 17])))
    return bytes(png)


def write_untrained_model(root: Path, ref: ModelRef, labels: list[str], seed: int = 0) -> Path:
    """A registered model with random weights: the real loading path, meaningless output.

    Random class biases spread the scores so that some boxes clear a low threshold.
    """
    template = ModelManifest(
        name=ref.name,
        version=ref.version,
        architecture="ssdlite320_mobilenet_v3_large",
        labels=labels,
        input_size=(320, 320),
        score_threshold=0.05,
        sha256="0" * 64,
        description=f"untrained test model (seed {seed})",
    )
    torch.manual_seed(seed)
    model = build_model(template)
    for name, parameter in model.head.classification_head.named_parameters():  # type: ignore[union-attr]
        if name.endswith("bias"):
            torch.nn.init.normal_(parameter, std=1.0)
    directory = model_dir(root, ref)
    save_model(directory, model, template)
    return directory


def copy_model(root: Path, source: Path, version: str) -> Path:
    """Register the model at `source` again under another version, as an operator would."""
    manifest = read_manifest(source)
    target = root / manifest.name / version
    shutil.copytree(source, target)
    write_manifest(target, manifest.model_copy(update={"version": version}))
    return target
