"""Train a registry detector from scratch, writing one checkpoint per epoch.

Each checkpoint is ``out_dir/epoch_{NNN}.pt`` holding
``{"model": state_dict, "architecture", "classes", "epoch", "image_size", ...}``; it is
written to a hidden temporary file in the same folder and renamed, so a folder watcher
never sees half a file.

The defaults are sized for a CPU: AdamW with a short linear warm-up and cosine decay,
horizontal and vertical flips (cells and most overhead imagery have no up or down), and
images decoded once and kept in memory.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tidelens.engine.checkpoints import check_fit, read_checkpoint
from tidelens.engine.datasets import Dataset
from tidelens.engine.models import Architecture, get_architecture, size_kwargs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    seconds: float
    mean_loss: float
    path: Path


def _samples(dataset: Dataset) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(image uint8 (3, H, W), boxes xyxy px (n, 4) float32, labels (n,) int64) per
    image; crowd regions are left out of training. Label = category position + 1."""
    label_of = {c.id: i + 1 for i, c in enumerate(dataset.categories)}
    by_image = dataset.annotations_by_image()
    samples = []
    for image in dataset.images:
        pixels = torch.from_numpy(dataset.read_image(image).copy()).permute(2, 0, 1)
        anns = [a for a in by_image.get(image.id, []) if not a.iscrowd]
        boxes = torch.tensor(
            [[x, y, x + w, y + h] for x, y, w, h in (a.bbox for a in anns)],
            dtype=torch.float32,
        ).reshape(-1, 4)
        labels = torch.tensor(
            [label_of[a.category_id] for a in anns], dtype=torch.int64
        )
        samples.append((pixels, boxes, labels))
    return samples


def _augment(
    pixels: torch.Tensor, boxes: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random horizontal/vertical flips of a (3, H, W) image and its xyxy boxes."""
    _, height, width = pixels.shape
    boxes = boxes.clone()
    if torch.rand(1, generator=generator).item() < 0.5:
        pixels = pixels.flip(-1)
        boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
    if torch.rand(1, generator=generator).item() < 0.5:
        pixels = pixels.flip(-2)
        boxes[:, [1, 3]] = height - boxes[:, [3, 1]]
    return pixels, boxes


def _lighten_training(model: torch.nn.Module, proposals: int, rois: int) -> None:
    """Fewer RPN proposals and sampled RoIs per image while training two-stage models.

    torchvision's defaults (2000 proposals, 512 RoIs) make the box head dominate the
    cost on a CPU; small objects-per-image datasets lose little with fewer. These are
    run-time settings only: the state dict and inference are unchanged."""
    rpn = getattr(model, "rpn", None)
    if rpn is not None:
        rpn._pre_nms_top_n["training"] = min(rpn._pre_nms_top_n["training"], proposals)
        rpn._post_nms_top_n["training"] = min(
            rpn._post_nms_top_n["training"], proposals
        )
    roi_heads = getattr(model, "roi_heads", None)
    if roi_heads is not None:
        roi_heads.fg_bg_sampler.batch_size_per_image = rois


def existing_checkpoints(out_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of the ``epoch_NNN.pt`` files in a folder, by epoch."""
    found = []
    for path in Path(out_dir).glob("epoch_*.pt"):
        digits = path.stem.removeprefix("epoch_")
        if digits.isdigit():
            found.append((int(digits), path))
    return sorted(found)


def save_checkpoint_atomically(payload: dict, path: Path) -> None:
    """torch.save to a hidden temporary file in the same folder, then rename."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tmp.open("wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def train(
    architecture: str | Architecture,
    dataset: Dataset,
    out_dir: Path | str,
    *,
    epochs: int,
    image_size: int | None = None,
    batch_size: int = 4,
    lr: float = 1e-3,
    seed: int = 0,
    weight_decay: float = 1e-4,
    warmup_steps: int = 50,
    augment: bool = True,
    train_proposals: int | None = 500,
    train_rois: int = 128,
    num_threads: int | None = None,
    device: str | torch.device | None = None,
    on_checkpoint: Callable[[Path, int], None] | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    resume: bool = False,
) -> list[Path]:
    """Train from random weights; return the checkpoint paths in epoch order.

    ``image_size`` is the shorter side the detector resizes to (None: the
    architecture's default, 320 px for the ``*_320_*`` models). ``on_step`` receives
    (epoch, step, loss) and ``on_epoch`` an :class:`EpochStats` after each save.
    With ``resume`` the latest ``epoch_NNN.pt`` in ``out_dir`` gives the starting
    weights and epoch; the optimizer's moments start afresh (they are not saved, to
    keep checkpoints the size of the model).
    """
    arch = (
        get_architecture(architecture)
        if isinstance(architecture, str)
        else architecture
    )
    if not dataset.images:
        raise ValueError("the training split has no images")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if num_threads:
        torch.set_num_threads(num_threads)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)

    model = arch.build(
        len(dataset.categories) + 1, **size_kwargs(arch.name, image_size)
    )
    if train_proposals:
        _lighten_training(model, train_proposals, train_rois)
    done = existing_checkpoints(out_dir) if resume else []
    first_epoch = 1
    if done:
        latest = read_checkpoint(done[-1][1])
        check_fit(model, latest.state_dict, done[-1][1].name)
        model.load_state_dict(latest.state_dict)
        first_epoch = done[-1][0] + 1
        logger.info("training.resume from_epoch=%d", done[-1][0])
    model.to(device).train()
    samples = _samples(dataset)
    steps_per_epoch = math.ceil(len(samples) / batch_size)
    total_steps = steps_per_epoch * epochs
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)

    def lr_factor(step: int) -> float:
        if step < warmup_steps:
            return 0.1 + 0.9 * step / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    logger.info(
        "training.start architecture=%s images=%d epochs=%d batch=%d lr=%g device=%s",
        arch.name,
        len(samples),
        epochs,
        batch_size,
        lr,
        device,
    )
    paths: list[Path] = [path for epoch, path in done if epoch <= epochs]
    for epoch in range(first_epoch, epochs + 1):
        # The shuffle depends on (seed, epoch) only, so resumed runs see the same order.
        generator.manual_seed(seed * 100_003 + epoch)
        started = time.perf_counter()
        order = torch.randperm(len(samples), generator=generator).tolist()
        losses = []
        for step in range(steps_per_epoch):
            images, targets = [], []
            for index in order[step * batch_size : (step + 1) * batch_size]:
                pixels, boxes, labels = samples[index]
                if augment:
                    pixels, boxes = _augment(pixels, boxes, generator)
                images.append(pixels.to(device, torch.float32) / 255.0)
                targets.append({"boxes": boxes.to(device), "labels": labels.to(device)})
            loss_parts = model(images, targets)
            loss = sum(loss_parts.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss.item()} at epoch {epoch} step {step}; "
                    "lower the learning rate"
                )
            global_step = (epoch - 1) * steps_per_epoch + step
            for group in optimizer.param_groups:
                group["lr"] = lr * lr_factor(global_step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # From-scratch detectors have large early gradients; clipping keeps the
            # first epochs from diverging at a useful learning rate.
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            optimizer.step()
            losses.append(loss.item())
            if on_step:
                on_step(epoch, step, losses[-1])

        path = out_dir / f"epoch_{epoch:03d}.pt"
        mean_loss = float(np.mean(losses))
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        save_checkpoint_atomically(
            {
                "model": state,
                "architecture": arch.name,
                "classes": [c.name for c in dataset.categories],
                "epoch": epoch,
                "image_size": image_size,
                "lr": lr,
                "seed": seed,
                "train_loss": mean_loss,
            },
            path,
        )
        seconds = time.perf_counter() - started
        logger.info(
            "training.epoch epoch=%d seconds=%.1f loss=%.4f path=%s",
            epoch,
            seconds,
            mean_loss,
            path,
        )
        paths.append(path)
        if on_checkpoint:
            on_checkpoint(path, epoch)
        if on_epoch:
            on_epoch(EpochStats(epoch, seconds, mean_loss, path))
        model.train()
    return paths
