"""Inference throughput on BCCD val by batch size, the TIDE step, and (optionally) a
one-epoch training timing.

Runs ``run_inference`` over the whole split (87 images for BCCD val) at each batch
size, checks that every batch size gives the same detections as batch 1, then times
the analysis job's TIDE step (``evaluate(dataset.to_coco(), detections)``) on those
detections. With ``--train`` it also trains one epoch from scratch on the first
``--train-images`` images of the training split (into a temporary folder) and reports
seconds per image.

Each measurement is repeated ``--repeats`` times; best and median are printed, with
the load average, since the machine may be shared. The repeats take turns over the
batch sizes. On 2 busy cores one pass over 87 images takes 35-95 s: ``--images``
shortens the run.

    .venv/bin/python benchmarks/inference_bench.py --checkpoint runs/x/epoch_008.pt
    .venv/bin/python benchmarks/inference_bench.py --checkpoint CKPT --train \
        --skip-inference
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from _common import best_median, default_dataset, load_average
from tidelens.engine.checkpoints import load_model, read_checkpoint
from tidelens.engine.datasets import Dataset, load_dataset
from tidelens.engine.inference import run_inference
from tidelens.engine.tide import evaluate
from tidelens.engine.training import train


def subset(dataset: Dataset, count: int) -> Dataset:
    """The first ``count`` images (by id) with their annotations."""
    images = sorted(dataset.images, key=lambda im: im.id)[:count]
    ids = {im.id for im in images}
    annotations = [a for a in dataset.annotations if a.image_id in ids]
    return Dataset(dataset.root, dataset.categories, images, annotations)


def largest_difference(a: list[dict], b: list[dict]) -> float | None:
    """Largest |score| or box coordinate difference (px) between two result lists in
    the same order; None when they differ in length or classes."""
    if len(a) != len(b):
        return None
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        if (x["image_id"], x["category_id"]) != (y["image_id"], y["category_id"]):
            return None
        worst = max(
            worst,
            abs(x["score"] - y["score"]),
            *(abs(p - q) for p, q in zip(x["bbox"], y["bbox"], strict=True)),
        )
    return worst


def bench_inference(model, dataset, classes, batch_sizes, repeats) -> list[dict]:
    """Images/s per batch size. The repeats take turns over the batch sizes, so a
    change in the machine's load affects every batch size alike."""
    n = len(dataset.images)
    print(f"\nrun_inference over {n} images (images/s; best and median of {repeats})")
    times = {b: [] for b in batch_sizes}
    outputs = {}
    for _ in range(repeats):
        for batch_size in batch_sizes:
            started = time.perf_counter()
            outputs[batch_size] = run_inference(
                model, dataset, batch_size=batch_size, device="cpu", classes=classes
            )
            times[batch_size].append(time.perf_counter() - started)
    print(f"{'batch':>5} {'best':>7} {'median':>7} {'vs first':>9}  detections")
    reference = outputs[batch_sizes[0]]
    base_best, base_median = best_median(times[batch_sizes[0]])
    for batch_size in batch_sizes:
        best, median = best_median(times[batch_size])
        if batch_size == batch_sizes[0]:
            same = "reference"
        else:
            diff = largest_difference(reference, outputs[batch_size])
            same = "differ" if diff is None else f"max diff {diff:.1e} vs first"
        print(
            f"{batch_size:>5} {n / best:7.2f} {n / median:7.2f} "
            f"{base_best / best:8.2f}x  {len(outputs[batch_size])} ({same}); "
            f"median ratio {base_median / median:.2f}x"
        )
    print(f"load average after inference: {load_average()}")
    return reference


def bench_tide(dataset, detections, repeats) -> None:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = evaluate(dataset.to_coco(), detections)
        times.append(time.perf_counter() - started)
    best, median = best_median(times)
    print(
        f"\nTIDE step (to_coco + evaluate) on {len(detections)} detections: "
        f"best {best * 1000:.1f} ms, median {median * 1000:.1f} ms; "
        f"AP50 {result.ap50:.1f}, AP50:95 {result.ap50_95:.1f}, "
        f"errors {len(result.table)}"
    )


def bench_training(architecture, dataset, count, repeats, threads) -> None:
    part = subset(dataset, count)
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            stats = []
            started = time.perf_counter()
            train(
                architecture,
                part,
                out,
                epochs=1,
                num_threads=threads,
                device="cpu",
                on_epoch=stats.append,
            )
            wall = time.perf_counter() - started
        times.append((stats[0].seconds, wall))
    epoch_best, epoch_median = best_median([t[0] for t in times])
    wall_best, wall_median = best_median([t[1] for t in times])
    n = len(part.images)
    print(
        f"\none training epoch from scratch on {n} images ({architecture}, batch 4, "
        f"best and median of {repeats}):\n"
        f"  epoch loop incl. checkpoint write: best {epoch_best / n:.2f} s/image "
        f"({epoch_best:.1f} s), median {epoch_median / n:.2f} s/image\n"
        f"  whole call incl. model build and image decoding: best "
        f"{wall_best / n:.2f} s/image ({wall_best:.1f} s), median "
        f"{wall_median / n:.2f} s/image"
    )
    print(f"load average after training: {load_average()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="trained checkpoint (.pt)")
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--split", default="val")
    parser.add_argument(
        "--images", type=int, default=0, help="first N images only (0: the split)"
    )
    parser.add_argument("--batch-sizes", default="1,2,4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-inference", action="store_true")
    parser.add_argument("--train", action="store_true", help="time one epoch")
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--train-images", type=int, default=40)
    parser.add_argument("--train-repeats", type=int, default=3)
    args = parser.parse_args()
    if args.checkpoint is None:
        print(
            "pass --checkpoint PATH: a checkpoint trained on the dataset, e.g. one "
            "written by `tidelens train` (epoch_NNN.pt); nothing is trained here "
            "except with --train, which needs it only for the architecture name",
            file=sys.stderr,
        )
        return 2

    torch.set_num_threads(args.threads)
    ckpt = read_checkpoint(args.checkpoint)
    print(
        f"checkpoint {args.checkpoint.name} (epoch {ckpt.epoch}), "
        f"{ckpt.architecture}; torch threads {args.threads}"
    )
    print(f"load average (1/5/15 min) at start: {load_average()}")
    if not args.skip_inference:
        dataset = load_dataset(args.dataset, args.split)
        if args.images:
            dataset = subset(dataset, args.images)
        classes = ckpt.classes or dataset.class_names
        model = load_model(ckpt, None, classes)
        sizes = [int(b) for b in args.batch_sizes.split(",")]
        detections = bench_inference(model, dataset, classes, sizes, args.repeats)
        bench_tide(dataset, detections, args.repeats)
    if args.train:
        train_set = load_dataset(args.dataset, args.train_split)
        bench_training(
            ckpt.architecture,
            train_set,
            args.train_images,
            args.train_repeats,
            args.threads,
        )
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
