"""Average precision per class, tidecv's (and COCO's) 101-point interpolation.

A class's points are its detections sorted by descending score; ties are broken by
an explicit key, because tidecv's AP depends on the order in which points were
pushed (image order for the plain AP; errors before true positives for every
oracle-fixed AP). A class enters the mean if it has a point or a ground-truth box;
a class without ground truth has AP 0. AP is in points (0-100).

tidecv reads the smoothed precision (the maximum precision at or after a point) at
the first point whose recall reaches r, for r = 0, 0.01, ..., 1. Recall only grows
at true positives and precision only rises there, so the value at level r is the
highest precision among the true positives from the m-th on, m being the smallest
count with m / n_gt >= r. Only true positives need visiting, and all classes are
handled at once.
"""

from __future__ import annotations

import numpy as np

# Recall levels 0.00, 0.01, ..., 1.00, computed as tidecv does (x / 100).
_RECALL_LEVELS = np.array([x / 100 for x in range(101)])


def _tp_counts_needed(n_gt: np.ndarray) -> np.ndarray:
    """(K, 101) smallest m >= 1 with m / n_gt >= level, in float64 as tidecv."""
    n = np.maximum(n_gt, 1).astype(np.float64)[:, None]
    m = np.maximum(np.ceil(_RECALL_LEVELS * n) - 2, 1)
    for _ in range(4):
        m = np.where(m / n >= _RECALL_LEVELS, m, m + 1)
    return m.astype(np.int64)


def sort_by_keys(keys: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Order of points by integer keys, most significant first, then by index.

    keys: (values, bound) pairs with 0 <= values < bound. The keys are packed into
    one int64 when they fit (an unstable sort of unique keys is the fastest numpy
    sort), else sorted lexicographically.
    """
    n = len(keys[0][0]) if keys else 0
    total = n
    for _, bound in keys:
        total *= max(bound, 1)
    if total < 2**62:
        packed = np.zeros(n, dtype=np.int64)
        for values, bound in keys:
            packed = packed * max(bound, 1) + values
        return np.argsort(packed * n + np.arange(n))
    return np.lexsort([np.arange(n)] + [v for v, _ in reversed(keys)])


def score_codes(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense integer codes of scores, 0 for the highest; equal scores share a code.

    Returns (codes (D,) int64, number of codes).
    """
    order = np.argsort(-score)
    ranked = score[order]
    new = np.ones(len(score), dtype=bool)
    new[1:] = ranked[1:] != ranked[:-1]
    codes = np.empty(len(score), dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return codes, int(new.sum())


class ClassAP:
    """Per-class AP for many point sets drawn from one set of detections.

    The detections are sorted once by (class, -score, tie key); a point set is a
    subset with its own TP flags and ground-truth counts, so each evaluation is a
    handful of linear passes.
    """

    def __init__(
        self,
        cls: np.ndarray,
        codes: tuple[np.ndarray, int],
        n_classes: int,
        late: np.ndarray | None = None,
    ) -> None:
        """cls: (D,) class index; codes: score_codes() of the scores; late: (D,)
        bool, points that rank after the others on equal scores. Remaining ties
        keep index order."""
        keys = [(cls, n_classes), codes]
        if late is not None:
            keys.append((late.astype(np.int64), 2))
        self.order = sort_by_keys(keys)
        self.position = np.empty(len(cls), dtype=np.int64)
        self.position[self.order] = np.arange(len(cls))
        self.sorted_cls = cls[self.order]
        self.bounds = np.searchsorted(self.sorted_cls, np.arange(n_classes + 1))
        self.n_classes = n_classes

    def evaluate(
        self, present: np.ndarray, tp: np.ndarray, n_gt: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """AP per class and whether each class counts in the mean.

        present, tp: (D,) bool per detection; n_gt: (K,) ground truth per class.
        Returns (aps (K,) float64 in AP points, counted (K,) bool).
        """
        k = self.n_classes
        cum = np.cumsum(present[self.order])
        before = np.r_[0, cum][self.bounds]
        counted = (np.diff(before) > 0) | (n_gt > 0)

        tp_pos = np.sort(self.position[np.flatnonzero(tp & present)])
        tp_cls = self.sorted_cls[tp_pos]
        tp_count = np.bincount(tp_cls, minlength=k)
        tp_start = np.cumsum(tp_count) - tp_count
        rank = cum[tp_pos] - before[tp_cls]  # 1-based place among the class's points
        m = np.arange(len(tp_pos)) - tp_start[tp_cls] + 1
        precision = np.r_[m / rank, 0.0]

        need = _tp_counts_needed(n_gt)  # (K, 101)
        valid = (need <= tp_count[:, None]) & (n_gt[:, None] > 0)
        end = (tp_start + tp_count)[:, None]
        starts = np.where(valid, tp_start[:, None] + need - 1, end)
        cuts = np.hstack([starts, end]).ravel()
        cuts = np.minimum(cuts, len(precision) - 1)
        peaks = np.maximum.reduceat(precision, cuts).reshape(k, 102)[:, :101]
        peaks = np.where(valid, peaks, 0.0)
        levels = np.maximum.accumulate(peaks[:, ::-1], axis=1)[:, ::-1]
        # Left-to-right sums, as tidecv's sum(), so results agree to the last bit.
        aps = np.cumsum(levels, axis=1)[:, -1] / 101 * 100
        return aps, counted


def perfect_precision_aps(n_tp: np.ndarray, n_gt: np.ndarray) -> np.ndarray:
    """(K,) AP when every class ranks all its true positives first; n_tp: (K,)."""
    levels = (_tp_counts_needed(n_gt) <= n_tp[:, None]) & (n_gt[:, None] > 0)
    return np.cumsum(levels.astype(np.float64), axis=1)[:, -1] / 101 * 100


def mean_ap(aps: np.ndarray, counted: np.ndarray) -> float:
    """Mean over counted classes; 0 when no class counts (an empty epoch)."""
    if not counted.any():
        return 0.0
    return float(aps[counted].sum() / counted.sum())
