"""Images with no object get a classification loss under `negative_images` (and only they)."""

import torch
from torchvision.models.detection.ssd import SSD

from medinv_tools.paths import REPO_ROOT
from serve_app.core.demo_model import DEMO_MODEL
from serve_app.model.manifest import model_dir, read_manifest
from serve_app.model.torchvision_runtime import build_model
from training.negative_images import train_on_negative_images

BOX = {"boxes": torch.tensor([[60.0, 80.0, 160.0, 240.0]]), "labels": torch.tensor([1])}
NO_BOX = {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.long)}


def demo_ssd() -> SSD:
    directory = model_dir(REPO_ROOT / "models", DEMO_MODEL)
    model = build_model(read_manifest(directory))
    model.load_state_dict(torch.load(directory / "weights.pt", weights_only=True))
    assert isinstance(model, SSD)
    return model.train()


def losses(model: SSD, targets: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    images = [torch.rand(3, 320, 320) for _ in targets]
    with torch.no_grad():
        result: dict[str, torch.Tensor] = model(images, targets)
    return result


def test_an_image_without_objects_adds_to_the_classification_loss_only() -> None:
    plain, extended = demo_ssd(), demo_ssd()
    train_on_negative_images(extended)

    before = losses(plain, [BOX, NO_BOX])
    after = losses(extended, [BOX, NO_BOX])

    assert after["classification"] > before["classification"]
    assert torch.equal(after["bbox_regression"], before["bbox_regression"])


def test_batches_where_every_image_has_objects_keep_torchvisions_loss() -> None:
    plain, extended = demo_ssd(), demo_ssd()
    train_on_negative_images(extended)

    before, after = losses(plain, [BOX, BOX]), losses(extended, [BOX, BOX])

    assert torch.equal(after["classification"], before["classification"])


def test_training_on_a_negative_image_lowers_its_scores() -> None:
    model = demo_ssd()
    train_on_negative_images(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    torch.manual_seed(1)
    negative = torch.rand(3, 320, 320)
    positive = torch.rand(3, 320, 320)

    def top_score() -> float:
        model.eval()
        with torch.no_grad():
            scores = model([negative])[0]["scores"]
        model.train()
        return float(scores.max()) if scores.numel() else 0.0

    start = top_score()
    for _ in range(5):
        loss = sum(model([positive, negative], [BOX, NO_BOX]).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    assert top_score() < start
