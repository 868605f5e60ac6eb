"""Layer-wise heatmaps on real BCCD images: one multi-layer call vs one call per layer.

For a few BCCD val images the script picks real targets: the top-scored prediction and
the ground-truth box the model misses worst (lowest IoU with any same-class prediction
scored at least 0.3). For each method it times ``compute_heatmaps`` with all four
layers of the architecture's ladder in ONE call against four single-layer calls (what
a per-layer loop over pytorch-grad-cam would cost) on the first ``--timing-targets``
targets, and checks that both give the same maps. On every target it counts all-zero
maps per method, including pytorch-grad-cam's own Grad-CAM++ (fixed 1e-6 epsilon) for
contrast. It also times EigenCAM's economy SVD (the engine's) against
pytorch-grad-cam's full SVD on the shallowest layer's activations and checks that the
maps agree. ScoreCAM runs with few channels and ``--scorecam-repeats`` repeats (it
costs one extra forward per scored channel and layer).

Each measurement is repeated ``--repeats`` times; best and median are printed, with
the load average, since the machine may be shared. About 4-5 minutes on 2 busy cores.

    .venv/bin/python benchmarks/heatmaps_bench.py --checkpoint runs/x/epoch_008.pt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import best_median, default_dataset, load_average
from pytorch_grad_cam import GradCAMPlusPlus
from pytorch_grad_cam.utils.svd_on_activations import (
    get_2d_projection_with_sign_correction,
)
from tidelens.engine import heatmaps
from tidelens.engine.checkpoints import load_model, read_checkpoint
from tidelens.engine.datasets import Dataset, ImageRecord, load_dataset
from tidelens.engine.heatmaps import Target, compute_heatmaps
from tidelens.engine.models import get_architecture
from torchvision.ops import box_iou

TIMED_METHODS = ("gradcam", "gradcampp", "layercam", "eigencam")
# Score a prediction needs to count as "found" when choosing the missed ground truth.
FOUND_SCORE = 0.3
STOCK_GRADCAMPP = "gradcampp_stock"


def pick_images(dataset: Dataset, count: int) -> list[ImageRecord]:
    """``count`` images spread evenly over the split (sorted by id)."""
    images = sorted(dataset.images, key=lambda im: im.id)
    step = max(1, len(images) // count)
    return images[::step][:count]


def xywh_to_xyxy(boxes: list) -> torch.Tensor:
    t = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return torch.cat([t[:, :2], t[:, :2] + t[:, 2:]], dim=1)


def pick_targets(model, dataset, image, pixels, label_of) -> list[tuple[str, Target]]:
    """The top-scored prediction and the worst-missed ground-truth box of ``image``."""
    category_of = {label: cat for cat, label in label_of.items()}
    tensor = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255.0
    with torch.inference_mode():
        out = model([tensor])[0]
    targets = []
    if len(out["scores"]):
        x1, y1, x2, y2 = out["boxes"][0].tolist()
        category = category_of[int(out["labels"][0])]
        targets.append(
            ("pred", Target((x1, y1, x2 - x1, y2 - y1), category, "prediction"))
        )
    truths = [a for a in dataset.annotations if a.image_id == image.id]
    found = out["scores"] >= FOUND_SCORE
    worst, worst_iou = None, 2.0
    for ann in truths:
        same = found & (out["labels"] == label_of[ann.category_id])
        iou = 0.0
        if same.any():
            iou = float(box_iou(xywh_to_xyxy([ann.bbox]), out["boxes"][same]).max())
        if iou < worst_iou:
            worst, worst_iou = ann, iou
    if worst is not None:
        kind = f"gt(iou {worst_iou:.2f})"
        targets.append((kind, Target(worst.bbox, worst.category_id, "ground_truth")))
    return targets


def timed(func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - started


def bench_method(model, arch, cases, label_of, method, repeats, **cam_kwargs):
    """Seconds per repeat for (one 4-layer call, four 1-layer calls) summed over
    ``cases``; the largest difference between their maps relative to the map's
    maximum; and 4 x the fastest single-layer call / the fastest 4-layer call (the
    ratio least affected by other work on the machine)."""
    layers = list(arch.layers)
    multi_times, single_times = [], []
    multi_calls, single_calls = [], []
    worst_diff = 0.0
    for repeat in range(repeats):
        multi_total = single_total = 0.0
        for pixels, _, target in cases:
            multi, seconds = timed(
                compute_heatmaps,
                model,
                arch,
                pixels,
                target,
                layers,
                method,
                label_of,
                **cam_kwargs,
            )
            multi_total += seconds
            multi_calls.append(seconds)
            singles = []
            for layer in layers:
                maps, seconds = timed(
                    compute_heatmaps,
                    model,
                    arch,
                    pixels,
                    target,
                    [layer],
                    method,
                    label_of,
                    **cam_kwargs,
                )
                single_total += seconds
                single_calls.append(seconds)
                singles.extend(maps)
            if repeat == 0:
                for a, b in zip(multi, singles, strict=True):
                    scale = max(abs(a.max), abs(b.max), 1e-12)
                    diff = float(np.abs(a.values - b.values).max()) / scale
                    worst_diff = max(worst_diff, diff)
        multi_times.append(multi_total)
        single_times.append(single_total)
    per_call = len(layers) * min(single_calls) / min(multi_calls)
    return multi_times, single_times, worst_diff, per_call


def zero_pattern(model, arch, cases, label_of, method) -> tuple[int, str]:
    """All-zero maps over every case (all layers in one call each), and a pattern
    with one group per target and one character per layer: Z all-zero, . not."""
    zero, groups = 0, []
    for pixels, _, target in cases:
        maps = compute_heatmaps(
            model, arch, pixels, target, list(arch.layers), method, label_of
        )
        flags = "".join("Z" if m.max == 0.0 else "." for m in maps)
        zero += flags.count("Z")
        groups.append(flags)
    return zero, " ".join(groups)


def shallow_activations(model, layer: str, pixels: np.ndarray) -> np.ndarray:
    """(1, C, h, w) float32 activations of ``layer`` for one image."""
    module = dict(model.named_modules())[layer]
    captured = {}
    handle = module.register_forward_hook(
        lambda mod, inputs, output: captured.setdefault("a", output.detach())
    )
    try:
        tensor = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255.0
        with torch.inference_mode():
            model([tensor])
    finally:
        handle.remove()
    return captured["a"].cpu().numpy().astype(np.float32)


def bench_eigen_svd(model, arch, cases, repeats, n_images):
    """Per image: shallowest layer's activation shape, economy and full SVD seconds,
    and the largest map difference relative to the map's largest magnitude."""
    layer = arch.layers[0]
    seen, rows = set(), []
    eigen = heatmaps._EigenCAM(model, target_layers=[])
    for pixels, name, _ in cases:
        if name in seen or len(seen) == n_images:
            continue
        seen.add(name)
        acts = shallow_activations(model, layer, pixels)
        economy, full = [], []
        for _ in range(repeats):
            fast, seconds = timed(
                eigen.get_cam_image, None, None, None, acts, None, False
            )
            economy.append(seconds)
            slow, seconds = timed(get_2d_projection_with_sign_correction, acts)
            full.append(seconds)
        diff = float(np.abs(fast - slow).max()) / float(np.abs(slow).max())
        rows.append((name, acts.shape, economy, full, diff))
    return layer, rows


def print_row(label, multi, single, per_call, diff):
    mb, mm = best_median(multi)
    sb, sm = best_median(single)
    print(
        f"{label:<24} {mb:8.2f} {mm:8.2f} {sb:8.2f} {sm:8.2f} "
        f"{sb / mb:5.2f}x {sm / mm:5.2f}x {per_call:7.2f}x  {diff:.1e}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="trained checkpoint (.pt)")
    parser.add_argument("--dataset", type=Path, default=default_dataset())
    parser.add_argument("--split", default="val")
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument(
        "--repeats", type=int, default=3, help="0 skips the layer timings"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timing-targets", type=int, default=1)
    parser.add_argument("--svd-images", type=int, default=1)
    parser.add_argument("--scorecam-channels", type=int, default=4)
    parser.add_argument(
        "--scorecam-repeats", type=int, default=1, help="0 skips ScoreCAM"
    )
    args = parser.parse_args()
    if args.checkpoint is None:
        print(
            "pass --checkpoint PATH: a checkpoint trained on the dataset, e.g. one "
            "written by `tidelens train` (epoch_NNN.pt); nothing is trained here",
            file=sys.stderr,
        )
        return 2

    torch.set_num_threads(args.threads)
    dataset = load_dataset(args.dataset, args.split)
    ckpt = read_checkpoint(args.checkpoint)
    classes = ckpt.classes or dataset.class_names
    model = load_model(ckpt, None, classes)
    arch = get_architecture(ckpt.architecture)
    by_name = {c.name: c.id for c in dataset.categories}
    label_of = {by_name[name]: i + 1 for i, name in enumerate(classes)}

    cases = []
    for image in pick_images(dataset, args.images):
        pixels = dataset.read_image(image)
        for kind, target in pick_targets(model, dataset, image, pixels, label_of):
            cases.append((pixels, Path(image.file_name).name, target))
            print(f"target {image.file_name} {kind} category {target.category_id}")
    print(
        f"checkpoint {args.checkpoint.name} (epoch {ckpt.epoch}), {arch.name}, "
        f"layers {arch.layers}; {len(cases)} targets on {args.images} images; "
        f"torch threads {args.threads}; {args.repeats} repeats"
    )
    print(f"load average (1/5/15 min) at start: {load_average()}")

    timing = cases[: args.timing_targets]
    if args.repeats or args.scorecam_repeats:
        print(
            f"\nseconds for {len(timing)} target(s): all 4 layers in ONE call vs 4 "
            "single-layer calls"
        )
        print(
            f"{'method':<24} {'1x4 best':>8} {'median':>8} {'4x1 best':>8} "
            f"{'median':>8} {'ratio':>6} {'median':>6} {'per-call':>8}  map diff"
        )
    for method in TIMED_METHODS if args.repeats else ():
        multi, single, diff, per_call = bench_method(
            model, arch, timing, label_of, method, args.repeats
        )
        print_row(method, multi, single, per_call, diff)
    if args.scorecam_repeats:
        multi, single, diff, per_call = bench_method(
            model,
            arch,
            timing[:1],
            label_of,
            "scorecam",
            args.scorecam_repeats,
            scorecam_channels=args.scorecam_channels,
            scorecam_batch_size=args.scorecam_channels,
        )
        label = f"scorecam ({args.scorecam_channels} channels)"
        print_row(label, multi, single, per_call, diff)
    print(f"load average after the timings: {load_average()}")

    total = len(cases) * len(arch.layers)
    print(f"\nall-zero maps over {len(cases)} targets x {len(arch.layers)} layers")
    print("(per target in the order above, one character per layer: Z all-zero)")
    # The reference Grad-CAM++ (epsilon 1e-6), counted for contrast only.
    heatmaps._METHOD_CLASSES[STOCK_GRADCAMPP] = GradCAMPlusPlus
    for method in (*TIMED_METHODS, STOCK_GRADCAMPP):
        zero, pattern = zero_pattern(model, arch, cases, label_of, method)
        print(f"{method:<24} {zero:3d}/{total}  {pattern}")

    layer, rows = bench_eigen_svd(
        model, arch, cases, max(args.repeats, 1), args.svd_images
    )
    print(f"\nEigenCAM projection on {layer}: economy SVD vs full SVD (seconds)")
    print(
        f"{'image':<22} {'activations':<17} {'econ best':>9} {'median':>8} "
        f"{'full best':>9} {'median':>8} {'ratio':>7}  max rel. diff"
    )
    for name, shape, economy, full, diff in rows:
        eb, em = best_median(economy)
        fb, fm = best_median(full)
        u_mib = (shape[2] * shape[3]) ** 2 * 4 / 2**20
        print(
            f"{name:<22} {str(tuple(shape)):<17} {eb:9.4f} {em:8.4f} {fb:9.3f} "
            f"{fm:8.3f} {fb / eb:6.0f}x  {diff:.1e} (full U: {u_mib:.0f} MiB)"
        )
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
