"""Differentiable detection targets for the heatmap engine.

A target turns the detector's output for one image into a scalar whose gradient the
gradient CAM methods use. :class:`BoxEvidenceTarget` scores a box and class from the
post-processed output boxes; for a missed ground truth on a two-stage detector it
falls back to the second stage's class evidence on the box and the region proposals
around it (:class:`ProposalEvidence`), captured by forward hooks in the same forward
pass.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import box_iou

# Proposals overlapping a ground-truth box by at least this IoU carry its evidence.
PROPOSAL_MIN_IOU = 0.1


class ProposalEvidence:
    """The class evidence a two-stage detector (torchvision Faster R-CNN) gives a box.

    Forward hooks on ``roi_heads`` record, during the first forward pass after
    :meth:`attach`, the proposals handed to ``box_roi_pool`` (one (N, 4) xyxy tensor
    per image, in the resized input coordinates before padding) and the
    ``class_logits`` ((N, classes + 1), column 0 background) of ``box_predictor``,
    still connected to the graph. The box itself, scaled to the resized input, is
    appended as one more region so that the second stage classifies it in the same
    pass; its row is removed from the predictor's output again, so the detections are
    unchanged. Region proposals are sized for whole objects and often miss a small
    box by far (IoU < 0.1 for BCCD platelets), hence the extra region.

    One-stage detectors (RetinaNet, FCOS, SSDlite) have no such head: :meth:`attach`
    returns None for them. Single-image batches only.
    """

    def __init__(
        self, roi_heads: nn.Module, box_xyxy: torch.Tensor, image_hw: tuple[int, int]
    ):
        self.box = box_xyxy.reshape(1, 4).float()
        self.image_hw = image_hw
        self.regions: torch.Tensor | None = None  # proposals, then the box
        self.class_logits: torch.Tensor | None = None
        self.handles = [
            roi_heads.box_roi_pool.register_forward_pre_hook(self._pool_hook),
            roi_heads.box_predictor.register_forward_hook(self._predictor_hook),
        ]

    @classmethod
    def attach(
        cls, model: nn.Module, box_xyxy: torch.Tensor, image_hw: tuple[int, int]
    ) -> ProposalEvidence | None:
        """Hooks for ``box_xyxy`` ((4,) xyxy px in the original ``image_hw`` image)."""
        roi_heads = getattr(model, "roi_heads", None)
        if not all(
            isinstance(getattr(roi_heads, name, None), nn.Module)
            for name in ("box_roi_pool", "box_predictor")
        ):
            return None
        return cls(roi_heads, box_xyxy, image_hw)

    def _pool_hook(self, module, args):
        if self.regions is not None or len(args) < 3 or len(args[1]) != 1:
            return None
        features, proposals, image_shapes = args
        scale_h = image_shapes[0][0] / self.image_hw[0]
        scale_w = image_shapes[0][1] / self.image_hw[1]
        scale = torch.tensor([[scale_w, scale_h, scale_w, scale_h]])
        box = (self.box * scale).to(proposals[0])
        self.regions = torch.cat([proposals[0].detach(), box])
        return features, [self.regions], image_shapes

    def _predictor_hook(self, module, inputs, output):
        if self.regions is None or self.class_logits is not None:
            return None
        class_logits, box_regression = output
        self.class_logits = class_logits
        return class_logits[:-1], box_regression[:-1]

    def score(self, label: int) -> torch.Tensor | None:
        """Sum over the regions (proposals and the box itself) with IoU >=
        PROPOSAL_MIN_IOU with the box of IoU * softmax(class_logits)[label].

        The softmax probability rather than the raw logit: it is the quantity the
        detector's output scores are made of, so the evidence is on the same scale as
        for a detected box, and it is class-discriminative (a raw logit can rise with
        every class's logit, background included). None when nothing was recorded."""
        if self.regions is None or self.class_logits is None:
            return None
        iou = box_iou(self.regions[-1:], self.regions)[0]
        keep = iou >= PROPOSAL_MIN_IOU
        probs = torch.softmax(self.class_logits[keep], dim=1)[:, label]
        return (probs * iou[keep]).sum()

    def release(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


class BoxEvidenceTarget:
    """Differentiable score of a box and class in a detector's output.

    Sums, over output boxes of ``label`` whose IoU with ``box_xyxy`` ((4,) xyxy px in
    the original image) is at least ``min_iou``, the box score weighted by that IoU.
    With no such box and a ``fallback`` (a ground-truth target on a two-stage
    detector), the score is the second stage's evidence for ``label`` at the box (see
    :meth:`ProposalEvidence.score`). Otherwise (one-stage detectors) the result is a
    zero that is still connected to the graph when the scores are, so the backward
    pass gives zero gradients (all-zero maps) instead of failing.
    """

    def __init__(
        self,
        box_xyxy: torch.Tensor,
        label: int,
        min_iou: float,
        fallback: ProposalEvidence | None = None,
    ):
        self.box = box_xyxy.reshape(1, 4).float()
        self.label = label
        self.min_iou = min_iou
        self.fallback = fallback

    def __call__(self, output: dict[str, torch.Tensor]) -> torch.Tensor:
        scores = output["scores"]
        weight = scores.new_zeros(scores.shape)
        if scores.numel():
            boxes = output["boxes"].detach()
            iou = box_iou(self.box.to(boxes.device), boxes)[0]
            weight = iou * ((output["labels"] == self.label) & (iou >= self.min_iou))
        if self.fallback is not None and not bool((weight > 0).any()):
            evidence = self.fallback.score(self.label)
            if evidence is not None:
                return evidence
        return (scores * weight).sum()
