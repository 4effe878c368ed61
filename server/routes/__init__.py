"""Thin route modules, one per resource; ``server.app`` mounts them."""
