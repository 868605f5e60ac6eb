"""Repositories on SQLite and Postgres: migrations, idempotent result writes,
keyset pages, heatmap claims."""

from types import SimpleNamespace

import pytest
from tidelens.store import heatmaps as heatmap_repo
from tidelens.store import results as result_repo
from tidelens.store import runs as run_repo
from tidelens.store.db import migrate, session_scope
from tidelens.store.models import Dataset, GroundTruth, Image


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    migrate(url)
    migrate(url)  # idempotent
    yield url
    if request.param == "postgres":
        from sqlalchemy import text

        with session_scope(url) as s:
            s.execute(
                text(
                    "TRUNCATE datasets, images, ground_truth, runs, checkpoints, "
                    "detections, epoch_summaries, errors, heatmaps, jobs, "
                    "watched_folders RESTART IDENTITY CASCADE"
                )
            )


def _seed(url):
    with session_scope(url) as s:
        ds = Dataset(
            name="d",
            source="folder",
            categories=[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
            dropped=[],
            image_count=3,
        )
        s.add(ds)
        s.flush()
        images = [
            Image(
                dataset_id=ds.id,
                file_name=f"{i}.jpg",
                width=10,
                height=10,
                object_key=f"k{i}",
            )
            for i in range(3)
        ]
        s.add_all(images)
        s.flush()
        gts = [
            GroundTruth(image_id=im.id, category_id=1, bbox=[0, 0, 5, 5])
            for im in images
        ]
        s.add_all(gts)
        s.flush()
        run = run_repo.create_run(s, "r", ds, "arch")
        ckpt = run_repo.add_checkpoint(
            s,
            run_id=run.id,
            epoch=1,
            source="upload",
            sha256="ab",
            size=1,
            object_key="c",
        )
        return ([im.id for im in images], [g.id for g in gts], run.id, ckpt.id)


def _fake_result(image_ids, gt_ids):
    rows = []
    for i, (im, gt) in enumerate(zip(image_ids, gt_ids, strict=True)):
        rows.append(
            SimpleNamespace(
                type="Loc",
                image_id=im,
                pred_index=i,
                pred_category_id=1,
                gt_category_id=1,
                gt_id=gt,
                score=0.9 - i / 10,
                iou=0.3,
            )
        )
        rows.append(
            SimpleNamespace(
                type="Miss",
                image_id=im,
                pred_index=None,
                pred_category_id=None,
                gt_category_id=1,
                gt_id=gt,
                score=None,
                iou=None,
            )
        )
    return SimpleNamespace(
        ap50=10.0,
        ap50_95=5.0,
        dap={"Loc": 1.0},
        dap_special={"FalsePos": 2.0},
        counts={"Loc": 3, "Miss": 3},
        errors=rows,
        per_class_dap=lambda: {1: {}},
    )


def test_replace_analysis_is_idempotent_and_pages_are_stable(db_url):
    image_ids, gt_ids, run_id, ckpt_id = _seed(db_url)
    dets = [
        {"image_id": im, "category_id": 1, "bbox": [1, 1, 4, 4], "score": 0.5}
        for im in image_ids
    ]
    for _ in range(2):  # a retried job replaces, never duplicates
        with session_scope(db_url) as s:
            ckpt = run_repo.get_checkpoint(s, ckpt_id)
            result_repo.replace_analysis(s, ckpt, dets, _fake_result(image_ids, gt_ids))
    with session_scope(db_url) as s:
        assert len(result_repo.series(s, run_id)) == 1
        flt = result_repo.ErrorFilter(run_id, epoch=1)
        seen, cursor = [], None
        while True:
            rows, total = result_repo.errors_page(s, flt, cursor, 4)
            seen += [result_repo.page_key(r) for r in rows]
            if len(rows) < 4:
                break
            cursor = result_repo.page_key(rows[-1])
        most_confident_first = sorted(seen, key=lambda key: (-key[0], key[1]))
        assert total == 6 and seen == most_confident_first and len(set(seen)) == 6
        only_loc, n = result_repo.errors_page(
            s, result_repo.ErrorFilter(run_id, type="Loc"), None, 10
        )
        assert n == 3 and all(r.detection_id for r in only_loc)
        top = result_repo.top_errors(s, ckpt_id, 1)
        assert [e.type for e in top] == ["Loc", "Miss"] and top[0].score == 0.9


def test_heatmap_claims_are_unique(db_url):
    image_ids, gt_ids, run_id, ckpt_id = _seed(db_url)
    target = f"gt:{gt_ids[0]}"
    with session_scope(db_url) as s:
        first = heatmap_repo.claim_pending(
            s, ckpt_id, image_ids[0], target, ["l1", "l2"], "gradcam"
        )
    with session_scope(db_url) as s:
        second = heatmap_repo.claim_pending(
            s, ckpt_id, image_ids[0], target, ["l2", "l3"], "gradcam"
        )
    assert first == ["l1", "l2"] and second == ["l3"]
    with session_scope(db_url) as s:
        rows = heatmap_repo.find(
            s, [ckpt_id], image_ids[0], target, ["l1", "l2", "l3"], "gradcam"
        )
        assert sorted(r.layer for r in rows) == ["l1", "l2", "l3"]


def test_checkpoint_keys_are_unique_per_run(db_url):
    from sqlalchemy.exc import IntegrityError

    _, _, run_id, _ = _seed(db_url)
    with pytest.raises(IntegrityError), session_scope(db_url) as s:
        run_repo.add_checkpoint(
            s,
            run_id=run_id,
            epoch=2,
            source="upload",
            sha256="ab",
            size=1,
            object_key="d",
        )
    with session_scope(db_url) as s:
        assert run_repo.next_epoch(s, run_id) == 2
