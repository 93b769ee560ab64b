"""SSD's loss, extended so that images with no object teach the classifier too.

torchvision's SSD loss picks the hardest background anchors of each image, three per anchor
matched to an object of that image. An image with no object therefore adds nothing to the
classification loss: negative photographs would pass through training unseen. This adds, for
each such image, its hardest background anchors, as many as the batch's images with objects
have on average, normalised as torchvision normalises the rest.
"""

from types import MethodType

import torch
import torch.nn.functional as F
from torchvision.models.detection.ssd import SSD


def train_on_negative_images(model: SSD) -> None:
    """Replace the model's loss with one that also learns from images with no object."""
    torchvision_loss = model.compute_loss

    def compute_loss(
        self: SSD,
        targets: list[dict[str, torch.Tensor]],
        head_outputs: dict[str, torch.Tensor],
        anchors: list[torch.Tensor],
        matched_idxs: list[torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        losses: dict[str, torch.Tensor] = torchvision_loss(
            targets, head_outputs, anchors, matched_idxs
        )
        losses["classification"] = losses["classification"] + negative_image_loss(
            self.neg_to_pos_ratio, head_outputs["cls_logits"], matched_idxs
        )
        return losses

    model.compute_loss = MethodType(compute_loss, model)


def negative_image_loss(
    neg_to_pos_ratio: int, cls_logits: torch.Tensor, matched_idxs: list[torch.Tensor]
) -> torch.Tensor:
    """The background loss of the hardest anchors of the images with no matched anchor."""
    foreground = torch.stack([(m >= 0).sum() for m in matched_idxs])
    negative_images = torch.nonzero(foreground == 0).flatten()
    positive_images = len(matched_idxs) - negative_images.numel()
    if negative_images.numel() == 0 or positive_images == 0:
        return cls_logits.new_zeros(())
    per_image = int(neg_to_pos_ratio * foreground.sum().item() / positive_images)
    logits = cls_logits[negative_images]  # (images, anchors, classes)
    background = torch.zeros(logits.shape[:2], dtype=torch.long, device=logits.device)
    loss = F.cross_entropy(logits.flatten(0, 1), background.flatten(), reduction="none")
    hardest = loss.view(logits.shape[:2]).topk(min(per_image, logits.shape[1]), dim=1).values
    return hardest.sum() / max(1, int(foreground.sum().item()))
