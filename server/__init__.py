"""wardround server."""
