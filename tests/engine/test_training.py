"""Training: one atomic checkpoint per epoch with metadata; resume."""

from __future__ import annotations

import pytest
import torch
from tidelens.engine import training
from tidelens.engine.checkpoints import load_model, read_checkpoint
from tidelens.engine.datasets import load_dataset


def test_checkpoints_hold_metadata_and_load(frcnn_checkpoints, synthetic_voc):
    dataset = load_dataset(synthetic_voc, split="train")
    assert [p.name for p in frcnn_checkpoints] == ["epoch_001.pt", "epoch_002.pt"]
    folder = frcnn_checkpoints[0].parent
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_001.pt", "epoch_002.pt"]
    first, second = (read_checkpoint(p) for p in frcnn_checkpoints)
    assert first.architecture == "fasterrcnn_mobilenet_v3_large_320_fpn"
    assert first.classes == dataset.class_names
    assert (first.epoch, second.epoch) == (1, 2)
    assert first.metadata["image_size"] == 128
    assert first.metadata["train_loss"] > 0
    key = "roi_heads.box_predictor.cls_score.weight"
    assert not torch.equal(first.state_dict[key], second.state_dict[key])
    load_model(second, None, second.classes)


def test_resume_continues_after_the_latest_epoch(tmp_path, synthetic_voc):
    dataset = load_dataset(synthetic_voc, split="train")
    dataset.images = dataset.images[:4]
    kwargs = dict(epochs=1, image_size=64, batch_size=4, seed=1, num_threads=1)
    arch = "ssdlite320_mobilenet_v3_large"
    training.train(arch, dataset, tmp_path, **kwargs)
    epochs = []
    paths = training.train(
        arch,
        dataset,
        tmp_path,
        resume=True,
        on_checkpoint=lambda p, e: epochs.append(e),
        **{**kwargs, "epochs": 2},
    )
    assert epochs == [2]
    assert [p.name for p in paths] == ["epoch_001.pt", "epoch_002.pt"]
    assert read_checkpoint(paths[1]).epoch == 2


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def broken_save(obj, f):
        f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(training.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        training.save_checkpoint_atomically({"model": {}}, tmp_path / "epoch_001.pt")
    assert list(tmp_path.iterdir()) == []


def test_empty_split_is_refused(synthetic_voc, tmp_path):
    dataset = load_dataset(synthetic_voc, split="train")
    dataset.images = []
    with pytest.raises(ValueError, match="no images"):
        training.train("ssdlite320_mobilenet_v3_large", dataset, tmp_path, epochs=1)


def test_loaded_model_infers_at_the_trained_size(frcnn_checkpoints):
    from tidelens.engine.checkpoints import load_model

    model = load_model(
        frcnn_checkpoints[0], None, read_checkpoint(frcnn_checkpoints[0]).classes
    )
    assert model.transform.min_size == (128,)
