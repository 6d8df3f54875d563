"""Training methods; importing this package fills the METHODS registry."""

from metafas.methods import deepall, rfm  # noqa: F401  (registration side effect)
from metafas.methods.base import METHODS, Method, method_class, register

__all__ = ["METHODS", "Method", "method_class", "register"]
