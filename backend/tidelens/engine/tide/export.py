"""Per-error rows as CSV, one line per error, boxes as separate xywh columns."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TextIO

from .result import ErrorTable, TideResult

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
    for row in table.rows():
        pred_box = row.pred_bbox or ("",) * 4
        gt_box = row.gt_bbox or ("",) * 4
        yield (
            row.type,
            row.image_id,
            _blank(row.pred_index),
            *pred_box,
            _blank(row.pred_category_id),
            _blank(row.score),
            _blank(row.gt_id),
            *gt_box,
            _blank(row.gt_category_id),
            _blank(row.iou),
        )


def _blank(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


def write_errors_csv(result: TideResult, target: str | Path | TextIO) -> int:
    """Write one CSV line per error (header first); empty cells where a row has no
    prediction or no ground truth. Returns the number of rows written."""
    if isinstance(target, str | Path):
        with open(target, "w", newline="", encoding="utf-8") as handle:
            return write_errors_csv(result, handle)
    writer = csv.writer(target)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_cells(result.table))
    return len(result.table)
