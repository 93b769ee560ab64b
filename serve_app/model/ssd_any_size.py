"""An SSD at any input size, with its default boxes in pixels: the `whole` tiling plan.

torchvision's `DefaultBoxGenerator` sizes its boxes as fractions of the input's sides, so on
an input larger than the training size the boxes grow with it. A whole large image seen at the
scale of a tile (docs/models.md#tiling) shows items at their training size in pixels, so the
boxes keep their training size too: each feature level keeps the boxes it had on the training
input, and only its grid of centres follows the larger feature map. On the training input the
boxes are torchvision's.

`pixel_default_boxes` uses tensor operations only (no Python ints taken from shapes), so the
ONNX export traced through it keeps the input's height and width dynamic.
"""

from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.transform import GeneralizedRCNNTransform


def pixel_default_boxes(
    generator: DefaultBoxGenerator,
    training_size: tuple[int, int],
    images: Tensor,
    features: list[Tensor],
) -> Tensor:
    """[anchors, 4] x1 y1 x2 y2 in input pixels for a batch `images` [B, 3, H, W], in the
    order of the head's outputs: per level, per feature-map cell (row-major), per box."""
    width = torch.ones_like(images[0, 0, 0]).sum()
    height = torch.ones_like(images[0, 0, :, 0]).sum()
    training_w, training_h = training_size
    levels = []
    for pairs, feature in zip(generator._wh_pairs, features, strict=True):
        ones = torch.ones_like(feature[0, 0])  # [rows, columns] of this level
        centre_x = (ones.cumsum(1) - 0.5) / ones.sum(1, keepdim=True) * width
        centre_y = (ones.cumsum(0) - 0.5) / ones.sum(0, keepdim=True) * height
        centres = torch.stack((centre_x, centre_y), dim=-1).reshape(-1, 1, 2)
        relative = pairs.clamp(min=0, max=1) if generator.clip else pairs
        relative = relative.to(images)
        half = 0.5 * torch.stack((relative[:, 0] * training_w, relative[:, 1] * training_h), -1)
        levels.append(torch.cat((centres - half, centres + half), dim=-1).reshape(-1, 4))
    return torch.cat(levels)


class PixelBoxGenerator(nn.Module):
    """A drop-in for an SSD's `anchor_generator` that keeps box sizes in pixels."""

    def __init__(self, generator: DefaultBoxGenerator, training_size: tuple[int, int]) -> None:
        super().__init__()
        self.generator = generator
        self.training_size = training_size

    def num_anchors_per_location(self) -> list[int]:
        counts: list[int] = self.generator.num_anchors_per_location()
        return counts

    def forward(self, image_list: ImageList, feature_maps: list[Tensor]) -> list[Tensor]:
        boxes = pixel_default_boxes(
            self.generator, self.training_size, image_list.tensors, feature_maps
        )
        return [boxes for _ in image_list.image_sizes]


class UnresizedTransform(GeneralizedRCNNTransform):  # type: ignore[misc]
    """torchvision's transform without the resize: the views arrive at their input size."""

    def resize(self, image: Tensor, target: Any = None) -> tuple[Tensor, Any]:
        return image, target


def take_any_size(ssd: Any, training_size: tuple[int, int]) -> None:
    """Make a torchvision SSD run its input at whatever size it arrives in."""
    transform = ssd.transform
    ssd.transform = UnresizedTransform(
        transform.min_size,
        transform.max_size,
        transform.image_mean,
        transform.image_std,
        size_divisible=transform.size_divisible,
        fixed_size=transform.fixed_size,
    )
    ssd.anchor_generator = PixelBoxGenerator(ssd.anchor_generator, training_size)
