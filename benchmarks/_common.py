"""What the engine benchmarks share: where BCCD is, the load, best and median."""

from __future__ import annotations

import os
import statistics

from tidelens.cli.demo import default_dataset

__all__ = ["best_median", "default_dataset", "load_average"]


def load_average() -> str:
    """The 1/5/15-minute load averages: timings on a shared machine need them."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def best_median(times: list[float]) -> tuple[float, float]:
    return min(times), statistics.median(times)
