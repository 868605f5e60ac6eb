"""evaluate(): one set of detections against one ground truth, end to end."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from .ap import ClassAP, mean_ap
from .errors import ERROR_TYPES, MISS, SPECIAL_TYPES, Labels, label_errors
from .inputs import (
    GroundTruth,
    load_json,
    parse_detections,
    parse_ground_truth,
)
from .matching import Matcher, canonical_order, crowd_ignored, overlaps, rank_in_image
from .oracles import oracle_aps
from .result import ErrorTable, TideResult

logger = logging.getLogger(__name__)

# The COCO IoU thresholds 0.50:0.05:0.95, written as tidecv writes them.
COCO_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def evaluate(
    gt: dict | GroundTruth,
    detections: list[dict] | dict,
    *,
    pos_thresh: float = 0.5,
    bg_thresh: float = 0.1,
    max_dets: int = 100,
    lenient: bool = False,
    gt_name: str = "ground truth",
    detections_name: str = "detections",
) -> TideResult:
    """TIDE for one set of detections, with tidecv 1.0.1's semantics.

    gt: COCO instances dict (boxes xywh px; ``iscrowd`` boxes are ignore regions)
    or an already parsed GroundTruth. detections: COCO results list, or a dict whose
    ``annotations`` carry ``score``. pos_thresh: IoU for a true positive;
    bg_thresh: IoU below which a false positive is background; max_dets: the
    highest-scored detections kept per image. Strict mode raises DetectionsError
    (GroundTruthError for the ground truth) naming the file by gt_name /
    detections_name, the entry and the reason; lenient mode skips bad detections.
    """
    if not 0 < pos_thresh <= 1 or not 0 <= bg_thresh <= pos_thresh:
        raise ValueError(
            "thresholds must satisfy 0 <= bg_thresh <= pos_thresh <= 1, pos_thresh > 0"
        )
    if max_dets < 1:
        raise ValueError("max_dets must be at least 1")
    started = time.perf_counter()
    truth = gt if isinstance(gt, GroundTruth) else parse_ground_truth(gt, gt_name)
    dets = parse_detections(detections, truth, detections_name, lenient)

    keep, codes = canonical_order(dets.img, dets.score, len(truth.image_ids), max_dets)
    img, cls, box = dets.img[keep], dets.cls[keep], dets.box[keep]
    score, index = dets.score[keep], dets.index[keep]
    n_dets, n_gt_boxes = len(img), len(truth.gt_img)
    n_classes = len(truth.category_ids)

    pairs = overlaps(img, box, truth.gt_start, truth.gt_count, truth.gt_box)
    same_class = cls[pairs.det] == truth.gt_cls[pairs.box]
    crowd = overlaps(
        img, box, truth.crowd_start, truth.crowd_count, truth.crowd_box, crowd=True
    )
    crowd_cls = truth.crowd_cls[crowd.box]
    # tidecv lets an ignore region of class -1 cover every class.
    crowd_ok = (cls[crowd.det] == crowd_cls) | (truth.category_ids[crowd_cls] == -1)

    thresholds = sorted(set(COCO_THRESHOLDS) | {pos_thresh})
    matcher = Matcher(pairs, same_class, rank_in_image(img), thresholds[0])
    n_gt = np.bincount(truth.gt_cls, minlength=n_classes)
    ranking = ClassAP(cls, codes, n_classes)
    ap_at = {}
    for thresh in thresholds:
        det_match, gt_match = matcher.match(thresh, n_dets, n_gt_boxes)
        ignored = crowd_ignored(crowd, crowd_ok, det_match, thresh)
        base = ranking.evaluate(~ignored, det_match >= 0, n_gt)
        ap_at[thresh] = mean_ap(*base)
        if thresh == pos_thresh:
            main = det_match, gt_match, ignored, base
    det_match, gt_match, ignored, base = main

    labels = label_errors(
        pairs,
        same_class,
        img,
        det_match,
        gt_match,
        truth.gt_start,
        truth.gt_count,
        pos_thresh,
        bg_thresh,
    )
    true_pos = det_match >= 0
    fixed = oracle_aps(cls, codes, true_pos, ignored, labels, truth.gt_cls, n_gt)
    ap = ap_at[pos_thresh]
    dap = {t: max(mean_ap(*fixed[t]) - ap, 0.0) for t in ERROR_TYPES}
    dap_special = {t: mean_ap(*fixed[t]) - ap for t in SPECIAL_TYPES}

    det_types = labels.det_type[labels.det_type >= 0]
    counts = np.bincount(det_types, minlength=len(ERROR_TYPES))
    counts[MISS] = int(labels.missed.sum())
    table = _error_table(truth, img, cls, box, score, index, labels)
    logger.debug(
        "tide.evaluated detections=%d errors=%d seconds=%.3f",
        n_dets,
        len(table),
        time.perf_counter() - started,
    )
    return TideResult(
        ap50=ap,
        ap50_95=sum(ap_at[t] for t in COCO_THRESHOLDS) / len(COCO_THRESHOLDS),
        dap=dap,
        dap_special=dap_special,
        counts={t: int(c) for t, c in zip(ERROR_TYPES, counts, strict=True)},
        table=table,
        skipped=dets.skipped,
        category_ids=truth.category_ids,
        class_aps={"base": base[0], **{k: v[0] for k, v in fixed.items()}},
        class_counted=base[1],
        true_positives=np.bincount(cls[true_pos], minlength=n_classes),
    )


def evaluate_files(
    gt_path: str | Path, detections_path: str | Path, **options
) -> TideResult:
    """evaluate() on two JSON files; error messages name the files."""
    gt = load_json(gt_path, "ground truth")
    detections = load_json(detections_path, "detections")
    return evaluate(
        gt,
        detections,
        gt_name=str(gt_path),
        detections_name=str(detections_path),
        **options,
    )


def _error_table(
    truth: GroundTruth, img, cls, box, score, index, labels: Labels
) -> ErrorTable:
    """Rows in tidecv's order: by image, detections by rank, then misses."""
    det = np.flatnonzero(labels.det_type >= 0)
    miss = np.flatnonzero(labels.missed)
    n_det, n_miss = len(det), len(miss)
    n = n_det + n_miss
    # Both lists are sorted by image already; merge them, misses after detections.
    miss_at = np.searchsorted(img[det], truth.gt_img[miss], side="right")
    miss_at += np.arange(n_miss)
    is_det = np.ones(n, dtype=bool)
    is_det[miss_at] = False
    det_at = np.flatnonzero(is_det)

    def column(det_values, miss_values, dtype, shape=()) -> np.ndarray:
        out = np.empty((n, *shape), dtype=dtype)
        out[det_at] = det_values
        out[miss_at] = miss_values
        return out

    det_gt = labels.det_gt[det]
    has_gt = column(det_gt >= 0, True, bool)
    gt_row = column(np.maximum(det_gt, 0), miss, np.int64)
    if len(truth.gt_id) == 0:
        gt_row[:] = 0
        gt_id = np.full(n, -1, dtype=np.int64)
        gt_bbox = np.full((n, 4), np.nan)
        gt_category_id = np.full(n, -1, dtype=np.int64)
    else:
        gt_id = truth.gt_id[gt_row]
        gt_bbox = truth.gt_box[gt_row]
        gt_bbox[~has_gt] = np.nan
        gt_category_id = truth.category_ids[truth.gt_cls[gt_row]]
    return ErrorTable(
        type=column(labels.det_type[det], MISS, np.int8),
        image_id=truth.image_ids[column(img[det], truth.gt_img[miss], np.int64)],
        has_pred=is_det,
        pred_index=column(index[det], -1, np.int64),
        pred_bbox=column(box[det], np.nan, np.float64, (4,)),
        pred_category_id=column(truth.category_ids[cls[det]], -1, np.int64),
        score=column(score[det], np.nan, np.float64),
        has_gt=has_gt,
        gt_id=gt_id,
        gt_bbox=gt_bbox,
        gt_category_id=gt_category_id,
        iou=column(labels.det_iou[det], np.nan, np.float64),
    )
