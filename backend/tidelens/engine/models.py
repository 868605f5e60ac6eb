"""Architecture registry: torchvision detectors built without any download.

Each :class:`Architecture` knows how to build a detector for ``num_classes`` (background
included, so K dataset classes need ``K + 1``), and the ordered module paths (shallow to
deep) that the layer-wise heatmap view offers. Every listed layer returns a single
``(N, C, h, w)`` tensor, so no reshape step is needed for the built-in ones; a custom
architecture whose layers return tokens or dicts supplies ``reshape_transform``.

Custom architectures are added through the entry point group
``tidelens.architectures``: each entry point loads to an :class:`Architecture` or to a
zero-argument callable that returns one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

import torch
from torch import nn
from torchvision.models import detection as tvdet

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tidelens.architectures"

# Low enough that TIDE sees the whole precision-recall curve (it needs low-score
# detections too); 100 per image is TIDE's and COCO's cap.
INFERENCE_SCORE_THRESH = 0.001
INFERENCE_MAX_DETECTIONS = 100


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    build: Callable[..., nn.Module]  # (num_classes incl. background, **kwargs)
    layers: list[str]  # shallow -> deep module paths
    reshape_transform: Callable[[torch.Tensor], torch.Tensor] | None = None


RESNET_LAYERS = [f"backbone.body.layer{i}" for i in range(1, 5)]
MOBILENET_FPN_LAYERS = [
    "backbone.body.3",
    "backbone.body.6",
    "backbone.body.12",
    "backbone.body.16",
]
SSDLITE_LAYERS = [
    "backbone.features.0.3",
    "backbone.features.0.6",
    "backbone.features.0.12",
    "backbone.features.1.3",
]


def _builder(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    def build(num_classes: int, **kwargs) -> nn.Module:
        # weights=None and weights_backbone=None: nothing is downloaded, and every
        # backbone layer is trainable with ordinary BatchNorm.
        return factory(
            weights=None, weights_backbone=None, num_classes=num_classes, **kwargs
        )

    build.__name__ = f"build_{factory.__name__}"
    return build


_BUILTIN = [
    Architecture(
        "fasterrcnn_resnet50_fpn",
        "Faster R-CNN, ResNet-50 FPN (800 px; slow on CPU)",
        _builder(tvdet.fasterrcnn_resnet50_fpn),
        RESNET_LAYERS,
    ),
    Architecture(
        "fasterrcnn_mobilenet_v3_large_fpn",
        "Faster R-CNN, MobileNetV3-Large FPN (800 px)",
        _builder(tvdet.fasterrcnn_mobilenet_v3_large_fpn),
        MOBILENET_FPN_LAYERS,
    ),
    Architecture(
        "fasterrcnn_mobilenet_v3_large_320_fpn",
        "Faster R-CNN, MobileNetV3-Large FPN at 320 px (CPU friendly)",
        _builder(tvdet.fasterrcnn_mobilenet_v3_large_320_fpn),
        MOBILENET_FPN_LAYERS,
    ),
    Architecture(
        "retinanet_resnet50_fpn",
        "RetinaNet, ResNet-50 FPN (800 px; slow on CPU)",
        _builder(tvdet.retinanet_resnet50_fpn),
        RESNET_LAYERS,
    ),
    Architecture(
        "fcos_resnet50_fpn",
        "FCOS, ResNet-50 FPN (800 px; slow on CPU)",
        _builder(tvdet.fcos_resnet50_fpn),
        RESNET_LAYERS,
    ),
    Architecture(
        "ssdlite320_mobilenet_v3_large",
        "SSDlite 320, MobileNetV3-Large (CPU friendly)",
        _builder(tvdet.ssdlite320_mobilenet_v3_large),
        SSDLITE_LAYERS,
    ),
]

_registry: dict[str, Architecture] | None = None


def _load_registry() -> dict[str, Architecture]:
    global _registry
    if _registry is not None:
        return _registry
    registry = {a.name: a for a in _BUILTIN}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            arch = obj if isinstance(obj, Architecture) else obj()
            if not isinstance(arch, Architecture):
                raise TypeError(f"{ep.value} did not give an Architecture")
        except Exception:  # a broken plug-in must not hide the built-in ones
            logger.exception("architecture.entry_point_failed name=%s", ep.name)
            continue
        registry[arch.name] = arch
    _registry = registry
    return registry


def register_architecture(arch: Architecture) -> None:
    """Add or replace an architecture at run time (tests, notebooks)."""
    _load_registry()[arch.name] = arch


def list_architectures() -> list[Architecture]:
    return list(_load_registry().values())


def get_architecture(name: str) -> Architecture:
    registry = _load_registry()
    if name not in registry:
        raise KeyError(
            f"unknown architecture {name!r}; known: {', '.join(sorted(registry))}"
        )
    return registry[name]


def configure_detections(
    model: nn.Module,
    score_thresh: float = INFERENCE_SCORE_THRESH,
    max_detections: int = INFERENCE_MAX_DETECTIONS,
) -> dict[str, float]:
    """Set a detector's output score threshold and per-image cap; return the previous
    values so a caller can restore them. Works for the two-stage (``roi_heads``) and
    one-stage (attributes on the model) torchvision detectors."""
    owner = getattr(model, "roi_heads", model)
    cap_attr = "detections_per_img"
    if not hasattr(owner, "score_thresh") or not hasattr(owner, cap_attr):
        return {}
    previous = {"score_thresh": owner.score_thresh, cap_attr: getattr(owner, cap_attr)}
    owner.score_thresh = score_thresh
    setattr(owner, cap_attr, max_detections)
    return previous


def restore_detections(model: nn.Module, previous: dict[str, float]) -> None:
    owner = getattr(model, "roi_heads", model)
    for key, value in previous.items():
        setattr(owner, key, value)


def size_kwargs(architecture: str, image_size: int | None) -> dict[str, int]:
    """Build kwargs that make a detector resize its input so the shorter side is
    ``image_size`` px (longer side capped at 5/3 of it, torchvision's 800/1333 ratio).
    SSD models have a fixed input size, so they take nothing."""
    if not image_size or architecture.startswith("ssd"):
        return {}
    return {"min_size": int(image_size), "max_size": int(round(image_size * 5 / 3))}
