"""Real ground truth: coco128 with perturbed detections, against tidecv's own
COCO loaders (which need the segmentations coco128 has)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tide_reference import tidecv_reference
from tidelens.engine.tide import evaluate_files


def perturbed_detections(gt: dict, seed: int) -> list[dict]:
    """A detector's worth of mistakes on real boxes: jitter, wrong classes, copies,
    misses, background boxes, tied scores."""
    rng = np.random.default_rng(seed)
    cat_ids = [c["id"] for c in gt["categories"]]
    sizes = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
    dets = []
    for ann in gt["annotations"]:
        if rng.random() < 0.15:
            continue
        x, y, w, h = ann["bbox"]
        for _ in range(1 + int(rng.random() < 0.2)):
            spread = rng.choice([0.02, 0.1, 0.4])
            box = [
                x + rng.normal(0, spread * w),
                y + rng.normal(0, spread * h),
                w * np.exp(rng.normal(0, spread)),
                h * np.exp(rng.normal(0, spread)),
            ]
            cat = ann["category_id"] if rng.random() < 0.8 else int(rng.choice(cat_ids))
            dets.append(
                {
                    "image_id": ann["image_id"],
                    "category_id": int(cat),
                    "bbox": [float(v) for v in box],
                    "score": round(float(rng.random()), 2),
                }
            )
    for image_id, (width, height) in sizes.items():
        for _ in range(int(rng.integers(0, 6))):
            w, h = rng.uniform(5, width / 3), rng.uniform(5, height / 3)
            dets.append(
                {
                    "image_id": image_id,
                    "category_id": int(rng.choice(cat_ids)),
                    "bbox": [
                        float(rng.uniform(0, width - w)),
                        float(rng.uniform(0, height - h)),
                        float(w),
                        float(h),
                    ],
                    "score": round(float(rng.random()), 2),
                }
            )
    return dets


@pytest.mark.parametrize("seed", [0, 1])
def test_coco128_matches_tidecv(coco128_root, tmp_path, seed):
    from tidecv import datasets

    gt_path = coco128_root / "annotations" / "instances_val2017.json"
    gt = json.loads(gt_path.read_text())
    assert any(a["iscrowd"] for a in gt["annotations"])
    det_path = tmp_path / "detections.json"
    det_path.write_text(json.dumps(perturbed_detections(gt, seed)))

    ref = tidecv_reference(
        datasets.COCO(str(gt_path)), datasets.COCOResult(str(det_path)), with_rows=False
    )
    ours = evaluate_files(gt_path, det_path)
    assert ours.counts == ref["counts"]
    assert ours.ap50 == pytest.approx(ref["ap50"], abs=1e-6)
    assert ours.ap50_95 == pytest.approx(ref["ap50_95"], abs=1e-6)
    for name, value in {**ref["dap"], **ref["dap_special"]}.items():
        got = ours.dap.get(name, ours.dap_special.get(name))
        assert got == pytest.approx(value, abs=1e-6), name
