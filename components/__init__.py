"""llmcloud's components: the stack model, the catalog, the per-cloud builders and the engines."""

from . import sdk

sdk.install()  # provider SDK sub-packages load only the resources used (components/sdk.py)
