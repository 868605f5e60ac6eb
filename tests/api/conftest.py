"""Fixtures for the API tests: a registered BCCD dataset and a run on it."""

import pytest


@pytest.fixture
def dataset(client, small_voc, api_setup):
    return api_setup.dataset(client, small_voc)


@pytest.fixture
def run(client, dataset, test_arch, api_setup):
    return api_setup.run(client, dataset["id"], test_arch, name="r1")
