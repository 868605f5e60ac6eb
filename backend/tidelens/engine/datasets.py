"""Datasets: COCO JSON, Pascal VOC XML and YOLO txt loaded into one representation.

Boxes are COCO ``[x, y, w, h]`` floats in pixels of the original image. Category ids
are the COCO file's ids; VOC assigns 1..K to the class names in sorted order and YOLO
assigns 1..K in the order of its class list (YOLO index ``i`` becomes id ``i + 1``).

Real files are imperfect, so some entries are tolerated and dropped with a reason
(zero-area boxes, boxes wholly outside their image); boxes crossing the image border are
clipped. Anything structurally wrong raises :class:`DatasetError` naming the file, the
entry and the reason.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset file cannot be read; the message names the file, entry and reason."""

    def __init__(self, file: Path | str, entry: str | None, reason: str):
        self.file = str(file)
        self.entry = entry
        self.reason = reason
        where = f"{self.file}" + (f", {entry}" if entry else "")
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Category:
    id: int
    name: str


@dataclass(frozen=True)
class ImageRecord:
    id: int
    file_name: str  # relative to Dataset.root
    width: int
    height: int


@dataclass(frozen=True)
class GroundTruthBox:
    id: int
    image_id: int
    category_id: int
    bbox: tuple[float, float, float, float]  # xywh, pixels
    iscrowd: bool = False


@dataclass(frozen=True)
class DroppedEntry:
    file: str
    entry: str
    reason: str


@dataclass
class Dataset:
    root: Path
    categories: list[Category]
    images: list[ImageRecord]
    annotations: list[GroundTruthBox]
    dropped: list[DroppedEntry] = field(default_factory=list)

    @property
    def class_names(self) -> list[str]:
        """Category names in category order (model label ``i`` is entry ``i - 1``)."""
        return [c.name for c in self.categories]

    def image_path(self, image: ImageRecord) -> Path:
        return self.root / image.file_name

    def read_image(self, image: ImageRecord) -> np.ndarray:
        """The image as an RGB uint8 array of shape (H, W, 3)."""
        path = self.image_path(image)
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as exc:
            raise DatasetError(
                path, f"image {image.id}", f"unreadable image ({exc})"
            ) from exc

    def annotations_by_image(self) -> dict[int, list[GroundTruthBox]]:
        grouped: dict[int, list[GroundTruthBox]] = {im.id: [] for im in self.images}
        for ann in self.annotations:
            grouped.setdefault(ann.image_id, []).append(ann)
        return grouped

    def dropped_summary(self) -> dict[str, int]:
        """Number of dropped entries per reason."""
        summary: dict[str, int] = {}
        for entry in self.dropped:
            summary[entry.reason] = summary.get(entry.reason, 0) + 1
        return summary

    def to_coco(self) -> dict:
        """A COCO instances dict (bbox xywh px, ``area`` = w*h, empty segmentation)."""
        return {
            "images": [
                {
                    "id": im.id,
                    "file_name": im.file_name,
                    "width": im.width,
                    "height": im.height,
                }
                for im in self.images
            ],
            "categories": [{"id": c.id, "name": c.name} for c in self.categories],
            "annotations": [
                {
                    "id": a.id,
                    "image_id": a.image_id,
                    "category_id": a.category_id,
                    "bbox": list(a.bbox),
                    "area": a.bbox[2] * a.bbox[3],
                    "iscrowd": int(a.iscrowd),
                    "segmentation": [],
                }
                for a in self.annotations
            ],
        }


def clip_box(
    bbox: tuple[float, float, float, float], width: int, height: int
) -> tuple[tuple[float, float, float, float] | None, str | None]:
    """Clip an xywh box to the image; return (box, None) or (None, drop reason)."""
    x, y, w, h = bbox
    if not all(math.isfinite(v) for v in bbox):  # NaN would clip to the whole image
        return None, "NaN or infinite coordinate"
    if w <= 0 or h <= 0:
        return None, "zero-area box"
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + w), min(float(height), y + h)
    if x2 <= x1 or y2 <= y1:
        return None, "box outside the image"
    return (x1, y1, x2 - x1, y2 - y1), None


def detect_format(path: Path) -> str:
    """Return ``coco``, ``voc`` or ``yolo`` for a file or folder, or raise."""
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        raise DatasetError(path, None, "not a COCO .json file or a dataset folder")
    if not path.is_dir():
        raise DatasetError(path, None, "no such file or folder")
    if (path / "Annotations").is_dir():
        return "voc"
    if (path / "labels").is_dir():
        return "yolo"
    if (path / "annotations").is_dir() and any((path / "annotations").glob("*.json")):
        return "coco"
    subdirs = [p for p in path.iterdir() if p.is_dir()]
    if len(subdirs) == 1:
        return detect_format(subdirs[0])
    raise DatasetError(
        path,
        None,
        "unknown layout: expected a COCO .json (or annotations/*.json), a VOC folder "
        "(Annotations/ + JPEGImages/) or a YOLO folder (images/ + labels/)",
    )


def _voc_root(path: Path) -> Path:
    # Accept the folder above a single VOC folder (e.g. bccd/ holding BCCD/).
    if (path / "Annotations").is_dir():
        return path
    subdirs = [p for p in path.iterdir() if p.is_dir()]
    if len(subdirs) == 1:
        return _voc_root(subdirs[0])
    raise DatasetError(path, None, "no Annotations/ folder")


def load_dataset(
    path: Path | str, split: str | None = None, format: str | None = None
) -> Dataset:
    """Load a dataset in any supported format; ``split`` picks a subset when it has one.

    VOC splits come from ``ImageSets/Main/{split}.txt``; COCO from
    ``annotations/*{split}*.json``; YOLO from ``images/{split}`` + ``labels/{split}``.
    """
    from tidelens.engine import _dataset_formats as formats
    from tidelens.engine._voc_format import load_voc

    path = Path(path)
    if split and (split in (".", "..") or any(c in split for c in "/\\\0")):
        # split becomes part of file names; it must not lead out of the dataset
        raise DatasetError(path, None, f"split {split!r} is not a plain name")
    fmt = format or detect_format(path)
    if fmt == "coco":
        dataset = formats.load_coco(path, split)
    elif fmt == "voc":
        dataset = load_voc(_voc_root(path), split)
    elif fmt == "yolo":
        dataset = formats.load_yolo(path, split)
    else:
        raise DatasetError(path, None, f"unknown format {fmt!r} (coco, voc, yolo)")
    if dataset.dropped:
        logger.info(
            "dataset.dropped path=%s counts=%s",
            path,
            json.dumps(dataset.dropped_summary()),
        )
    return dataset
