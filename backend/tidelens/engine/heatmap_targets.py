"""Differentiable detection targets for the heatmap engine.

A target turns the detector's output for one image into a scalar whose gradient the
gradient CAM methods use. :class:`BoxEvidenceTarget` scores a box and class from the
post-processed output boxes; for a missed ground truth on a two-stage detector it
falls back to the second stage's class evidence on the region proposals around the
box (:class:`ProposalEvidence`), captured by forward hooks in the same forward pass.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.ops import box_iou

# Proposals overlapping a ground-truth box by at least this IoU carry its evidence.
PROPOSAL_MIN_IOU = 0.1


class ProposalEvidence:
    """Forward hooks on a two-stage detector's RoI head (torchvision Faster R-CNN).

    Records, for the first forward pass after :meth:`attach`, the proposals handed to
    ``roi_heads.box_roi_pool`` (one (N, 4) xyxy tensor per image, in the resized input
    coordinates, before padding), the resized image sizes, and the ``class_logits``
    ((N, classes + 1), column 0 background) of ``roi_heads.box_predictor``, still
    connected to the graph. One-stage detectors (RetinaNet, FCOS, SSDlite) have no
    such head: :meth:`attach` returns None for them.
    """

    def __init__(self, roi_heads: nn.Module):
        self.proposals: torch.Tensor | None = None
        self.image_size: tuple[int, int] | None = None
        self.class_logits: torch.Tensor | None = None
        self.handles = [
            roi_heads.box_roi_pool.register_forward_hook(self._pool_hook),
            roi_heads.box_predictor.register_forward_hook(self._predictor_hook),
        ]

    @classmethod
    def attach(cls, model: nn.Module) -> ProposalEvidence | None:
        roi_heads = getattr(model, "roi_heads", None)
        if not all(
            isinstance(getattr(roi_heads, name, None), nn.Module)
            for name in ("box_roi_pool", "box_predictor")
        ):
            return None
        return cls(roi_heads)

    def _pool_hook(self, module, inputs, output) -> None:
        if self.proposals is None and len(inputs) >= 3:
            self.proposals = inputs[1][0].detach()
            self.image_size = tuple(int(s) for s in inputs[2][0])

    def _predictor_hook(self, module, inputs, output) -> None:
        if self.class_logits is None and self.proposals is not None:
            logits = output[0] if isinstance(output, (tuple, list)) else output
            # Batch of one image: the rows are that image's proposals, in order.
            self.class_logits = logits[: len(self.proposals)]

    def score(
        self, box_xyxy: torch.Tensor, label: int, image_hw: tuple[int, int]
    ) -> torch.Tensor | None:
        """Sum over proposals with IoU >= PROPOSAL_MIN_IOU with ``box_xyxy`` ((4,) xyxy
        px in the original ``image_hw`` image) of IoU * softmax(class_logits)[label].

        The softmax probability rather than the raw logit: it is the quantity the
        detector's output scores are made of, so the evidence is on the same scale as
        for a detected box, and it is class-discriminative (a raw logit can rise with
        every class's logit, background included). None when nothing was recorded or
        no proposal overlaps the box."""
        if self.proposals is None or self.class_logits is None:
            return None
        scale_h = self.image_size[0] / image_hw[0]
        scale_w = self.image_size[1] / image_hw[1]
        scale = torch.tensor([scale_w, scale_h, scale_w, scale_h])
        box = (box_xyxy.reshape(1, 4).float() * scale).to(self.proposals.device)
        iou = box_iou(box, self.proposals)[0]
        keep = iou >= PROPOSAL_MIN_IOU
        if not bool(keep.any()):
            return None
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
    detector), the score is the fallback's proposal evidence for ``label`` at the box
    (see :meth:`ProposalEvidence.score`). Otherwise (one-stage detectors, or no
    proposal near the box) the result is a zero that is still connected to the graph
    when the scores are, so the backward pass gives zero gradients (all-zero maps)
    instead of failing.
    """

    def __init__(
        self,
        box_xyxy: torch.Tensor,
        label: int,
        min_iou: float,
        fallback: ProposalEvidence | None = None,
        image_hw: tuple[int, int] | None = None,
    ):
        self.box = box_xyxy.reshape(1, 4).float()
        self.label = label
        self.min_iou = min_iou
        self.fallback = fallback if image_hw is not None else None
        self.image_hw = image_hw

    def __call__(self, output: dict[str, torch.Tensor]) -> torch.Tensor:
        scores = output["scores"]
        weight = scores.new_zeros(scores.shape)
        if scores.numel():
            boxes = output["boxes"].detach()
            iou = box_iou(self.box.to(boxes.device), boxes)[0]
            weight = iou * ((output["labels"] == self.label) & (iou >= self.min_iou))
        if self.fallback is not None and not bool((weight > 0).any()):
            evidence = self.fallback.score(self.box[0], self.label, self.image_hw)
            if evidence is not None:
                return evidence
        return (scores * weight).sum()
