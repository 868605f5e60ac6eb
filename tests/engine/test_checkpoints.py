"""Checkpoint loading: weights_only only, readable refusals."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from tidelens.engine.checkpoints import CheckpointError, load_model, read_checkpoint
from tidelens.engine.models import get_architecture

ARCH = "ssdlite320_mobilenet_v3_large"
CLASSES = ["a", "b"]


@pytest.fixture(scope="module")
def state():
    return get_architecture(ARCH).build(len(CLASSES) + 1).state_dict()


@pytest.mark.parametrize("key", ["model", "state_dict", "model_state_dict"])
def test_training_dict_with_metadata(tmp_path, state, key):
    path = tmp_path / "e.pt"
    torch.save(
        {
            key: state,
            "architecture": ARCH,
            "classes": CLASSES,
            "epoch": 3,
            "optimizer": {"lr": 0.1},
        },
        path,
    )
    ckpt = read_checkpoint(path)
    assert (ckpt.architecture, ckpt.classes, ckpt.epoch) == (ARCH, CLASSES, 3)
    assert set(ckpt.state_dict) == set(state)
    model = load_model(path, None, CLASSES)
    assert not model.training


def test_plain_state_dict_and_dataparallel_prefix(tmp_path, state):
    path = tmp_path / "plain.pt"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    ckpt = read_checkpoint(path)
    assert ckpt.architecture is None and ckpt.epoch is None
    model = load_model(ckpt, ARCH, CLASSES)
    first = next(iter(state))
    assert torch.equal(model.state_dict()[first], state[first])


def test_plain_state_dict_needs_an_architecture(tmp_path, state):
    path = tmp_path / "plain.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="no architecture"):
        load_model(path, None, CLASSES)


def test_pickled_module_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError, match="state_dict"):
        read_checkpoint(path)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_malicious_pickle_is_never_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "x": _Exploit()}, path)
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_raw_pickle_file_is_refused(tmp_path):
    path = tmp_path / "raw.pt"
    path.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(CheckpointError):
        read_checkpoint(path)


def test_truncated_checkpoint_is_refused(tmp_path, state):
    path = tmp_path / "cut.pt"
    torch.save({"model": state}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "empty"), (b"hello, not a checkpoint", "not a PyTorch checkpoint")],
)
def test_not_a_checkpoint(tmp_path, content, match):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        read_checkpoint(path)


def test_dict_without_weights_names_its_keys(tmp_path):
    path = tmp_path / "meta.pt"
    torch.save({"epoch": 1, "notes": "x"}, path)
    with pytest.raises(CheckpointError, match="epoch, notes"):
        read_checkpoint(path)


def test_missing_file():
    with pytest.raises(CheckpointError, match="no such"):
        read_checkpoint("/nonexistent/e.pt")


def test_other_architecture_names_missing_and_unexpected_keys(tmp_path, state):
    path = tmp_path / "ssd.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_model(path, "fasterrcnn_mobilenet_v3_large_320_fpn", CLASSES)
    message = str(err.value)
    assert "missing key(s): " in message and "backbone.body." in message
    assert "unexpected key(s): " in message and "backbone.features." in message
    assert "another architecture" in message


def test_other_class_count_names_shape_mismatches(tmp_path, state):
    path = tmp_path / "ssd.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_model(path, ARCH, ["a", "b", "c"])
    message = str(err.value)
    assert "shape mismatch" in message and "classification_head" in message
    assert "class count" in message


def test_stored_metadata_must_agree(tmp_path, state):
    path = tmp_path / "e.pt"
    torch.save({"model": state, "architecture": ARCH, "classes": CLASSES}, path)
    with pytest.raises(CheckpointError, match="saved from"):
        load_model(path, "fcos_resnet50_fpn", CLASSES)
    with pytest.raises(CheckpointError, match="trained for classes"):
        load_model(path, ARCH, ["b", "a"])
