"""The stack model, its loader and its errors: pure Python (no Pulumi, no cloud SDK)."""

from .errors import Location, StackError, StackErrors
from .load import LoadedStack, load_stack, stack_path
from .model import CLOUDS, StackSpec

__all__ = ["CLOUDS", "LoadedStack", "Location", "StackError", "StackErrors", "StackSpec", "load_stack", "stack_path"]
