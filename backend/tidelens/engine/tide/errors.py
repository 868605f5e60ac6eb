"""Labelling of false positives and missed ground truth, tidecv's rules.

An unmatched detection (ignored ones included, as in tidecv) is tested in this
order and takes the first label that applies:

1. its image has no (non-crowd) ground truth: **Bkg**;
2. highest same-class IoU within [bg, pos] (inclusive): **Loc**, against that box;
3. highest other-class IoU >= pos: **Cls**, against that box;
4. highest IoU with a matched same-class box >= pos: **Dupe**, against that box;
5. highest IoU with any box <= bg: **Bkg**;
6. otherwise **Both**.

"Highest" takes the first box of the image on ties and the image's first box when
every IoU is 0, as numpy's argmax over a dense row does. A ground-truth box that
no detection matched is a **Miss** unless a Cls or Loc error points at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .matching import Pairs

ERROR_TYPES = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")
SPECIAL_TYPES = ("FalsePos", "FalseNeg")
CLS, LOC, BOTH, DUPE, BKG, MISS = range(6)


@dataclass
class Labels:
    """Error label of every canonical detection and every ground-truth box."""

    det_type: np.ndarray  # (D,) int8, -1 for true positives
    det_gt: np.ndarray  # (D,) int64 box compared against, -1 if none
    det_iou: np.ndarray  # (D,) float64 IoU with det_gt (max IoU for Bkg)
    fixable: np.ndarray  # (D,) bool: Cls/Loc error that an oracle turns into a TP
    missed: np.ndarray  # (G,) bool: Miss errors


class _Segments:
    """Runs of pairs that belong to one detection (pairs sorted by detection)."""

    def __init__(self, det: np.ndarray, n_dets: int) -> None:
        new = np.ones(len(det), dtype=bool)
        new[1:] = det[1:] != det[:-1]
        self.starts = np.flatnonzero(new)
        self.lengths = np.diff(np.r_[self.starts, len(det)])
        self.det = det[self.starts]
        self.n_dets = n_dets

    def first_max(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per detection: the highest value (0 if none is positive) and the pair
        index of its first occurrence (-1 if none). values: (P,) >= 0."""
        best = np.zeros(self.n_dets)
        arg = np.full(self.n_dets, -1, dtype=np.int64)
        if len(self.starts) == 0:
            return best, arg
        seg_max = np.maximum.reduceat(values, self.starts)
        hit = np.flatnonzero(values == np.repeat(seg_max, self.lengths))
        # Every segment holds its maximum, so its first hit is the first hit at
        # or after its start.
        first_hit = hit[np.searchsorted(hit, self.starts)]
        positive = seg_max > 0
        best[self.det] = seg_max
        arg[self.det[positive]] = first_hit[positive]
        return best, arg


def label_errors(
    pairs: Pairs,
    same_class: np.ndarray,
    det_img: np.ndarray,
    det_match: np.ndarray,
    gt_match: np.ndarray,
    gt_start: np.ndarray,
    gt_count: np.ndarray,
    pos_thresh: float,
    bg_thresh: float,
) -> Labels:
    """Label every unmatched detection and every unmatched ground-truth box.

    pairs: detection/ground-truth pairs with IoU > 0; det_match (D,) and gt_match
    (G,) are the matching at pos_thresh.
    """
    n_dets, n_gt = len(det_match), len(gt_match)
    open_pair = det_match[pairs.det] < 0
    det, box = pairs.det[open_pair], pairs.box[open_pair]
    iou, same = pairs.iou[open_pair], same_class[open_pair]
    used = gt_match[box] >= 0

    segments = _Segments(det, n_dets)
    m_loc, a_loc = segments.first_max(np.where(same, iou, 0.0))
    m_cls, a_cls = segments.first_max(np.where(same, 0.0, iou))
    m_dup, a_dup = segments.first_max(np.where(same & used, iou, 0.0))
    # The best box overall is the better of the best same-class and the best
    # other-class box, the earlier one on a tie.
    m_all = np.maximum(m_loc, m_cls)
    a_all = np.where(
        m_loc > m_cls,
        a_loc,
        np.where(m_cls > m_loc, a_cls, np.minimum(a_loc, a_cls)),
    )
    first_box = gt_start[det_img]

    def gt_of(arg: np.ndarray) -> np.ndarray:
        return np.where(
            arg >= 0, box[np.maximum(arg, 0)] if len(box) else -1, first_box
        )

    unmatched = det_match < 0
    no_gt = gt_count[det_img] == 0
    conditions = [
        no_gt,
        (bg_thresh <= m_loc) & (m_loc <= pos_thresh),
        m_cls >= pos_thresh,
        m_dup >= pos_thresh,
        m_all <= bg_thresh,
    ]
    det_type = np.select(conditions, [BKG, LOC, CLS, DUPE, BKG], default=BOTH)
    det_type = np.where(unmatched, det_type, -1).astype(np.int8)
    det_gt = np.select(
        [det_type == LOC, det_type == CLS, det_type == DUPE, det_type == BOTH],
        [gt_of(a_loc), gt_of(a_cls), gt_of(a_dup), gt_of(a_all)],
        default=-1,
    )
    det_iou = np.select(
        [det_type == LOC, det_type == CLS, det_type == DUPE],
        [m_loc, m_cls, m_dup],
        default=m_all,
    )
    det_iou[det_type < 0] = np.nan

    # An oracle fixing Cls/Loc turns into a TP, per unmatched box, only the first
    # (highest-scored) such error pointing at it; the others are suppressed.
    pointing = np.flatnonzero((det_type == CLS) | (det_type == LOC))
    pointing = pointing[gt_match[det_gt[pointing]] < 0]
    targets, first = np.unique(det_gt[pointing], return_index=True)
    fixable = np.zeros(n_dets, dtype=bool)
    fixable[pointing[first]] = True
    usable = np.zeros(n_gt, dtype=bool)
    usable[targets] = True
    missed = (gt_match < 0) & ~usable
    return Labels(det_type, det_gt, det_iou, fixable, missed)
