"""What the engine benchmarks share: where BCCD is, the load, best and median."""

from __future__ import annotations

import os
import statistics
from pathlib import Path


def default_dataset() -> Path:
    """BCCD (VOC): $TIDELENS_SHARED_DATA/bccd/BCCD, else ../shared beside the repo."""
    root = os.environ.get("TIDELENS_SHARED_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared/data"
    return base / "bccd" / "BCCD"


def load_average() -> str:
    """The 1/5/15-minute load averages: timings on a shared machine need them."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def best_median(times: list[float]) -> tuple[float, float]:
    return min(times), statistics.median(times)
