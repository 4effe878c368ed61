"""wardround core."""
