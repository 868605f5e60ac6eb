"""Imported COCO results: what parse_results refuses (no worker needed)."""

from types import SimpleNamespace

import pytest
from tidelens.jobs.analysis import parse_results
from tidelens.jobs.runner import JobFailed

IMAGES = [SimpleNamespace(id=11, source_id=1, file_name="a.jpg")]
OK = '{"image_id": 1, "category_id": 2, "bbox": %s, "score": %s}'


def _parse(bbox="[1, 2, 3, 4]", score="0.5", category="2"):
    raw = "[" + OK % (bbox, score) + "]"
    raw = raw.replace('"category_id": 2', f'"category_id": {category}')
    return parse_results(raw.encode(), IMAGES, {1, 2})


def test_valid_entry_maps_to_database_image_id():
    assert _parse() == [
        {"image_id": 11, "category_id": 2, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5}
    ]


@pytest.mark.parametrize(
    "bbox",
    ["[NaN, 2, 3, 4]", "[1, 2, Infinity, 4]", "[1, 2, -3, 4]", "[true, 2, 3, 4]"],
)
def test_nan_negative_or_bool_box_is_refused(bbox):
    with pytest.raises(JobFailed, match="entry 0: bbox must be"):
        _parse(bbox=bbox)


@pytest.mark.parametrize("score", ["NaN", "Infinity", "true", '"0.5"'])
def test_non_finite_score_is_refused(score):
    with pytest.raises(JobFailed, match="score must be a finite number"):
        _parse(score=score)


def test_boolean_category_id_is_refused():
    with pytest.raises(JobFailed, match="category_id True"):
        _parse(category="true")


def test_deeply_nested_results_are_a_readable_failure():
    with pytest.raises(JobFailed, match="nested too deeply"):
        parse_results(b"[" * 100_000 + b"]" * 100_000, IMAGES, {1})
