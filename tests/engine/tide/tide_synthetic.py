"""Seeded synthetic ground truth and detections that exercise every TIDE case."""

from __future__ import annotations

import numpy as np


def make_set(
    seed: int,
    n_images: int = 30,
    n_classes: int = 5,
    max_gt: int = 6,
    crowd: bool = True,
    tie_scores: bool = False,
    many_dets: bool = False,
    degenerate: bool = False,
    extra_classes: bool = True,
) -> tuple[dict, list[dict]]:
    """A COCO ground truth dict and a COCO results list.

    Around each ground-truth box the detections include near-perfect boxes, poorly
    placed ones, wrong-class ones, duplicates and far-off ones; some boxes are
    missed, some images have no ground truth, some classes none either.
    """
    rng = np.random.default_rng(seed)
    n_cats = n_classes + (2 if extra_classes else 0)
    categories = [{"id": 10 + 3 * k, "name": f"c{k}"} for k in range(n_cats)]
    gt_cats = [c["id"] for c in categories[:n_classes]]
    all_cats = [c["id"] for c in categories]
    images, anns, dets = [], [], []
    ann_id = 1000

    def box_near(b, spread):
        x, y, w, h = b
        return [
            x + rng.normal(0, spread * w),
            y + rng.normal(0, spread * h),
            w * np.exp(rng.normal(0, spread)),
            h * np.exp(rng.normal(0, spread)),
        ]

    def score():
        s = float(rng.random())
        return round(s, 1) if tie_scores else s

    def det(image_id, cat, bbox):
        dets.append(
            {
                "image_id": image_id,
                "category_id": int(cat),
                "bbox": [float(v) for v in bbox],
                "score": score(),
            }
        )

    for i in range(n_images):
        image_id = 7 + 2 * i
        images.append(
            {
                "id": image_id,
                "file_name": f"{image_id}.jpg",
                "width": 640,
                "height": 480,
            }
        )
        n_gt = 0 if rng.random() < 0.15 else int(rng.integers(1, max_gt + 1))
        boxes = []
        for _ in range(n_gt):
            w, h = rng.uniform(10, 200, 2)
            b = [
                float(rng.uniform(0, 640 - w)),
                float(rng.uniform(0, 480 - h)),
                float(w),
                float(h),
            ]
            cat = int(rng.choice(gt_cats))
            is_crowd = crowd and rng.random() < 0.1
            anns.append(
                {
                    "id": ann_id,
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": b,
                    "area": b[2] * b[3],
                    "iscrowd": int(is_crowd),
                }
            )
            ann_id += 1
            boxes.append((b, cat, is_crowd))
        for b, cat, _ in boxes:
            kind = rng.choice(["tp", "loc", "cls", "dupe", "both", "miss", "inside"])
            if kind == "tp":
                det(image_id, cat, box_near(b, 0.03))
            elif kind == "loc":
                det(image_id, cat, box_near(b, 0.35))
            elif kind == "cls":
                det(image_id, rng.choice(all_cats), box_near(b, 0.05))
            elif kind == "dupe":
                for _ in range(int(rng.integers(2, 4))):
                    det(image_id, cat, box_near(b, 0.05))
            elif kind == "both":
                det(image_id, rng.choice(all_cats), box_near(b, 0.4))
            elif kind == "inside":
                x, y, w, h = b
                det(image_id, cat, [x + w / 4, y + h / 4, w / 3, h / 3])
        n_bg = int(rng.integers(0, 4)) + (
            int(rng.integers(80, 130)) if many_dets and rng.random() < 0.5 else 0
        )
        for _ in range(n_bg):
            w, h = rng.uniform(5, 150, 2)
            det(
                image_id,
                rng.choice(all_cats),
                [rng.uniform(0, 600), rng.uniform(0, 450), w, h],
            )
        if degenerate and boxes:
            b = boxes[0][0]
            det(image_id, boxes[0][1], [b[0], b[1], 0.0, b[3]])
            det(image_id, boxes[0][1], [b[0], b[1], -b[2], -b[3]])
            det(image_id, boxes[0][1], [b[0] + 1, b[1], b[2], 0.0])
            det(image_id, boxes[0][1], list(b))
    order = rng.permutation(len(dets))
    dets = [dets[k] for k in order]
    gt = {"images": images, "annotations": anns, "categories": categories}
    if degenerate and anns:
        anns[0]["bbox"] = [anns[0]["bbox"][0], anns[0]["bbox"][1], 0.0, 5.0]
    return gt, dets
