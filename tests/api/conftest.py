"""Fixtures for the API tests: a registered BCCD dataset and a run on it."""

import pytest


@pytest.fixture
def dataset(client, small_voc):
    resp = client.post(
        "/api/datasets/register",
        headers=client.hdrs,
        json={"name": "bccd", "path": str(small_voc), "split": "val"},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def run(client, dataset, test_arch):
    resp = client.post(
        "/api/runs",
        headers=client.hdrs,
        json={"name": "r1", "dataset_id": dataset["id"], "architecture": test_arch},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()
