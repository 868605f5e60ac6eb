"""Run a detector over a dataset; return COCO results (what the TIDE engine takes)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import nn

from tidelens.engine.datasets import Dataset
from tidelens.engine.models import (
    INFERENCE_MAX_DETECTIONS,
    INFERENCE_SCORE_THRESH,
    configure_detections,
    restore_detections,
)

logger = logging.getLogger(__name__)


class InferenceCancelled(RuntimeError):
    """Raised when ``should_stop`` asked the run to stop between batches."""


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, else CUDA when present, else the CPU."""
    if device is not None and str(device) != "auto":
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def label_to_category(dataset: Dataset, classes: list[str] | None) -> dict[int, int]:
    """Model label (1-based; 0 is background) -> dataset category id, matched by name
    when the model's class names are known, else by position."""
    if classes is None:
        return {i + 1: c.id for i, c in enumerate(dataset.categories)}
    by_name = {c.name: c.id for c in dataset.categories}
    missing = [n for n in classes if n not in by_name]
    if missing:
        logger.warning(
            "inference.unknown_classes names=%s (detections dropped)", missing
        )
    return {i + 1: by_name[n] for i, n in enumerate(classes) if n in by_name}


def run_inference(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 4,
    device: str | torch.device | None = None,
    max_detections: int = INFERENCE_MAX_DETECTIONS,
    score_thresh: float = INFERENCE_SCORE_THRESH,
    classes: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[dict]:
    """Detect on every image of ``dataset``.

    Returns COCO results ``{"image_id", "category_id", "bbox": [x, y, w, h] px,
    "score"}`` sorted by image id, then by descending score; at most
    ``max_detections`` per image. ``classes`` are the model's class names (label
    ``i`` is ``classes[i - 1]``), mapped to the dataset's category ids by name.
    ``progress(done, total)`` is called after each batch.
    """
    device = pick_device(device)
    model.eval().to(device)
    mapping = label_to_category(dataset, classes)
    previous = configure_detections(model, score_thresh, max_detections)
    images = sorted(dataset.images, key=lambda im: im.id)
    total = len(images)
    results: list[dict] = []
    try:
        with torch.inference_mode():
            for start in range(0, total, batch_size):
                if should_stop and should_stop():
                    raise InferenceCancelled(f"stopped after {start} of {total} images")
                batch = images[start : start + batch_size]
                tensors = [
                    torch.from_numpy(dataset.read_image(im).copy())
                    .permute(2, 0, 1)
                    .to(device, torch.float32)
                    / 255.0
                    for im in batch
                ]
                outputs = model(tensors)
                for image, out in zip(batch, outputs, strict=True):
                    results.extend(_to_coco(image.id, out, mapping, max_detections))
                if progress:
                    progress(min(start + batch_size, total), total)
    finally:
        restore_detections(model, previous)
    logger.info("inference.done images=%d detections=%d", total, len(results))
    return results


def _to_coco(
    image_id: int, output: dict[str, torch.Tensor], mapping: dict[int, int], cap: int
) -> list[dict]:
    """One image's torchvision output (boxes xyxy px) -> COCO xywh results."""
    boxes = output["boxes"].detach().cpu().tolist()
    scores = output["scores"].detach().cpu().tolist()
    labels = output["labels"].detach().cpu().tolist()
    rows = []
    for (x1, y1, x2, y2), score, label in zip(boxes, scores, labels, strict=True):
        if label not in mapping:
            continue
        rows.append(
            {
                "image_id": image_id,
                "category_id": mapping[label],
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "score": float(score),
            }
        )
    # Stable sort: equal scores keep the model's order, so reruns give the same list.
    rows.sort(key=lambda r: -r["score"])
    return rows[:cap]
