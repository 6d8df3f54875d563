"""Training methods; importing this package fills the METHODS registry with the built-in ones,
and the first lookup (method_class, method_names) adds those of plugins."""

from metafas.methods import deepall, maddg, rfm, ssdg  # noqa: F401  (registration side effect)
from metafas.methods.base import Method
from metafas.methods.registry import (
    METHODS,
    PluginError,
    import_plugin,
    method_class,
    method_names,
    method_summary,
    register,
)

__all__ = [
    "METHODS",
    "Method",
    "PluginError",
    "import_plugin",
    "method_class",
    "method_names",
    "method_summary",
    "register",
]
