"""`tidelens models`, `train` and `analyze` run in-process through the dispatcher."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from tidelens.cli import main
from tidelens.engine.models import list_architectures


def _analyze(dataset, checkpoints, out) -> int:
    """`tidelens analyze` on one thread, as the tests run it."""
    return main(
        [
            "analyze",
            "--dataset",
            str(dataset),
            "--checkpoints",
            str(checkpoints),
            "--out",
            str(out),
            "--threads",
            "1",
        ]
    )


def test_models_lists_architectures_and_layers(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for arch in list_architectures():
        assert arch.name in out
        assert ", ".join(arch.layers) in out
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {a["name"]: a["layers"] for a in listed} == {
        a.name: a.layers for a in list_architectures()
    }


def test_analyze_writes_epoch_table_and_error_rows(
    tmp_path, synthetic_voc, frcnn_checkpoints, capsys
):
    folder = tmp_path / "ckpts"
    folder.mkdir()
    for path in frcnn_checkpoints:
        shutil.copy(path, folder)
    (folder / ".epoch_003.pt.partial").write_bytes(b"half")  # ignored
    out = tmp_path / "out"
    code = _analyze(synthetic_voc, folder, out)
    assert code == 0
    table = json.loads((out / "epochs.json").read_text())["epochs"]
    assert [row["epoch"] for row in table] == [1, 2]
    for row in table:
        assert set(row["counts"]) == {"Cls", "Loc", "Both", "Dupe", "Bkg", "Miss"}
        assert 0.0 <= row["ap50"] <= 100.0
        if row["detections"] == 0:  # an early epoch may find nothing: all Miss
            assert row["counts"]["Miss"] > 0 and row["ap50"] == 0.0
        errors = list(
            csv.DictReader((out / "errors" / f"epoch_{row['epoch']:03d}.csv").open())
        )
        assert len(errors) == sum(row["counts"].values())
        detections = json.loads(
            (out / "detections" / f"epoch_{row['epoch']:03d}.json").read_text()
        )
        assert len(detections) == row["detections"]
    assert table[-1]["detections"] > 0
    with (out / "epochs.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert "count_Miss" in rows[0] and "dap_FalsePos" in rows[0]
    assert "AP50" in capsys.readouterr().out


def test_analyze_reports_a_bad_checkpoint_and_goes_on(
    tmp_path, synthetic_voc, frcnn_checkpoints, capsys
):
    folder = tmp_path / "ckpts"
    folder.mkdir()
    shutil.copy(frcnn_checkpoints[0], folder)
    (folder / "epoch_009.pt").write_bytes(b"not a checkpoint")
    out = tmp_path / "out"
    code = _analyze(synthetic_voc, folder, out)
    assert code == 2
    assert "epoch_009.pt" in capsys.readouterr().err
    table = json.loads((out / "epochs.json").read_text())["epochs"]
    assert [row["epoch"] for row in table] == [1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--dataset", "/nonexistent", "--checkpoints", "{tmp}", "--out", "{tmp}/o"],
            "no such file",
        ),
        (
            ["--dataset", "{voc}", "--checkpoints", "{tmp}", "--out", "{tmp}/o"],
            "no .pt",
        ),
        (
            ["--dataset", "{voc}", "--checkpoints", "{tmp}/none", "--out", "{tmp}/o"],
            "not a folder",
        ),
        (
            [
                "--dataset",
                "{voc}",
                "--split",
                "nope",
                "--checkpoints",
                "{tmp}",
                "--out",
                "{tmp}/o",
            ],
            "split 'nope'",
        ),
    ],
)
def test_analyze_bad_input_exits_2(tmp_path, synthetic_voc, capsys, args, message):
    filled = [a.format(tmp=tmp_path, voc=synthetic_voc) for a in args]
    assert main(["analyze", *filled]) == 2
    assert message in capsys.readouterr().err


def test_train_command_writes_checkpoints(tmp_path, synthetic_voc, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            str(synthetic_voc),
            "--split",
            "val",
            "--architecture",
            "ssdlite320_mobilenet_v3_large",
            "--epochs",
            "1",
            "--out",
            str(out),
            "--threads",
            "1",
            "--batch-size",
            "6",
        ]
    )
    assert code == 0
    assert [p.name for p in out.iterdir()] == ["epoch_001.pt"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--architecture", "nope"], "unknown architecture"),
        (["--epochs", "0"], "--epochs"),
    ],
)
def test_train_bad_input_exits_2(tmp_path, synthetic_voc, capsys, extra, message):
    code = main(
        ["train", "--dataset", str(synthetic_voc), "--out", str(tmp_path), *extra]
    )
    assert code == 2
    assert message in capsys.readouterr().err
