"""Ground truth and detections as validated column arrays.

Both inputs arrive as parsed JSON: a COCO instances dict for the ground truth, and
either a COCO results list (``image_id``, ``category_id``, ``bbox``, ``score``) or a
COCO-style dict whose ``annotations`` carry a ``score`` for the detections. Boxes
are COCO xywh in pixels throughout.

Conversion takes a fast vectorised path when every entry is well formed and falls
back to a per-entry check only to name what is wrong (or, in lenient mode, to find
what to skip).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from numbers import Integral, Real
from operator import itemgetter
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_DET_KEYS = ("image_id", "category_id", "bbox", "score")


class TideInputError(ValueError):
    """Input the TIDE engine cannot use; the message names file, entry and reason."""


class DetectionsError(TideInputError):
    """Detections that do not fit the ground truth or are malformed."""


class GroundTruthError(TideInputError):
    """A ground-truth file that is not a usable COCO instances dict."""


@dataclass
class GroundTruth:
    """COCO ground truth as arrays, ordered as the TIDE matching needs them.

    Non-crowd boxes are sorted by image (in the order of ``images``) and keep the
    file order inside an image; crowd boxes (``iscrowd``) are kept apart as ignore
    regions. ``*_img`` hold image positions (0..n_images-1), not COCO image ids.
    """

    image_ids: np.ndarray  # (I,) int64 COCO image ids in file order
    category_ids: np.ndarray  # (K,) int64 sorted known category ids
    gt_img: np.ndarray  # (G,) int64 image position of each non-crowd box
    gt_cls: np.ndarray  # (G,) int64 category index (into category_ids)
    gt_box: np.ndarray  # (G, 4) float64 xywh px
    gt_id: np.ndarray  # (G,) int64 COCO annotation id
    crowd_img: np.ndarray  # (C,) int64
    crowd_cls: np.ndarray  # (C,) int64 category index
    crowd_box: np.ndarray  # (C, 4) float64 xywh px
    gt_start: np.ndarray  # (I,) first non-crowd box of each image
    gt_count: np.ndarray  # (I,) number of non-crowd boxes of each image
    crowd_start: np.ndarray  # (I,)
    crowd_count: np.ndarray  # (I,)

    def image_positions(self, ids: np.ndarray) -> np.ndarray:
        """Image positions of COCO image ids; -1 where the id is unknown."""
        return _lookup(self._image_sorted, self._image_order, ids)

    def category_positions(self, ids: np.ndarray) -> np.ndarray:
        """Category indices of COCO category ids; -1 where the id is unknown."""
        return _lookup(self.category_ids, np.arange(len(self.category_ids)), ids)

    def __post_init__(self) -> None:
        self._image_order = np.argsort(self.image_ids, kind="stable")
        self._image_sorted = self.image_ids[self._image_order]


@dataclass
class Detections:
    """Valid detections as arrays; ``index`` is the position in the list as given."""

    img: np.ndarray  # (D,) int64 image position
    cls: np.ndarray  # (D,) int64 category index
    box: np.ndarray  # (D, 4) float64 xywh px
    score: np.ndarray  # (D,) float64
    index: np.ndarray  # (D,) int64
    skipped: int = 0


def load_json(path: str | Path, what: str) -> object:
    """Read a JSON file, turning I/O and syntax errors into a TideInputError."""
    error = GroundTruthError if what == "ground truth" else DetectionsError
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: {what} file is not valid JSON: {exc}") from None


def load_ground_truth(path: str | Path) -> GroundTruth:
    """Read and validate a COCO ground-truth file once, for several evaluations."""
    return parse_ground_truth(load_json(path, "ground truth"), str(path))


def _lookup(sorted_ids: np.ndarray, values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, len(sorted_ids) - 1)
    found = sorted_ids[pos] == ids
    return np.where(found, values[pos], -1).astype(np.int64)


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _is_box(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 4
        and all(_is_number(v) for v in value)
    )


def _short(value: object) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _int_column(values: list) -> np.ndarray | None:
    if not values:
        return np.zeros(0, np.int64)
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):
        return None
    if array.shape != (len(values),) or array.dtype.kind not in "iu":
        return None
    return array.astype(np.int64)


def _float_column(values: list, shape: tuple) -> np.ndarray | None:
    if not values:
        return np.zeros(shape)
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):
        return None
    if array.shape != shape or array.dtype.kind not in "iuf":
        return None
    array = array.astype(np.float64)
    return array if np.isfinite(array).all() else None


def parse_ground_truth(gt: object, name: str = "ground truth") -> GroundTruth:
    """Validate a COCO instances dict and turn it into a GroundTruth.

    Annotations need ``image_id`` (an image of ``images``), ``category_id`` and a
    ``bbox`` of 4 finite numbers; ``segmentation`` is not needed, ``iscrowd`` and
    ``id`` are optional (a missing id becomes the annotation's list position).
    """
    if not isinstance(gt, dict):
        raise GroundTruthError(f"{name}: expected a COCO instances object")
    for key in ("images", "annotations"):
        if not isinstance(gt.get(key), list):
            raise GroundTruthError(f"{name}: '{key}' must be a list")
    images, anns = gt["images"], gt["annotations"]

    image_ids = _int_column(
        [im.get("id") if isinstance(im, dict) else None for im in images]
    )
    if image_ids is None:
        for i, im in enumerate(images):
            if not isinstance(im, dict) or not _is_int(im.get("id")):
                raise GroundTruthError(f"{name}: images[{i}]: id must be an integer")
    if len(np.unique(image_ids)) != len(image_ids):
        ids, counts = np.unique(image_ids, return_counts=True)
        raise GroundTruthError(
            f"{name}: image id {int(ids[counts > 1][0])} appears more than once"
        )

    cats = gt.get("categories") or []
    cat_ids = [c.get("id") for c in cats if isinstance(c, dict)]
    if not all(_is_int(c) for c in cat_ids):
        raise GroundTruthError(f"{name}: every category needs an integer id")

    ann_image = ann_cat = ann_box = None
    if all(isinstance(a, dict) for a in anns):
        try:
            ann_image = _int_column([a["image_id"] for a in anns])
            ann_cat = _int_column([a["category_id"] for a in anns])
            ann_box = _float_column([a["bbox"] for a in anns], (len(anns), 4))
        except KeyError:
            pass
    if ann_image is None or ann_cat is None or ann_box is None:
        _raise_first_bad_annotation(anns, name)

    category_ids = np.unique(np.concatenate([np.array(cat_ids, np.int64), ann_cat]))
    out = GroundTruth(
        image_ids=image_ids,
        category_ids=category_ids,
        **{k: np.zeros(0, np.int64) for k in ("gt_img", "gt_cls", "gt_id")},
        gt_box=np.zeros((0, 4)),
        **{k: np.zeros(0, np.int64) for k in ("crowd_img", "crowd_cls")},
        crowd_box=np.zeros((0, 4)),
        **{
            k: np.zeros(0, np.int64)
            for k in ("gt_start", "gt_count", "crowd_start", "crowd_count")
        },
    )
    ann_img = out.image_positions(ann_image)
    if (ann_img < 0).any():
        i = int(np.flatnonzero(ann_img < 0)[0])
        raise GroundTruthError(
            f"{name}: annotations[{i}]: image_id {int(ann_image[i])} is not in 'images'"
        )
    ann_cls = out.category_positions(ann_cat)
    ann_id = _int_column([a.get("id") for a in anns])
    if ann_id is None:
        ann_id = np.array(
            [a["id"] if _is_int(a.get("id")) else i for i, a in enumerate(anns)],
            dtype=np.int64,
        )
    crowd = np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool)

    n_images = len(image_ids)
    for prefix, mask in (("gt", ~crowd), ("crowd", crowd)):
        # Stable sort by image keeps the file order inside an image, as tidecv does.
        order = np.flatnonzero(mask)
        order = order[np.argsort(ann_img[order], kind="stable")]
        img = ann_img[order]
        count = np.bincount(img, minlength=n_images).astype(np.int64)
        setattr(out, f"{prefix}_img", img)
        setattr(out, f"{prefix}_cls", ann_cls[order])
        setattr(out, f"{prefix}_box", ann_box[order])
        setattr(out, f"{prefix}_count", count)
        setattr(out, f"{prefix}_start", np.cumsum(count) - count)
        if prefix == "gt":
            out.gt_id = ann_id[order]
    return out


def _raise_first_bad_annotation(anns: list, name: str) -> None:
    for i, ann in enumerate(anns):
        where = f"{name}: annotations[{i}]"
        if not isinstance(ann, dict):
            raise GroundTruthError(f"{where}: is not an object")
        for key in ("image_id", "category_id"):
            if not _is_int(ann.get(key)):
                raise GroundTruthError(
                    f"{where}: {key} must be an integer, got {_short(ann.get(key))}"
                )
        if not _is_box(ann.get("bbox")):
            raise GroundTruthError(
                f"{where}: bbox must be 4 finite numbers [x, y, w, h], "
                f"got {_short(ann.get('bbox'))}"
            )
    raise GroundTruthError(f"{name}: annotations could not be read")


def _detection_problem(
    entry: object, gt: GroundTruth, known_images: set, known_cats: set
) -> str | None:
    """Why one detection is unusable, or None when it is fine."""
    if not isinstance(entry, dict):
        return "is not an object"
    for key in _DET_KEYS:
        if key not in entry:
            return f"has no '{key}'"
    image_id, cat_id = entry["image_id"], entry["category_id"]
    if not _is_int(image_id):
        return f"image_id must be an integer, got {_short(image_id)}"
    if int(image_id) not in known_images:
        return f"image_id {image_id} is not an image of the ground truth"
    if not _is_int(cat_id):
        return f"category_id must be an integer, got {_short(cat_id)}"
    if int(cat_id) not in known_cats:
        return f"category_id {cat_id} is not a category of the ground truth"
    if not _is_box(entry["bbox"]):
        got = _short(entry["bbox"])
        return f"bbox must be 4 finite numbers [x, y, w, h], got {got}"
    if not _is_number(entry["score"]):
        return f"score must be a finite number, got {_short(entry['score'])}"
    return None


def _fast_columns(entries: list, gt: GroundTruth) -> tuple | None:
    """All columns at numpy speed, or None if any entry needs a closer look."""
    n = len(entries)
    try:
        image_ids = _int_column(list(map(itemgetter("image_id"), entries)))
        cat_ids = _int_column(list(map(itemgetter("category_id"), entries)))
        boxes = _float_column(list(map(itemgetter("bbox"), entries)), (n, 4))
        scores = _float_column(list(map(itemgetter("score"), entries)), (n,))
    except (KeyError, TypeError, IndexError):
        return None
    if image_ids is None or cat_ids is None or boxes is None or scores is None:
        return None
    img = gt.image_positions(image_ids)
    cls = gt.category_positions(cat_ids)
    if (img < 0).any() or (cls < 0).any():
        return None
    return img, cls, boxes, scores


def parse_detections(
    detections: object,
    gt: GroundTruth,
    name: str = "detections",
    lenient: bool = False,
) -> Detections:
    """Validate detections against the ground truth.

    Strict mode raises DetectionsError naming the first bad entry (its index in the
    list as given) and how many others are bad; lenient mode drops bad entries and
    counts them in ``skipped``.
    """
    if isinstance(detections, dict):
        entries = detections.get("annotations")
        if not isinstance(entries, list):
            raise DetectionsError(
                f"{name}: expected a COCO results list or an object with "
                "an 'annotations' list"
            )
    elif isinstance(detections, list):
        entries = detections
    else:
        raise DetectionsError(f"{name}: expected a COCO results list")

    columns = _fast_columns(entries, gt)
    if columns is not None:
        img, cls, boxes, scores = columns
        return Detections(img, cls, boxes, scores, np.arange(len(entries)))

    known_images = set(gt.image_ids.tolist())
    known_cats = set(gt.category_ids.tolist())
    problems = [
        (i, p)
        for i, e in enumerate(entries)
        if (p := _detection_problem(e, gt, known_images, known_cats)) is not None
    ]
    if problems and not lenient:
        i, problem = problems[0]
        more = len(problems) - 1
        tail = f" ({more} more invalid entries; --lenient skips them)" if more else ""
        raise DetectionsError(f"{name}: entry {i}: {problem}{tail}")
    for i, problem in problems[:5]:
        logger.warning(
            "tide.detection_skipped file=%s entry=%d reason=%s", name, i, problem
        )
    bad = {i for i, _ in problems}
    keep = [i for i in range(len(entries)) if i not in bad]
    kept = [entries[i] for i in keep]
    columns = _fast_columns(kept, gt) if kept else None
    if columns is None:
        columns = (
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros((0, 4)),
            np.zeros(0),
        )
    img, cls, boxes, scores = columns
    return Detections(
        img, cls, boxes, scores, np.array(keep, dtype=np.int64), skipped=len(problems)
    )
