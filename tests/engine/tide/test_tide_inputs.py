"""What the TIDE engine accepts, and how it refuses what it cannot use."""

from __future__ import annotations

import copy
import json

import pytest
from tide_synthetic import make_set
from tidelens.engine.tide import (
    DetectionsError,
    GroundTruthError,
    evaluate,
    evaluate_files,
)


@pytest.fixture(scope="module")
def small_set():
    return make_set(9, n_images=8)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("image_id", 999999, "image_id 999999 is not an image of the ground truth"),
        ("image_id", "7", 'image_id must be an integer, got "7"'),
        ("category_id", 4242, "category_id 4242 is not a category of the ground truth"),
        ("bbox", [1, 2, 3], "bbox must be 4 finite numbers"),
        ("bbox", [1, 2, float("nan"), 4], "bbox must be 4 finite numbers"),
        ("bbox", [1, 2, "3", 4], "bbox must be 4 finite numbers"),
        ("bbox", None, "bbox must be 4 finite numbers"),
        ("score", "high", 'score must be a finite number, got "high"'),
        ("score", None, "score must be a finite number"),
        ("score", float("inf"), "score must be a finite number"),
    ],
)
def test_bad_detection_is_refused_with_file_entry_and_reason(
    small_set, field, value, message
):
    gt, dets = small_set
    dets = copy.deepcopy(dets)
    dets[3][field] = value
    with pytest.raises(DetectionsError) as info:
        evaluate(gt, dets, detections_name="epoch_7.json")
    text = str(info.value)
    assert text.startswith("epoch_7.json: entry 3: ")
    assert message in text
    assert "\n" not in text


def test_missing_key_and_non_object_entries(small_set):
    gt, dets = small_set
    dets = copy.deepcopy(dets)
    del dets[0]["score"]
    dets[1] = [1, 2, 3]
    with pytest.raises(DetectionsError, match=r"entry 0: has no 'score' \(1 more"):
        evaluate(gt, dets)


def test_lenient_mode_skips_bad_entries_and_counts_them(small_set):
    gt, dets = small_set
    bad = copy.deepcopy(dets)
    bad[2]["category_id"] = -5
    bad[5]["bbox"] = [0, 0, "wide", 3]
    bad[6]["image_id"] = 123456
    result = evaluate(gt, bad, lenient=True)
    assert result.skipped == 3
    good = [d for i, d in enumerate(dets) if i not in (2, 5, 6)]
    expected = evaluate(gt, good)
    assert result.counts == expected.counts
    assert result.dap == expected.dap and result.ap50 == expected.ap50
    # Row indices still point into the list as given.
    kept_index = [i for i in range(len(dets)) if i not in (2, 5, 6)]
    assert [r.pred_index for r in result.errors] == [
        None if r.pred_index is None else kept_index[r.pred_index]
        for r in expected.errors
    ]


def test_lenient_mode_without_problems_skips_nothing(small_set):
    assert evaluate(*small_set, lenient=True).skipped == 0


def test_detections_as_a_coco_dict_with_scores(small_set):
    gt, dets = small_set
    as_dict = {
        "images": gt["images"],
        "annotations": [{"id": i, **d} for i, d in enumerate(dets)],
    }
    assert evaluate(gt, as_dict).dap == evaluate(gt, dets).dap
    del as_dict["annotations"][4]["score"]
    with pytest.raises(DetectionsError, match="entry 4: has no 'score'"):
        evaluate(gt, as_dict)


def test_detections_that_are_neither_list_nor_dict(small_set):
    with pytest.raises(DetectionsError, match="COCO results list"):
        evaluate(small_set[0], "nope")
    with pytest.raises(DetectionsError, match="'annotations' list"):
        evaluate(small_set[0], {"images": []})


def test_ground_truth_without_segmentation_is_fine(small_set):
    gt, dets = small_set
    bare = copy.deepcopy(gt)
    for ann in bare["annotations"]:
        ann.pop("segmentation", None)
        ann.pop("area", None)
    with_empty = copy.deepcopy(gt)
    for ann in with_empty["annotations"]:
        ann["segmentation"] = []
    expected = evaluate(gt, dets)
    assert evaluate(bare, dets).dap == expected.dap
    assert evaluate(with_empty, dets).dap == expected.dap


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda g: g.pop("images"), "'images' must be a list"),
        (
            lambda g: g["annotations"][1].update(image_id=31337),
            r"annotations\[1\]: image_id 31337 is not in 'images'",
        ),
        (
            lambda g: g["annotations"][2].update(bbox=[0, 0, None, 1]),
            r"annotations\[2\]: bbox must be 4 finite numbers",
        ),
        (lambda g: g["images"].append(dict(g["images"][0])), "appears more than once"),
        (
            lambda g: g["annotations"][0].pop("category_id"),
            r"annotations\[0\]: category_id must be an integer",
        ),
    ],
)
def test_bad_ground_truth_is_refused(small_set, mutate, message):
    gt = copy.deepcopy(small_set[0])
    mutate(gt)
    with pytest.raises(GroundTruthError, match=message):
        evaluate(gt, small_set[1], gt_name="val.json")


def test_files_are_named_in_messages(tmp_path, small_set):
    gt, dets = small_set
    gt_path, det_path = tmp_path / "gt.json", tmp_path / "dets.json"
    gt_path.write_text(json.dumps(gt))
    det_path.write_text("[{")
    with pytest.raises(DetectionsError, match=r"dets.json: detections file is not"):
        evaluate_files(gt_path, det_path)
    with pytest.raises(GroundTruthError, match="missing.json: cannot read"):
        evaluate_files(tmp_path / "missing.json", det_path)
    det_path.write_text(json.dumps(dets))
    assert evaluate_files(gt_path, det_path).counts == evaluate(gt, dets).counts


@pytest.mark.parametrize(
    "options", [{"pos_thresh": 0}, {"bg_thresh": 0.6}, {"max_dets": 0}]
)
def test_impossible_thresholds_are_refused(small_set, options):
    with pytest.raises(ValueError):
        evaluate(*small_set, **options)


def test_evaluations_do_not_share_state(small_set):
    gt, dets = small_set
    snapshot = copy.deepcopy((gt, dets))
    first = evaluate(gt, dets)
    evaluate(gt, dets[: len(dets) // 2], pos_thresh=0.7)
    again = evaluate(gt, dets)
    assert (gt, dets) == snapshot
    assert first.dap == again.dap and first.counts == again.counts


@pytest.mark.parametrize("segmentation", ["missing", "empty"])
def test_ground_truth_that_crashes_tidecv_loader_is_evaluated(
    small_set, tmp_path, segmentation
):
    from tidecv import datasets

    gt, dets = small_set
    gt = copy.deepcopy(gt)
    for ann in gt["annotations"]:
        if segmentation == "missing":
            ann.pop("segmentation", None)
        else:
            ann["segmentation"] = []
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    with pytest.raises((KeyError, IndexError)):
        datasets.COCO(str(path))
    det_path = tmp_path / "dets.json"
    det_path.write_text(json.dumps(dets))
    assert evaluate_files(path, det_path).counts == evaluate(*small_set).counts
