"""Pascal VOC XML reader, with XML parsing that refuses DTDs and entities."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from tidelens.engine._dataset_formats import _image_extent, _image_size, _relative_name
from tidelens.engine.datasets import (
    Category,
    Dataset,
    DatasetError,
    DroppedEntry,
    GroundTruthBox,
    ImageRecord,
    clip_box,
)


def parse_xml_safely(data: bytes, file: Path) -> ET.Element:
    """Parse XML refusing any DTD, so entity expansion and external fetches cannot
    happen (billion laughs, XXE). Annotation files never need a DTD."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*_args):
        raise DatasetError(file, None, "XML with a DTD or entity declarations refused")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = lambda tag, attrs: builder.start(tag, attrs)
    parser.EndElementHandler = lambda tag: builder.end(tag)
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
        return builder.close()
    except expat.ExpatError as exc:
        raise DatasetError(file, None, f"malformed XML ({exc})") from exc
    except AssertionError as exc:  # TreeBuilder on an empty document
        raise DatasetError(file, None, "empty XML document") from exc


def _voc_number(obj: ET.Element, tag: str, file: Path, entry: str) -> float:
    node = obj.find(f"bndbox/{tag}")
    if node is None or node.text is None:
        raise DatasetError(file, entry, f"missing bndbox/{tag}")
    try:
        return float(node.text.strip())
    except ValueError as exc:
        raise DatasetError(file, entry, f"bndbox/{tag} is not a number") from exc


def load_voc(root: Path, split: str | None) -> Dataset:
    """VOC: ``Annotations/*.xml`` + ``JPEGImages/``; box = (xmin, ymin, xmax-xmin,
    ymax-ymin). ``difficult`` objects become crowd (ignore) regions. Ids are stable
    across splits: every annotation file is read and the split filters afterwards."""
    xml_files = sorted((root / "Annotations").glob("*.xml"))
    if not xml_files:
        raise DatasetError(root / "Annotations", None, "no .xml annotation files")
    wanted: set[str] | None = None
    if split:
        split_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            raise DatasetError(split_file, None, f"split {split!r} not found")
        wanted = {
            ln.split()[0] for ln in split_file.read_text().splitlines() if ln.strip()
        }

    parsed = []
    for file in xml_files:
        tree = parse_xml_safely(file.read_bytes(), file)
        filename = (tree.findtext("filename") or f"{file.stem}.jpg").strip()
        filename = _relative_name(filename, file, "filename")
        objects = []
        for k, obj in enumerate(tree.findall("object")):
            entry = f"object {k}"
            name = (obj.findtext("name") or "").strip()
            if not name:
                raise DatasetError(file, entry, "object without a <name>")
            coords = [
                _voc_number(obj, t, file, entry)
                for t in ("xmin", "ymin", "xmax", "ymax")
            ]
            difficult = (obj.findtext("difficult") or "0").strip() == "1"
            objects.append((entry, name, coords, difficult))
        parsed.append((file, tree, filename, objects))

    names = sorted({name for *_, objects in parsed for _, name, _, _ in objects})
    cat_ids = {name: i + 1 for i, name in enumerate(names)}
    images, annotations, dropped = [], [], []
    ann_id = 0
    for image_id, (file, tree, filename, objects) in enumerate(parsed, start=1):
        image_ann_ids = range(ann_id + 1, ann_id + 1 + len(objects))
        ann_id += len(objects)
        if wanted is not None and file.stem not in wanted:
            continue
        rel = f"JPEGImages/{filename}"
        try:
            width = float(tree.findtext("size/width") or 0)
            height = float(tree.findtext("size/height") or 0)
        except ValueError as exc:
            raise DatasetError(file, "size", "width/height is not a number") from exc
        if width <= 0 or height <= 0:  # VOC exports often write 0 for unknown
            width, height = _image_size(root / rel, file)
        width, height = _image_extent(width, height, file, "size")
        images.append(ImageRecord(image_id, rel, width, height))
        for aid, (entry, name, (x1, y1, x2, y2), difficult) in zip(
            image_ann_ids, objects, strict=True
        ):
            box, reason = clip_box((x1, y1, x2 - x1, y2 - y1), width, height)
            if box is None:
                dropped.append(DroppedEntry(str(file), entry, reason))
                continue
            annotations.append(
                GroundTruthBox(aid, image_id, cat_ids[name], box, iscrowd=difficult)
            )
    if wanted is not None:
        missing = wanted - {f.stem for f, *_ in parsed}
        if missing:
            raise DatasetError(
                root / "ImageSets" / "Main" / f"{split}.txt",
                sorted(missing)[0],
                f"{len(missing)} listed image(s) have no annotation file",
            )
    categories = [Category(cat_ids[n], n) for n in names]
    return Dataset(root, categories, images, annotations, dropped)
