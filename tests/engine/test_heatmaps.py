"""Layer-wise heatmaps: architecture x method x target kind, and the known traps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection
from tidelens.engine.checkpoints import load_model, read_checkpoint
from tidelens.engine.heatmap_targets import ProposalEvidence
from tidelens.engine.heatmaps import (
    CAM_MAX_DETECTIONS,
    CAM_SCORE_THRESH,
    GROUND_TRUTH_MIN_IOU,
    METHODS,
    HeatmapError,
    Target,
    _EigenCAM,
    _GradCAMPlusPlus,
    compute_heatmaps,
)
from tidelens.engine.inference import run_inference
from tidelens.engine.models import (
    configure_detections,
    get_architecture,
    restore_detections,
    size_kwargs,
)
from torchvision.ops import box_iou

GRADIENT_METHODS = ("gradcam", "gradcampp", "layercam")


def _loaded(path):
    ckpt = read_checkpoint(path)
    kwargs = size_kwargs(ckpt.architecture, ckpt.metadata.get("image_size"))
    return get_architecture(ckpt.architecture), load_model(
        ckpt, None, ckpt.classes, **kwargs
    )


@pytest.fixture(scope="module")
def trained(frcnn_checkpoints, ssdlite_checkpoint, synthetic_val):
    """Per architecture: (arch, model, image, prediction and ground-truth targets)."""
    torch.set_num_threads(1)
    out = {}
    image = synthetic_val.images[0]
    pixels = synthetic_val.read_image(image)
    gt = next(a for a in synthetic_val.annotations if a.image_id == image.id)
    for path in (frcnn_checkpoints[-1], ssdlite_checkpoint):
        arch, model = _loaded(path)
        detections = run_inference(model, synthetic_val, batch_size=8)
        top = next(d for d in detections if d["image_id"] == image.id)
        out[arch.name] = (
            arch,
            model,
            pixels,
            Target(tuple(top["bbox"]), top["category_id"], "prediction"),
            Target(gt.bbox, gt.category_id, "ground_truth"),
        )
    return out


def _class_index(dataset):
    return {c.id: i + 1 for i, c in enumerate(dataset.categories)}


@pytest.mark.parametrize("kind", ["prediction", "ground_truth"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "arch_name",
    ["fasterrcnn_mobilenet_v3_large_320_fpn", "ssdlite320_mobilenet_v3_large"],
)
def test_matrix_on_trained_checkpoints(trained, synthetic_val, arch_name, method, kind):
    arch, model, pixels, prediction, ground_truth = trained[arch_name]
    target = prediction if kind == "prediction" else ground_truth
    layers = list(reversed(arch.layers))  # deliberately not in forward order
    maps = compute_heatmaps(
        model,
        arch,
        pixels,
        target,
        layers,
        method,
        _class_index(synthetic_val),
        scorecam_channels=2,  # ScoreCAM: one extra forward per channel and layer
        scorecam_batch_size=2,
    )

    assert [m.layer for m in maps] == layers
    areas = [m.values.size for m in maps]
    assert areas == sorted(areas)  # deep (small) first, as requested
    for m in maps:
        assert m.values.dtype == np.float32 and m.values.ndim == 2
        assert np.isfinite(m.values).all()
        assert m.min == pytest.approx(float(m.values.min()))
        assert m.max == pytest.approx(float(m.values.max()))
        assert m.min >= 0.0
    # A trained detector gives a signal on at least one layer for every method.
    assert max(m.max for m in maps) > 0.0
    _assert_no_hooks(model)


def _assert_no_hooks(model):
    for module in model.modules():
        assert not module._forward_hooks
        assert not module._backward_hooks


def test_maps_are_cropped_to_the_unpadded_area(trained, synthetic_val):
    arch, model, pixels, prediction, _ = trained[
        "fasterrcnn_mobilenet_v3_large_320_fpn"
    ]
    maps = compute_heatmaps(
        model,
        arch,
        pixels,
        prediction,
        arch.layers,
        "eigencam",
        _class_index(synthetic_val),
    )
    # 160x120 resized to a 128 px short side -> 128x171, padded to 128x192.
    height, width = pixels.shape[:2]
    scale = 128 / min(height, width)
    real_h, real_w = round(height * scale), round(width * scale)
    first = maps[0].values  # backbone.body.3: stride 8 in MobileNetV3
    stride = 128 / first.shape[0]
    assert first.shape == (math.ceil(real_h / stride), math.ceil(real_w / stride))
    assert first.shape[1] < 192 / stride


def test_missed_box_with_no_evidence_gives_zero_maps_not_an_error(
    trained, synthetic_val
):
    arch, model, pixels, _, ground_truth = trained["ssdlite320_mobilenet_v3_large"]
    corner = Target((0.0, 0.0, 2.0, 2.0), ground_truth.category_id, "ground_truth")
    maps = compute_heatmaps(
        model, arch, pixels, corner, arch.layers, "gradcam", _class_index(synthetic_val)
    )
    assert all(m.max == 0.0 for m in maps)


def test_thresholds_are_restored_and_errors_release_hooks(trained, synthetic_val):
    arch, model, pixels, prediction, _ = trained["ssdlite320_mobilenet_v3_large"]
    before = (model.score_thresh, model.detections_per_img)
    with pytest.raises(HeatmapError, match="unknown layer"):
        compute_heatmaps(
            model,
            arch,
            pixels,
            prediction,
            [arch.layers[0], "nope"],
            "gradcam",
            _class_index(synthetic_val),
        )
    with pytest.raises(HeatmapError, match="method"):
        compute_heatmaps(
            model,
            arch,
            pixels,
            prediction,
            arch.layers,
            "magic",
            _class_index(synthetic_val),
        )
    with pytest.raises(HeatmapError, match="category"):
        compute_heatmaps(model, arch, pixels, prediction, arch.layers, "gradcam", {})
    compute_heatmaps(
        model,
        arch,
        pixels,
        prediction,
        arch.layers[:1],
        "gradcam",
        _class_index(synthetic_val),
    )
    assert (model.score_thresh, model.detections_per_img) == before
    _assert_no_hooks(model)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arch_name", "method"),
    [
        ("fasterrcnn_resnet50_fpn", "gradcam"),
        ("retinanet_resnet50_fpn", "layercam"),
        ("fcos_resnet50_fpn", "gradcampp"),
        ("fasterrcnn_mobilenet_v3_large_fpn", "eigencam"),
    ],
)
def test_large_architectures_run_on_small_images(arch_name, method):
    """Random weights and a 96 px input: checks wiring, not map quality. ResNet-50
    models cost seconds per call on a CPU, so each architecture gets one method."""
    torch.manual_seed(0)
    arch = get_architecture(arch_name)
    model = arch.build(3, **size_kwargs(arch_name, 96)).eval()
    pixels = np.random.default_rng(0).integers(0, 255, (72, 96, 3), dtype=np.uint8)
    target = Target((10.0, 10.0, 30.0, 30.0), 1, "ground_truth")
    maps = compute_heatmaps(model, arch, pixels, target, arch.layers, method, {1: 1})
    assert [m.layer for m in maps] == arch.layers
    assert all(np.isfinite(m.values).all() for m in maps)
    _assert_no_hooks(model)


class _NoHooks:
    def release(self) -> None:
        pass


def _bare_cam(cls):
    """A CAM object without hooks, to test one formula; its __del__ still releases."""
    cam = cls.__new__(cls)
    cam.activations_and_grads = _NoHooks()
    return cam


def test_gradcampp_keeps_tiny_gradients():
    """Regression: the reference epsilon turned gradients of ~1e-6 into all zeros."""
    rng = np.random.default_rng(0)
    activations = rng.random((1, 8, 5, 5)).astype(np.float32)
    grads = rng.normal(size=(1, 8, 5, 5)).astype(np.float32)
    cam = _bare_cam(_GradCAMPlusPlus)
    strong = cam.get_cam_weights(None, None, None, activations, grads)
    weak = cam.get_cam_weights(None, None, None, activations, grads * 1e-6)
    assert np.abs(strong).max() > 0
    assert np.abs(weak).max() > 0
    assert not np.allclose(weak, 0)
    zero = cam.get_cam_weights(None, None, None, activations, grads * 0)
    assert np.all(zero == 0)


def test_eigencam_economy_svd_matches_the_full_projection():
    rng = np.random.default_rng(0)
    activations = rng.random((1, 6, 9, 7)).astype(np.float32)
    cam = _bare_cam(_EigenCAM)
    ours = cam.get_cam_image(None, None, None, activations, None, False)
    reference = get_2d_projection(activations)
    assert ours.shape == reference.shape
    # Same projection up to the arbitrary SVD sign.
    assert np.allclose(np.abs(ours), np.abs(reference), atol=1e-4)


def _cam_output(model, pixels, box_xyxy=None):
    """The detector's output at the thresholds a CAM runs with, optionally with the
    second-stage evidence of ``box_xyxy`` recorded."""
    image = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255.0
    previous = configure_detections(model, CAM_SCORE_THRESH, CAM_MAX_DETECTIONS)
    evidence = None
    if box_xyxy is not None:
        evidence = ProposalEvidence.attach(model, box_xyxy, image.shape[-2:])
    try:
        with torch.no_grad():
            return model([image])[0]
    finally:
        restore_detections(model, previous)
        if evidence is not None:
            evidence.release()


def test_missed_box_with_no_output_box_of_its_class_still_gets_a_map(
    trained, synthetic_val
):
    """Regression: a ground truth with no output box of its class nearby had a
    constant zero score, so every gradient method returned an all-zero map. Two-stage
    detectors now score the class evidence of the proposals around the box."""
    arch, model, pixels, _, _ = trained["fasterrcnn_mobilenet_v3_large_320_fpn"]
    class_index = _class_index(synthetic_val)
    output = _cam_output(model, pixels)
    height, width = pixels.shape[:2]
    missed = None
    # At the CAM thresholds output boxes cover the image; small boxes find gaps.
    for side in (16, 12, 8):
        for y in range(0, height - side + 1, 8):
            for x in range(0, width - side + 1, 8):
                box = torch.tensor([[x, y, x + side, y + side]], dtype=torch.float32)
                near = box_iou(box, output["boxes"])[0] >= GROUND_TRUTH_MIN_IOU
                labels = set(output["labels"][near].tolist())
                for category_id, label in class_index.items():
                    if missed is None and label not in labels:
                        xywh = (float(x), float(y), float(side), float(side))
                        missed = Target(xywh, category_id, "ground_truth")
    assert missed is not None, "every box and class has an output box nearby"
    x, y, w, h = missed.bbox
    recorded = _cam_output(model, pixels, torch.tensor([x, y, x + w, y + h]))
    for key, value in output.items():  # the extra region leaves detections as they are
        assert torch.equal(recorded[key], value), key
    for method in GRADIENT_METHODS:
        maps = compute_heatmaps(
            model, arch, pixels, missed, arch.layers, method, class_index
        )
        assert any(m.max > m.min for m in maps), method
        assert all(np.isfinite(m.values).all() for m in maps)
    _assert_no_hooks(model)
