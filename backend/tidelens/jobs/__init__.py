"""jobs layer of TideLens."""
