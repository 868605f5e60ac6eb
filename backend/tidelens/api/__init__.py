"""api layer of TideLens."""
