"""The oracles behind dAP: AP recomputed with one kind of error fixed.

Point sets follow tidecv's ``fix_errors``: every false positive (ignored ones left
out) keeps its place unless the oracle fixes it, and true positives are added after
the errors, so on equal scores an error ranks before a true positive.

- Cls / Loc: the first error pointing at an unmatched box becomes a true positive
  (Cls moves it to the box's class); other errors of that type disappear.
- Both / Dupe / Bkg: their errors disappear.
- Miss: missed boxes leave the ground-truth count.
- FalsePos: every true positive scores 1, every false positive 0.
- FalseNeg: the ground-truth count drops to the number of true positives.
"""

from __future__ import annotations

import numpy as np

from .ap import ClassAP, perfect_precision_aps
from .errors import CLS, ERROR_TYPES, LOC, Labels


def oracle_aps(
    cls: np.ndarray,
    codes: tuple[np.ndarray, int],
    true_pos: np.ndarray,
    ignored: np.ndarray,
    labels: Labels,
    gt_cls: np.ndarray,
    n_gt: np.ndarray,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-class (aps, counted) for each main and special oracle.

    cls, true_pos, ignored: (D,) per canonical detection at pos_thresh;
    codes: score_codes() of the scores; gt_cls: (G,) class index of each box;
    n_gt: (K,) boxes per class.
    """
    n_classes = len(n_gt)
    ranking = ClassAP(cls, codes, n_classes, late=true_pos)
    false_pos = ~true_pos & ~ignored
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    for code, name in enumerate(ERROR_TYPES[:-1]):
        of_type = labels.det_type == code
        present = true_pos | (false_pos & ~of_type)
        if code not in (CLS, LOC):
            out[name] = ranking.evaluate(present, true_pos, n_gt)
            continue
        fixed = of_type & labels.fixable
        if code == LOC:
            out[name] = ranking.evaluate(present | fixed, true_pos | fixed, n_gt)
            continue
        moved = cls.copy()
        moved[fixed] = gt_cls[labels.det_gt[fixed]]
        moved_ranking = ClassAP(moved, codes, n_classes, late=true_pos)
        out[name] = moved_ranking.evaluate(present | fixed, true_pos | fixed, n_gt)

    present = true_pos | false_pos
    missed = np.bincount(gt_cls[labels.missed], minlength=n_classes)
    out["Miss"] = ranking.evaluate(present, true_pos, n_gt - missed)
    n_tp = np.bincount(cls[true_pos], minlength=n_classes)
    out["FalseNeg"] = ranking.evaluate(present, true_pos, n_tp)
    n_points = np.bincount(cls[present], minlength=n_classes)
    out["FalsePos"] = (perfect_precision_aps(n_tp, n_gt), (n_points > 0) | (n_gt > 0))
    return out
