"""TIDE engine fixtures: tidecv as the oracle, kept away from the user's folders."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _tidecv_path(tmp_path_factory):
    """tidecv may create a data folder under $TIDE_PATH; point it at a temp dir."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIDE_PATH", str(tmp_path_factory.mktemp("tidecv")))
        yield
