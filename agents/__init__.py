"""wardround agents."""
