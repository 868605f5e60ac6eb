"""TideLens: TIDE error evolution and layer-wise heatmaps across checkpoints."""

__version__ = "0.1.0"
