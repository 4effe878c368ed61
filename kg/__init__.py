"""wardround kg."""
