"""The optional extras (serve, onnx, faces): imported only where they are used.

A command that needs a missing extra raises `MissingExtraError`, which names the extra and the
pip command; the CLI prints it as one line and exits with status 2.
"""

import importlib
from types import ModuleType

EXTRAS = {
    "serve": ("starlette", "uvicorn", "multipart"),
    "onnx": ("onnx", "onnxscript", "onnxruntime"),
    "faces": ("mediapipe",),
}


class MissingExtraError(ImportError):
    """An optional extra that a command or option needs is not installed."""


def install_hint(extra: str) -> str:
    return f'pip install "metafas[{extra}]"'


def import_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import `module` of `extra`, or raise MissingExtraError saying what needs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing = error.name or module
        raise MissingExtraError(
            f"{feature} needs the {extra} extra ({missing} is not installed): {install_hint(extra)}"
        ) from None


def require_extra(extra: str, feature: str) -> None:
    """Check that every module of `extra` imports, before work that needs them starts."""
    for module in EXTRAS[extra]:
        import_extra(module, extra, feature)
