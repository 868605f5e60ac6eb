"""Layer-wise heatmaps for one image and one detection target.

All requested layers are recorded during ONE forward pass, and (for gradient methods)
ONE backward pass gives every layer's gradient. Activations and gradients are kept per
layer *name*, so the maps come back in the order of ``layers`` whatever order the
network executes them in. pytorch-grad-cam supplies each method's map formula
(``get_cam_image``); its multi-layer averaging and per-map min-max scaling are not
used: each :class:`RawMap` holds raw values (after the method's ReLU) at feature
resolution, cropped to the unpadded image area, with their min and max.

Costs: Grad-CAM, Grad-CAM++ and LayerCAM cost one forward + one backward; EigenCAM one
forward. ScoreCAM runs one extra forward per scored channel and layer, so it scores only
the ``scorecam_channels`` most active channels of each layer (others get weight 0) in
batches of ``scorecam_batch_size``: about ``layers * channels / batch`` batched
forwards.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM
from torch import nn

from tidelens.engine.heatmap_targets import BoxEvidenceTarget, ProposalEvidence
from tidelens.engine.models import (
    Architecture,
    configure_detections,
    restore_detections,
)

logger = logging.getLogger(__name__)

METHODS = ("gradcam", "gradcampp", "layercam", "scorecam", "eigencam")

# During a CAM the detector keeps nearly every box so that the class evidence around
# a missed ground truth (scores far below any display threshold) is still visible.
CAM_SCORE_THRESH = 1e-4
CAM_MAX_DETECTIONS = 300
# Overlap needed for an output box to count towards a target: a prediction target
# uses TIDE's foreground threshold, a ground-truth target its background threshold so
# that poorly placed evidence for a missed object still counts.
PREDICTION_MIN_IOU = 0.5
GROUND_TRUTH_MIN_IOU = 0.1


class HeatmapError(ValueError):
    """The heatmap request cannot be served (unknown layer, method or class)."""


@dataclass(frozen=True)
class Target:
    bbox: tuple[float, float, float, float]  # xywh px in the original image
    category_id: int  # dataset category id
    kind: Literal["prediction", "ground_truth"] = "prediction"


@dataclass
class RawMap:
    layer: str
    values: np.ndarray  # float32 (h, w) at feature resolution, unpadded area
    min: float
    max: float


class _GradCAMPlusPlus(GradCAMPlusPlus):
    """Grad-CAM++ with an epsilon relative to the gradient scale.

    The reference formula adds 1e-6 to its denominator, which swamps gradients below
    about 1e-3 (early-epoch or weak targets) and returns all zeros."""

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        grads = grads.astype(np.float64)
        activations = activations.astype(np.float64)
        scale = float(np.abs(grads).max())
        if scale == 0.0:
            return np.zeros(grads.shape[:2], dtype=np.float32)
        g2 = grads**2
        g3 = g2 * grads
        spatial = tuple(range(2, activations.ndim))
        summed = activations.sum(axis=spatial, keepdims=True)
        denominator = 2 * g2 + summed * g3 + 1e-6 * scale**2
        alpha = np.where(grads != 0, g2 / np.where(denominator == 0, 1, denominator), 0)
        return (np.maximum(grads, 0) * alpha).sum(axis=spatial).astype(np.float32)


class _EigenCAM(EigenCAM):
    """EigenCAM with an economy SVD and the usual sign correction.

    The full SVD builds an (h*w, h*w) matrix: gigabytes on early layers. Only the first
    right singular vector is needed. SVD signs are arbitrary, so the projection is
    flipped when its negative side is the larger one."""

    def get_cam_image(
        self, input_tensor, target_layer, targets, activations, grads, eigen_smooth
    ):
        projections = []
        for act in np.nan_to_num(activations.astype(np.float32)):
            flat = act.reshape(act.shape[0], -1).T
            flat = flat - flat.mean(axis=0)
            _, _, vt = np.linalg.svd(flat, full_matrices=False)
            projection = (flat @ vt[0]).reshape(act.shape[1:])
            if abs(projection.min()) > abs(projection.max()):
                projection = -projection
            projections.append(projection)
        return np.float32(projections)


class _ScoreCAM(ScoreCAM):
    """ScoreCAM scoring only the most active channels, in batches (see module doc)."""

    max_channels = 64
    batch_size = 16

    def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
        acts = torch.from_numpy(activations).float().to(self.device)
        n, channels = acts.shape[:2]
        keep = min(self.max_channels, channels)
        weights = np.zeros((n, channels), dtype=np.float32)
        with torch.no_grad():
            for i in range(n):
                chosen = acts[i].mean(dim=(1, 2)).topk(keep).indices
                masks = nn.functional.interpolate(
                    acts[i, chosen][:, None],
                    size=input_tensor.shape[-2:],
                    mode="bilinear",
                    align_corners=False,
                )[:, 0]
                lo = masks.amin(dim=(1, 2), keepdim=True)
                hi = masks.amax(dim=(1, 2), keepdim=True)
                masks = (masks - lo) / (hi - lo + 1e-8)
                scores = []
                for start in range(0, keep, self.batch_size):
                    batch = (
                        input_tensor[i][None]
                        * masks[start : start + self.batch_size, None]
                    )
                    scores.extend(float(targets[i](o)) for o in self.model(batch))
                weights[i, chosen.cpu().numpy()] = torch.softmax(
                    torch.tensor(scores), dim=0
                ).numpy()
        return weights


_METHOD_CLASSES = {
    "gradcam": GradCAM,
    "gradcampp": _GradCAMPlusPlus,
    "layercam": LayerCAM,
    "scorecam": _ScoreCAM,
    "eigencam": _EigenCAM,
}


class _LayerRecorder:
    """Forward hooks keyed by layer name: activations while ``recording``, and a
    tensor hook for each layer's gradient. ``release()`` removes every hook."""

    def __init__(self, model: nn.Module, layers: list[str], reshape_transform=None):
        modules = dict(model.named_modules())
        unknown = [name for name in layers if name not in modules]
        if unknown:
            raise HeatmapError(f"unknown layer(s) {unknown} for this model")
        self.modules = {name: modules[name] for name in layers}
        self.reshape = reshape_transform
        self.activations: dict[str, torch.Tensor] = {}
        self.gradients: dict[str, torch.Tensor] = {}
        self.recording = True
        self.handles = [
            module.register_forward_hook(self._hook(name))
            for name, module in self.modules.items()
        ]

    def _hook(self, name: str):
        def hook(module, inputs, output):
            if not self.recording or name in self.activations:
                return
            if self.reshape is not None:
                output = self.reshape(output)
            if not isinstance(output, torch.Tensor):
                raise HeatmapError(
                    f"layer {name} returns {type(output).__name__}, not a tensor; "
                    "choose another layer or give the architecture a reshape transform"
                )
            self.activations[name] = output.detach().cpu()
            if output.requires_grad:

                def store(grad: torch.Tensor) -> None:
                    self.gradients[name] = grad.detach().cpu()

                output.register_hook(store)

        return hook

    def release(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


def _unpadded_fraction(model: nn.Module, image: torch.Tensor) -> tuple[float, float]:
    """Fraction (height, width) of the model's padded input that is real image."""
    transform = getattr(model, "transform", None)
    if transform is None:
        return 1.0, 1.0
    with torch.no_grad():
        image_list, _ = transform([image])
    padded_h, padded_w = image_list.tensors.shape[-2:]
    real_h, real_w = image_list.image_sizes[0]
    return real_h / padded_h, real_w / padded_w


def compute_heatmaps(
    model: nn.Module,
    architecture: Architecture | None,
    image_rgb: np.ndarray,
    target: Target,
    layers: list[str],
    method: str,
    class_index: dict[int, int],
    *,
    scorecam_channels: int = 64,
    scorecam_batch_size: int = 16,
) -> list[RawMap]:
    """Raw maps of ``layers`` for ``target`` on ``image_rgb`` ((H, W, 3) uint8).

    A prediction target scores the output boxes of its class that overlap its box
    (IoU >= 0.5). A ground-truth target (a Miss) scores those at IoU >= 0.1; when the
    output has none, a two-stage detector (Faster R-CNN: ``roi_heads.box_roi_pool``
    and ``box_predictor``) uses its second stage's class probability for the box and
    the proposals around it, from the same forward pass (detections unchanged).
    One-stage detectors (RetinaNet, FCOS, SSDlite) have no such fallback: with no
    output box of the class near the box, their gradient maps are all zero.

    ``class_index`` maps dataset category ids to the model's labels (1-based). The
    model's output thresholds are lowered for the call and restored afterwards, so do
    not share one model object between threads while this runs.
    """
    if method not in _METHOD_CLASSES:
        raise HeatmapError(
            f"unknown method {method!r}; choose one of {', '.join(METHODS)}"
        )
    if target.category_id not in class_index:
        raise HeatmapError(
            f"category {target.category_id} is not one of the model's classes"
        )
    if not layers:
        raise HeatmapError("no layers requested")
    device = next(model.parameters()).device
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise HeatmapError(f"expected an (H, W, 3) RGB image, got {image_rgb.shape}")
    image = torch.from_numpy(np.array(image_rgb, dtype=np.uint8)).permute(2, 0, 1)
    image = image.to(device, torch.float32) / 255.0
    x, y, w, h = target.bbox
    box = torch.tensor([x, y, x + w, y + h], dtype=torch.float32)
    min_iou = (
        GROUND_TRUTH_MIN_IOU if target.kind == "ground_truth" else PREDICTION_MIN_IOU
    )
    model.eval()
    cam = _METHOD_CLASSES[method](model, target_layers=[])  # hooks are ours, by name
    if method == "scorecam":
        cam.max_channels, cam.batch_size = scorecam_channels, scorecam_batch_size
    reshape = architecture.reshape_transform if architecture else None
    recorder = _LayerRecorder(model, layers, reshape)
    # A missed object often has no output box of its class: on a two-stage detector
    # its map then shows the class evidence on the proposals around it.
    fallback = None
    if target.kind == "ground_truth" and cam.uses_gradients:
        fallback = ProposalEvidence.attach(model, box, tuple(image.shape[-2:]))
    cam_target = BoxEvidenceTarget(
        box, class_index[target.category_id], min_iou, fallback
    )
    previous = configure_detections(model, CAM_SCORE_THRESH, CAM_MAX_DETECTIONS)
    batch = image[None].requires_grad_(cam.uses_gradients)
    try:
        with torch.enable_grad():
            outputs = model(batch)
            recorder.recording = False
            if cam.uses_gradients:
                model.zero_grad(set_to_none=True)
                score = cam_target(outputs[0])
                if score.requires_grad:
                    score.backward()
        frac_h, frac_w = _unpadded_fraction(model, image)
        maps = []
        for name in layers:
            if name not in recorder.activations:
                raise HeatmapError(f"layer {name} did not run in the forward pass")
            acts = recorder.activations[name].numpy()
            grads = recorder.gradients.get(name)
            grads = np.zeros_like(acts) if grads is None else grads.numpy()
            raw = cam.get_cam_image(
                batch.detach(), recorder.modules[name], [cam_target], acts, grads, False
            )
            raw = np.maximum(raw[0], 0).astype(np.float32)
            keep_h = max(1, math.ceil(raw.shape[0] * frac_h - 1e-6))
            keep_w = max(1, math.ceil(raw.shape[1] * frac_w - 1e-6))
            raw = np.ascontiguousarray(raw[:keep_h, :keep_w])
            maps.append(RawMap(name, raw, float(raw.min()), float(raw.max())))
        return maps
    finally:
        recorder.release()
        if fallback is not None:
            fallback.release()
        restore_detections(model, previous)
        model.zero_grad(set_to_none=True)
