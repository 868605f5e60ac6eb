"""tidecv 1.0.1 as the oracle, driven through its internal API without side effects.

TIDE() would change matplotlib settings and create folders; TIDERun and Data do not.
"""

from __future__ import annotations

from tidelens.engine.tide import COCO_THRESHOLDS


def tidecv_data(gt: dict, detections: list[dict], max_dets: int = 100):
    """(gt Data, predictions Data) built box by box, like tidecv's COCO loaders
    but without needing segmentations."""
    from tidecv.data import Data

    truth = Data("gt", max_dets=max_dets)
    for cat in gt.get("categories", []):
        truth.add_class(cat["id"], cat.get("name", str(cat["id"])))
    for image in gt["images"]:
        truth.add_image(image["id"], image.get("file_name", str(image["id"])))
    for ann in gt["annotations"]:
        if ann.get("iscrowd"):
            truth.add_ignore_region(ann["image_id"], ann["category_id"], ann["bbox"])
        else:
            truth.add_ground_truth(ann["image_id"], ann["category_id"], ann["bbox"])
    preds = Data("detections")
    for det in detections:
        preds.add_detection(
            det["image_id"], det["category_id"], det["score"], det["bbox"]
        )
    return truth, preds


def tidecv_reference(
    truth, preds, pos_thresh=0.5, bg_thresh=0.1, max_dets=100, with_rows=True
) -> dict:
    """Figures (and error rows as (type, pred _id, gt _id)) computed by tidecv."""
    from tidecv.quantify import TIDERun

    run = TIDERun(truth, preds, pos_thresh, bg_thresh, "bbox", max_dets, True)
    rows = []
    for error in run.errors:
        name = error.short_name
        pred = error.pred["_id"] if hasattr(error, "pred") else None
        if name == "Dupe":
            gt = error.suppressor["matched_with"]
        elif name in ("Cls", "Loc", "Miss"):
            gt = error.gt["_id"]
        else:
            gt = None
        rows.append((name, pred, gt))
    main = {k.short_name: v for k, v in run.fix_main_errors().items()}
    special = {k.short_name: v for k, v in run.fix_special_errors().items()}
    counts = {k.short_name: v for k, v in run.count_errors().items()}
    ap = run.ap
    aps = [
        TIDERun(truth, preds, t, bg_thresh, "bbox", max_dets, False).ap
        for t in COCO_THRESHOLDS
    ]
    return {
        "ap50": ap,
        "ap50_95": sum(aps) / len(aps),
        "dap": main,
        "dap_special": special,
        "counts": counts,
        "rows": rows if with_rows else None,
    }
