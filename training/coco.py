"""COCO detection files: the format the generator writes and users' own datasets come in.

Layout of a dataset directory: `annotations.json` plus the image files it names (relative
paths). Category ids may be any integers; their order by id defines the model's labels.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ANNOTATIONS_FILE = "annotations.json"


class CocoFormatError(ValueError):
    """The annotations file is not the COCO detection format this project reads."""


@dataclass(frozen=True)
class CocoBox:
    category_id: int
    box: tuple[float, float, float, float]  # x, y, width, height in pixels
    iscrowd: bool = False


@dataclass(frozen=True)
class CocoImage:
    image_id: int
    path: Path
    width: int
    height: int
    boxes: list[CocoBox] = field(default_factory=list)


@dataclass(frozen=True)
class CocoDataset:
    root: Path
    categories: dict[int, str]  # id -> name
    images: list[CocoImage]

    @property
    def labels(self) -> list[str]:
        return [self.categories[key] for key in sorted(self.categories)]

    def label_index(self) -> dict[int, int]:
        """Category id -> 1-based model class id (0 is the background)."""
        return {category_id: i + 1 for i, category_id in enumerate(sorted(self.categories))}


def read_coco(root: Path) -> CocoDataset:
    path = root / ANNOTATIONS_FILE
    try:
        raw = json.loads(path.read_text())
        categories = {int(c["id"]): str(c["name"]) for c in raw["categories"]}
        images = {
            int(i["id"]): CocoImage(
                int(i["id"]), root / i["file_name"], int(i["width"]), int(i["height"])
            )
            for i in raw["images"]
        }
        for a in raw.get("annotations", []):
            x, y, w, h = (float(v) for v in a["bbox"])
            if a["category_id"] not in categories:
                raise CocoFormatError(
                    f"annotation {a.get('id')} has unknown category {a['category_id']}"
                )
            if w <= 0 or h <= 0:
                continue
            images[int(a["image_id"])].boxes.append(
                CocoBox(int(a["category_id"]), (x, y, w, h), bool(a.get("iscrowd", 0)))
            )
    except FileNotFoundError:
        raise CocoFormatError(f"no {ANNOTATIONS_FILE} in {root}") from None
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        if isinstance(exc, CocoFormatError):
            raise
        raise CocoFormatError(f"{path} is not COCO detection JSON: {exc!r}") from None
    if not categories:
        raise CocoFormatError(f"{path} declares no categories")
    return CocoDataset(root, categories, sorted(images.values(), key=lambda i: i.image_id))


def coco_json(
    labels: list[str],
    images: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
    info: dict[str, Any],
) -> dict[str, Any]:
    """A COCO document; category ids are 1-based in label order."""
    return {
        "info": info,
        "categories": [
            {"id": i + 1, "name": name, "supercategory": "supply"} for i, name in enumerate(labels)
        ],
        "images": images,
        "annotations": annotations,
    }
