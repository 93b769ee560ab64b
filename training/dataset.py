"""A torch dataset over one or more COCO directories, at the model's input size."""

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from training.coco import CocoDataset, CocoImage

Target = dict[str, torch.Tensor]
_MIN_BOX_PX = 2.0


class DetectionDataset(Dataset[tuple[torch.Tensor, Target]]):
    """Images resized to `size` (width, height) with boxes in those pixels; labels 1-based.

    Every COCO set must declare the same category names: they become the model's labels.
    Crowd boxes are not trained on; images without boxes are kept as negatives.
    """

    def __init__(self, sets: list[CocoDataset], size: tuple[int, int], flip: bool) -> None:
        labels = sets[0].labels
        for coco in sets[1:]:
            if coco.labels != labels:
                raise ValueError(f"{coco.root} has labels {coco.labels}, not {labels}")
        self.labels = labels
        self.size = size
        self.flip = flip
        self._items: list[tuple[CocoImage, dict[int, int]]] = [
            (image, coco.label_index()) for coco in sets for image in coco.images
        ]

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Target]:
        entry, label_index = self._items[index]
        width, height = self.size
        with Image.open(entry.path) as opened:
            image = opened.convert("RGB")
            sx, sy = width / image.width, height / image.height
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        boxes = np.array(
            [
                [x * sx, y * sy, (x + w) * sx, (y + h) * sy]
                for b in entry.boxes
                if not b.iscrowd
                for x, y, w, h in [b.box]
            ],
            dtype=np.float32,
        ).reshape(-1, 4)
        labels = np.array(
            [label_index[b.category_id] for b in entry.boxes if not b.iscrowd], dtype=np.int64
        )
        pixels = np.array(image, dtype=np.uint8)
        if self.flip and torch.rand(()) < 0.5:
            pixels = pixels[:, ::-1]
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
        big_enough = ((boxes[:, 2] - boxes[:, 0]) >= _MIN_BOX_PX) & (
            (boxes[:, 3] - boxes[:, 1]) >= _MIN_BOX_PX
        )
        tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)
        target = {
            "boxes": torch.from_numpy(boxes[big_enough]),
            "labels": torch.from_numpy(labels[big_enough]),
        }
        return tensor, target


def collate(
    batch: list[tuple[torch.Tensor, Target]],
) -> tuple[list[torch.Tensor], list[Target]]:
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
