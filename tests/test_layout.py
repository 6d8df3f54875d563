"""The package layout shows the pipeline: every module imports only from its own stage or the
stages before it, and no modules import each other in a circle (lazy imports included)."""

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import metafas
from metafas.extras import EXTRAS

# The stages in pipeline order; a module may import from its own stage and the earlier ones.
STAGES = [
    {"extras", "metrics", "media", "simulate", "datasets", "faces", "models"},
    {"data"},  # the prepared-data store, loaders, protocols, atomic writes
    {"prepare", "methods"},
    {"evaluation"},
    {"training"},
    {"deploy"},
    {"cli"},
]
EXTRA_MODULES = {module for modules in EXTRAS.values() for module in modules}


def all_modules() -> list[str]:
    found = ["metafas"]
    for info in pkgutil.walk_packages(metafas.__path__, "metafas."):
        found.append(info.name)
    return sorted(found)


def source_of(module: str) -> Path:
    return Path(importlib.util.find_spec(module).origin)


def imported_metafas_modules(module: str, modules: set[str]) -> set[str]:
    """Every metafas module that `module` imports anywhere in its file."""
    tree = ast.parse(source_of(module).read_text())
    package = module if source_of(module).name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
    return {name for name in found if name in modules and name != module}


def stage(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for index, members in enumerate(STAGES):
        if top in members:
            return index
    raise AssertionError(f"{module} belongs to no stage of tests/test_layout.py")


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = set(all_modules())
    return {module: imported_metafas_modules(module, modules) for module in modules}


def test_every_module_imports(graph):
    for module in graph:
        if module.endswith(".__main__"):  # runs the CLI when imported
            continue
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name.split(".")[0] not in EXTRA_MODULES:
                raise


def test_no_module_imports_from_a_later_stage(graph):
    wrong = [
        f"{module} (stage {stage(module)}) imports {target} (stage {stage(target)})"
        for module, targets in graph.items()
        if module != "metafas"
        for target in targets
        if stage(target) > stage(module)
    ]
    assert not wrong, "\n".join(wrong)


def import_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """The first circle of imports found by depth-first search, or None."""
    done, path = set(), []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph.get(module, ())):
            # A package's __init__ importing its own submodules is no circle.
            if not target.startswith(module + ".") and (circle := visit(target)):
                return circle
        path.pop()
        done.add(module)
        return None

    return next((c for c in map(visit, sorted(graph)) if c), None)


def test_no_import_circle(graph):
    circle = import_circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_the_old_deploy_circle_would_be_found():
    old = {"d.export": {"d.onnx_runtime"}, "d.onnx_runtime": {"d.scorer"}, "d.scorer": {"d.export"}}
    assert import_circle(old) == ["d.export", "d.onnx_runtime", "d.scorer", "d.export"]
