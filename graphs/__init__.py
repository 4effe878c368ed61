"""wardround graphs."""
