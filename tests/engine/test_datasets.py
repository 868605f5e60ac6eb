"""Dataset loading: real BCCD/COCO128 files and hand-made broken ones."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from tidelens.engine.datasets import DatasetError, load_dataset


def test_bccd_splits_and_zero_area_boxes_are_reported(bccd_root):
    train = load_dataset(bccd_root.parent, split="train")  # folder above BCCD/ works
    val = load_dataset(bccd_root, split="val")
    full = load_dataset(bccd_root)

    assert (len(train.images), len(val.images), len(full.images)) == (205, 87, 364)
    assert [c.name for c in full.categories] == ["Platelets", "RBC", "WBC"]
    assert [c.id for c in full.categories] == [1, 2, 3]
    assert {d.reason for d in full.dropped} == {"zero-area box"}
    assert len(full.dropped) == 2
    assert all(
        d.file.endswith(".xml") and d.entry.startswith("object ") for d in full.dropped
    )
    # Ids are stable across splits: a split is a subset of the whole.
    full_ids = {im.id: im for im in full.images}
    assert all(full_ids[im.id] == im for im in val.images)
    full_ann = {a.id: a for a in full.annotations}
    assert all(full_ann[a.id] == a for a in val.annotations)
    assert len(train.dropped) + len(val.dropped) <= 2


def test_bccd_boxes_are_xywh_inside_the_image(bccd_root):
    dataset = load_dataset(bccd_root, split="val")
    sizes = {im.id: (im.width, im.height) for im in dataset.images}
    for ann in dataset.annotations:
        x, y, w, h = ann.bbox
        width, height = sizes[ann.image_id]
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= width and y + h <= height
    assert dataset.image_path(dataset.images[0]).is_file()


def test_coco128_loads_and_finds_its_image_folder(coco128_root):
    dataset = load_dataset(coco128_root)
    assert len(dataset.images) == 128
    assert len(dataset.categories) == 80
    assert dataset.image_path(dataset.images[0]).is_file()
    coco = dataset.to_coco()
    assert len(coco["annotations"]) == len(dataset.annotations) > 900
    assert dataset.read_image(dataset.images[0]).shape[2] == 3


def _write_coco(tmp_path, annotations, images=None, categories=None):
    Image.new("RGB", (100, 80)).save(tmp_path / "a.jpg")
    data = {
        "images": images or [{"id": 1, "file_name": "a.jpg"}],  # no width/height
        "categories": categories or [{"id": 7, "name": "cat"}],
        "annotations": annotations,
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_clips_boxes_drops_outside_and_fills_optional_fields(tmp_path):
    path = _write_coco(
        tmp_path,
        [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [-10, 70, 30, 30]},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [200, 10, 5, 5]},
            {"id": 3, "image_id": 1, "category_id": 7, "bbox": [5, 5, 0, 9]},
            {
                "id": 4,
                "image_id": 1,
                "category_id": 7,
                "bbox": [1, 2, 3, 4],
                "iscrowd": 1,
            },
        ],
    )
    dataset = load_dataset(path)
    assert (dataset.images[0].width, dataset.images[0].height) == (100, 80)
    boxes = {a.id: a for a in dataset.annotations}
    assert boxes[1].bbox == (0.0, 70.0, 20.0, 10.0)
    assert boxes[4].iscrowd and not boxes[1].iscrowd
    assert dataset.dropped_summary() == {"box outside the image": 1, "zero-area box": 1}
    assert {d.entry for d in dataset.dropped} == {"annotations[1]", "annotations[2]"}


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        ({"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3]}, "four numbers"),
        ({"id": 1, "image_id": 1, "bbox": [1, 2, 3, 4]}, "'category_id'"),
        (
            {"id": 1, "image_id": 9, "category_id": 7, "bbox": [1, 2, 3, 4]},
            "image_id 9",
        ),
        (
            {"id": 1, "image_id": 1, "category_id": 8, "bbox": [1, 2, 3, 4]},
            "category_id 8",
        ),
        (
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, "2", 3, 4]},
            "four numbers",
        ),
    ],
)
def test_coco_malformed_entry_names_file_entry_and_reason(tmp_path, annotation, reason):
    path = _write_coco(
        tmp_path,
        [{"id": 0, "image_id": 1, "category_id": 7, "bbox": [1, 1, 2, 2]}, annotation],
    )
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    assert "gt.json" in str(err.value)
    assert "annotations[1]" in str(err.value)
    assert reason in str(err.value)


def test_coco_not_json_is_refused(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_dataset(path)


def _voc(tmp_path, xml: str):
    for sub in ("Annotations", "JPEGImages"):
        (tmp_path / sub).mkdir(exist_ok=True)
    Image.new("RGB", (50, 40)).save(tmp_path / "JPEGImages" / "x.jpg")
    (tmp_path / "Annotations" / "x.xml").write_text(xml)
    return tmp_path


def test_voc_without_size_reads_the_image_and_clips(tmp_path):
    root = _voc(
        tmp_path,
        "<annotation><filename>x.jpg</filename><object><name>b</name><bndbox>"
        "<xmin>40</xmin><ymin>30</ymin><xmax>70</xmax><ymax>60</ymax></bndbox>"
        "</object></annotation>",
    )
    dataset = load_dataset(root)
    assert (dataset.images[0].width, dataset.images[0].height) == (50, 40)
    assert dataset.annotations[0].bbox == (40.0, 30.0, 10.0, 10.0)


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ("<annotation><object><name>b</name></object>", "malformed XML"),
        (
            "<annotation><object><name>b</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
            "<xmax>q</xmax><ymax>5</ymax></bndbox></object></annotation>",
            "xmax",
        ),
        ("<annotation><object><bndbox/></object></annotation>", "<name>"),
    ],
)
def test_voc_malformed_file_is_refused(tmp_path, xml, reason):
    root = _voc(tmp_path, xml)
    with pytest.raises(DatasetError) as err:
        load_dataset(root)
    assert "x.xml" in str(err.value) and reason in str(err.value)


@pytest.mark.parametrize(
    "hostile",
    [
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;">]>'
        "<annotation><filename>&l2;</filename></annotation>",
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<annotation><filename>&x;</filename></annotation>",
    ],
)
def test_voc_xml_with_dtd_or_entities_is_refused(tmp_path, hostile):
    root = _voc(tmp_path, hostile)
    with pytest.raises(DatasetError, match="DTD"):
        load_dataset(root)


def test_voc_unknown_split_is_refused(tmp_path):
    root = _voc(tmp_path, "<annotation/>")
    with pytest.raises(DatasetError, match="split 'nope'"):
        load_dataset(root, split="nope")


def _yolo(tmp_path, labels: str, names_file: tuple[str, str]):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    Image.new("RGB", (200, 100)).save(tmp_path / "images" / "p.png")
    (tmp_path / "labels" / "p.txt").write_text(labels)
    (tmp_path / names_file[0]).write_text(names_file[1])
    return tmp_path


def test_yolo_with_classes_txt(tmp_path):
    root = _yolo(
        tmp_path,
        "1 0.5 0.5 0.2 0.4\n0 0.99 0.5 0.1 0.1\n0 0.5 0.5 0 0.1\n",
        ("classes.txt", "car\nbus\n"),
    )
    dataset = load_dataset(root)
    assert [(c.id, c.name) for c in dataset.categories] == [(1, "car"), (2, "bus")]
    first, second = dataset.annotations
    assert first.category_id == 2
    assert first.bbox == pytest.approx((80.0, 30.0, 40.0, 40.0))
    assert second.bbox == pytest.approx((188.0, 45.0, 12.0, 10.0))  # clipped
    assert dataset.dropped_summary() == {"zero-area box": 1}


def test_yolo_with_data_yaml_and_bad_class(tmp_path):
    root = _yolo(tmp_path, "3 0.5 0.5 0.2 0.2\n", ("data.yaml", "names: [a, b]\n"))
    with pytest.raises(DatasetError) as err:
        load_dataset(root)
    assert "p.txt" in str(err.value) and "line 1" in str(err.value)


def test_unknown_layout_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(DatasetError, match="unknown layout"):
        load_dataset(tmp_path)


def test_to_coco_round_trips(tmp_path, bccd_root):
    dataset = load_dataset(bccd_root, split="val")
    path = tmp_path / "annotations" / "instances_val.json"
    path.parent.mkdir()
    path.write_text(json.dumps(dataset.to_coco()))
    again = load_dataset(path)
    assert again.categories == dataset.categories
    assert again.annotations == dataset.annotations
    assert [im.id for im in again.images] == [im.id for im in dataset.images]


def test_yolo_split_folders(tmp_path):
    for split in ("train", "val"):
        (tmp_path / "images" / split).mkdir(parents=True)
        (tmp_path / "labels" / split).mkdir(parents=True)
        Image.new("RGB", (10, 10)).save(tmp_path / "images" / split / f"{split}.jpg")
        (tmp_path / "labels" / split / f"{split}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (tmp_path / "classes.txt").write_text("thing\n")
    val = load_dataset(tmp_path, split="val")
    assert [im.file_name for im in val.images] == ["images/val/val.jpg"]
    assert val.image_path(val.images[0]).is_file()
    assert val.annotations[0].bbox == pytest.approx((2.5, 2.5, 5.0, 5.0))


def test_coco_folder_picks_the_split_file(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2017").mkdir()
    Image.new("RGB", (20, 10)).save(tmp_path / "val2017" / "v.jpg")
    for split in ("train2017", "val2017"):
        data = {
            "images": [{"id": 1, "file_name": "v.jpg", "width": 20, "height": 10}],
            "categories": [{"id": 1, "name": split}],
            "annotations": [],
        }
        (tmp_path / "annotations" / f"instances_{split}.json").write_text(
            json.dumps(data)
        )
    dataset = load_dataset(tmp_path, split="val")
    assert dataset.categories[0].name == "val2017"
    assert dataset.root == tmp_path / "val2017"
    with pytest.raises(DatasetError, match="found 2"):
        load_dataset(tmp_path)
