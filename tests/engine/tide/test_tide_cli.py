"""`tidelens tide`: JSON, table, CSV rows and one-line refusals."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from tide_synthetic import make_set
from tidelens.cli import main
from tidelens.engine.tide import CSV_COLUMNS, ERROR_TYPES, SPECIAL_TYPES, evaluate


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    gt, dets = make_set(21, n_images=12, tie_scores=True)
    root = tmp_path_factory.mktemp("cli")
    (root / "gt.json").write_text(json.dumps(gt))
    (root / "dets.json").write_text(json.dumps(dets))
    bad = [dict(d) for d in dets]
    bad[1]["category_id"] = 999
    (root / "bad.json").write_text(json.dumps(bad))
    return root, gt, dets


def test_json_output_is_one_object_in_ap_points(files, capsys):
    root, gt, dets = files
    assert main(["tide", str(root / "gt.json"), str(root / "dets.json"), "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert out.count("\n") == 1
    assert set(data) == {"ap50", "ap50_95", "dap", "dap_special", "counts"}
    assert list(data["dap"]) == list(ERROR_TYPES)
    assert list(data["dap_special"]) == list(SPECIAL_TYPES)
    expected = evaluate(gt, dets)
    assert data["ap50"] == pytest.approx(expected.ap50)
    assert data["counts"] == expected.counts
    assert data["dap"] == pytest.approx(expected.dap)
    assert 0 <= data["ap50"] <= 100


def test_table_and_errors_csv(files, tmp_path, capsys):
    root, gt, dets = files
    out_csv = tmp_path / "errors.csv"
    argv = ["tide", str(root / "gt.json"), str(root / "dets.json")]
    assert main([*argv, "--errors", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "AP50" in text and all(t in text for t in ERROR_TYPES + SPECIAL_TYPES)
    with open(out_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = evaluate(gt, dets)
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == sum(expected.counts.values())
    for row, error in zip(rows, expected.errors, strict=True):
        assert row["type"] == error.type
        assert row["gt_id"] == ("" if error.gt_id is None else str(error.gt_id))
        if error.pred_bbox is not None:
            assert float(row["pred_w"]) == error.pred_bbox[2]


def test_bad_detections_exit_2_with_one_line(files, capsys):
    root, _, _ = files
    code = main(["tide", str(root / "gt.json"), str(root / "bad.json"), "--json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.strip().count("\n") == 0
    assert "bad.json: entry 1: category_id 999 is not a category" in captured.err


def test_lenient_reports_the_skipped_count(files, capsys):
    root, _, _ = files
    argv = ["tide", str(root / "gt.json"), str(root / "bad.json"), "--lenient"]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert "skipped 1 invalid detections" in captured.err


def test_installed_command_refuses_a_missing_file_without_traceback(files):
    root, _, _ = files
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidelens.cli",
            "tide",
            str(root / "nope.json"),
            str(root / "dets.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"tidelens tide: {root / 'nope.json'}: cannot read ground truth file: "
        "No such file or directory"
    ]
