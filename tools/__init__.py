"""wardround tools."""
