"""Train a detector from scratch on COCO directories and register it under the models root.

Checkpoints go to `<work_dir>/checkpoint.pt` every `checkpoint_every` steps; a run started
again with the same work dir resumes from the last one. The finished model is written with
its manifest (labels, tiling, checksum, provenance) to `<models_root>/<name>/<version>/`.
"""

import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.models.detection.ssd import SSD
from tqdm import tqdm

from medinv_tools.paths import REPO_ROOT
from serve_app.core.payloads import ModelRef
from serve_app.model.manifest import ModelManifest, TilingConfig, model_dir
from serve_app.model.torchvision_runtime import build_model, save_model
from training.coco import read_coco
from training.dataset import DetectionDataset, collate
from training.negative_images import train_on_negative_images

CHECKPOINT_FILE = "checkpoint.pt"
PROBE_STEPS = 40


@dataclass(frozen=True)
class TrainConfig:
    data: list[Path]
    model: ModelRef
    work_dir: Path
    models_root: Path
    architecture: str = "ssdlite320_mobilenet_v3_large"
    input_size: tuple[int, int] = (320, 320)
    anchor_size_range: tuple[float, float] = (0.1, 0.9)
    tiling: TilingConfig | None = None
    score_threshold: float = 0.5
    steps: int = 3000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    workers: int = 2
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 500
    # If set, the first PROBE_STEPS steps time the machine and `steps` shrinks to what fits.
    time_budget_s: float | None = None
    # Fine-tuning: start from these weights (a registered model's state dict) instead of
    # from scratch; a checkpoint in work_dir still takes precedence.
    init_weights: Path | None = None
    # Give images with no object a classification loss (training/negative_images.py); off,
    # torchvision's SSD loss, which learns nothing from them.
    negative_images: bool = False
    description: str = ""
    extra_provenance: dict[str, Any] = field(default_factory=dict)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _loader(dataset: DetectionDataset, config: TrainConfig, resumed_at: int) -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + resumed_at)
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=config.workers,
        collate_fn=collate,
        generator=generator,
        persistent_workers=config.workers > 0,
        pin_memory=config.device.startswith("cuda"),
    )


def _template(config: TrainConfig, labels: list[str]) -> ModelManifest:
    return ModelManifest(
        name=config.model.name,
        version=config.model.version,
        architecture=config.architecture,
        labels=labels,
        input_size=config.input_size,
        score_threshold=config.score_threshold,
        candidate_score_floor=0.01,
        max_detections=300,
        tiling=config.tiling,
        anchor_size_range=config.anchor_size_range,
        sha256="0" * 64,
        description=config.description,
    )


def train(config: TrainConfig) -> ModelManifest:
    torch.manual_seed(config.seed)
    device = torch.device(config.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    dataset = DetectionDataset(
        [read_coco(path) for path in config.data], config.input_size, flip=True
    )
    template = _template(config, dataset.labels)
    model = build_model(template)
    if config.init_weights is not None:
        state = torch.load(config.init_weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    if config.negative_images:
        if not isinstance(model, SSD):
            raise ValueError(f"negative_images needs an SSD, not {config.architecture}")
        train_on_negative_images(model)
    model = model.to(device).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    total = [config.steps]  # the schedule reads it on every step, so a time budget can shrink it
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, config.warmup_steps, total[0])
    )
    step, elapsed, total[0] = _resume(config.work_dir, model, optimizer, scheduler, total[0])
    started = time.perf_counter() - elapsed
    progress = tqdm(total=total[0], initial=step, desc="train", unit="step")
    losses: dict[str, float] = {}
    loader = _loader(dataset, config, step)
    probe_started = 0.0
    while step < total[0]:
        for images, targets in loader:
            losses = _step(model, optimizer, images, targets, device)
            scheduler.step()
            step += 1
            progress.update(1)
            progress.set_postfix(
                loss=f"{sum(losses.values()):.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}"
            )
            if config.time_budget_s is not None and step == 5:
                probe_started = time.perf_counter()  # after CUDA and loader warm-up
            if config.time_budget_s is not None and step == 5 + PROBE_STEPS:
                rate = PROBE_STEPS / (time.perf_counter() - probe_started)
                remaining = config.time_budget_s - (time.perf_counter() - started)
                total[0] = max(step + 1, min(config.steps, step + int(remaining * rate)))
                progress.total = total[0]
                tqdm.write(f"{rate:.1f} steps/s: training for {total[0]} steps")
            if step % config.checkpoint_every == 0 or step == total[0]:
                elapsed = time.perf_counter() - started
                _save_checkpoint(
                    config.work_dir, model, optimizer, scheduler, step, total[0], elapsed
                )
            if step >= total[0]:
                break
    progress.close()
    wall_s = time.perf_counter() - started
    provenance = {
        "data": [_display_path(path) for path in config.data],
        "images": len(dataset),
        "steps": total[0],
        "batch_size": config.batch_size,
        "lr": config.lr,
        "weight_decay": config.weight_decay,
        "warmup_steps": config.warmup_steps,
        "seed": config.seed,
        **({"init_weights": _display_path(config.init_weights)} if config.init_weights else {}),
        **({"negative_images": True} if config.negative_images else {}),
        "device": _device_name(device),
        "torch": torch.__version__,
        "wall_time_s": round(wall_s, 1),
        "final_losses": {k: round(v, 4) for k, v in losses.items()},
        **config.extra_provenance,
    }
    manifest = template.model_copy(update={"training": provenance})
    return save_model(model_dir(config.models_root, config.model), model.eval().cpu(), manifest)


def _step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: list[torch.Tensor],
    targets: list[dict[str, torch.Tensor]],
    device: torch.device,
) -> dict[str, float]:
    images = [image.to(device, non_blocking=True).float().div_(255.0) for image in images]
    targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
    # fp32 (TF32 matmuls on CUDA): under bf16 autocast SSD would match anchors to boxes in bf16.
    loss_dict: dict[str, torch.Tensor] = model(images, targets)
    loss = torch.stack(list(loss_dict.values())).sum()
    optimizer.zero_grad(set_to_none=True)
    torch.autograd.backward(loss)
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
    optimizer.step()
    return {k: float(v.detach()) for k, v in loss_dict.items()}


def _save_checkpoint(
    work_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    step: int,
    total_steps: int,
    elapsed_s: float,
) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    partial = work_dir / (CHECKPOINT_FILE + ".partial")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "total_steps": total_steps,
            "elapsed_s": elapsed_s,
        },
        partial,
    )
    partial.replace(work_dir / CHECKPOINT_FILE)  # a crash mid-save never leaves a torn file


def _resume(
    work_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    total_steps: int,
) -> tuple[int, float, int]:
    """(step, elapsed seconds, total steps) of the last checkpoint, or a fresh start."""
    path = work_dir / CHECKPOINT_FILE
    if not path.is_file():
        return 0, 0.0, total_steps
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    tqdm.write(f"resuming from {path} at step {state['step']}")
    return int(state["step"]), float(state["elapsed_s"]), int(state["total_steps"])


def _display_path(path: Path) -> str:
    """Relative to the repository when inside it, so provenance reads the same on any machine."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
