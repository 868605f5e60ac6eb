"""The TIDE engine: AP, per-type error counts and dAP, and one row per error.

Plain numpy, no plotting, no global state; semantics of tidecv 1.0.1 (see
``errors`` for the labelling rules and ``oracles`` for dAP), without its crashes on
empty epochs or ground truth lacking segmentations.
"""

from .errors import ERROR_TYPES, SPECIAL_TYPES
from .export import CSV_COLUMNS, write_errors_csv
from .inputs import (
    DetectionsError,
    GroundTruth,
    GroundTruthError,
    TideInputError,
    load_ground_truth,
    load_json,
    parse_ground_truth,
)
from .result import BACKGROUND, ErrorRow, ErrorTable, TideResult
from .run import COCO_THRESHOLDS, evaluate, evaluate_files

__all__ = [
    "BACKGROUND",
    "COCO_THRESHOLDS",
    "CSV_COLUMNS",
    "ERROR_TYPES",
    "SPECIAL_TYPES",
    "DetectionsError",
    "ErrorRow",
    "ErrorTable",
    "GroundTruth",
    "GroundTruthError",
    "TideInputError",
    "TideResult",
    "evaluate",
    "evaluate_files",
    "load_ground_truth",
    "load_json",
    "parse_ground_truth",
    "write_errors_csv",
]
