"""store layer of TideLens."""
