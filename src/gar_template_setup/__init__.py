"""gar-template's Google Cloud setup: the command `gar-template-setup`, run in a generated project."""
