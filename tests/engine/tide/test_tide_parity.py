"""TideLens's TIDE engine against tidecv 1.0.1 on generated sets."""

from __future__ import annotations

import numpy as np
import pytest
from tide_reference import tidecv_data, tidecv_reference
from tide_synthetic import make_set
from tidelens.engine.tide import ERROR_TYPES, evaluate

CASES = {
    "plain": {},
    "ties": {"tie_scores": True},
    "many_dets": {"many_dets": True},
    "degenerate": {"degenerate": True},
    "no_crowd": {"crowd": False, "extra_classes": False},
    "everything": {"tie_scores": True, "many_dets": True, "degenerate": True},
    "crowded_images": {"max_gt": 15, "n_images": 20, "tie_scores": True},
}


def assert_same(ours, ref, gt, dets) -> None:
    assert ours.counts == ref["counts"]
    assert ours.ap50 == pytest.approx(ref["ap50"], abs=1e-6)
    assert ours.ap50_95 == pytest.approx(ref["ap50_95"], abs=1e-6)
    for name, value in ref["dap"].items():
        assert ours.dap[name] == pytest.approx(value, abs=1e-6), name
    for name, value in ref["dap_special"].items():
        assert ours.dap_special[name] == pytest.approx(value, abs=1e-6), name
    if ref["rows"] is not None:
        # tidecv ids are list positions: detections as given, annotations in order.
        gt_ids = [a["id"] for a in gt["annotations"]]
        ours_rows = [
            (
                r.type,
                r.pred_index,
                gt_ids.index(r.gt_id)
                if r.gt_id is not None and r.type in ("Cls", "Loc", "Dupe", "Miss")
                else None,
            )
            for r in ours.errors
        ]
        assert ours_rows == ref["rows"]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tidecv(case, seed):
    gt, dets = make_set(seed, **CASES[case])
    ref = tidecv_reference(*tidecv_data(gt, dets))
    assert_same(evaluate(gt, dets), ref, gt, dets)


@pytest.mark.parametrize(
    ("pos", "bg", "max_dets"),
    [(0.6, 0.2, 100), (0.3, 0.0, 100), (0.5, 0.1, 7), (0.75, 0.5, 20)],
)
def test_matches_tidecv_with_other_thresholds(pos, bg, max_dets):
    gt, dets = make_set(11, many_dets=True, tie_scores=True)
    ref = tidecv_reference(
        *tidecv_data(gt, dets, max_dets),
        pos_thresh=pos,
        bg_thresh=bg,
        max_dets=max_dets,
    )
    ours = evaluate(gt, dets, pos_thresh=pos, bg_thresh=bg, max_dets=max_dets)
    assert_same(ours, ref, gt, dets)


def test_generated_sets_cover_every_error_type():
    seen = {name: 0 for name in ERROR_TYPES}
    for case in CASES.values():
        for name, count in evaluate(*make_set(0, **case)).counts.items():
            seen[name] += count
    assert all(seen.values()), seen


def test_a_larger_set_matches_tidecv():
    gt, dets = make_set(
        5,
        n_images=150,
        n_classes=12,
        max_gt=10,
        many_dets=True,
        tie_scores=True,
        degenerate=True,
    )
    assert_same(evaluate(gt, dets), tidecv_reference(*tidecv_data(gt, dets)), gt, dets)


def test_crowd_regions_silence_detections_inside_them():
    image = {"id": 1, "width": 100, "height": 100}
    gt = {
        "images": [image],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {
                "id": 5,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 50, 50],
                "iscrowd": 1,
            },
            {"id": 6, "image_id": 1, "category_id": 1, "bbox": [60, 60, 30, 30]},
        ],
    }
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [60, 60, 30, 30], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.8},
        {"image_id": 1, "category_id": 2, "bbox": [10, 10, 20, 20], "score": 0.7},
    ]
    ours = evaluate(gt, dets)
    ref = tidecv_reference(*tidecv_data(gt, dets))
    assert_same(ours, ref, gt, dets)
    # The person inside the crowd is ignored for AP: one TP, no false positive.
    assert ours.ap50 == pytest.approx(100.0 / 2)  # person 100, dog 0 (no GT)


def test_scores_tied_across_true_and_false_positives_rank_like_tidecv():
    gt = {
        "images": [{"id": i} for i in (1, 2)],
        "categories": [{"id": 1}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
            {"id": 11, "image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10]},
            {"id": 12, "image_id": 2, "category_id": 1, "bbox": [50, 50, 10, 10]},
        ],
    }
    dets = [
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [30, 30, 10, 10], "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},
        {"image_id": 2, "category_id": 1, "bbox": [52, 50, 10, 10], "score": 0.5},
    ]
    assert_same(evaluate(gt, dets), tidecv_reference(*tidecv_data(gt, dets)), gt, dets)


def test_only_the_top_max_dets_of_an_image_count():
    gt, dets = make_set(3, n_images=4, many_dets=True)
    few = evaluate(gt, dets, max_dets=5)
    per_image = {}
    for row in few.errors:
        if row.pred_index is not None:
            per_image[row.image_id] = per_image.get(row.image_id, 0) + 1
    assert max(per_image.values()) <= 5
    assert sum(few.counts.values()) < sum(evaluate(gt, dets).counts.values())


def test_an_epoch_without_detections_gives_zeros_where_tidecv_crashes():
    gt, _ = make_set(2)
    with pytest.raises(ZeroDivisionError):
        tidecv_reference(*tidecv_data(gt, []))
    result = evaluate(gt, [])
    n_gt = sum(1 for a in gt["annotations"] if not a["iscrowd"])
    assert result.ap50 == 0.0 and result.ap50_95 == 0.0
    assert all(v == 0.0 for v in result.dap.values())
    assert all(v == 0.0 for v in result.dap_special.values())
    assert result.counts == {**{t: 0 for t in ERROR_TYPES}, "Miss": n_gt}
    assert [r.type for r in result.errors] == ["Miss"] * n_gt


def test_empty_ground_truth_and_no_detections():
    result = evaluate({"images": [], "annotations": []}, [])
    assert result.ap50 == 0.0 and result.counts == {t: 0 for t in ERROR_TYPES}
    assert result.errors == []


def test_only_background_detections_give_zero_not_a_crash():
    gt = {"images": [{"id": 1}], "annotations": [], "categories": [{"id": 3}]}
    dets = [{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.3}]
    result = evaluate(gt, dets)
    assert result.counts["Bkg"] == 1
    assert result.ap50 == 0.0 and result.dap["Bkg"] == 0.0
    assert result.errors[0].gt_id is None and result.errors[0].iou == 0.0


def test_error_rows_carry_coco_ids_boxes_and_iou():
    gt, dets = make_set(1, tie_scores=True)
    result = evaluate(gt, dets)
    anns = {a["id"]: a for a in gt["annotations"]}
    for row in result.errors:
        if row.pred_index is not None:
            det = dets[row.pred_index]
            assert row.pred_bbox == tuple(det["bbox"])
            assert row.score == det["score"]
            assert row.pred_category_id == det["category_id"]
            assert row.image_id == det["image_id"]
        if row.gt_id is not None:
            ann = anns[row.gt_id]
            assert row.gt_bbox == tuple(ann["bbox"])
            assert row.gt_category_id == ann["category_id"]
            assert row.image_id == ann["image_id"]
        if row.type in ("Cls", "Loc", "Dupe", "Both"):
            assert row.gt_id is not None and 0 < row.iou <= 1
        if row.type == "Miss":
            assert row.pred_index is None and row.iou is None
        if row.type == "Bkg":
            assert row.gt_id is None and 0 <= row.iou <= 0.1


def test_per_class_special_dap_averages_to_the_overall_value():
    result = evaluate(*make_set(4, many_dets=True))
    per_class = result.per_class_dap()
    assert per_class
    for name in ("FalsePos", "FalseNeg"):
        mean = np.mean([gains[name] for gains in per_class.values()])
        assert mean == pytest.approx(result.dap_special[name], abs=1e-9)


def test_confusion_matrix_adds_up_to_the_rows():
    gt, dets = make_set(6, many_dets=True)
    result = evaluate(gt, dets)
    labels, matrix = result.confusion_matrix()
    assert labels[-1] == "background" and matrix.shape == (len(labels),) * 2
    counts = result.counts
    assert matrix[:-1, -1].sum() == counts["Miss"]
    assert matrix[-1, :-1].sum() == sum(
        counts[t] for t in ("Loc", "Both", "Dupe", "Bkg")
    )
    off_diagonal = matrix[:-1, :-1].sum() - np.trace(matrix[:-1, :-1])
    assert off_diagonal == counts["Cls"]
    # Every kept detection sits in exactly one cell.
    n_det_errors = sum(1 for r in result.errors if r.pred_index is not None)
    n_true_pos = np.trace(matrix[:-1, :-1])
    assert matrix[:-1, :-1].sum() + matrix[-1].sum() == n_true_pos + n_det_errors
    assert n_true_pos == sum(1 for _ in dets) - n_det_errors - _beyond_cap(dets)


def _beyond_cap(dets: list[dict], max_dets: int = 100) -> int:
    per_image: dict[int, int] = {}
    for det in dets:
        per_image[det["image_id"]] = per_image.get(det["image_id"], 0) + 1
    return sum(max(n - max_dets, 0) for n in per_image.values())


def test_overlaps_equal_pycocotools_bit_for_bit():
    from pycocotools import mask as mask_utils
    from tidelens.engine.tide.matching import overlaps

    rng = np.random.default_rng(3)
    dets = rng.uniform(0, 50, (60, 4))
    boxes = rng.uniform(0, 50, (9, 4))
    dets[:5, 2] = 0.0  # degenerate: zero width
    dets[5:8, 2:] *= -1  # negative size
    boxes[0] = dets[10]  # identical boxes
    for crowd in (False, True):
        pairs = overlaps(
            np.zeros(60, np.int64), dets, np.array([0]), np.array([9]), boxes, crowd
        )
        dense = np.zeros((60, 9))
        dense[pairs.det, pairs.box] = pairs.iou
        expected = mask_utils.iou(dets.tolist(), boxes.tolist(), [crowd] * 9)
        assert np.array_equal(dense, expected)
