"""Dataset loaders facing hostile files (regression tests named after what broke)."""

import json
import math

import pytest
from tidelens.engine.datasets import DatasetError, clip_box, load_dataset


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_box_is_dropped_not_clipped_to_the_whole_image(bad):
    for i in range(4):
        box = [10.0, 10.0, 20.0, 20.0]
        box[i] = bad
        assert clip_box(tuple(box), 640, 480) == (None, "NaN or infinite coordinate")


def _voc(tmp_path, xml: str):
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "Annotations" / "a.xml").write_text(xml)
    return root


OBJECT = (
    "<object><name>cell</name><bndbox><xmin>{}</xmin><ymin>1</ymin>"
    "<xmax>10</xmax><ymax>10</ymax></bndbox></object>"
)


def test_voc_nan_coordinate_is_dropped_with_a_reason(tmp_path):
    xml = (
        "<annotation><filename>a.jpg</filename><size><width>64</width>"
        f"<height>48</height></size>{OBJECT.format('nan')}</annotation>"
    )
    dataset = load_dataset(_voc(tmp_path, xml))
    assert dataset.annotations == []
    assert dataset.dropped[0].reason == "NaN or infinite coordinate"


@pytest.mark.parametrize("name", ["../../etc/hostname", "/etc/hostname", "C:/x.jpg"])
def test_voc_filename_outside_the_dataset_is_refused(tmp_path, name):
    xml = f"<annotation><filename>{name}</filename></annotation>"
    with pytest.raises(DatasetError, match="must be a path inside the dataset"):
        load_dataset(_voc(tmp_path, xml))


@pytest.mark.parametrize("split", ["../x", "a/b", "..", "a\\b"])
def test_split_that_is_a_path_is_refused(tmp_path, split):
    root = _voc(tmp_path, "<annotation/>")
    with pytest.raises(DatasetError, match="not a plain name"):
        load_dataset(root, split=split)


def _coco(tmp_path, data) -> object:
    file = tmp_path / "c.json"
    file.write_text(data if isinstance(data, str) else json.dumps(data))
    return file


def test_coco_duplicate_category_names_are_refused(tmp_path):
    data = {
        "images": [],
        "annotations": [],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "a"}],
    }
    with pytest.raises(DatasetError, match="duplicate category names"):
        load_dataset(_coco(tmp_path, data))


def test_coco_deeply_nested_json_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="nested too deeply"):
        load_dataset(_coco(tmp_path, "[" * 100_000 + "]" * 100_000))


@pytest.mark.parametrize("width", ["NaN", "Infinity", "1e300", "-5", "true"])
def test_coco_image_size_must_be_positive_finite(tmp_path, width):
    text = (
        f'{{"images": [{{"id": 1, "file_name": "a.jpg", "width": {width}, '
        '"height": 4}], "annotations": [], "categories": []}'
    )
    with pytest.raises(DatasetError, match="must be positive numbers"):
        load_dataset(_coco(tmp_path, text))


@pytest.mark.parametrize("crowd", ['"no"', "2", "0.5", "null"])
def test_coco_iscrowd_that_is_not_0_or_1_is_refused(tmp_path, crowd):
    text = (
        '{"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 8}], '
        '"categories": [{"id": 1, "name": "cell"}], "annotations": [{"id": 1, '
        '"image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], '
        f'"iscrowd": {crowd}}}]}}'
    )
    with pytest.raises(DatasetError, match="iscrowd must be 0 or 1"):
        load_dataset(_coco(tmp_path, text))
