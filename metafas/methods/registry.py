"""The registry of methods: built-in ones register on import, plugins through the
`metafas.methods` entry-point group, `--import MODULE` or the METAFAS_IMPORT variable."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metafas.methods.base import Method

log = logging.getLogger(__name__)

# Read METHODS through method_class / method_names, which load the plugins first.
METHODS: dict[str, type[Method]] = {}
ENTRY_POINT_GROUP = "metafas.methods"
IMPORT_VARIABLE = "METAFAS_IMPORT"
PLUGIN_HINT = (
    f"methods of other packages: install the package (entry points {ENTRY_POINT_GROUP!r}) "
    "or pass --import MODULE"
)


class PluginError(RuntimeError):
    """A method plugin (an entry point, or a module or file to import) failed to load."""


def register(name: str) -> Callable[[type[Method]], type[Method]]:
    """Class decorator adding a method to METHODS under `name`; refuses duplicates."""

    def add(cls: type[Method]) -> type[Method]:
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered by {METHODS[name].__name__}")
        METHODS[name] = cls
        cls.name = name
        return cls

    return add


def method_class(name: str) -> type[Method]:
    """The registered method `name`, plugins loaded first."""
    if name not in method_names():
        known = ", ".join(method_names())
        raise ValueError(f"unknown method {name!r}; known: {known} ({PLUGIN_HINT})")
    return METHODS[name]


def method_names() -> list[str]:
    """Every registered method's name, sorted, plugins loaded first."""
    load_plugins()
    return sorted(METHODS)


def method_summary(name: str) -> str:
    """The summary of the method's class docstring (else of its module's): its first line, or
    its first paragraph where that sentence wraps."""
    cls = method_class(name)
    doc = cls.__dict__.get("__doc__") or getattr(sys.modules.get(cls.__module__), "__doc__", "")
    return " ".join((doc or "").strip().split("\n\n")[0].split()) or "(no docstring)"


_plugins = {"loaded": False, "error": None}


def load_plugins() -> None:
    """Import, once per process, the modules of METAFAS_IMPORT (os.pathsep-separated module
    names or .py files) and every entry point of the group `metafas.methods`, each a module or
    object whose import registers methods. A failure raises PluginError, then and on every
    later call."""
    if _plugins["error"] is not None:
        raise _plugins["error"]
    if _plugins["loaded"]:
        return
    _plugins["loaded"] = True
    try:
        for spec in os.environ.get(IMPORT_VARIABLE, "").split(os.pathsep):
            if spec.strip():
                import_plugin(spec.strip())
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            load_entry_point(entry_point)
    except PluginError as error:
        _plugins["error"] = error
        raise


def load_entry_point(entry_point: EntryPoint) -> None:
    package = entry_point.dist.name if entry_point.dist else "an unknown package"
    where = f"{ENTRY_POINT_GROUP} entry point {entry_point.name!r} = {entry_point.value!r}"
    before = set(METHODS)
    try:
        entry_point.load()
    except Exception as error:
        raise PluginError(
            f"{where} of {package} failed to load: {type(error).__name__}: {error}"
        ) from error
    log.debug("%s of %s registered %s", where, package, sorted(set(METHODS) - before) or "none")


def import_plugin(spec: str) -> ModuleType:
    """Import a module by name, or a .py file by path, for the methods it registers."""
    try:
        if spec.endswith(".py") or "/" in spec or os.sep in spec:
            return import_file(Path(spec))
        return importlib.import_module(spec)
    except PluginError:
        raise
    except Exception as error:
        raise PluginError(
            f"method plugin {spec!r} failed to import: {type(error).__name__}: {error}"
        ) from error


def import_file(path: Path) -> ModuleType:
    """Import a .py file as the module named by its stem (once: a second call returns it)."""
    path = path.resolve()
    if not path.is_file():
        raise PluginError(f"method plugin file {path} does not exist")
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None:
        if getattr(existing, "__file__", None) and Path(existing.__file__).resolve() == path:
            return existing
        raise PluginError(f"cannot import {path} as {name!r}: a module of that name is loaded")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
