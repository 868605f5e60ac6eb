"""COCO JSON and YOLO txt readers, and checks shared with the VOC reader."""

from __future__ import annotations

import json
import math
from pathlib import Path, PurePosixPath

from PIL import Image

from tidelens.engine.datasets import (
    Category,
    Dataset,
    DatasetError,
    DroppedEntry,
    GroundTruthBox,
    ImageRecord,
    clip_box,
)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _image_size(path: Path, file: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError) as exc:
        raise DatasetError(
            file, None, f"size missing and image unreadable: {path}"
        ) from exc


def _relative_name(name: str, file: Path, entry: str) -> str:
    """An image file name must stay inside the dataset folder."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise DatasetError(
            file, entry, f"image file name {name!r} must be a path inside the dataset"
        )
    return name


def _image_extent(width, height, file: Path, entry: str) -> tuple[int, int] | None:
    """Validated (width, height) in pixels, or None when the file omits one (the
    image is then read for its size)."""
    if width is None or height is None:
        return None
    ok = all(
        isinstance(v, int | float)
        and not isinstance(v, bool)
        and math.isfinite(v)
        and 0 < v < 2**31
        for v in (width, height)
    )
    if not ok:
        raise DatasetError(
            file,
            entry,
            f"width/height ({width!r}, {height!r}) must be positive numbers",
        )
    return int(width), int(height)


# ---------------------------------------------------------------- COCO JSON


def _coco_file(path: Path, split: str | None) -> Path:
    if path.is_file():
        return path
    candidates = sorted((path / "annotations").glob("*.json"))
    if split:
        candidates = [c for c in candidates if split in c.stem]
    if len(candidates) != 1:
        raise DatasetError(
            path / "annotations",
            None,
            f"expected one annotation .json{f' for split {split!r}' if split else ''},"
            f" found {len(candidates)}",
        )
    return candidates[0]


def _coco_image_root(file: Path, first_name: str | None, split: str | None) -> Path:
    base = file.parent.parent if file.parent.name == "annotations" else file.parent
    options = [base, base / "images"]
    if split:
        options += [base / split, base / "images" / split]
    options += sorted(p for p in base.iterdir() if p.is_dir())
    if first_name:
        for option in options:
            if (option / first_name).is_file():
                return option
    return base


def _require(d: dict, key: str, kind, file: Path, entry: str):
    if not isinstance(d, dict) or key not in d:
        raise DatasetError(file, entry, f"missing required field {key!r}")
    value = d[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DatasetError(file, entry, f"field {key!r} has the wrong type")
    return value


def load_coco(path: Path, split: str | None) -> Dataset:
    """COCO instances JSON. ``iscrowd``, ``area`` and ``segmentation`` are optional."""
    file = _coco_file(path, split)
    try:
        data = json.loads(file.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(file, None, f"not valid JSON ({exc})") from exc
    except RecursionError:
        raise DatasetError(file, None, "JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise DatasetError(file, None, "top level is not an object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(file, None, f"missing or invalid {key!r} list")

    categories = []
    for k, c in enumerate(data["categories"]):
        entry = f"categories[{k}]"
        cid = _require(c, "id", int, file, entry)
        categories.append(Category(cid, str(_require(c, "name", str, file, entry))))
    cat_ids = {c.id for c in categories}
    if len(cat_ids) != len(categories):
        raise DatasetError(file, "categories", "duplicate category ids")
    if len({c.name for c in categories}) != len(categories):
        # runs and checkpoints map classes by name
        raise DatasetError(file, "categories", "duplicate category names")

    images = []
    for k, im in enumerate(data["images"]):
        entry = f"images[{k}]"
        iid = _require(im, "id", int, file, entry)
        name = _relative_name(_require(im, "file_name", str, file, entry), file, entry)
        extent = _image_extent(im.get("width"), im.get("height"), file, entry)
        width, height = extent or (None, None)
        images.append((iid, name, width, height, entry))
    root = _coco_image_root(file, images[0][1] if images else None, split)
    records = []
    for iid, name, width, height, _entry in images:
        if width is None:
            width, height = _image_size(root / name, file)
        records.append(ImageRecord(iid, name, int(width), int(height)))
    by_id = {r.id: r for r in records}
    if len(by_id) != len(records):
        raise DatasetError(file, "images", "duplicate image ids")

    annotations, dropped = [], []
    for k, a in enumerate(data["annotations"]):
        entry = f"annotations[{k}]"
        aid = _require(a, "id", int, file, entry)
        image_id = _require(a, "image_id", int, file, entry)
        cid = _require(a, "category_id", int, file, entry)
        bbox = _require(a, "bbox", list, file, entry)
        if len(bbox) != 4 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in bbox
        ):
            raise DatasetError(file, entry, "bbox must be four numbers [x, y, w, h]")
        if image_id not in by_id:
            raise DatasetError(file, entry, f"image_id {image_id} is not in images")
        if cid not in cat_ids:
            raise DatasetError(file, entry, f"category_id {cid} is not in categories")
        image = by_id[image_id]
        box, reason = clip_box(tuple(float(v) for v in bbox), image.width, image.height)
        if box is None:
            dropped.append(DroppedEntry(str(file), entry, reason))
            continue
        crowd = a.get("iscrowd", 0)
        # COCO writes 0 or 1; anything else (e.g. "no") would silently turn a
        # box into an ignore region.
        if crowd not in (0, 1) or isinstance(crowd, float):
            raise DatasetError(file, entry, "iscrowd must be 0 or 1")
        annotations.append(GroundTruthBox(aid, image_id, cid, box, bool(crowd)))
    return Dataset(root, categories, records, annotations, dropped)


# ---------------------------------------------------------------- YOLO txt


def _yolo_names(root: Path) -> list[str]:
    classes = root / "classes.txt"
    if classes.is_file():
        return [ln.strip() for ln in classes.read_text().splitlines() if ln.strip()]
    for name in ("data.yaml", "dataset.yaml"):
        file = root / name
        if file.is_file():
            import yaml

            try:
                names = (yaml.safe_load(file.read_text()) or {}).get("names")
            except yaml.YAMLError as exc:
                raise DatasetError(file, None, f"malformed YAML ({exc})") from exc
            if isinstance(names, dict):
                names = [names[k] for k in sorted(names)]
            if isinstance(names, list) and names:
                return [str(n) for n in names]
            raise DatasetError(file, "names", "missing class list")
    raise DatasetError(root, None, "YOLO dataset needs classes.txt or data.yaml names")


def load_yolo(root: Path, split: str | None) -> Dataset:
    """YOLO: ``labels/*.txt`` rows ``class cx cy w h`` relative to the image size."""
    names = _yolo_names(root)
    image_dir, label_dir = root / "images", root / "labels"
    if split:
        image_dir, label_dir = image_dir / split, label_dir / split
        if not image_dir.is_dir():
            raise DatasetError(image_dir, None, f"split {split!r} not found")
    image_files = sorted(
        p for p in image_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
    )
    categories = [Category(i + 1, n) for i, n in enumerate(names)]
    images, annotations, dropped = [], [], []
    ann_id = 0
    for image_id, image_file in enumerate(image_files, start=1):
        width, height = _image_size(image_file, image_file)
        rel = image_file.relative_to(root).as_posix()
        images.append(ImageRecord(image_id, rel, width, height))
        label = label_dir / image_file.relative_to(image_dir).with_suffix(".txt")
        if not label.is_file():
            continue  # an image without a label file has no objects
        for line_no, line in enumerate(label.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            entry = f"line {line_no}"
            parts = line.split()
            if len(parts) < 5:
                raise DatasetError(label, entry, "expected 'class cx cy w h'")
            try:
                cls = int(parts[0])
                cx, cy, w, h = (float(v) for v in parts[1:5])
            except ValueError as exc:
                raise DatasetError(label, entry, "non-numeric value") from exc
            if not 0 <= cls < len(names):
                raise DatasetError(label, entry, f"class {cls} not in the class list")
            box = ((cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height)
            box, reason = clip_box(box, width, height)
            if box is None:
                dropped.append(DroppedEntry(str(label), entry, reason))
                continue
            ann_id += 1
            annotations.append(GroundTruthBox(ann_id, image_id, cls + 1, box))
    return Dataset(root, categories, images, annotations, dropped)
