"""Box overlaps and the greedy matching of detections to ground truth.

Detections arrive in canonical order: by image (ground-truth file order), then by
descending score, ties kept in the order the detections were given; only the first
``max_dets`` of each image are kept, as tidecv does with its image-wide cap.

Overlaps are held as sparse (detection, box) pairs with IoU > 0, detection-major
and box-ascending inside a detection, which is what the first-maximum rules below
rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ap import score_codes, sort_by_keys

# Pairs materialised at once while computing overlaps: small enough for the
# temporaries to stay in cache (measured faster than 1M-pair chunks), large enough
# to keep numpy's per-call overhead negligible.
_PAIR_CHUNK = 1 << 17


@dataclass
class Pairs:
    """Detection/box pairs with IoU > 0.

    ``det`` indexes canonical detections, ``box`` indexes the boxes (non-crowd
    ground truth or crowd regions), ``iou`` is pycocotools' box IoU (for crowd
    regions: intersection over the detection's area).
    """

    det: np.ndarray  # (P,) int32, non-decreasing
    box: np.ndarray  # (P,) int32
    iou: np.ndarray  # (P,) float64


def canonical_order(
    img: np.ndarray, score: np.ndarray, n_images: int, max_dets: int
) -> tuple[np.ndarray, tuple[np.ndarray, int]]:
    """Positions of the detections kept, in canonical order ((D',) int64), and the
    score_codes() of the kept detections."""
    codes, n_codes = score_codes(score)
    order = sort_by_keys([(img, n_images), (codes, n_codes)])
    keep = order[rank_in_image(img[order]) < max_dets]
    return keep, (codes[keep], n_codes)


def rank_in_image(img_sorted: np.ndarray) -> np.ndarray:
    """Rank of each detection inside its image (detections sorted by image)."""
    n = len(img_sorted)
    first = np.ones(n, dtype=bool)
    first[1:] = img_sorted[1:] != img_sorted[:-1]
    index = np.arange(n)
    return index - np.maximum.accumulate(np.where(first, index, 0))


def overlaps(
    det_img: np.ndarray,
    det_box: np.ndarray,
    box_start: np.ndarray,
    box_count: np.ndarray,
    boxes: np.ndarray,
    crowd: bool = False,
) -> Pairs:
    """IoU of every detection with every box of its image, kept where > 0.

    det_box and boxes are (N, 4) xywh px. The arithmetic follows pycocotools'
    ``bbIou`` operation by operation so that thresholds compare identically.
    """
    dx, dy, dw, dh = det_box.T
    dx2, dy2, darea = dw + dx, dh + dy, dw * dh
    gx, gy, gw, gh = boxes.T
    gx2, gy2, garea = gw + gx, gh + gy, gw * gh

    per_det = box_count[det_img]
    ends = np.cumsum(per_det)
    out_det, out_box, out_iou = [], [], []
    d0 = 0
    while d0 < len(det_img):
        base = ends[d0] - per_det[d0]
        d1 = int(np.searchsorted(ends, base + _PAIR_CHUNK, side="right"))
        d1 = max(d1, d0 + 1)
        counts = per_det[d0:d1]
        n = int(counts.sum())
        if n:
            # int32 indices halve the memory traffic of the per-pair passes.
            det = np.repeat(np.arange(d0, d1, dtype=np.int32), counts)
            offset = np.cumsum(counts) - counts - box_start[det_img[d0:d1]]
            box = np.arange(n, dtype=np.int32) - np.repeat(
                offset.astype(np.int32), counts
            )
            w = np.minimum(dx2[det], gx2[box]) - np.maximum(dx[det], gx[box])
            keep = w > 0
            det, box, w = det[keep], box[keep], w[keep]
            h = np.minimum(dy2[det], gy2[box]) - np.maximum(dy[det], gy[box])
            keep = h > 0
            det, box, w, h = det[keep], box[keep], w[keep], h[keep]
            inter = w * h
            union = darea[det] if crowd else darea[det] + garea[box] - inter
            out_det.append(det)
            out_box.append(box)
            out_iou.append(inter / union)
        d0 = d1
    if not out_det:
        return Pairs(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    return Pairs(
        np.concatenate(out_det), np.concatenate(out_box), np.concatenate(out_iou)
    )


class Matcher:
    """Greedy matching at any IoU threshold, sharing the sorting work.

    Each detection, in descending score inside its image, takes the unused
    same-class box with the highest IoU (the first such box on ties) if that IoU
    reaches the threshold. Detections of the same rank in different images cannot
    compete for a box, so all images advance one rank per step.
    """

    def __init__(
        self, pairs: Pairs, same_class: np.ndarray, rank: np.ndarray, min_thresh: float
    ) -> None:
        cand = np.flatnonzero(same_class & (pairs.iou >= min_thresh))
        det, box, iou = pairs.det[cand], pairs.box[cand], pairs.iou[cand]
        # Inside a detection: highest IoU first, then lowest box index.
        order = np.lexsort((box, -iou, det))
        det, box, iou = det[order], box[order], iou[order]
        rank_of_pair = rank[det]
        small = np.int16 if rank_of_pair.max(initial=0) < 2**15 else np.int64
        order = np.argsort(rank_of_pair.astype(small), kind="stable")
        self.det, self.box, self.iou = det[order], box[order], iou[order]
        self.rank = rank_of_pair[order]

    def match(self, thresh: float, n_dets: int, n_boxes: int) -> tuple:
        """Return (det_match, box_match): matched box per detection and matched
        detection per box, -1 where unmatched; shapes (n_dets,), (n_boxes,)."""
        det_match = np.full(n_dets, -1, dtype=np.int64)
        box_match = np.full(n_boxes, -1, dtype=np.int64)
        keep = self.iou >= thresh
        det, box, rank = self.det[keep], self.box[keep], self.rank[keep]
        if len(det) == 0:
            return det_match, box_match
        taken = np.zeros(n_boxes, dtype=bool)
        bounds = np.flatnonzero(np.diff(rank)) + 1
        for s, e in zip(np.r_[0, bounds], np.r_[bounds, len(det)], strict=True):
            d, b = det[s:e], box[s:e]
            free = ~taken[b]
            d, b = d[free], b[free]
            if len(d) == 0:
                continue
            first = np.ones(len(d), dtype=bool)
            first[1:] = d[1:] != d[:-1]
            d, b = d[first], b[first]
            taken[b] = True
            det_match[d] = b
            box_match[b] = d
        return det_match, box_match


def crowd_ignored(
    crowd: Pairs, crowd_ok: np.ndarray, det_match: np.ndarray, thresh: float
) -> np.ndarray:
    """Unmatched detections inside a crowd region of their class; shape (D,) bool.

    A detection is ignored when its crowd IoU exceeds the threshold (strictly, as in
    tidecv) for a crowd region of the same class.
    """
    ignored = np.zeros(len(det_match), dtype=bool)
    hit = crowd_ok & (crowd.iou > thresh)
    hit_det = crowd.det[hit]
    ignored[hit_det[det_match[hit_det] < 0]] = True
    return ignored
