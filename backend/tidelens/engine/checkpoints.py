"""Safe checkpoint loading: ``torch.load(..., weights_only=True)`` and nothing else.

A checkpoint is either a plain state dict or a training dict holding one under
``model``, ``state_dict``, ``model_state_dict`` (and a few other common keys), with
optional plain metadata: ``architecture``, ``classes``, ``epoch``. Anything that would
need full unpickling (a whole pickled ``nn.Module``, custom classes) is refused.
"""

from __future__ import annotations

import logging
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from tidelens.engine.models import get_architecture, size_kwargs

logger = logging.getLogger(__name__)

STATE_DICT_KEYS = (
    "model",
    "state_dict",
    "model_state_dict",
    "model_state",
    "net",
    "weights",
    "ema",
)
_SAVE_HINT = (
    "save the weights with torch.save({'model': model.state_dict(), 'epoch': N}, path)"
)
_LIST_LIMIT = 8


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message says why and what to do."""


@dataclass
class CheckpointFile:
    state_dict: dict[str, torch.Tensor]
    architecture: str | None = None
    classes: list[str] | None = None
    epoch: int | None = None
    metadata: dict = field(default_factory=dict)  # other plain scalar entries
    path: Path | None = None


def _is_state_dict(obj) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) for k in obj)
        and any(isinstance(v, torch.Tensor) for v in obj.values())
        and all(isinstance(v, torch.Tensor | int | float) for v in obj.values())
    )


def _torch_load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "Unsupported global" in text or "GLOBAL" in text:
            raise CheckpointError(
                f"{path.name}: the file holds pickled Python objects (for example a "
                f"whole model), which are never loaded for safety; {_SAVE_HINT}"
            ) from exc
        raise CheckpointError(
            f"{path.name}: not a PyTorch checkpoint or truncated ({text[:120]})"
        ) from exc
    except (EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(
            f"{path.name}: the file is truncated or damaged; upload it again"
        ) from exc
    except Exception as exc:  # torch raises many types for foreign or damaged bytes
        with path.open("rb") as f:
            magic = f.read(2)
        if magic == b"PK":
            raise CheckpointError(
                f"{path.name}: the checkpoint archive is truncated or damaged; "
                "upload it again"
            ) from exc
        raise CheckpointError(
            f"{path.name}: not a PyTorch checkpoint (expected a file written by "
            "torch.save)"
        ) from exc


def read_checkpoint(path: Path | str) -> CheckpointFile:
    """Read a checkpoint file into its state dict and metadata (CPU tensors)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name}: the file is empty")
    obj = _torch_load(path)

    if _is_state_dict(obj):
        state, meta_source = obj, {}
    elif isinstance(obj, dict):
        state = next(
            (obj[k] for k in STATE_DICT_KEYS if _is_state_dict(obj.get(k))), None
        )
        if state is None:
            keys = ", ".join(map(str, list(obj)[:_LIST_LIMIT]))
            raise CheckpointError(
                f"{path.name}: no state dict found (top-level keys: {keys}); expected "
                f"tensors or one of {', '.join(STATE_DICT_KEYS)}"
            )
        meta_source = obj
    else:
        raise CheckpointError(
            f"{path.name}: holds a {type(obj).__name__}, not a state dict; {_SAVE_HINT}"
        )

    state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if all(k.startswith("module.") for k in state):  # saved from DataParallel/DDP
        state = {k[len("module.") :]: v for k, v in state.items()}

    architecture = meta_source.get("architecture") or meta_source.get("arch")
    classes = meta_source.get("classes") or meta_source.get("class_names")
    epoch = meta_source.get("epoch")
    metadata = {
        k: v
        for k, v in meta_source.items()
        if isinstance(v, str | int | float | bool) and k not in STATE_DICT_KEYS
    }
    return CheckpointFile(
        state_dict=state,
        architecture=str(architecture) if architecture else None,
        classes=[str(c) for c in classes]
        if isinstance(classes, list | tuple)
        else None,
        epoch=int(epoch) if isinstance(epoch, int | float) else None,
        metadata=metadata,
        path=path,
    )


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    more = len(items) - _LIST_LIMIT
    return shown + (f" (+{more} more)" if more > 0 else "")


def check_fit(model: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """Raise CheckpointError naming missing/unexpected keys and shape mismatches."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s): {_listing(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {_listing(unexpected)}")
    if shapes:
        parts.append(
            f"{len(shapes)} shape mismatch(es) (checkpoint vs model): "
            f"{_listing(shapes)}"
        )
    hint = (
        "the class count differs (check the run's class list)"
        if shapes and not missing and not unexpected
        else "the checkpoint was probably saved from another architecture"
    )
    raise CheckpointError(f"{where} does not fit: {'; '.join(parts)}; {hint}")


def load_model(
    path_or_file: Path | str | CheckpointFile,
    architecture: str | None,
    classes: list[str],
    device: torch.device | str | None = None,
    **build_kwargs,
) -> nn.Module:
    """Build ``architecture`` for ``classes`` (background added), load the weights and
    return the model in eval mode on ``device`` (CPU by default).

    Without ``build_kwargs`` the model resizes its input as it did in training when
    the checkpoint records an ``image_size`` (see :func:`models.size_kwargs`)."""
    ckpt = (
        path_or_file
        if isinstance(path_or_file, CheckpointFile)
        else read_checkpoint(path_or_file)
    )
    name = ckpt.path.name if ckpt.path else "checkpoint"
    arch_name = architecture or ckpt.architecture
    if not arch_name:
        raise CheckpointError(f"{name}: no architecture given and none stored in it")
    if architecture and ckpt.architecture and ckpt.architecture != architecture:
        raise CheckpointError(
            f"{name} was saved from {ckpt.architecture!r}, not {architecture!r}"
        )
    if ckpt.classes is not None and list(ckpt.classes) != list(classes):
        raise CheckpointError(
            f"{name} was trained for classes {ckpt.classes}, but the run has {classes}"
        )
    try:
        arch = get_architecture(arch_name)
    except KeyError as exc:
        raise CheckpointError(str(exc.args[0])) from exc
    if not build_kwargs:  # infer at the input size the checkpoint was trained at
        build_kwargs = size_kwargs(arch.name, ckpt.metadata.get("image_size"))
    model = arch.build(len(classes) + 1, **build_kwargs)
    check_fit(model, ckpt.state_dict, f"{name} ({arch_name}, {len(classes)} classes)")
    model.load_state_dict(ckpt.state_dict)
    model.eval()
    if device is not None:
        model.to(device)
    return model
