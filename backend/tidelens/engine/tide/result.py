"""What one TIDE evaluation returns: summary figures and one row per error."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .errors import BKG, BOTH, CLS, DUPE, ERROR_TYPES, LOC, MISS, SPECIAL_TYPES

BACKGROUND = "background"


# Not frozen: a frozen dataclass takes twice as long to build, which shows when
# an epoch has hundreds of thousands of errors.
@dataclass(slots=True)
class ErrorRow:
    """One TIDE error.

    Boxes are COCO xywh in pixels. Cls, Loc and Dupe rows carry the ground truth
    they were compared against (for a Dupe: the box its higher-scored twin
    matched), Both rows the box of highest IoU, Miss rows only the ground truth;
    Bkg rows have no ground truth and ``iou`` is their highest IoU with any box
    (0.0 on an image without ground truth). ``gt_id`` is the COCO annotation id.
    """

    type: str
    image_id: int
    pred_index: int | None
    pred_bbox: tuple[float, float, float, float] | None
    pred_category_id: int | None
    score: float | None
    gt_id: int | None
    gt_bbox: tuple[float, float, float, float] | None
    gt_category_id: int | None
    iou: float | None


@dataclass
class ErrorTable:
    """The error rows as columns, for bulk consumers (CSV, database inserts).

    type: (E,) int8 index into ERROR_TYPES. Absent values: has_pred / has_gt False,
    NaN in float columns.
    """

    type: np.ndarray
    image_id: np.ndarray
    has_pred: np.ndarray
    pred_index: np.ndarray
    pred_bbox: np.ndarray  # (E, 4) float64 xywh px
    pred_category_id: np.ndarray
    score: np.ndarray
    has_gt: np.ndarray
    gt_id: np.ndarray
    gt_bbox: np.ndarray  # (E, 4) float64 xywh px
    gt_category_id: np.ndarray
    iou: np.ndarray

    def __len__(self) -> int:
        return len(self.type)

    def columns(self, absent: object = None) -> tuple[list, ...]:
        """The ErrorRow fields as Python lists, ``absent`` for missing values."""
        types = np.array(ERROR_TYPES, dtype=object)[self.type]
        no_pred, no_gt = ~self.has_pred, ~self.has_gt
        return (
            types.tolist(),
            self.image_id.tolist(),
            _with(self.pred_index, no_pred, absent),
            _boxes(self.pred_bbox, no_pred, absent),
            _with(self.pred_category_id, no_pred, absent),
            _with(self.score, no_pred, absent),
            _with(self.gt_id, no_gt, absent),
            _boxes(self.gt_bbox, no_gt, absent),
            _with(self.gt_category_id, no_gt, absent),
            _with(self.iou, np.isnan(self.iou), absent),
        )

    def rows(self) -> Iterator[ErrorRow]:
        """The rows as ErrorRow objects (None for absent values)."""
        return map(ErrorRow, *self.columns())


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the cyclic garbage collector while building many small objects.

    The rows hold no cycles, but each automatic collection would walk every live
    object, the caller's detection dicts included; that doubled the time to build
    half a million rows. The previous state is restored.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _with(values: np.ndarray, missing: np.ndarray, absent: object) -> list:
    """values as Python scalars, ``absent`` where missing."""
    out = values.astype(object)
    out[missing] = absent
    return out.tolist()


def _boxes(boxes: np.ndarray, missing: np.ndarray, absent: object) -> list:
    """(E, 4) boxes as tuples of floats, ``absent`` where missing."""
    out = list(zip(*(boxes[:, k].tolist() for k in range(4)), strict=True))
    for i in np.flatnonzero(missing).tolist():
        out[i] = absent
    return out


@dataclass
class TideResult:
    """TIDE figures for one set of detections; AP and dAP in AP points (0-100).

    ``ap50`` is the AP at ``pos_thresh`` (AP50 with the default), ``ap50_95`` the
    mean AP over the IoU thresholds 0.50:0.05:0.95.
    """

    ap50: float
    ap50_95: float
    dap: dict[str, float]
    dap_special: dict[str, float]
    counts: dict[str, int]
    table: ErrorTable = field(repr=False)
    skipped: int = 0
    category_ids: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.int64), repr=False
    )
    # Per-class AP, keyed "base" and by oracle name; (K,) arrays over category_ids.
    class_aps: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    class_counted: np.ndarray = field(
        default_factory=lambda: np.zeros(0, bool), repr=False
    )
    true_positives: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.int64), repr=False
    )

    @cached_property
    def errors(self) -> list[ErrorRow]:
        """One ErrorRow per error, by image, detections before misses."""
        with paused_gc():
            return list(self.table.rows())

    def per_class_dap(self) -> dict[int, dict[str, float]]:
        """dAP per category id for the classes in the mean.

        Each value is that class's own AP gain when the oracle fixes the type;
        main types are clipped at 0 like the overall dAP, special ones are not.
        """
        base = self.class_aps.get("base")
        if base is None:
            return {}
        out: dict[int, dict[str, float]] = {}
        for k in np.flatnonzero(self.class_counted):
            gains = {}
            for name in ERROR_TYPES + SPECIAL_TYPES:
                gain = float(self.class_aps[name][k] - base[k])
                gains[name] = max(gain, 0.0) if name in ERROR_TYPES else gain
            out[int(self.category_ids[k])] = gains
        return out

    def confusion_matrix(self) -> tuple[list, np.ndarray]:
        """Rows: true label, columns: predicted label; last of each is background.

        True positives sit on the diagonal, Cls errors at (true class, predicted
        class), every other false positive (Loc, Both, Dupe, Bkg) in the background
        row and every Miss in the background column. Returns (labels, (K+1, K+1)
        int64 counts), labels being the category ids then "background".
        """
        ids = self.category_ids
        k = len(ids)
        matrix = np.zeros((k + 1, k + 1), dtype=np.int64)
        matrix[np.arange(k), np.arange(k)] = self.true_positives
        t = self.table
        pred = np.searchsorted(ids, t.pred_category_id)
        true = np.searchsorted(ids, t.gt_category_id)
        cls = t.type == CLS
        np.add.at(matrix, (true[cls], pred[cls]), 1)
        fp = np.isin(t.type, (LOC, BOTH, DUPE, BKG))
        np.add.at(matrix, (k, pred[fp]), 1)
        miss = t.type == MISS
        np.add.at(matrix, (true[miss], k), 1)
        return [*ids.tolist(), BACKGROUND], matrix
