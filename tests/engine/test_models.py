"""Architecture registry: no downloads, real layer ladders, plug-ins."""

from __future__ import annotations

import pytest
import torch
from tidelens.engine import models
from tidelens.engine.models import (
    Architecture,
    configure_detections,
    get_architecture,
    list_architectures,
    register_architecture,
    restore_detections,
    size_kwargs,
)

EXPECTED = {
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "retinanet_resnet50_fpn",
    "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
}


@pytest.fixture
def no_downloads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_registry_lists_the_builtin_detectors():
    assert EXPECTED <= {a.name for a in list_architectures()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builds_without_download_and_layers_go_shallow_to_deep(name, no_downloads):
    arch = get_architecture(name)
    model = arch.build(4, **size_kwargs(name, 96)).eval()  # small input: fast on CPU
    modules = dict(model.named_modules())
    assert all(layer in modules for layer in arch.layers)

    # Feature maps shrink (or keep size) from the first layer to the last.
    sizes = {}

    def record(layer):
        def hook(module, inputs, output):
            sizes.setdefault(layer, output.shape[-2:].numel())

        return hook

    hooks = [
        modules[layer].register_forward_hook(record(layer)) for layer in arch.layers
    ]
    with torch.no_grad():
        model([torch.rand(3, 96, 128)])
    for hook in hooks:
        hook.remove()
    ladder = [sizes[layer] for layer in arch.layers]
    assert ladder == sorted(ladder, reverse=True) and ladder[0] > ladder[-1]


def test_unknown_architecture_lists_known_ones():
    with pytest.raises(KeyError, match="fcos_resnet50_fpn"):
        get_architecture("yolo_v99")


def test_custom_architecture_by_registration(monkeypatch):
    monkeypatch.setattr(models, "_registry", None)
    custom = Architecture(
        "tiny_custom",
        "test",
        lambda n, **k: None,
        ["x"],
    )
    register_architecture(custom)
    assert get_architecture("tiny_custom") is custom
    assert EXPECTED <= {a.name for a in list_architectures()}


def test_entry_point_group_is_read(monkeypatch):
    class FakeEntryPoint:
        name = "plugin"
        value = "plugin:arch"

        def load(self):
            return lambda: Architecture("plugin_arch", "p", lambda n: None, ["a"])

    class Broken(FakeEntryPoint):
        name = "broken"

        def load(self):
            raise ImportError("missing dependency")

    seen = []

    def fake_entry_points(group):
        seen.append(group)
        return [FakeEntryPoint(), Broken()]

    monkeypatch.setattr(models, "_registry", None)
    monkeypatch.setattr(models, "entry_points", fake_entry_points)
    names = {a.name for a in list_architectures()}
    assert seen == ["tidelens.architectures"]
    assert "plugin_arch" in names and EXPECTED <= names


@pytest.mark.parametrize(
    "name", ["fasterrcnn_mobilenet_v3_large_320_fpn", "ssdlite320_mobilenet_v3_large"]
)
def test_detection_thresholds_are_set_and_restored(name):
    model = get_architecture(name).build(3)
    owner = getattr(model, "roi_heads", model)
    before = (owner.score_thresh, owner.detections_per_img)
    previous = configure_detections(model, 0.001, 100)
    assert (owner.score_thresh, owner.detections_per_img) == (0.001, 100)
    restore_detections(model, previous)
    assert (owner.score_thresh, owner.detections_per_img) == before
