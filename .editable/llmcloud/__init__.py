"""Editable-install shim: `llmcloud.components` and `llmcloud.cli` resolve to the repository's folders."""

import os

__path__ = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))]
