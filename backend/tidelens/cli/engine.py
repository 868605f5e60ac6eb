"""`tidelens models`, `tidelens train` and `tidelens analyze`: the engine, headless."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_ARCHITECTURE = "fasterrcnn_mobilenet_v3_large_320_fpn"
ERROR_TYPES = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")
SPECIAL_TYPES = ("FalsePos", "FalseNeg")


def register(subparsers) -> None:
    models = subparsers.add_parser(
        "models", help="list the detector architectures and their layer names"
    )
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(func=cmd_models)

    train = subparsers.add_parser(
        "train",
        help="train a detector from scratch, one checkpoint per epoch",
        description="Train a registry detector from random weights on a dataset "
        "split; writes OUT/epoch_NNN.pt after every epoch.",
    )
    train.add_argument(
        "--dataset", type=Path, required=True, help="dataset folder/file"
    )
    train.add_argument("--split", default="train", help="split to train on")
    train.add_argument("--format", choices=("coco", "voc", "yolo"), default=None)
    train.add_argument("--architecture", "--arch", default=DEFAULT_ARCHITECTURE)
    train.add_argument("--epochs", type=int, default=8)
    train.add_argument("--out", type=Path, required=True, help="checkpoint folder")
    train.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="shorter image side in px (default: the model's)",
    )
    train.add_argument("--batch-size", type=int, default=4)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None, help="CPU threads")
    train.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 (default auto)"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue after the latest checkpoint in --out",
    )
    train.set_defaults(func=cmd_train)

    analyze = subparsers.add_parser(
        "analyze",
        help="run inference and TIDE for every checkpoint in a folder",
        description="For each checkpoint in --checkpoints: detect on the dataset "
        "split, run TIDE, and write OUT/epochs.csv, OUT/epochs.json, "
        "OUT/errors/epoch_NNN.csv and OUT/detections/epoch_NNN.json.",
    )
    analyze.add_argument("--dataset", type=Path, required=True)
    analyze.add_argument("--checkpoints", type=Path, required=True)
    analyze.add_argument("--out", type=Path, required=True)
    analyze.add_argument("--split", default="val")
    analyze.add_argument("--format", choices=("coco", "voc", "yolo"), default=None)
    analyze.add_argument(
        "--architecture",
        "--arch",
        default=None,
        help="needed only when checkpoints do not store it",
    )
    analyze.add_argument("--batch-size", type=int, default=4)
    analyze.add_argument("--threads", type=int, default=None)
    analyze.add_argument("--device", default=None)
    analyze.set_defaults(func=cmd_analyze)


def _fail(message: str) -> int:
    print(f"tidelens: {message}", file=sys.stderr)
    return 2


def cmd_models(args: argparse.Namespace) -> int:
    from tidelens.engine.models import list_architectures

    archs = list_architectures()
    if args.json:
        print(
            json.dumps(
                [
                    {"name": a.name, "description": a.description, "layers": a.layers}
                    for a in archs
                ],
                indent=2,
            )
        )
        return 0
    for arch in archs:
        print(f"{arch.name}\n  {arch.description}")
        print("  layers (shallow -> deep): " + ", ".join(arch.layers))
    return 0


def _load_dataset(path: Path, split: str | None, fmt: str | None):
    from tidelens.engine.datasets import load_dataset

    dataset = load_dataset(path, split=split, format=fmt)
    if dataset.dropped:
        summary = ", ".join(f"{n} {r}" for r, n in dataset.dropped_summary().items())
        print(f"dropped annotations: {summary}", file=sys.stderr)
    return dataset


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tidelens.engine.checkpoints import CheckpointError
    from tidelens.engine.datasets import DatasetError
    from tidelens.engine.models import get_architecture
    from tidelens.engine.training import existing_checkpoints, train

    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        return _fail("--epochs and --batch-size must be >= 1 and --lr > 0")
    try:
        arch = get_architecture(args.architecture)
        dataset = _load_dataset(args.dataset, args.split, args.format)
    except (KeyError, DatasetError) as exc:
        return _fail(str(exc.args[0] if isinstance(exc, KeyError) else exc))
    steps = -(-len(dataset.images) // args.batch_size)
    found = existing_checkpoints(args.out) if args.resume else []
    done = found[-1][0] if found else 0
    bar = tqdm(
        total=steps * args.epochs,
        initial=steps * min(done, args.epochs),
        unit="step",
        desc=arch.name,
    )

    def on_step(epoch: int, step: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(epoch=epoch, loss=f"{loss:.3f}")

    def on_epoch(stats) -> None:
        bar.write(
            f"epoch {stats.epoch}: {stats.seconds:.0f} s, mean loss "
            f"{stats.mean_loss:.3f} -> {stats.path}"
        )
        sys.stdout.flush()

    try:
        paths = train(
            arch,
            dataset,
            args.out,
            epochs=args.epochs,
            image_size=args.image_size,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            num_threads=args.threads,
            device=args.device,
            on_step=on_step,
            on_epoch=on_epoch,
            resume=args.resume,
        )
    except (CheckpointError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        bar.close()
        print(
            f"training stopped; finished epochs are in {args.out} "
            "(run again with --resume to continue)",
            file=sys.stderr,
        )
        return 130
    finally:
        bar.close()
    print(f"{len(paths)} checkpoint(s) in {args.out}")
    return 0


def find_checkpoints(folder: Path) -> list[Path]:
    """Visible ``*.pt``/``*.pth``/``*.ckpt`` files (hidden ones may be partial)."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix in (".pt", ".pth", ".ckpt")
    )


def _epoch_of(path: Path, stored: int | None, fallback: int) -> int:
    if stored is not None:
        return stored
    digits = "".join(ch if ch.isdigit() else " " for ch in path.stem).split()
    return int(digits[-1]) if digits else fallback


def cmd_analyze(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from tidelens.engine.checkpoints import CheckpointError, load_model, read_checkpoint
    from tidelens.engine.datasets import DatasetError
    from tidelens.engine.inference import pick_device, run_inference
    from tidelens.engine.models import size_kwargs
    from tidelens.engine.tide import TideInputError, evaluate, write_errors_csv

    try:
        dataset = _load_dataset(args.dataset, args.split, args.format)
    except DatasetError as exc:
        return _fail(str(exc))
    if not args.checkpoints.is_dir():
        return _fail(f"{args.checkpoints}: not a folder of checkpoints")
    paths = find_checkpoints(args.checkpoints)
    if not paths:
        return _fail(f"{args.checkpoints}: no .pt/.pth/.ckpt files")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    gt = dataset.to_coco()
    (args.out / "errors").mkdir(parents=True, exist_ok=True)
    (args.out / "detections").mkdir(exist_ok=True)

    rows, failures = [], []
    bar = tqdm(total=len(paths) * len(dataset.images), unit="img", desc="analyze")
    for index, path in enumerate(paths, start=1):
        started = time.perf_counter()
        try:
            ckpt = read_checkpoint(path)
            epoch = _epoch_of(path, ckpt.epoch, index)
            classes = ckpt.classes or dataset.class_names
            arch_name = args.architecture or ckpt.architecture
            model = load_model(
                ckpt,
                arch_name,
                classes,
                device,
                **size_kwargs(arch_name or "", ckpt.metadata.get("image_size")),
            )
        except CheckpointError as exc:
            bar.write(f"skipped {path.name}: {exc}")
            bar.update(len(dataset.images))
            failures.append(path.name)
            continue
        bar.set_postfix(epoch=epoch)
        done = [0]

        def progress(n: int, total: int, done=done) -> None:
            bar.update(n - done[0])
            done[0] = n

        detections = run_inference(
            model,
            dataset,
            batch_size=args.batch_size,
            device=device,
            classes=classes,
            progress=progress,
        )
        try:
            result = evaluate(gt, detections)
        except TideInputError as exc:
            bar.write(f"skipped {path.name}: TIDE refused the detections: {exc}")
            failures.append(path.name)
            continue
        name = f"epoch_{epoch:03d}"
        (args.out / "detections" / f"{name}.json").write_text(json.dumps(detections))
        write_errors_csv(result, args.out / "errors" / f"{name}.csv")
        rows.append(
            {
                "epoch": epoch,
                "checkpoint": path.name,
                "ap50": result.ap50,
                "ap50_95": result.ap50_95,
                "dap": dict(result.dap),
                "dap_special": dict(result.dap_special),
                "counts": {k: int(v) for k, v in result.counts.items()},
                "detections": len(detections),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        log.info("analyze.epoch epoch=%d ap50=%.2f", epoch, result.ap50)
    bar.close()

    rows.sort(key=lambda r: r["epoch"])
    _write_tables(rows, args.out)
    _print_table(rows)
    if failures:
        return _fail(
            f"{len(failures)} checkpoint(s) could not be analysed: "
            + ", ".join(failures)
        )
    return 0


def _write_tables(rows: list[dict], out: Path) -> None:
    (out / "epochs.json").write_text(json.dumps({"epochs": rows}, indent=2))
    header = (
        ["epoch", "checkpoint", "ap50", "ap50_95", "detections"]
        + [f"count_{t}" for t in ERROR_TYPES]
        + [f"dap_{t}" for t in ERROR_TYPES]
        + [f"dap_{t}" for t in SPECIAL_TYPES]
    )
    with (out / "epochs.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for r in rows:
            writer.writerow(
                [
                    r["epoch"],
                    r["checkpoint"],
                    round(r["ap50"], 4),
                    round(r["ap50_95"], 4),
                    r["detections"],
                ]
                + [r["counts"].get(t, 0) for t in ERROR_TYPES]
                + [round(r["dap"].get(t, 0.0), 4) for t in ERROR_TYPES]
                + [round(r["dap_special"].get(t, 0.0), 4) for t in SPECIAL_TYPES]
            )


def _print_table(rows: list[dict]) -> None:
    print("epoch   AP50  " + "  ".join(f"{t:>5}" for t in ERROR_TYPES))
    for r in rows:
        counts = "  ".join(f"{r['counts'].get(t, 0):>5}" for t in ERROR_TYPES)
        print(f"{r['epoch']:>5} {r['ap50']:6.2f}  {counts}")
