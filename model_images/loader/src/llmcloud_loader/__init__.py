"""Parallel, resumable, verified model-weight loader (``llmcloud-load``)."""

__version__ = "0.1.0"
