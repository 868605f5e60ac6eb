"""Per-error rows as CSV, one line per error, boxes as separate xywh columns."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from .result import ErrorTable, TideResult, paused_gc

CSV_COLUMNS = (
    "type",
    "image_id",
    "pred_index",
    "pred_x",
    "pred_y",
    "pred_w",
    "pred_h",
    "pred_category_id",
    "score",
    "gt_id",
    "gt_x",
    "gt_y",
    "gt_w",
    "gt_h",
    "gt_category_id",
    "iou",
)


def _cells(table: ErrorTable):
    """CSV cells per row: boxes spread over four columns, "" where absent."""
    blank = ("",) * 4
    (types, image, pred, pred_box, pred_cls, score, gt, gt_box, gt_cls, iou) = (
        table.columns(absent="")
    )
    pred_box = [box or blank for box in pred_box]
    gt_box = [box or blank for box in gt_box]
    for row in zip(
        types,
        image,
        pred,
        pred_box,
        pred_cls,
        score,
        gt,
        gt_box,
        gt_cls,
        iou,
        strict=True,
    ):
        yield (*row[:3], *row[3], *row[4:7], *row[7], *row[8:])


def write_errors_csv(result: TideResult, target: str | Path | TextIO) -> int:
    """Write one CSV line per error (header first); empty cells where a row has no
    prediction or no ground truth. Returns the number of rows written."""
    if isinstance(target, str | Path):
        with open(target, "w", newline="", encoding="utf-8") as handle:
            return write_errors_csv(result, handle)
    writer = csv.writer(target)
    writer.writerow(CSV_COLUMNS)
    with paused_gc():
        writer.writerows(_cells(result.table))
    return len(result.table)
