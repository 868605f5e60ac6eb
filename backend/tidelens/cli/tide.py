"""`tidelens tide GT.json DETECTIONS.json`: TIDE figures for one detections file."""

from __future__ import annotations

import argparse
import json
import sys

from tidelens.engine.tide import (
    ERROR_TYPES,
    SPECIAL_TYPES,
    TideInputError,
    TideResult,
    evaluate_files,
    write_errors_csv,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tide",
        help="TIDE errors of one detections file against a COCO ground truth",
        description=(
            "AP50, AP50:95, count and dAP of each TIDE error type (Cls, Loc, Both, "
            "Dupe, Bkg, Miss) and the FalsePos / FalseNeg oracles, in AP points."
        ),
    )
    parser.add_argument("gt", metavar="GT.json", help="COCO instances ground truth")
    parser.add_argument(
        "detections",
        metavar="DETECTIONS.json",
        help="COCO results list, or a COCO dict whose annotations carry 'score'",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    parser.add_argument(
        "--errors", metavar="FILE.csv", help="write one CSV row per error"
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="skip invalid detections (and say how many) instead of refusing the file",
    )
    parser.add_argument(
        "--pos-thresh",
        type=float,
        default=0.5,
        help="IoU of a true positive (default 0.5)",
    )
    parser.add_argument(
        "--bg-thresh",
        type=float,
        default=0.1,
        help="IoU below which an error is background (default 0.1)",
    )
    parser.add_argument(
        "--max-dets",
        type=int,
        default=100,
        help="detections kept per image, highest scores first",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = evaluate_files(
            args.gt,
            args.detections,
            pos_thresh=args.pos_thresh,
            bg_thresh=args.bg_thresh,
            max_dets=args.max_dets,
            lenient=args.lenient,
        )
        if args.errors:
            write_errors_csv(result, args.errors)
    except TideInputError as exc:
        print(f"tidelens tide: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"tidelens tide: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"tidelens tide: cannot write {args.errors}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    if args.json:
        print(json.dumps(summary(result)))
    else:
        print(table(result))
    if result.skipped:
        print(
            f"tidelens tide: skipped {result.skipped} invalid detections",
            file=sys.stderr,
        )
    return 0


def summary(result: TideResult) -> dict:
    """The figures as one JSON-ready dict, AP and dAP in AP points."""
    return {
        "ap50": result.ap50,
        "ap50_95": result.ap50_95,
        "dap": {t: result.dap[t] for t in ERROR_TYPES},
        "dap_special": {t: result.dap_special[t] for t in SPECIAL_TYPES},
        "counts": {t: result.counts[t] for t in ERROR_TYPES},
    }


def table(result: TideResult) -> str:
    width = 8
    lines = [
        f"AP50 {result.ap50:.2f}   AP50:95 {result.ap50_95:.2f}",
        "",
        "Main errors".ljust(10) + "".join(t.rjust(width) for t in ERROR_TYPES),
        "  dAP".ljust(10) + "".join(f"{result.dap[t]:{width}.2f}" for t in ERROR_TYPES),
        "  count".ljust(10)
        + "".join(f"{result.counts[t]:{width}d}" for t in ERROR_TYPES),
        "",
        "Special".ljust(10) + "".join(t.rjust(10) for t in SPECIAL_TYPES),
        "  dAP".ljust(10)
        + "".join(f"{result.dap_special[t]:10.2f}" for t in SPECIAL_TYPES),
    ]
    if result.skipped:
        lines += ["", f"{result.skipped} invalid detections skipped (--lenient)"]
    return "\n".join(lines)
