"""TideLens's TIDE engine against tidecv 1.0.1 on a COCO-val-sized synthetic set.

5,000 images, ~7 ground-truth boxes and ~100 detections per image, 80 classes,
seeded. Runs tidecv (TIDERun at IoU 0.5 + main and special error oracles, what its
``evaluate`` and summary need for dAP) and TideLens ``evaluate`` (AP50, AP50:95,
dAP, special dAP and error rows) in the same process, checks that counts and dAP
agree, and prints wall times, their ratio and peak memory.

Peak memory: tracemalloc peak of the allocations made during each call (numpy
registers its buffers with tracemalloc), plus the peak RSS of a child process that
builds the inputs and runs only that engine.

    .venv/bin/python benchmarks/tide_bench.py [--images N] [--skip-tidecv]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np


def make_set(
    n_images: int,
    seed: int = 0,
    n_classes: int = 80,
    gt_per_image: int = 7,
    dets_per_image: int = 100,
) -> tuple[dict, list[dict]]:
    """Ground truth and detections resembling a mediocre detector on COCO val."""
    rng = np.random.default_rng(seed)
    cats = [{"id": k + 1, "name": f"class{k + 1}"} for k in range(n_classes)]
    images, anns, dets = [], [], []
    ann_id = 1
    for image_id in range(1, n_images + 1):
        images.append(
            {
                "id": image_id,
                "file_name": f"{image_id:012d}.jpg",
                "width": 640,
                "height": 480,
            }
        )
        n_gt = int(rng.poisson(gt_per_image))
        wh = rng.uniform(8, 300, (n_gt, 2))
        xy = rng.uniform(0, 1, (n_gt, 2)) * (np.array([640, 480]) - wh)
        gt_box = np.hstack([xy, wh])
        gt_cls = rng.integers(1, n_classes + 1, n_gt)
        crowd = rng.random(n_gt) < 0.01
        for b, c, cr in zip(
            gt_box.tolist(), gt_cls.tolist(), crowd.tolist(), strict=True
        ):
            anns.append(
                {
                    "id": ann_id,
                    "image_id": image_id,
                    "category_id": c,
                    "bbox": b,
                    "area": b[2] * b[3],
                    "iscrowd": int(cr),
                }
            )
            ann_id += 1
        n_det = int(rng.integers(90, 111))
        near = min(n_gt * 3, n_det) if n_gt else 0
        src = rng.integers(0, max(n_gt, 1), near)
        jitter = rng.normal(0, 0.15, (near, 4))
        box = np.empty((n_det, 4))
        if near:
            base = gt_box[src]
            box[:near, :2] = base[:, :2] + jitter[:, :2] * base[:, 2:]
            box[:near, 2:] = base[:, 2:] * np.exp(jitter[:, 2:])
        wh = rng.uniform(5, 200, (n_det - near, 2))
        box[near:, :2] = rng.uniform(0, 1, (n_det - near, 2)) * (
            np.array([640, 480]) - wh
        )
        box[near:, 2:] = wh
        cls = rng.integers(1, n_classes + 1, n_det)
        if near:
            keep = rng.random(near) < 0.8
            cls[:near] = np.where(keep, gt_cls[src], cls[:near])
        score = rng.random(n_det)
        score[:near] = 0.3 + 0.7 * score[:near]
        for b, c, s in zip(box.tolist(), cls.tolist(), score.tolist(), strict=True):
            dets.append({"image_id": image_id, "category_id": c, "bbox": b, "score": s})
    return {"images": images, "annotations": anns, "categories": cats}, dets


def run_tidecv(gt: dict, dets: list[dict]) -> tuple[dict, float, float]:
    """tidecv's figures, seconds for evaluate + oracles, seconds to build its Data."""
    os.environ.setdefault("TIDE_PATH", tempfile.mkdtemp(prefix="tide-"))
    from tidecv.data import Data
    from tidecv.quantify import TIDERun

    started = time.perf_counter()
    truth = Data("gt", max_dets=100)
    for c in gt["categories"]:
        truth.add_class(c["id"], c["name"])
    for im in gt["images"]:
        truth.add_image(im["id"], im["file_name"])
    for a in gt["annotations"]:
        if a["iscrowd"]:
            truth.add_ignore_region(a["image_id"], a["category_id"], a["bbox"])
        else:
            truth.add_ground_truth(a["image_id"], a["category_id"], a["bbox"])
    preds = Data("dets")
    for d in dets:
        preds.add_detection(d["image_id"], d["category_id"], d["score"], d["bbox"])
    build = time.perf_counter() - started

    started = time.perf_counter()
    run = TIDERun(truth, preds, 0.5, 0.1, "bbox", 100, True)
    main = {k.short_name: v for k, v in run.fix_main_errors().items()}
    special = {k.short_name: v for k, v in run.fix_special_errors().items()}
    counts = {k.short_name: v for k, v in run.count_errors().items()}
    seconds = time.perf_counter() - started
    figures = {"ap50": run.ap, "dap": main, "dap_special": special, "counts": counts}
    return figures, seconds, build


def run_tidelens(gt: dict, dets: list[dict]) -> tuple[object, float]:
    from tidelens.engine.tide import evaluate

    started = time.perf_counter()
    result = evaluate(gt, dets)
    return result, time.perf_counter() - started


def traced(func, *args) -> tuple[object, float]:
    """func(*args) and the peak of what it allocated, in bytes."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        out = func(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


_CHILD = """
import json, sys
sys.path.insert(0, {here!r})
import tide_bench as b
with open({gt!r}) as f:
    gt = json.load(f)
with open({dets!r}) as f:
    dets = json.load(f)
if {engine!r} == "tidecv":
    b.run_tidecv(gt, dets)
elif {engine!r} == "tidelens":
    b.run_tidelens(gt, dets)
# VmHWM, not ru_maxrss: Linux carries a parent's ru_maxrss over to its children.
with open("/proc/self/status") as f:
    print(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
"""


def child_peak_rss(engine: str, gt_path: str, dets_path: str) -> float:
    """Peak RSS in bytes of a fresh process that loads the JSON inputs and runs
    one engine ("none": only loads them)."""
    code = _CHILD.format(
        here=os.path.dirname(os.path.abspath(__file__)),
        gt=gt_path,
        dets=dets_path,
        engine=engine,
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--skip-tidecv", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    mib = 1 / 2**20

    started = time.perf_counter()
    gt, dets = make_set(args.images)
    print(
        f"set: {len(gt['images'])} images, {len(gt['annotations'])} ground-truth "
        f"boxes, {len(dets)} detections, {len(gt['categories'])} classes "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )

    # Warm-up: imports and first-call costs are not what is being compared.
    run_tidelens(*make_set(20, seed=1))
    times = []
    for _ in range(3):
        result, seconds = run_tidelens(gt, dets)
        times.append(seconds)
    ours = min(times)
    started = time.perf_counter()
    n_rows = len(result.errors)
    rows_seconds = time.perf_counter() - started
    _, our_peak = traced(run_tidelens, gt, dets)
    print(
        f"tidelens evaluate: {ours:.2f} s (best of 3: "
        f"{', '.join(f'{t:.2f}' for t in times)}); AP50 {result.ap50:.2f}, "
        f"AP50:95 {result.ap50_95:.2f}; {n_rows} error rows materialised as "
        f"ErrorRow objects in a further {rows_seconds:.2f} s"
    )
    print(
        f"tidelens peak allocated during evaluate (tracemalloc): "
        f"{our_peak * mib:.0f} MiB"
    )

    if not args.skip_tidecv:
        gc.collect()
        ref, theirs, build = run_tidecv(gt, dets)
        print(
            f"tidecv TIDERun + main + special errors: {theirs:.2f} s "
            f"(+ {build:.2f} s to build its Data objects, not counted)"
        )
        median = sorted(times)[len(times) // 2]
        print(
            f"speed-up: {theirs / ours:.1f}x with TideLens's best run, "
            f"{theirs / median:.1f}x with its median run "
            f"({theirs / (ours + rows_seconds):.1f}x counting ErrorRow objects)"
        )
        same_counts = ref["counts"] == result.counts
        worst = max(
            [abs(ref["dap"][k] - result.dap[k]) for k in result.dap]
            + [
                abs(ref["dap_special"][k] - result.dap_special[k])
                for k in result.dap_special
            ]
            + [abs(ref["ap50"] - result.ap50)]
        )
        print(
            f"agreement: counts equal {same_counts}; largest |difference| in "
            f"AP/dAP {worst:.2e}"
        )
        print("counts:", json.dumps(result.counts))
        print("dAP:", json.dumps({k: round(v, 3) for k, v in result.dap.items()}))

    if not args.skip_rss:
        with tempfile.TemporaryDirectory() as tmp:
            gt_path, dets_path = f"{tmp}/gt.json", f"{tmp}/dets.json"
            with open(gt_path, "w") as f:
                json.dump(gt, f)
            with open(dets_path, "w") as f:
                json.dump(dets, f)
            base = child_peak_rss("none", gt_path, dets_path)
            print(
                f"child process that only loads the JSON inputs: peak RSS "
                f"{base * mib:.0f} MiB"
            )
            engines = ("tidelens",) + (() if args.skip_tidecv else ("tidecv",))
            for engine in engines:
                peak = child_peak_rss(engine, gt_path, dets_path)
                print(
                    f"{engine}: child peak RSS {peak * mib:.0f} MiB "
                    f"(+{(peak - base) * mib:.0f} MiB over loading the inputs)"
                )


if __name__ == "__main__":
    main()
