"""The analysis engine: datasets, models, checkpoints, inference, TIDE, heatmaps.

It knows nothing of HTTP, the database or the job queue.
"""
